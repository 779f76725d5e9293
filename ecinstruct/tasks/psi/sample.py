"""PSI sample: is the product a functional substitute (ESCI S) for the query? Half the rows are."""

from __future__ import annotations

import json
import random

from ecinstruct.sample.esci import make_query, product_for


def make(rng: random.Random, domain: str, k: int) -> dict:
    # balanced yes/no (the real IND test is about 23% yes) so a few dozen rows teach both answers
    label = "S" if k % 2 == 0 else rng.choice(("E", "C", "I"))
    query = make_query(rng)
    text = json.dumps({"query": query.text, "product": product_for(rng, query, label)})  # key "product"
    return {"input": text, "options": None, "output": "yes" if label == "S" else "no"}
