"""AG sample: the answer restates the one snippet that mentions the asked-about property.

IND products are Electronics and Home & Kitchen, as in the paper's AG data; OOD ones Cell Phones & Accessories.
"""

from __future__ import annotations

import random

from ecinstruct.sample.common import pick_types
from ecinstruct.sample.qa import fact, qa_input
from ecinstruct.sample.vocab import ELECTRONICS, HOME, PHONES, QA_PROPERTIES


def make(rng: random.Random, domain: str, k: int) -> dict:
    ptype = rng.choice(pick_types(domain, (ELECTRONICS, HOME), (PHONES,)))
    prop = rng.choice(QA_PROPERTIES)
    snippet, value = fact(rng, prop)
    answer = rng.choice(prop.answers).format(v=value)
    return {"input": qa_input(rng, ptype, prop, snippet), "options": None, "output": answer}
