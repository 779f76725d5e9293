"""The uniform description of one ECInstruct task.

Every task folder (``ecinstruct/tasks/<code>/__init__.py``) builds one :class:`Task`; the registry in
``ecinstruct/tasks/__init__.py`` finds them. Everything a consumer needs to know about a task
(names, options, prompt serialisation, later its answer parser and metric) hangs off this object,
so no code elsewhere branches on task-name strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ecinstruct.scoring.base import Scorer
    from ecinstruct.tasks.fields import TaskInputs
    from ecinstruct.tasks.typed_results import ResultReader

OptionsFormat = Literal["json", "python"]


@dataclass(frozen=True)
class Task:
    """One of the ECInstruct tasks.

    Attributes:
        code: short upper-case code used in the paper's tables (``"AVE"``).
        name: the exact value of the ``task`` column in the published data.
        category: the paper's task group (product understanding, ...).
        answer_type: what the model must output (``"yes/no"``, ``"option letter"``, ...).
        headline_metric: the paper's headline metric name, as used in its tables (``"F1*"``).
        options: the fixed option list shared by every row, or ``None`` when rows carry no options
            (SR has options but they differ per row: ``options=None, has_options=True``).
        has_options: whether rows carry an ``options`` column value.
        options_format: how the published data serialises the options list (JSON for most tasks,
            a Python literal for SR); prompts reproduce this serialisation exactly.
        has_ood: whether an out-of-domain test split exists.
        ood_definition: what makes the OOD test out of domain.
        aliases: other spellings accepted on input (the reference evaluator's typos).
        max_new_tokens: generation budget (the reference uses 100 for every task).
        scorer: the task's metric family (answer parser + scoring function, ``ecinstruct.scoring``),
            bound to this task (e.g. to its option letters) when the task is built.
        inputs: the fields a user supplies to run the task on new data, and how they become a row
            (:mod:`ecinstruct.tasks.fields`).
        result: how an answer reads as a typed result for a user (:mod:`ecinstruct.tasks.typed_results`).
        order: the task's place in listings and tables (the paper's tasks are 1–10, in the order of its
            Tables 2–3; a task of your own comes after them unless it says otherwise).
    """

    code: str
    name: str
    category: str
    answer_type: str
    headline_metric: str
    has_ood: bool
    options: tuple[str, ...] | None = None
    has_options: bool = False
    options_format: OptionsFormat = "json"
    ood_definition: str | None = None
    aliases: tuple[str, ...] = ()
    description: str = ""
    max_new_tokens: int = 100
    extras: dict = field(default_factory=dict, compare=False, hash=False)
    scorer: Scorer | None = field(default=None, compare=False, hash=False, repr=False)
    inputs: TaskInputs | None = field(default=None, compare=False, hash=False, repr=False)
    result: ResultReader | None = field(default=None, compare=False, hash=False, repr=False)
    order: int = field(default=1000, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.options is not None and not self.has_options:
            raise ValueError(f"task {self.code}: a fixed option list implies has_options=True")
        if self.has_ood != (self.ood_definition is not None):
            raise ValueError(f"task {self.code}: has_ood and ood_definition must agree")
        if self.scorer is not None:  # frozen: bind through object.__setattr__
            object.__setattr__(self, "scorer", self.scorer.bind(self))

    @property
    def config_name(self) -> str:
        """Name of this task's dataset config (lower-case code)."""
        return self.code.lower()

    @property
    def option_letters(self) -> tuple[str, ...]:
        """Letters of the fixed options (``("A", "B", "C")`` for PRP); empty when none are fixed."""
        return tuple(option.split(":", 1)[0] for option in self.options or ())

    def serialize_options(self, options: list[str] | None) -> str | None:
        """Render an options list exactly as the published data stores it (``None`` stays ``None``)."""
        if options is None:
            return None
        if self.options_format == "python":
            return str(list(options))
        return json.dumps(list(options))

    def input_row(self, values: dict) -> dict:
        """An ECInstruct row (``task``, ``input``, ``options``; no instruction) from already-cleaned field
        values (:meth:`TaskInputs.clean`)."""
        if self.inputs is None:
            raise ValueError(f"task {self.code} declares no input fields")
        input_text, options = self.inputs.serialize(values)
        if options is None and self.options is not None:
            options = list(self.options)
        return {"task": self.name, "input": input_text, "options": self.serialize_options(options)}

    @property
    def names(self) -> tuple[str, ...]:
        """Every string that identifies this task: code, config name, exact name and aliases."""
        return (self.code, self.config_name, self.name, *self.aliases)
