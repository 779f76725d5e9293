"""AG: answer generation for a product question grounded in review snippets."""

import json

from ecinstruct.scoring import GenerationScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import Field, TaskInputs
from ecinstruct.tasks.results import FreeText


def serialize(values: dict) -> tuple[str, None]:
    """The question and the review snippets under the published key ``document``."""
    return json.dumps({"question": values["question"], "document": values["documents"]}), None


TASK = Task(
    code="AG",
    order=10,
    name="Answer_Generation",
    category="product question answering",
    answer_type="free text",
    headline_metric="F_BERT",
    has_ood=True,
    ood_definition="questions from an unseen category (Cell_Phones_and_Accessories)",
    description="Write the answer to a product question from the given reviews.",
    scorer=GenerationScorer(),
    inputs=TaskInputs(
        fields=(Field("question", help="the customer's product question"),
                Field("documents", kind="texts", help="review snippets (or other product text) to answer from")),
        serialize=serialize,
        example={"question": "Does this backpack fit a 17 inch laptop?",
                 "documents": ["I carry my 17 inch gaming laptop in it every day, it fits with a little room.",
                               "The side pockets hold a full water bottle."]},
    ),
    result=FreeText(),
)
