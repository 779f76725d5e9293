"""Shared construction of the two AmazonQA-style tasks (AP, AG): a question plus review snippets."""

from __future__ import annotations

import json
import random

from ecinstruct.sample.vocab import FILLER_SNIPPETS, QA_PROPERTIES, ProductType, QAProperty


def fact(rng: random.Random, prop: QAProperty) -> tuple[str, str]:
    """A snippet stating a value of ``prop``, and the value."""
    value = rng.choice(prop.values)
    return rng.choice(prop.facts).format(v=value), value


def qa_input(rng: random.Random, ptype: ProductType, prop: QAProperty, answer_snippet: str | None) -> str:
    """``{"question", "document"}`` where only ``answer_snippet`` (if any) mentions ``prop``."""
    name = ptype.name.lower()
    others = rng.sample([p for p in QA_PROPERTIES if p is not prop], rng.choice((1, 1, 2)))
    snippets = [fact(rng, p)[0] for p in others]
    snippets += [s.format(t=name) for s in rng.sample(FILLER_SNIPPETS, rng.randint(1, 2))]
    if answer_snippet is not None:
        snippets.append(answer_snippet)
    rng.shuffle(snippets)
    return json.dumps({"question": rng.choice(prop.questions).format(t=name), "document": snippets})
