"""PRP sample: two product titles whose relation shows in the titles.

Signal: an accessory "for <type>" of product 1 → A (also buy); the same type from another brand →
B (also view); the same brand, type and spec in another color or pack → C (similar).
"""

from __future__ import annotations

import json
import random

from ecinstruct.sample.common import accessory_title, brand, pick_types, product_title
from ecinstruct.sample.vocab import COLORS, IND_CATEGORIES, TOOLS
from ecinstruct.tasks.prp import TASK


def make(rng: random.Random, domain: str, k: int) -> dict:
    relation = k % 3
    ptype = rng.choice(pick_types(domain, IND_CATEGORIES, (TOOLS,)))
    first_brand = brand(rng, ptype.category)
    spec = rng.choice(ptype.specs)
    color = rng.choice(COLORS)
    first = product_title(rng, first_brand, ptype, spec, color)
    if relation == 0:
        other = brand(rng, ptype.category, exclude=[first_brand])
        second = accessory_title(rng, other, rng.choice(ptype.accessories), ptype)
    elif relation == 1:
        other = brand(rng, ptype.category, exclude=[first_brand])
        second = product_title(rng, other, ptype, rng.choice([s for s in ptype.specs if s != spec]))
    else:
        second = product_title(rng, first_brand, ptype, spec, rng.choice([c for c in COLORS if c != color]))
    # the colon inside the keys is how the published data spells them
    text = json.dumps({"Product 1:": first, "Product 2:": second})
    return {"input": text, "options": list(TASK.options), "output": TASK.option_letters[relation]}
