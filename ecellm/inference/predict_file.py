"""``predict_file``: a table in, one JSON line of answers per row out; what ``ecellm predict`` runs.

Every option and the input's columns are checked before the model loads. Rows are validated one by one:
a bad row is reported by its line (CSV/JSONL) or row number (Parquet) and, with ``on_error="skip"``,
written as ``{"row", "line", "error"}`` so the output stays one line per input row; ``"fail"`` stops the
run there (rows before it are kept for the resume).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecellm.inference.files import (
    INPUT_KEY,
    PredictInputError,
    ResumableOutput,
    Source,
    SourceRow,
    check_columns,
    check_predict_out,
    parse_map,
    row_values,
)
from ecinstruct.errors import ECInstructError
from ecinstruct.tasks import get_task

logger = logging.getLogger(__name__)
ON_ERROR = ("skip", "fail")


class BadRowError(ECInstructError):
    """A bad input row under ``on_error="fail"``."""


@dataclass
class PredictSummary:
    rows: int = 0
    predicted: int = 0
    valid: int = 0
    bad_rows: list[str] = field(default_factory=list)
    resumed: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        rate = self.predicted / self.seconds if self.seconds else None
        return {"rows": self.rows, "predicted": self.predicted, "valid": self.valid, "bad_rows": len(self.bad_rows),
                "resumed": self.resumed, "seconds": round(self.seconds, 3),
                "rows_per_s": round(rate, 3) if rate else None}


def predict_file(model: Any, task: str, input: str | Path, out: str | Path, *, mapping: list[str] | None = None,
                 on_error: str = "skip", chunk_size: int = 64, overwrite: bool = False, progress: bool = True,
                 **predictor_options: Any) -> PredictSummary:
    """Answer every row of ``input`` with ``model`` (a :class:`Predictor` or what it takes) into ``out``.

    ``mapping``: ``["field=column", ...]`` for columns named differently from the task's fields.
    ``chunk_size``: rows per engine call and per checkpoint (what a kill may lose).
    """
    from ecellm.engines.model_loader import describe_model, fingerprint
    from ecellm.inference.config import PredictorOptions
    from ecellm.inference.predictor import Predictor, validate_predictor_options

    task_obj = get_task(task)
    if on_error not in ON_ERROR:
        raise PredictInputError(f"on_error must be one of {', '.join(ON_ERROR)}, got {on_error!r}")
    if chunk_size < 1:
        raise PredictInputError(f"chunk_size must be >= 1, got {chunk_size}")
    columns_of = parse_map(mapping, task_obj)
    source = Source(input)
    model_path = None if isinstance(model, Predictor) else model
    check_predict_out(out, [source.path, model_path], overwrite)
    total = source.check()  # one pass over the file: encoding, damage, size, before any model loads
    check_columns(task_obj, columns_of, source.columns(), source.path)
    if isinstance(model, Predictor):
        spec, method = model.spec, model.method
    else:
        checked = validate_predictor_options(PredictorOptions.from_kwargs(model, **predictor_options))
        spec, method = describe_model(model, revision=checked.revision), checked.method
    options = {"model": spec.name, "weights": fingerprint(spec), "task": task_obj.code, "method": method,
               "prompt_format": predictor_options.get("prompt_format") if not isinstance(model, Predictor)
               else model.prompt_format, "max_new_tokens": predictor_options.get("max_new_tokens"),
               "map": columns_of, "input": str(source.path.resolve()), INPUT_KEY: source.fingerprint()}
    output = ResumableOutput(out, options)  # checks a resume before the model loads; writes nothing yet
    predictor = model if isinstance(model, Predictor) else Predictor(model, **predictor_options)
    return _run(predictor, task_obj, source, columns_of, output, on_error, chunk_size, progress, total)


def _run(predictor, task, source: Source, columns_of: dict[str, str], output: ResumableOutput, on_error: str,
         chunk_size: int, progress: bool, total: int | None = None) -> PredictSummary:
    from tqdm.auto import tqdm

    summary = PredictSummary(resumed=len(output.done))
    start = time.perf_counter()
    pending: list[tuple[SourceRow, Any]] = []  # (row, Prepared or error text), in input order
    total = total if total is not None else source.count()
    with tqdm(total=total, unit="row", desc=f"{task.code}", disable=not progress, dynamic_ncols=True) as bar:
        for row in source.rows():
            summary.rows += 1
            if row.row in output.done:
                bar.update(1)
                continue
            item = _prepare(predictor, task, columns_of, row)
            if isinstance(item, str):
                summary.bad_rows.append(row.where)
                logger.warning("%s: %s", row.where, item)
                if on_error == "fail":
                    _flush(predictor, task.code, pending, output, summary, bar)
                    raise BadRowError(f"{source.path} {row.where}: {item}. Fix the row, or pass --on-error skip to "
                                      "skip bad rows; rerunning resumes after the rows already answered")
            pending.append((row, item))
            if sum(not isinstance(p, str) for _, p in pending) >= chunk_size:
                _flush(predictor, task.code, pending, output, summary, bar)
                summary.seconds = time.perf_counter() - start
                bar.set_postfix(rows_s=f"{summary.predicted / max(summary.seconds, 1e-9):.2f}")
        _flush(predictor, task.code, pending, output, summary, bar)
    summary.seconds = time.perf_counter() - start
    written = output.finish()
    logger.info("%d row(s) written to %s: %d answered (%d valid), %d bad row(s) skipped, %d from an earlier run",
                written, output.out, summary.predicted, summary.valid, len(summary.bad_rows), summary.resumed)
    return summary


def _prepare(predictor, task, columns_of: dict[str, str], row: SourceRow) -> Any:
    """The prepared item, or the text of what is wrong with the row."""
    if row.error is not None:
        return row.error
    try:
        return predictor.prepare(task, row_values(task, columns_of, row.columns), allow_extra=True)
    except ECInstructError as err:
        return str(err)


def _flush(predictor, task_code: str, pending: list, output: ResumableOutput, summary: PredictSummary,
           bar) -> None:
    if not pending:
        return
    items = [item for _, item in pending if not isinstance(item, str)]
    answers = iter(predictor.run(items) if items else [])
    records = []
    for row, item in pending:
        where = {"row": row.row, **({"line": row.line} if row.line is not None else {})}
        if isinstance(item, str):
            records.append({**where, "task": task_code, "valid": False, "error": item})
            continue
        prediction = next(answers)
        summary.predicted += 1
        summary.valid += prediction.valid
        records.append({**where, **prediction.to_dict()})
    output.append(records)
    bar.update(len(pending))
    pending.clear()

