"""AG: answer generation for a product question grounded in review snippets."""

from ecinstruct.scoring import GenerationScorer
from ecinstruct.tasks.base import Task

TASK = Task(
    code="AG",
    name="Answer_Generation",
    category="product question answering",
    answer_type="free text",
    headline_metric="F_BERT",
    has_ood=True,
    ood_definition="questions from an unseen category (Cell_Phones_and_Accessories)",
    description="Write the answer to a product question from the given reviews.",
    scorer=GenerationScorer(),
)
