"""AP: answerability prediction of a product question given review snippets."""

from ecinstruct.scoring import YesNoScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import question_with_documents
from ecinstruct.tasks.typed_results import YesNo

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
    inputs=question_with_documents(),
    result=YesNo(),
)
