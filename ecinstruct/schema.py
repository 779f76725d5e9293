"""The row schema: published columns in, normalised rows out.

A published row has eight string-or-null columns. A normalised row keeps them (same names and
meaning) except that ``options`` becomes a list of strings, and adds ``id`` (stable: task, setting,
published split and position within them), ``task_code`` and ``option_labels`` (the per-option ESCI
labels of a QPR row when known; ``None`` otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import datasets

from ecinstruct.errors import RowFormatError, UnknownNameError
from ecinstruct.settings import PUBLISHED_SPLITS, Setting, get_setting
from ecinstruct.tasks import TASKS, Task, get_task
from ecinstruct.text import parse_options

PUBLISHED_COLUMNS: tuple[str, ...] = (
    "output", "input", "options", "task", "setting", "split", "few_shot_example", "instruction",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("output", "input", "task", "setting", "split", "instruction")

FEATURES = datasets.Features(
    {
        "id": datasets.Value("string"),
        "task_code": datasets.Value("string"),
        "output": datasets.Value("string"),
        "input": datasets.Value("string"),
        "options": datasets.List(datasets.Value("string")),
        "task": datasets.Value("string"),
        "setting": datasets.Value("string"),
        "split": datasets.Value("string"),
        "few_shot_example": datasets.Value("string"),
        "instruction": datasets.Value("string"),
        "option_labels": datasets.List(datasets.Value("string")),
    }
)
COLUMNS: tuple[str, ...] = tuple(FEATURES)


def _check_types(record: dict, row: int | str) -> None:
    if not isinstance(record, dict):
        raise RowFormatError(row, f"expected a JSON object, got {type(record).__name__}",
                             "Each row must be an object with the ECInstruct columns.")
    missing = [c for c in REQUIRED_COLUMNS if c not in record]
    if missing:
        raise RowFormatError(row, f"missing column(s) {', '.join(missing)}",
                             f"Every row needs the columns {', '.join(PUBLISHED_COLUMNS)}.")
    for column in PUBLISHED_COLUMNS:
        value = record.get(column)
        nullable = column not in REQUIRED_COLUMNS
        if column == "options" and isinstance(value, list):
            continue
        if not (isinstance(value, str) or (nullable and value is None)):
            expected = "a string or null" if nullable else "a string"
            raise RowFormatError(row, f"column {column!r} is {type(value).__name__} ({value!r:.60})",
                                 f"Column {column!r} must be {expected}.")


def _lookup(record: dict, row: int | str) -> tuple[Task, Setting]:
    try:
        task = get_task(record["task"])
        setting = get_setting(record["setting"])
    except UnknownNameError as err:
        raise RowFormatError(row, str(err), f"Fix the {err.kind} name or drop the row.") from None
    if record["split"] not in PUBLISHED_SPLITS:
        raise RowFormatError(row, f"split {record['split']!r} is not one of {', '.join(PUBLISHED_SPLITS)}",
                             "Use train, val or test in the split column.")
    if setting.domain == "OOD" and record["split"] != "test":
        raise RowFormatError(row, f"OOD setting {setting.name} with split {record['split']!r}",
                             "OOD settings hold test rows only; fix the split or the setting.")
    if setting.domain == "OOD" and not task.has_ood:
        raise RowFormatError(row, f"task {task.code} has no OOD test but the row is {setting.name}",
                             f"Tasks with an OOD test: {', '.join(t.code for t in _ood_tasks())}.")
    return task, setting


def _ood_tasks() -> list[Task]:
    return [t for t in TASKS if t.has_ood]


def normalize_row(record: dict, row: int | str, index: int | None = None) -> tuple[dict, Task, Setting]:
    """Validate one published row and return it normalised, with its task and setting.

    ``index`` is the row's position among rows of the same (task, setting, split); it makes the id.
    Raises :class:`RowFormatError` naming the row, the problem and the fix.
    """
    _check_types(record, row)
    task, setting = _lookup(record, row)
    options = parse_options(record.get("options"), row)
    if task.has_options and options is None:
        raise RowFormatError(row, f"task {task.code} rows need options, got {record.get('options')!r}",
                             "Give the option list of the row (a JSON or Python list of strings).")
    labels = record.get("option_labels")
    normalised = {
        "id": None if index is None else make_id(task, setting, record["split"], index),
        "task_code": task.code,
        **{c: record.get(c) for c in PUBLISHED_COLUMNS},
        "task": task.name,  # aliases become the canonical name
        "options": options,
        "option_labels": list(labels) if labels is not None else None,
    }
    return normalised, task, setting


def make_id(task: Task, setting: Setting, published_split: str, index: int) -> str:
    """Stable row id from task, setting, published split and position: ``AVE-IND_Diverse_Instruction-test-000042``."""
    return f"{task.code}-{setting.name}-{published_split}-{index:06d}"


def to_published(row: dict) -> dict:
    """Turn a normalised row back into the published eight-column form (options re-serialised)."""
    task = get_task(row["task"])
    published = {c: row.get(c) for c in PUBLISHED_COLUMNS}
    published["options"] = task.serialize_options(row.get("options"))
    return published


@dataclass
class RowReport:
    """What a lenient (``strict=False``) pass skipped, by reason, with a few examples."""

    read: int = 0
    kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def skip(self, error: RowFormatError) -> None:
        reason = error.problem.split(":")[0][:80]
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        if len(self.examples) < 5:
            self.examples.append(str(error))

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        if not self.n_skipped:
            return f"read {self.read} rows, kept all"
        reasons = "; ".join(f"{n} × {r}" for r, n in sorted(self.skipped.items(), key=lambda kv: -kv[1]))
        return f"read {self.read} rows, kept {self.kept}, skipped {self.n_skipped} ({reasons})"
