"""AP: answerability prediction of a product question given review snippets."""

import json

from ecinstruct.scoring import YesNoScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import Field, TaskInputs
from ecinstruct.tasks.results import YesNo


def serialize(values: dict) -> tuple[str, None]:
    """The question and the review snippets under the published key ``document``."""
    return json.dumps({"question": values["question"], "document": values["documents"]}), None


TASK = Task(
    code="AP",
    order=9,
    name="Answerability_Prediction",
    category="product question answering",
    answer_type="yes/no",
    headline_metric="F1",
    has_ood=True,
    ood_definition="questions from an unseen category (Cell_Phones_and_Accessories)",
    description="Decide whether a product question can be answered from the given reviews.",
    scorer=YesNoScorer(),
    inputs=TaskInputs(
        fields=(Field("question", help="the customer's product question"),
                Field("documents", kind="texts", help="review snippets (or other product text) to answer from")),
        serialize=serialize,
        example={"question": "Does this backpack fit a 17 inch laptop?",
                 "documents": ["I carry my 17 inch gaming laptop in it every day, it fits with a little room.",
                               "The side pockets hold a full water bottle."]},
    ),
    result=YesNo(),
)
