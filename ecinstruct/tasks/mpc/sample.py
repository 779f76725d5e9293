"""MPC sample: a query and a product title; the output is the full option string of its ESCI label."""

from __future__ import annotations

import json
import random

from ecinstruct.sample.esci import ESCI, make_query, product_for
from ecinstruct.tasks.mpc import TASK


def make(rng: random.Random, domain: str, k: int) -> dict:
    label = k % 4  # E→A, S→B, C→C, I→D
    query = make_query(rng)
    text = json.dumps({"query": query.text, "product title": product_for(rng, query, ESCI[label])})
    return {"input": text, "options": list(TASK.options), "output": TASK.options[label]}
