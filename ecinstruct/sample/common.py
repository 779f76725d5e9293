"""Small helpers shared by the per-task sample generators (titles, brands, letters); text cuts and ordinals
are the raw builders' own (:mod:`ecinstruct.text`), so both write the published conventions alike."""

from __future__ import annotations

import random
from collections.abc import Sequence

from ecinstruct.sample.vocab import BRANDS, COLORS, OTHER_WORDS, PRODUCT_TYPES, VARIANTS, ProductType

Domain = str  # "IND" or "OOD"


def types_in(*categories: str) -> tuple[ProductType, ...]:
    """Product types of the given top-level categories, in catalog order."""
    return tuple(t for t in PRODUCT_TYPES if t.category in categories)


def pick_types(domain: Domain, ind: Sequence[str], ood: Sequence[str]) -> tuple[ProductType, ...]:
    """The product types a task draws from in ``domain`` (its IND or its OOD categories)."""
    return types_in(*(ood if domain == "OOD" else ind))


def brand(rng: random.Random, category: str, exclude: Sequence[str] = ()) -> str:
    return rng.choice([b for b in BRANDS[category] if b not in exclude])


def model_number(rng: random.Random, brand_name: str) -> str:
    """An invented model number whose prefix comes from the brand (``"ZY-4410"``)."""
    return f"{brand_name[:2].upper()}-{rng.randint(100, 9999)}"


def product_title(
    rng: random.Random, brand_name: str, ptype: ProductType, spec: str | None = None,
    color: str | None = None, model: str | None = None,
) -> str:
    """A retail-style title ``"<Brand> <Spec> <Type> [<Model>|<Word>], <Color>[, <Variant>]"``."""
    spec = spec or rng.choice(ptype.specs)
    color = color or rng.choice(COLORS)
    extra = model or (rng.choice(OTHER_WORDS) if rng.random() < 0.5 else "")
    title = " ".join(w for w in (brand_name, spec, ptype.name, extra) if w) + f", {color}"
    if rng.random() < 0.3:
        title += f", {rng.choice(VARIANTS)}"
    return title


def accessory_title(rng: random.Random, brand_name: str, accessory: str, ptype: ProductType) -> str:
    """An accessory title that names the product it goes with (``"... Ear Tips for Wireless Earbuds"``)."""
    title = f"{brand_name} {accessory} for {ptype.name}"
    return title + (f", {rng.choice(VARIANTS)}" if rng.random() < 0.4 else "")


def letters(n: int) -> list[str]:
    return [chr(ord("A") + i) for i in range(n)]
