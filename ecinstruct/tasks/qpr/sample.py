"""QPR sample: 2–4 products with distinct ESCI labels, ranked E, S, C, I.

Letters follow sampling order (random with respect to the labels); ``option_labels`` gives the
ESCI label of option A, B, ... for the NDCG gains.
"""

from __future__ import annotations

import json
import random

from ecinstruct.sample.common import letters
from ecinstruct.sample.esci import ESCI, make_query, product_for


def make(rng: random.Random, domain: str, k: int) -> dict:
    size = rng.choices((2, 3, 4), weights=(5, 3, 2))[0]
    labels = rng.sample(ESCI, size)
    query = make_query(rng)
    names = letters(size)
    products = [f"{letter}: {product_for(rng, query, label)}" for letter, label in zip(names, labels, strict=True)]
    ranked = sorted(range(size), key=lambda i: ESCI.index(labels[i]))
    return {
        "input": json.dumps({"query": query.text, "product list": products}),
        "options": None,
        "output": ",".join(names[i] for i in ranked),
        "option_labels": labels,
    }
