"""The test rows to evaluate: per (task, split), in stored order, ids kept."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

from ecellm.evaluation.errors import EvaluationError
from ecinstruct.errors import ECInstructError
from ecinstruct.settings import SPLITS
from ecinstruct.tasks import Task, resolve_tasks

logger = logging.getLogger(__name__)

EVAL_SPLITS = ("test_ind", "test_ood", "validation")
COLUMNS = ("id", "task", "task_code", "instruction", "input", "options", "output", "few_shot_example",
           "option_labels", "setting")


def parse_tasks(tasks: Any) -> tuple[tuple[Task, ...], bool]:
    """Tasks to evaluate and whether the user named them (``"all"`` did not)."""
    explicit = not (tasks is None or tasks == "all")
    try:
        return resolve_tasks(tasks), explicit
    except ECInstructError as err:
        raise EvaluationError(str(err)) from None


def parse_splits(splits: Any) -> tuple[str, ...]:
    names = [s.strip() for s in splits.split(",")] if isinstance(splits, str) else list(splits)
    unknown = [s for s in names if s not in EVAL_SPLITS]
    if unknown or not names:
        raise EvaluationError(f"unknown split(s) {unknown or names}; expected some of: {', '.join(EVAL_SPLITS)} "
                              f"(the dataset's splits are {', '.join(SPLITS)})")
    return tuple(dict.fromkeys(names))


def data_name(data: Any) -> str:
    """How ``data`` is named in messages and results: its path or id, or the type of an in-memory dataset."""
    return str(data) if isinstance(data, str | Path) else f"an in-memory {type(data).__name__}"


def load_data(data: Any, config: str, qpr_labels: Any = None) -> Any:
    """A ``DatasetDict`` as is, else ``ecinstruct.load(data, config)`` (QPR labels filled from ``qpr_labels``)."""
    if hasattr(data, "keys") and hasattr(data, "values"):
        if qpr_labels:
            raise EvaluationError(f"--qpr-labels {qpr_labels}: the data is an in-memory dataset whose QPR labels are "
                                  "already set, so the file would be ignored; leave it out")
        return data
    import ecinstruct

    return ecinstruct.load(str(data), config, **({"qpr_labels": qpr_labels} if qpr_labels else {}))


def select_rows(dataset: Any, tasks: tuple[Task, ...], explicit: bool, splits: tuple[str, ...], *,
                data_name: str, config: str, max_samples: int | None) -> dict[tuple[str, str], list[dict]]:
    """``{(task code, split): rows}``; OOD splits only for tasks that have one."""
    selected: dict[tuple[str, str], list[dict]] = {}
    for split in splits:
        if split not in dataset:
            raise EvaluationError(f"split {split!r} is not in {data_name} (config {config!r}); it has: "
                                  f"{', '.join(dataset.keys()) or 'nothing'}. Choose --splits among those")
        by_task = _rows_by_task(dataset[split])
        for task in tasks:
            if split == "test_ood" and not task.has_ood:
                continue
            rows = by_task.get(task.code, [])
            if not rows:
                if explicit:
                    raise EvaluationError(f"task {task.code} has no rows in split {split!r} of {data_name} "
                                          f"(config {config!r}); drop it from --tasks or use data that has it")
                logger.info("%s: no rows in %s, skipped", task.code, split)
                continue
            selected[(task.code, split)] = rows[:max_samples] if max_samples else rows
    if not selected:
        raise EvaluationError(f"nothing to evaluate: no rows of {[t.code for t in tasks]} in splits {list(splits)} "
                              f"of {data_name} (config {config!r})")
    return selected


def _rows_by_task(split_data: Any) -> dict[str, list[dict]]:
    columns = [c for c in COLUMNS if c in split_data.column_names]
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in split_data.select_columns(columns):
        grouped[row["task_code"]].append(row)
    return grouped
