"""AG: answer generation for a product question grounded in review snippets."""

from ecinstruct.scoring import GenerationScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import question_with_documents
from ecinstruct.tasks.typed_results import FreeText

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
    inputs=question_with_documents(),
    result=FreeText(),
)
