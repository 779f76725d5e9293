"""SA: sentiment analysis of a product review (5 star-rating classes)."""

from ecinstruct.scoring import OptionLetterScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import Field, TaskInputs
from ecinstruct.tasks.typed_results import Option


def serialize(values: dict) -> tuple[str, None]:
    """The review text itself is the input (not JSON); fixed options."""
    return values["review"], None


TASK = Task(
    code="SA",
    order=4,
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
    inputs=TaskInputs(
        fields=(Field("review", help="the review text"),),
        serialize=serialize,
        example={"review": "Fits my 15 inch laptop with room for the charger. The zipper already feels loose "
                           "after two weeks, though."},
    ),
    result=Option(labels=("very positive", "positive", "neutral", "negative", "very negative")),
)
