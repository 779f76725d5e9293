"""PM: product matching (are an Amazon and a Google record the same product?)."""

from ecinstruct.scoring import YesNoScorer
from ecinstruct.tasks.base import Task

TASK = Task(
    code="PM",
    name="Product_Matching",
    category="product understanding",
    answer_type="yes/no",
    headline_metric="F1",
    has_ood=False,
    description="Decide whether two product records (title, description, manufacturer, price) "
    "describe the same product.",
    scorer=YesNoScorer(),
)
