"""PRP: product relation prediction (also-buy / also-view / similar) between two products."""

import json

from ecinstruct.scoring import OptionLetterScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import Field, TaskInputs
from ecinstruct.tasks.typed_results import Option


def serialize(values: dict) -> tuple[str, None]:
    """The two titles under the published keys (with the colon inside them); fixed options."""
    return json.dumps({"Product 1:": values["product1"], "Product 2:": values["product2"]}), None


TASK = Task(
    code="PRP",
    order=2,
    name="Product_Relation_Prediction",
    category="product understanding",
    answer_type="option letter",
    headline_metric="Macro-F1",
    has_ood=True,
    ood_definition="product pairs from an unseen category (Tools_and_Home_Improvement)",
    has_options=True,
    options=(
        "A: Users who buy product 1 may also buy product 2.",
        "B: Users who view product 1 may also view product 2.",
        "C: The product 1 is similar with the product 2.",
    ),
    aliases=("Product_Relation_Predicition",),
    description="Predict how two products relate from their titles.",
    scorer=OptionLetterScorer(headline="f1"),
    inputs=TaskInputs(
        fields=(Field("product1", help="title of the first product"),
                Field("product2", help="title of the second product")),
        serialize=serialize,
        example={"product1": "Brewline 12-Cup Programmable Coffee Maker, Stainless Steel",
                 "product2": "Brewline #4 Cone Paper Coffee Filters, 200 Count"},
    ),
    result=Option(labels=("also bought", "also viewed", "similar")),
)
