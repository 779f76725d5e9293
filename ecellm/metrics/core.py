"""Scoring lists of answers of a task named by code, published name or alias: the task's scorer does the work
(no branching on task names); out-of-domain scoring is refused for a task without an OOD test."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ecinstruct.scoring import Scorer, check_mode
from ecinstruct.tasks import Task, get_task


def scorer_of(task: str | Task) -> tuple[Task, Scorer]:
    """The task (by code, published name or alias) and its scorer."""
    resolved = get_task(task)
    if resolved.scorer is None:
        raise ValueError(f"task {resolved.code} has no scorer")
    return resolved, resolved.scorer


def _check_ood(task: Task, ood: bool) -> None:
    if ood and not task.has_ood:
        raise ValueError(f"task {task.code} has no out-of-domain test set; use ood=False")


def item_stats(task: str | Task, predictions: Sequence, references: Sequence, *, ood: bool = False,
               mode: str = "strict", option_labels: Sequence | None = None, **kw: Any) -> np.ndarray:
    """The task's per-item additive statistics (rows = items); what the bootstrap resamples."""
    resolved, scorer = scorer_of(task)
    _check_ood(resolved, ood)
    return scorer.stats(predictions, references, ood=ood, mode=check_mode(mode),
                        option_labels=option_labels, **kw)


def score(task: str | Task, predictions: Sequence, references: Sequence, *, ood: bool = False,
          mode: str = "strict", option_labels: Sequence | None = None, **kw: Any) -> dict[str, Any]:
    """Score one system on one task.

    Args:
        task: code (``"PRP"``), published name (``"Product_Relation_Prediction"``) or alias
            (the reference's misspelling ``"Product_Relation_Predicition"``).
        predictions: model answers, aligned by index with ``references``; any value is accepted
            (``None``, empty, unicode, malformed JSON: invalid, never a crash).
        references: gold outputs. Malformed gold raises ``ValueError``.
        ood: score as an out-of-domain setting (changes AVE matching); only for tasks with OOD tests.
        mode: ``"reference"`` (the reference evaluator's numbers, quirks included; warns
            ``ReferenceQuirkWarning`` where it would crash) or ``"strict"`` (corrected;
            the rules are in ``docs/metrics.md``).
        option_labels: QPR only: the ESCI label of each option, per item (``[["S", "E", "C"], ...]``).
        **kw: family options, e.g. AG ``model_type``/``num_layers``/``batch_size``/``pair_scorer``/
            ``bleurt``; SR ``lenient``; AVE ``historical``.

    Returns:
        ``{"score": headline, "n": items, "invalid": count, <sub-metrics>...}``.
    """
    resolved, scorer = scorer_of(task)
    _check_ood(resolved, ood)
    return scorer.score(predictions, references, ood=ood, mode=check_mode(mode),
                        option_labels=option_labels, **kw)
