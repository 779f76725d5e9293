"""SRY: sequential recommendation one candidate at a time ("would this be the next purchase? yes/no").

A task folder outside the package (``ECINSTRUCT_TASK_PATH=benchmarks/tasks``), used by
``benchmarks/sr_pointwise_probe.py``: each row holds a purchase history and one candidate item, and the answer says
whether that candidate is the item bought next. Ranking SR's 20 candidates by the model's yes-minus-no margin turns
these answers back into SR's hit rate at 1 (the pointwise form of TALLRec, Bao et al. 2023).
"""

from ecinstruct.scoring import YesNoScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import Field, TaskInputs
from ecinstruct.tasks.typed_results import YesNo


def serialize(values: dict) -> tuple[str, None]:
    history = "\n".join(f"- {item}" for item in values["history"])
    return f"Purchase history:\n{history}\nCandidate: {values['candidate']}", None


TASK = Task(
    code="SRY",
    order=12,
    name="Sequential_Recommendation_Pointwise",
    category="user understanding",
    answer_type="yes/no",
    headline_metric="HR@1 of the yes-minus-no ranking (benchmarks/sr_pointwise_probe.py)",
    has_ood=False,
    description="Given a user's purchase history and one candidate item, say whether the user bought it next.",
    scorer=YesNoScorer(),
    inputs=TaskInputs(fields=(Field("history", kind="texts", help="items the user bought, oldest first"),
                              Field("candidate", kind="text", help="the item that may come next")),
                      serialize=serialize),
    result=YesNo(),
)
