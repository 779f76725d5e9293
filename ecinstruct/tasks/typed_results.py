"""What a task's answer means to a user: reading the answer text into a typed result (``task.result``, the
``result`` of a prediction).

Each task declares one reader. Readers parse with the task's own scorer parsers (``ecinstruct.scoring``),
so an answer that scores as valid reads as valid, and map it onto the user's inputs (the chosen candidate,
the ranked products). ``read`` returns ``(result, valid)``; an invalid answer gives ``None`` (AVE: the
well-formed items it has). Which answers are allowed at all (constraints, candidates) is the scorer's
business (``ecinstruct.answers``), not the reader's. Readers sit beneath the :class:`~ecinstruct.tasks.base.Task`
type (which names them): what they read of a task is :class:`TaskView`.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ecinstruct.scoring.base import Scorer, TaskFacts
from ecinstruct.scoring.binary import parse_yes_no
from ecinstruct.scoring.extraction import loads, normalise
from ecinstruct.scoring.multiclass import parse_strict as parse_letter
from ecinstruct.scoring.ranking import parse_strict as parse_ranking


class TaskView(TaskFacts, Protocol):
    """What a reader reads of its task (an :class:`ecinstruct.tasks.base.Task`): the option letters and the scorer."""

    @property
    def scorer(self) -> Scorer | None: ...


class ResultReader:
    """Base of the readers; ``kind`` names the result type in docs and the API schema."""

    kind: ClassVar[str] = ""

    def read(self, task: TaskView, answer: str, values: dict[str, Any]) -> tuple[Any, bool]:
        raise NotImplementedError



@dataclass(frozen=True)
class YesNo(ResultReader):
    """``yes``/``no`` → ``True``/``False`` (PM, PSI, AP)."""

    kind: ClassVar[str] = "bool"

    def read(self, task: TaskView, answer: str, values: dict[str, Any]) -> tuple[Any, bool]:
        parsed = parse_yes_no(answer)
        return (None, False) if parsed is None else (parsed == "yes", True)



@dataclass(frozen=True)
class Option(ResultReader):
    """An option letter → its short label (``labels`` in option order)."""

    labels: tuple[str, ...]
    kind: ClassVar[str] = "label"

    def read(self, task: TaskView, answer: str, values: dict[str, Any]) -> tuple[Any, bool]:
        letter = task.scorer.parse(answer, "strict")
        if letter is None or letter not in task.option_letters:
            return None, False
        return self.labels[task.option_letters.index(letter)], True



@dataclass(frozen=True)
class Candidate(ResultReader):
    """The letter of one candidate → ``{"index", "item"}`` of the user's ``field`` list (SR)."""

    field: str
    kind: ClassVar[str] = "item"

    def read(self, task: TaskView, answer: str, values: dict[str, Any]) -> tuple[Any, bool]:
        items = values[self.field]
        letter = parse_letter(answer, _letters(len(items)))
        if letter is None:
            return None, False
        index = _letters(len(items)).index(letter)
        return {"index": index, "item": items[index]}, True



@dataclass(frozen=True)
class Ranking(ResultReader):
    """Comma-separated letters → the user's ``field`` items, most relevant first (QPR). Valid when every
    item is ranked exactly once and nothing else is written."""

    field: str
    kind: ClassVar[str] = "ranking"

    def read(self, task: TaskView, answer: str, values: dict[str, Any]) -> tuple[Any, bool]:
        items = values[self.field]
        picked, invalid, duplicates = parse_ranking(answer, len(items))
        if not picked:
            return None, False
        ranked = [{"index": i, "item": items[i]} for i in picked]
        return ranked, not invalid and not duplicates and len(picked) == len(items)


@dataclass(frozen=True)
class Extraction(ResultReader):
    """A JSON list of ``{attribute, value, source}`` (AVE). The literal ``"None"`` the model writes for an
    attribute the text does not mention becomes ``None``. Valid when the answer is such a list and every
    item is well formed; the well-formed items are returned either way."""

    kind: ClassVar[str] = "attributes"

    def read(self, task: TaskView, answer: str, values: dict[str, Any]) -> tuple[Any, bool]:
        ok, parsed = loads(answer)
        if not ok or not isinstance(parsed, list):
            return None, False
        items = [{key: _none(item[key]) for key in ("attribute", "value", "source")}
                 for item in parsed if normalise(item) is not None]
        return items, bool(items) and len(items) == len(parsed)


@dataclass(frozen=True)
class FreeText(ResultReader):
    """The answer text itself (AG); valid when not empty."""

    kind: ClassVar[str] = "text"

    def read(self, task: TaskView, answer: str, values: dict[str, Any]) -> tuple[Any, bool]:
        text = answer.strip()
        return (text, True) if text else (None, False)


def _letters(n: int) -> str:
    return string.ascii_uppercase[:n]


def _none(value: Any) -> Any:
    text = value if isinstance(value, str) else json.dumps(value)
    return None if text.strip() == "None" else text.strip()
