"""SR: sequential recommendation (pick the next purchase among 20 candidates A–T)."""

from ecinstruct.scoring import SingleLetterScorer
from ecinstruct.tasks.base import Task

TASK = Task(
    code="SR",
    name="Sequential_Recommendation",
    category="user understanding",
    answer_type="option letter (A–T)",
    headline_metric="HR@1",
    has_ood=True,
    ood_definition="users and items from an unseen category (Tools_and_Home_Improvement)",
    has_options=True,
    options_format="python",
    description="Given a user's purchase history, pick the item bought next among 20 candidates.",
    extras={"n_candidates": 20},
    scorer=SingleLetterScorer(n_letters=20),
)
