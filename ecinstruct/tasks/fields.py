"""What a user supplies to a task: its input fields, their validation, and the ECInstruct row they make.

Each task module declares a :class:`TaskInputs` (the fields and a ``serialize`` function that writes
them as the task's ``input`` text and option list, byte for byte as the published rows do). Values may
come from Python, JSON, or one row of a CSV/JSONL/Parquet file, so each field kind accepts the shapes those
give: ``texts`` takes a list, a JSON list string, or one string; ``record`` takes a dict, a JSON object
string, or flat ``field.key`` columns (``product1.title``).
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ecinstruct.errors import ECInstructError

FieldKind = Literal["text", "texts", "record"]


class FieldError(ECInstructError):
    """A missing, unknown or malformed input field; ``field`` names it (``product1.title``)."""

    def __init__(self, field_name: str, problem: str) -> None:
        self.field, self.problem = field_name, problem
        super().__init__(f"field {field_name!r}: {problem}")


@dataclass(frozen=True)
class Field:
    """One input field of a task.

    Attributes:
        name: the key a user passes (``title``; CSV column by default).
        kind: ``text`` (one string), ``texts`` (a list of strings) or ``record`` (an object with ``keys``).
        required: whether the field must be given and non-empty.
        help: one line for docs, the CLI, the OpenAPI schema and the web form.
        keys: a record's keys; the first one is required.
        min_items, max_items: bounds on a ``texts`` list.
    """

    name: str
    kind: FieldKind = "text"
    required: bool = True
    help: str = ""
    keys: tuple[str, ...] = ()
    min_items: int = 1
    max_items: int | None = None

    def __post_init__(self) -> None:
        if (self.kind == "record") != bool(self.keys):
            raise ValueError(f"field {self.name}: keys are given exactly for record fields")

    def clean(self, value: Any) -> Any:
        """The validated value (``None`` for an absent optional field); :class:`FieldError` otherwise."""
        if _missing(value):
            if self.required:
                raise FieldError(self.name, f"is required ({self.help or self.kind}); it is missing or empty")
            return None
        if self.kind == "text":
            return _text(self.name, value)
        if self.kind == "texts":
            return self._texts(value)
        return self._record(value)

    def _texts(self, value: Any) -> list[str]:
        items = _as_list(self.name, value)
        items = [_text(f"{self.name}[{i}]", item) for i, item in enumerate(items) if not _missing(item)]
        if len(items) < self.min_items or (self.max_items is not None and len(items) > self.max_items):
            bound = f"{self.min_items} to {self.max_items}" if self.max_items else f"at least {self.min_items}"
            raise FieldError(self.name, f"needs {bound} non-empty item(s), got {len(items)}")
        return items

    def _record(self, value: Any) -> dict[str, str | None]:
        if isinstance(value, str) and value.strip().startswith("{"):
            value = _json(self.name, value, dict, "a JSON object")
        if not isinstance(value, Mapping):
            raise FieldError(self.name, f"expected an object with keys {', '.join(self.keys)}; "
                                        f"got {type(value).__name__}")
        unknown = sorted(set(map(str, value)) - set(self.keys))
        if unknown:
            raise FieldError(f"{self.name}.{unknown[0]}", f"unknown key; expected some of: {', '.join(self.keys)}")
        first, *rest = self.keys
        record = {first: Field(f"{self.name}.{first}").clean(value.get(first))}
        for key in rest:
            record[key] = Field(f"{self.name}.{key}", required=False).clean(value.get(key))
        return record


@dataclass(frozen=True)
class TaskInputs:
    """A task's input fields, how they become the row's ``input`` and options, and a worked example.

    ``serialize(values)`` gets the cleaned values and returns ``(input text, options list or None)``;
    ``None`` options means the task's fixed option list (if it has one).
    """

    fields: tuple[Field, ...]
    serialize: Callable[[dict[str, Any]], tuple[str, list[str] | None]]
    example: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def columns(self) -> tuple[str, ...]:
        """Every flat column name a file row may use (records also as ``field.key``)."""
        flat = []
        for f in self.fields:
            flat.append(f.name)
            flat += [f"{f.name}.{key}" for key in f.keys]
        return tuple(flat)

    def clean(self, values: Mapping[str, Any], *, allow_extra: bool = False) -> dict[str, Any]:
        """Validated values of every field; unknown keys are an error unless ``allow_extra``."""
        values = _nest_records(values, self.fields)
        if not allow_extra:
            unknown = [k for k in values if k not in self.names]
            if unknown:
                raise FieldError(str(unknown[0]), f"unknown field; this task takes: {', '.join(self.names)}")
        return {f.name: f.clean(values.get(f.name)) for f in self.fields}


def _nest_records(values: Mapping[str, Any], fields: tuple[Field, ...]) -> dict[str, Any]:
    """``{"product1.title": t}`` → ``{"product1": {"title": t}}`` for record fields (flat file columns)."""
    out = dict(values)
    for f in fields:
        if f.kind != "record":
            continue
        flat = {key: out.pop(f"{f.name}.{key}") for key in f.keys if f"{f.name}.{key}" in out}
        if flat and _missing(out.get(f.name)):
            out[f.name] = flat
        elif flat:
            raise FieldError(f.name, f"given both as an object and as {f.name}.<key> columns; use one of the two")
    return out


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return not value.strip()
    if hasattr(value, "__len__") and not isinstance(value, Mapping):
        return len(value) == 0
    return False


def _text(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | numbers.Real):
        raise FieldError(name, f"expected text, got {type(value).__name__}")
    return str(value).strip()  # numbers (a price column) are text too


def _as_list(name: str, value: Any) -> list:
    if isinstance(value, str):
        stripped = value.strip()
        return _json(name, stripped, list, "a JSON list") if stripped.startswith("[") else [stripped]
    if isinstance(value, Mapping) or not hasattr(value, "__iter__"):
        raise FieldError(name, f"expected a list of texts, got {type(value).__name__}")
    return list(value)  # list, tuple, numpy array (Parquet / pandas list columns)


def _json(name: str, text: str, kind: type, what: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise FieldError(name, f"looks like {what} but is not valid JSON ({err.msg} at character {err.pos})") from None
    if not isinstance(value, kind):
        raise FieldError(name, f"expected {what}, got JSON {type(value).__name__}")
    return value


def question_with_documents() -> TaskInputs:
    """The inputs of the question-answering tasks (AP, AG): a question and the review snippets to answer
    from, written under the published keys ``question`` and ``document``."""
    return TaskInputs(
        fields=(Field("question", help="the customer's product question"),
                Field("documents", kind="texts", help="review snippets (or other product text) to answer from")),
        serialize=_question_and_document,
        example={"question": "Does this backpack fit a 17 inch laptop?",
                 "documents": ["I carry my 17 inch gaming laptop in it every day, it fits with a little room.",
                               "The side pockets hold a full water bottle."]},
    )


def _question_and_document(values: dict[str, Any]) -> tuple[str, None]:
    return json.dumps({"question": values["question"], "document": values["documents"]}), None
