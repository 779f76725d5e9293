"""QPR: query-product ranking of 2–4 products with distinct ESCI labels."""

from ecinstruct.scoring import RankingScorer
from ecinstruct.tasks.base import Task

TASK = Task(
    code="QPR",
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
)
