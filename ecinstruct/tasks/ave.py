"""AVE: attribute value extraction (MAVE product text → JSON list of attribute/value/source)."""

from ecinstruct.scoring import ExtractionScorer
from ecinstruct.tasks.base import Task

TASK = Task(
    code="AVE",
    name="Attribute_Value_Extraction",
    category="product understanding",
    answer_type="JSON list of {attribute, value, source}",
    headline_metric="F1*",
    has_ood=True,
    ood_definition="attribute names held out of training (unseen attributes)",
    description="Extract the value of target attributes from product title/description/feature/"
    "price/brand, and name the source field of each value.",
    scorer=ExtractionScorer(),
)
