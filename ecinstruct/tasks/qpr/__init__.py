"""QPR: query-product ranking of 2–4 products with distinct ESCI labels."""

import json

from ecinstruct.scoring import RankingScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import Field, TaskInputs
from ecinstruct.tasks.typed_results import Ranking
from ecinstruct.text import lettered


def serialize(values: dict) -> tuple[str, None]:
    """The query and the products lettered ``"A: title"`` in the given order."""
    return json.dumps({"query": values["query"], "product list": lettered(values["products"])}), None


TASK = Task(
    code="QPR",
    order=8,
    name="Query_Product_Rank",
    category="query-product matching",
    answer_type="comma-separated letters, most relevant first",
    headline_metric="NDCG",
    has_ood=False,
    aliases=("Query_Product_Ranking",),
    description="Rank 2–4 products by relevance to a query; the per-option ESCI labels "
    "(column option_labels) give the NDCG gains.",
    extras={"label_order": ("E", "S", "C", "I")},
    scorer=RankingScorer(),
    inputs=TaskInputs(
        fields=(Field("query", help="the shopper's search query"),
                Field("products", kind="texts", min_items=2, max_items=26,
                      help="product titles to rank (the models were trained on 2 to 4)")),
        serialize=serialize,
        example={"query": "stainless steel water bottle 32 oz",
                 "products": ["Hydrora Insulated Bottle Cleaning Brush Set",
                              "Hydrora 32 oz Stainless Steel Water Bottle, Vacuum Insulated",
                              "Kelso 24 oz Plastic Sports Bottle"]},
    ),
    result=Ranking(field="products"),
)
