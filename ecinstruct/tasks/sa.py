"""SA: sentiment analysis of a product review (5 star-rating classes)."""

from ecinstruct.scoring import OptionLetterScorer
from ecinstruct.tasks.base import Task

TASK = Task(
    code="SA",
    name="Sentiment_Analysis",
    category="user understanding",
    answer_type="option string",
    headline_metric="Macro-F1",
    has_ood=True,
    ood_definition="reviews from an unseen category (Tools_and_Home_Improvement)",
    has_options=True,
    options=(
        "A: very positive",
        "B: positive",
        "C: neutral",
        "D: negative",
        "E: very negative",
    ),
    description="Identify the sentiment of a review; 5 stars map to A, 1 star to E.",
    scorer=OptionLetterScorer(headline="f1"),
)
