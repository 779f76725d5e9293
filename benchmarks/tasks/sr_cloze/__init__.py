"""SRC: sequential recommendation asked for the item, not its letter (the probe's training rows).

A task folder outside the package (``ECINSTRUCT_TASK_PATH=benchmarks/tasks``), used by
``benchmarks/sr_cloze_probe.py``: its rows hold a purchase history and, as the answer, the text of the item bought
next; no option list. The package's SR asks for one of 20 letters, which SmolLM2-135M does not learn to give
(docs/results/fine_tuning_diagnosis.md); this form is what the probe trains and scores.
"""

from ecinstruct.scoring import GenerationScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import Field, TaskInputs
from ecinstruct.tasks.typed_results import FreeText

TASK = Task(
    code="SRC",
    order=11,
    name="Sequential_Recommendation_Cloze",
    category="user understanding",
    answer_type="free text (the next item's title)",
    headline_metric="HR@1 of the log-likelihood choice (benchmarks/sr_cloze_probe.py)",
    has_ood=False,
    description="Given a user's purchase history, name the item bought next.",
    scorer=GenerationScorer(),
    inputs=TaskInputs(fields=(Field("history", kind="texts", help="items the user bought, oldest first"),),
                      serialize=lambda v: ("\n".join(f"- {item}" for item in v["history"]), None)),
    result=FreeText(),
)
