"""Evaluation results as the model card needs them: one headline score per (task, split), plus sub-metrics.

:func:`scores_from_results` reads an ``ecellm eval`` results file (dict) into :class:`Score` rows;
:func:`eval_results` turns them into ``huggingface_hub.EvalResult`` objects, which
``ModelCardData`` writes as the card's ``model-index`` (what the Hub shows as the model's scores).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult

from ecellm.evaluation.results import ResultsFormatError, read_results_json

SPLIT_LABELS = {"test_ind": "IND", "test_ood": "OOD"}


@dataclass(frozen=True)
class Score:
    """The headline ``metric`` of ``task`` (code) on ``split`` (``test_ind``/``test_ood``)."""

    task: str
    split: str
    metric: str
    value: float
    n: int | None = None
    metrics: dict[str, float] = field(default_factory=dict, compare=False)


def load_results(path: str | Path) -> dict[str, Any]:
    """Read a results JSON file (:func:`ecellm.evaluation.results.read_results_json`)."""
    return read_results_json(path)


def scores_from_results(results: dict[str, Any], mode: str = "strict") -> list[Score]:
    """Headline scores of an ``ecellm eval`` results dict, in registry task order, IND before OOD.

    The ``ecellm-eval/1`` schema (``results.json`` of ``ecellm eval``): a ``results`` list of entries with task,
    split, mode, metric, score, n and metrics; ``mode`` picks the scoring mode (``strict`` or ``reference``).
    Also accepted, for hand-written files: entries without ``mode``/``score``, whose headline is looked up by
    the task's metric name in ``metrics``.
    """
    from ecinstruct.tasks import TASKS, get_task

    scores = []
    for entry in _entries(results, mode):
        task = get_task(entry["task"])
        split = _split_name(entry["split"])
        metrics = entry.get("metrics") or {}
        headline = entry["score"] if "score" in entry else _headline(task.headline_metric, metrics)
        if not isinstance(headline, int | float):
            raise ResultsFormatError(f"results for {task.code} {split}: no {task.headline_metric!r} score "
                                     f"(metrics: {sorted(metrics)})")
        scores.append(Score(task.code, split, entry.get("metric") or task.headline_metric, float(headline),
                            entry.get("n"), {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}))
    if not scores:
        raise ResultsFormatError(f"the results hold no {mode!r}-mode entries")
    order = [t.code for t in TASKS]
    return sorted(scores, key=lambda s: (order.index(s.task), s.split))


def _entries(results: dict[str, Any], mode: str) -> list[dict[str, Any]]:
    entries = results.get("results")
    if not isinstance(entries, list):
        raise ResultsFormatError("not an `ecellm eval` results file: it needs a `results` list of entries (task, "
                                 f"split, score); got keys {sorted(results)}")
    for entry in entries:
        if not isinstance(entry, dict) or "task" not in entry or "split" not in entry:
            raise ResultsFormatError(f"each entry of `results` needs task and split; got {entry!r}")
    # A log-likelihood run also holds the length-normalised picks: the card shows one number per task.
    return [e for e in entries if e.get("mode", mode) == mode and e.get("method") != "loglik_norm"]


def _split_name(split: str) -> str:
    key = str(split).lower().replace("-", "_")
    mapped = {"ind": "test_ind", "ood": "test_ood", "test_ind": "test_ind", "test_ood": "test_ood"}.get(key)
    if mapped is None:
        raise ResultsFormatError(f"unknown split {split!r}: expected test_ind/IND or test_ood/OOD")
    return mapped


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9@*]", "", name.lower())


def _headline(metric: str, metrics: dict[str, Any]) -> float | None:
    """The headline value, matching names loosely (``F1*`` = ``f1*``, ``Macro-F1`` = ``macro_f1``)."""
    wanted = _norm(metric)
    for name, value in metrics.items():
        if _norm(name) == wanted and isinstance(value, int | float):
            return value
    return None


def metric_id(metric: str) -> str:
    """A Hub metric id for a headline metric name (``Macro-F1`` → ``macro_f1``, ``HR@1`` → ``hit_rate_at_1``)."""
    special = {"F1*": "f1_star", "HR@1": "hit_rate_at_1", "F_BERT": "bertscore_f1", "NDCG": "ndcg"}
    return special.get(metric, re.sub(r"[^a-z0-9]+", "_", metric.lower()).strip("_"))


def eval_results(scores: list[Score], *, dataset_id: str, dataset_name: str = "ECInstruct",
                 dataset_revision: str | None = None) -> list[EvalResult]:
    """``EvalResult`` per score: dataset config = the task's config, split = the test split, headline metric."""
    from ecinstruct.tasks import get_task

    out = []
    for s in scores:
        task = get_task(s.task)
        out.append(EvalResult(
            task_type="text-generation",
            task_name=f"{task.code} ({task.name.replace('_', ' ')})",
            dataset_type=dataset_id,
            dataset_name=f"{dataset_name} {task.code} {SPLIT_LABELS[s.split]}",
            dataset_config=task.config_name,
            dataset_split=s.split,
            dataset_revision=dataset_revision,
            metric_type=metric_id(s.metric),
            metric_name=f"{s.metric} ({SPLIT_LABELS[s.split]})",
            metric_value=round(s.value, 4),
        ))
    return out
