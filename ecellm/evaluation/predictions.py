"""The input of ``ecellm score``: a JSONL, CSV or Parquet file of predictions made anywhere.

One record per row: ``id`` (or ``prompt``), ``task``, ``split``, ``prediction`` (the model's text), and
``reference`` (the gold output) unless ``--data`` supplies it by id; QPR rows also need ``option_labels`` (the
ESCI label of each product) and SR rows may carry ``options`` (the flexible reading matches item names). Every
problem is reported with its line (row, for Parquet) and field, before anything is scored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecellm.evaluation.data import EVAL_SPLITS
from ecellm.evaluation.errors import EvaluationError
from ecellm.inference.files import PredictInputError, Source, SourceRow
from ecinstruct.errors import UnknownNameError
from ecinstruct.tasks import Task, get_task

logger = logging.getLogger(__name__)

NEEDS = ('each line needs "id" (or "prompt"), "task", "split", "prediction" and "reference" (or --data DIR to '
         "look references up by id); see docs/examples/predictions.jsonl")


class PredictionsError(EvaluationError):
    """A predictions file that cannot be scored; the message names the line and the field."""


@dataclass(frozen=True)
class Prediction:
    """One row of a predictions file, checked."""

    where: str  # "line 7" (JSONL, CSV) or "row 7" (Parquet), 1-based
    id: str
    task: Task
    split: str
    prediction: str
    prompt: str | None = None
    reference: str | None = None
    options: Any = None
    option_labels: Any = None


def read_predictions(path: str | Path, *, references_from_data: bool = False) -> list[Prediction]:
    """Every row of ``path``, checked (:class:`PredictionsError` on the first bad one)."""
    try:
        source = Source(path)
    except PredictInputError as err:  # the reader's message names its own command's input: restate it for ours
        raise PredictionsError(f"predictions {path}: {str(err).split(': ', 1)[-1]}") from None
    if source.format == "jsonl" and source.path.suffix.lower() == ".json" and _is_json_array(source.path):
        raise PredictionsError(f"{source.path.name}: a JSON array; write one JSON object per line (JSON lines), "
                               "or use a CSV or Parquet file")
    out, seen = [], {}
    for row in source.rows():
        item = _check(source.path.name, row, references_from_data)
        key = (item.task.code, item.split, item.id)
        if key in seen:
            raise PredictionsError(f"{source.path.name} {item.where}: id {item.id!r} of {item.task.code} {item.split} "
                                   f"was already given on {seen[key]}; each row is scored once")
        seen[key] = item.where
        out.append(item)
    if not out:
        raise PredictionsError(f"{source.path.name}: no predictions in the file; {NEEDS}")
    return out


def _is_json_array(path: Path) -> bool:
    with path.open(encoding="utf-8") as handle:
        return handle.read(64).lstrip().startswith("[")


def _check(name: str, row: SourceRow, references_from_data: bool) -> Prediction:
    where = f"line {row.line}" if row.line is not None else f"row {row.row + 1}"

    def fail(problem: str, fix: str = NEEDS) -> PredictionsError:
        return PredictionsError(f"{name} {where}: {problem}; {fix}")

    if row.columns is None:  # a torn or non-object JSON line, a CSV row with the wrong number of cells
        raise fail(row.error or "unreadable")
    columns = {k: v for k, v in row.columns.items() if not _missing(v)}
    for field in ("task", "split", "prediction"):
        if field not in columns and not (field == "prediction" and field in row.columns):
            raise fail(f'missing field "{field}"')
    if "id" not in columns and (references_from_data or "prompt" not in columns):
        raise fail('missing field "id"' if references_from_data else 'missing field "id" (or "prompt")',
                   "--data looks rows up by id" if references_from_data else NEEDS)
    try:
        task = get_task(str(columns["task"]))
    except UnknownNameError:
        raise fail(f'unknown task {columns["task"]!r} in field "task"',
                   "use a task code such as PM, SA or QPR (`ecinstruct tasks` lists them)") from None
    split = str(columns["split"]).strip()
    if split not in EVAL_SPLITS or (split == "test_ood" and not task.has_ood):
        valid = [s for s in EVAL_SPLITS if s != "test_ood" or task.has_ood]
        raise fail(f'split {split!r} in field "split" is not one of {task.code}\'s splits',
                   f"use one of: {', '.join(valid)}")
    prediction = row.columns["prediction"]
    if _missing(prediction):
        prediction = ""  # an empty CSV cell: the model said nothing (an invalid answer, as in eval)
    if not isinstance(prediction, str):
        raise fail(f'field "prediction" is a {type(prediction).__name__}, not text', "write the model's output as text")
    if not references_from_data and "reference" not in columns:
        raise fail('missing field "reference"')
    if task.scorer.needs_option_labels and not references_from_data and "option_labels" not in columns:
        raise fail(f'missing field "option_labels" ({task.code} is scored from the ESCI label of every product)',
                   'give them as a list, e.g. ["E", "S", "I"], or pass --data DIR to look them up by id')
    reference = _text(columns.get("reference"))
    if reference is not None and hasattr(task.scorer, "parse_gold"):
        try:
            task.scorer.parse_gold(reference)
        except ValueError as err:
            raise fail(f'field "reference" {reference!r} is not a {task.code} answer ({err})',
                       "give the gold output as the data writes it") from None
    prompt = columns.get("prompt")
    return Prediction(where, _row_id(columns), task, split, prediction, None if prompt is None else str(prompt),
                      reference, _listish(columns.get("options")),
                      _listish(columns.get("option_labels")))


def _missing(value: Any) -> bool:
    """An absent cell: None, an empty CSV cell, or a float NaN (a pandas-written gap)."""
    return value is None or value == "" or (isinstance(value, float) and value != value)


def _row_id(columns: dict) -> str:
    """The given id, else one derived from the prompt (stable, so two files of the same prompts pair up)."""
    if "id" in columns:
        return str(columns["id"])
    return "prompt-" + hashlib.sha256(str(columns["prompt"]).encode("utf-8")).hexdigest()[:16]


def _text(value: Any) -> str | None:
    return None if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _listish(value: Any) -> Any:
    """A list cell of CSV is text: a JSON list is decoded, anything else is left for the scorer to read."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return list(value) if isinstance(value, tuple) else value
