"""SR: sequential recommendation (pick the next purchase among 20 candidates A–T)."""

from ecinstruct.scoring import SingleLetterScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import Field, TaskInputs
from ecinstruct.tasks.typed_results import Candidate
from ecinstruct.text import cut_words, lettered, ordinal

ITEM_WORDS = 25  # the published item texts are cut to 25 words


def serialize(values: dict) -> tuple[str, list[str]]:
    """History as a Python-literal list of ``"1st: item"``; candidates lettered ``"A: item"`` (the task
    writes them as a Python literal too)."""
    history = [f"{ordinal(k)}: {cut_words(item, ITEM_WORDS)}" for k, item in enumerate(values["history"], 1)]
    return str(history), lettered([cut_words(item, ITEM_WORDS) for item in values["candidates"]])


TASK = Task(
    code="SR",
    order=5,
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
    inputs=TaskInputs(
        fields=(Field("history", kind="texts", help="items the user bought, oldest first "
                                                    "(title. category. subcategory. brand.)"),
                Field("candidates", kind="texts", min_items=2, max_items=20,
                      help="items to choose the next purchase from (the models were trained on 20)")),
        serialize=serialize,
        example={"history": ["Brewline 12-Cup Programmable Coffee Maker. Home & Kitchen. Coffee. Brewline.",
                             "Brewline Reusable Coffee Filter. Home & Kitchen. Coffee. Brewline."],
                 "candidates": ["Kelso Burr Coffee Grinder. Home & Kitchen. Coffee. Kelso.",
                                "Trailmark Dome Tent. Sports & Outdoors. Camping. Trailmark.",
                                "Nimbo Wireless Mouse. Electronics. Computers. Nimbo."]},
    ),
    result=Candidate(field="candidates"),
)
