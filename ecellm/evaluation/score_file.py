"""``score_predictions()``: predictions made anywhere → the same results folder as ``ecellm eval`` writes.

No model is loaded. The rows are grouped by task × split and go through the eval's own
:func:`ecellm.evaluation.run.score_pair` (so :func:`ecellm.evaluation.scoring.score_rows` and its readings), the
results through :class:`ecellm.evaluation.results.Results` (``results.json``, tables, chart, per-row samples):
scores of a file exported from an eval run equal that run's scores, and ``ecellm compare`` reads the output.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from ecellm.engines.methods import Method
from ecellm.evaluation.config import ResultsOptions
from ecellm.evaluation.data import COLUMNS, data_name, load_data
from ecellm.evaluation.predictions import Prediction, PredictionsError, read_predictions
from ecellm.evaluation.results import Results
from ecellm.evaluation.run import check_modes, score_pair, versions
from ecellm.evaluation.scoring import MemoPairScorer, ScoringOptions, resolve_encoder
from ecellm.options import option
from ecinstruct.prompts import response_marker

logger = logging.getLogger(__name__)
METHOD = Method.GENERATE  # predictions made elsewhere are free generations as far as scoring is concerned


# The format the predictions were made with (no "auto": there is no model to ask).
MadeWith = Literal["alpaca", "mistral", "chat"]


@dataclass
class ScoreOptions(ResultsOptions):
    """What ``ecellm score`` was asked (its flags are generated from these fields; recorded in ``results.json`` as
    ``options``). The readings, bootstrap and encoder options are ``ecellm eval``'s own (:class:`ResultsOptions`);
    ``modes`` also takes a tuple."""

    predictions: str | None = option(None, "JSONL, CSV or Parquet file of predictions (see below).", positional=True)
    data: str | None = option(None, "ECInstruct source (Hub id, dataset.json, built folder) to take references from, "
                                    "by id.")
    label: str | None = option(None, "Name of the system in the tables (default: the file name).")
    prompt_format: MadeWith = option("alpaca", "Format the predictions were made with: a repeated response marker of "
                                               "it ends an answer (default alpaca).")
    seed: int = option(0, "Bootstrap seed.")


def score_predictions(options: ScoreOptions, published: Any = None) -> Results:
    """Read, check, join and score a predictions file; the returned results are not written anywhere yet."""
    modes = check_modes(options.modes)
    items = read_predictions(options.predictions, references_from_data=options.data is not None)
    rows = _join(items, options) if options.data is not None else _inline_rows(items)
    uses_encoder = any(item.task.scorer.needs_encoder for item in items)
    encoder = resolve_encoder(options.bertscore_model, options.bertscore_layers) if uses_encoder else None
    scoring = ScoringOptions(options.n_resamples, options.confidence, options.seed,
                             MemoPairScorer(encoder) if encoder else None)
    entries, samples = [], {}
    for (task_code, split), pairs in _grouped(items, rows).items():
        given = [item for item, _ in pairs]
        # No prompt: the response marker stands in for it, so the reference reading cuts the text as eval does.
        prompts = [item.prompt or response_marker(options.prompt_format) for item in given]
        records = [{"text": item.prediction} for item in given]
        pair_entries, pair_samples = score_pair(task_code, split, [row for _, row in pairs], prompts, records,
                                                options.prompt_format, modes, METHOD, scoring)
        entries += pair_entries
        samples[(task_code, split)] = [_verdicts(sample, item, modes)
                                       for sample, item in zip(pair_samples, given, strict=True)]
    meta = _meta(options, modes, items, samples, encoder)
    return Results(meta=meta, entries=entries, samples=samples, published=published)


def _inline_rows(items: list[Prediction]) -> list[dict]:
    return [{"id": i.id, "output": i.reference, "options": i.options, "option_labels": i.option_labels}
            for i in items]


def _join(items: list[Prediction], options: ScoreOptions) -> list[dict]:
    """The data row of every prediction, by task, split and id (a reference given in the file must agree)."""
    dataset = load_data(options.data, options.config, options.qpr_labels)
    index: dict[tuple[str, str], dict[str, dict]] = {}
    rows = []
    for item in items:
        pair = (item.task.code, item.split)
        if pair not in index:
            index[pair] = _index(dataset, item, options)
        row = index[pair].get(item.id)
        if row is None:
            raise PredictionsError(f"{Path(options.predictions).name} {item.where}: unknown id {item.id!r} in field "
                                   f'"id": {data_name(options.data)} has no {item.task.code} row of split '
                                   f"{item.split} with it; check the ids, the split and --config")
        if item.reference is not None and item.reference.strip() != str(row["output"]).strip():
            raise PredictionsError(f"{Path(options.predictions).name} {item.where}: field \"reference\" differs from "
                                   f"the gold output of {item.id} in {data_name(options.data)}; drop the field or "
                                   "score against the data the predictions were made for")
        rows.append(row)
    return rows


def _index(dataset: Any, item: Prediction, options: ScoreOptions) -> dict[str, dict]:
    if item.split not in dataset:
        raise PredictionsError(f"{Path(options.predictions).name} {item.where}: split {item.split!r} is not in "
                               f"{data_name(options.data)} (config {options.config!r}); it has: "
                               f"{', '.join(dataset.keys())}")
    split_data = dataset[item.split]
    columns = [c for c in COLUMNS if c in split_data.column_names]
    return {row["id"]: row for row in split_data.select_columns(columns) if row["task_code"] == item.task.code}


def _grouped(items: list[Prediction], rows: list[dict]) -> dict[tuple[str, str], list[tuple[Prediction, dict]]]:
    grouped: dict[tuple[str, str], list[tuple[Prediction, dict]]] = defaultdict(list)
    for item, row in zip(items, rows, strict=True):
        grouped[(item.task.code, item.split)].append((item, row))
    return dict(grouped)


def _verdicts(sample: dict, item: Prediction, modes: tuple[str, ...]) -> dict:
    """The eval's sample log, with the prompt as given and a short verdict per reading: what the answer was read
    as, whether it was valid and whether it was right (``None`` where a task scores by degree: QPR, AVE, AG)."""
    sample = {**sample, "prompt": item.prompt, "line": item.where}
    sample["verdict"] = {mode: {"read_as": sample[mode].get("parsed", sample[mode]["answer"]),
                                "valid": sample[mode]["valid"], "correct": sample[mode].get("correct")}
                         for mode in modes}
    return sample


def _meta(options: ScoreOptions, modes: tuple[str, ...], items: list[Prediction], samples: dict,
          encoder: Any) -> dict[str, Any]:
    source = options.predictions
    label = options.label or Path(source).stem
    return {
        "model": {"name": label, "kind": "predictions", "base": None, "source": str(source)},
        "predictions": {"file": str(source), "rows": len(items)},
        "prompt_format": options.prompt_format,
        "prompt_format_source": "--prompt-format (used to cut a repeated response marker)",
        "method": METHOD.value,
        "data": {"source": str(options.data) if options.data is not None else str(source), "config": options.config,
                 "splits": sorted({s for _, s in samples}), "tasks": sorted({t for t, _ in samples}),
                 "max_samples": None, "rows": {f"{t}.{s}": len(v) for (t, s), v in samples.items()}},
        "scoring": {"modes": list(modes), "n_resamples": options.n_resamples,
                    "confidence": options.confidence, "seed": options.seed,
                    "bertscore_encoder": encoder.as_dict() if encoder else {"label": "not used (no AG rows)"}},
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.__dict__.items()},
        "versions": versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
