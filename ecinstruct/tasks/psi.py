"""PSI: product substitute identification (is the product a functional substitute for the query?)."""

from ecinstruct.scoring import YesNoScorer
from ecinstruct.tasks.base import Task

TASK = Task(
    code="PSI",
    name="Product_Substitute_Identification",
    category="query-product matching",
    answer_type="yes/no",
    headline_metric="F1",
    has_ood=False,
    aliases=("Product_Substitue_Identification",),
    description="Decide whether a product is a substitute (ESCI label S) for a search query.",
    scorer=YesNoScorer(),
)
