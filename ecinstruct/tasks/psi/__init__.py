"""PSI: product substitute identification (is the product a functional substitute for the query?)."""

import json

from ecinstruct.scoring import YesNoScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import Field, TaskInputs
from ecinstruct.tasks.typed_results import YesNo


def serialize(values: dict) -> tuple[str, None]:
    """The published key is ``product`` here (MPC's is ``product title``)."""
    return json.dumps({"query": values["query"], "product": values["product"]}), None


TASK = Task(
    code="PSI",
    order=7,
    name="Product_Substitute_Identification",
    category="query-product matching",
    answer_type="yes/no",
    headline_metric="F1",
    has_ood=False,
    aliases=("Product_Substitue_Identification",),
    description="Decide whether a product is a substitute (ESCI label S) for a search query.",
    scorer=YesNoScorer(),
    inputs=TaskInputs(
        fields=(Field("query", help="the shopper's search query"), Field("product", help="product title")),
        serialize=serialize,
        example={"query": "usb c charger 65w", "product": "Voltix 45W USB-C Wall Charger, Foldable Plug"},
    ),
    result=YesNo(),
)
