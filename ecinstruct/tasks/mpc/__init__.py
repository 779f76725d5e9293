"""MPC: multi-class product classification of query-product relevance (ESCI E/S/C/I → A/B/C/D)."""

import json

from ecinstruct.scoring import OptionLetterScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import Field, TaskInputs
from ecinstruct.tasks.typed_results import Option


def serialize(values: dict) -> tuple[str, None]:
    return json.dumps({"query": values["query"], "product title": values["product"]}), None


TASK = Task(
    code="MPC",
    order=6,
    name="Multiclass_Product_Classification",
    category="query-product matching",
    answer_type="option string",
    headline_metric="Accuracy",
    has_ood=False,
    has_options=True,
    options=(
        "A: The product is relevant to the query, and satisfies all the query specifications.",
        "B: The product is somewhat relevant. It fails to fulfill some aspects of the query but the "
        "product can be used as a functional substitute.",
        "C: The product does not fulfill the query, but could be used in combination with a product "
        "exactly matching the query.",
        "D: The product is irrelevant to the query.",
    ),
    description="Classify how relevant a product title is to a search query.",
    scorer=OptionLetterScorer(headline="accuracy"),
    inputs=TaskInputs(
        fields=(Field("query", help="the shopper's search query"), Field("product", help="product title")),
        serialize=serialize,
        example={"query": "waterproof hiking boots women", "product": "Ridgeline Women's Trail Runner, Mesh, Grey"},
    ),
    result=Option(labels=("exact", "substitute", "complement", "irrelevant")),
)
