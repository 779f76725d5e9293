"""Shared query/product construction of the three ESCI tasks (MPC, PSI, QPR).

A query names a product type plus a brand and/or a spec. Relative to it a product is
E (exact: brand/spec and type all present), S (substitute: same type, other brand and spec),
C (complement: an accessory "for <type>") or I (irrelevant: another category).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ecinstruct.sample.common import accessory_title, brand, product_title
from ecinstruct.sample.vocab import PRODUCT_TYPES, ProductType

ESCI = ("E", "S", "C", "I")


@dataclass(frozen=True)
class Query:
    text: str
    ptype: ProductType
    brand: str
    spec: str


def make_query(rng: random.Random) -> Query:
    ptype = rng.choice(PRODUCT_TYPES)
    maker, spec = brand(rng, ptype.category), rng.choice(ptype.specs)
    words = rng.choice(((maker, ptype.name), (spec, ptype.name), (maker, spec, ptype.name)))
    return Query(" ".join(words).lower(), ptype, maker, spec)


def product_for(rng: random.Random, query: Query, label: str) -> str:
    """A product title carrying ``label`` (E/S/C/I) with respect to ``query``."""
    ptype = query.ptype
    if label == "E":
        return product_title(rng, query.brand, ptype, query.spec)
    if label == "S":
        other = brand(rng, ptype.category, exclude=[query.brand])
        return product_title(rng, other, ptype, rng.choice([s for s in ptype.specs if s != query.spec]))
    if label == "C":
        other = brand(rng, ptype.category, exclude=[query.brand])
        return accessory_title(rng, other, rng.choice(ptype.accessories), ptype)
    unrelated = rng.choice([t for t in PRODUCT_TYPES if t.category != ptype.category])
    return product_title(rng, brand(rng, unrelated.category), unrelated)
