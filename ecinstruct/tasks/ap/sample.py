"""AP sample: answerable iff one review snippet mentions the property the question asks about.

IND products are Sports & Outdoors and Tools, as in the paper's AP data; OOD ones Cell Phones & Accessories.
"""

from __future__ import annotations

import random

from ecinstruct.sample.common import pick_types
from ecinstruct.sample.qa import fact, qa_input
from ecinstruct.sample.vocab import PHONES, QA_PROPERTIES, SPORTS, TOOLS


def make(rng: random.Random, domain: str, k: int) -> dict:
    answerable = k % 2 == 0
    ptype = rng.choice(pick_types(domain, (SPORTS, TOOLS), (PHONES,)))
    prop = rng.choice(QA_PROPERTIES)
    snippet = fact(rng, prop)[0] if answerable else None
    return {"input": qa_input(rng, ptype, prop, snippet), "options": None,
            "output": "yes" if answerable else "no"}
