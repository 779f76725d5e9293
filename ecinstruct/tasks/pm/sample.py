"""PM sample: an "Amazon" and a "Google" record of software/electronics-style products.

Signal: matching records share brand and model number (titles reworded, prices and descriptions
differ); non-matching records are the same product type from another brand with another model.
Format of the published rows: lower-case text, descriptions cut to 50 words + ``"..."``, missing
manufacturer/price as the string ``"nan"``, a missing description as a bare ``NaN``.
"""

from __future__ import annotations

import json
import random

from ecinstruct.sample.common import brand, model_number, types_in
from ecinstruct.sample.vocab import ELECTRONICS, HOME, MATERIALS, REVIEW_PURPOSES, ProductType
from ecinstruct.text import cut_words

_SENTENCES = (
    "the {b} {t} is designed for {p} and built to last.",
    "its {s} design comes with a durable {m} body.",
    "setup takes only a few minutes and the controls are simple to learn.",
    "a compact footprint makes it easy to store when it is not in use.",
    "every unit is tested before it leaves the factory and ships with a quick start guide.",
    "the {s} option gives you more flexibility than older models.",
    "customers choose the {b} {t} for its reliability, clean look and fair price.",
    "includes the main unit, a power adapter where needed and printed documentation.",
)


def _description(rng: random.Random, brand_name: str, ptype: ProductType, short: bool = False) -> str:
    chosen = rng.sample(_SENTENCES, 1 if short else rng.choice((1, 2, 2, 3, 6)))
    text = " ".join(chosen).format(
        b=brand_name, t=ptype.name, s=rng.choice(ptype.specs), m=rng.choice(MATERIALS),
        p=rng.choice(REVIEW_PURPOSES),
    )
    return cut_words(text.lower(), 50)


def _record(title: str, description: object, manufacturer: str, price: str) -> dict:
    return {"title": title.lower(), "description": description, "manufacturer": manufacturer.lower(),
            "price": price}


def make(rng: random.Random, domain: str, k: int) -> dict:
    match = k % 2 == 0
    ptype = rng.choice(types_in(ELECTRONICS, HOME))
    brand1 = brand(rng, ptype.category)
    model1 = model_number(rng, brand1)
    price = rng.randint(15, 400) + rng.choice((0.99, 0.95, 0.49))
    first = _record(f"{brand1} {model1} {ptype.name} {rng.choice(ptype.specs)}",
                    _description(rng, brand1, ptype),
                    f"{brand1} inc" if rng.random() < 0.8 else "nan", f"{price:.2f}")
    brand2, model2 = brand1, model1
    if not match:
        brand2 = brand(rng, ptype.category, exclude=[brand1])
        model2 = model_number(rng, brand2)
    # the second catalog has terser descriptions, some missing (a float NaN, serialised bare)
    description = _description(rng, brand2, ptype, short=True) if rng.random() < 0.85 else float("nan")
    second = _record(f"{ptype.name} {brand2} {model2} {rng.choice(ptype.specs)}",
                     description, brand2 if rng.random() < 0.4 else "nan",
                     "nan" if rng.random() < 0.15 else str(round(price * rng.uniform(0.7, 1.1))))
    return {"input": json.dumps({"product 1": first, "product 2": second}), "options": None,
            "output": "yes" if match else "no"}
