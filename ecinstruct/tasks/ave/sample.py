"""AVE sample: extract the target attribute's value from a product's text fields.

Signal: the value (a color, material, ...) appears in the title and/or the description, or the
product text has no value of that attribute at all → the ``"None"`` triple. OOD rows ask about
attributes never asked in IND rows (the paper's OOD test for AVE: unseen attributes). Output objects
are lower-cased, one per source the value occurs in, as in the published rows.
"""

from __future__ import annotations

import json
import random

from ecinstruct.sample.common import brand, model_number, types_in
from ecinstruct.sample.vocab import AVE_IND_ATTRIBUTES, AVE_OOD_ATTRIBUTES, ELECTRONICS, HOME, SPORTS, TOOLS

SOURCES = ("product title", "product description", "product feature", "product price", "product brand")
# How the description states a value of each attribute.
_STATEMENTS = {
    "Color": "Finished in {v} to match any room.", "Material": "Made from durable {v}.",
    "Size": "This one is the {v} version.", "Style": "Its {v} look suits most spaces.",
    "Capacity": "Holds up to {v}.", "Pattern": "Features a {v} design.", "Power Source": "It is {v}.",
}
_FILLER = ("Easy to clean and store.", "Backed by friendly customer support.", "A thoughtful gift idea.",
           "Ships in recyclable packaging.", "Designed and tested for daily use.")


def _text_fields(rng: random.Random, values: dict[str, str]) -> dict[str, str]:
    """Title, description, feature, price, brand, with each attribute value placed in the title,
    the description or both (in key order, optional keys left out like missing source text)."""
    ptype = rng.choice(types_in(ELECTRONICS, HOME, SPORTS, TOOLS))
    maker = brand(rng, ptype.category)
    in_title = {a: v for a, v in values.items() if rng.random() < 0.6}
    in_description = {a: v for a, v in values.items() if a not in in_title or rng.random() < 0.3}
    title = " ".join([maker, *in_title.values(), ptype.name])
    sentences = [_STATEMENTS[a].format(v=v.lower()) for a, v in in_description.items()]
    sentences.append(rng.choice(_FILLER))
    rng.shuffle(sentences)
    fields = {"product title": title, "product description": " ".join(sentences)}
    if rng.random() < 0.5:
        fields["product feature"] = (f"Item Weight: {rng.randint(2, 90) / 10} pounds, "
                                     f"Model Number: {model_number(rng, maker)}")
    if rng.random() < 0.4:
        fields["product price"] = f"${rng.randint(8, 250)}.99"
    if rng.random() < 0.6:
        fields["product brand"] = maker
    return fields


def make(rng: random.Random, domain: str, k: int) -> dict:
    attributes = AVE_OOD_ATTRIBUTES if domain == "OOD" else AVE_IND_ATTRIBUTES
    names = list(attributes)
    target = names[k % len(names)]
    has_value = rng.random() < 0.8
    # one or two other attributes make the text realistic and are not the answer
    others = rng.sample([a for a in names if a != target], rng.randint(0, 2))
    values = {a: rng.choice(attributes[a]) for a in ([target] if has_value else []) + others}
    fields = _text_fields(rng, values)
    triples = [{"attribute": target.lower(), "value": "None", "source": "None"}]
    if has_value:
        value = values[target].lower()
        triples = [{"attribute": target.lower(), "value": value, "source": source}
                   for source, text in fields.items() if value in text.lower()]
    return {"input": json.dumps({**fields, "target attributes": target}), "options": None,
            "output": json.dumps(triples)}
