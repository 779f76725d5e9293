"""PRP: product relation prediction (also-buy / also-view / similar) between two products."""

from ecinstruct.scoring import OptionLetterScorer
from ecinstruct.tasks.base import Task

TASK = Task(
    code="PRP",
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
)
