"""SA sample: a short review whose wording is tied to its star rating.

Signal: each rating has its own opening and closing phrases (``"Absolutely love ..."`` → 5 stars,
``"Complete waste of money."`` → 1 star); the middle sentence is neutral. OOD reviews are about
Tools & Home Improvement products.
"""

from __future__ import annotations

import random

from ecinstruct.sample.common import pick_types
from ecinstruct.sample.vocab import (
    IND_CATEGORIES,
    REVIEW_CLOSERS,
    REVIEW_MIDDLES,
    REVIEW_OPENERS,
    REVIEW_PURPOSES,
    TOOLS,
)
from ecinstruct.tasks.sa import TASK


def make(rng: random.Random, domain: str, k: int) -> dict:
    stars = 5 - k % 5  # balanced classes; the driver shuffles the split afterwards
    ptype = rng.choice(pick_types(domain, IND_CATEGORIES, (TOOLS,)))
    name = ptype.name.lower()
    sentences = [rng.choice(REVIEW_OPENERS[stars]).format(t=name)]
    if rng.random() < 0.8:
        sentences.append(rng.choice(REVIEW_MIDDLES).format(p=rng.choice(REVIEW_PURPOSES)))
    sentences.append(rng.choice(REVIEW_CLOSERS[stars]))
    return {"input": " ".join(sentences), "options": list(TASK.options), "output": TASK.options[5 - stars]}
