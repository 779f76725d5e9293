"""Scoring for every ECInstruct task, reference-compatible and strict (rules: ``docs/metrics.md``).

``score(task, predictions, references, *, ood=False, mode="strict")`` is the entry point; the metric
families live in :mod:`ecinstruct.scoring`, one scorer per task (``get_task(task).scorer``). Beyond
the paper: :func:`bootstrap_ci`, :func:`paired_bootstrap`, :func:`bootstrap_vs_constant`,
:func:`error_analysis`; and one
``evaluate`` module per family (:func:`load_module`).
"""

from __future__ import annotations

from typing import Any

from ecellm.metrics.analysis import error_analysis
from ecellm.metrics.bootstrap import bootstrap_ci, bootstrap_vs_constant, paired_bootstrap
from ecellm.metrics.core import item_stats, score, scorer_of
from ecellm.metrics.modules import module_dir
from ecinstruct.scoring import ReferenceQuirkWarning


def module_path(task: Any) -> str:
    """Absolute path of the ``evaluate`` module folder that scores ``task``."""
    _, scorer = scorer_of(task)
    return str(module_dir(scorer.family))


def load_module(task: Any, **kw: Any) -> Any:
    """``evaluate.load`` of the module scoring ``task`` (offline: a local folder), configured for it."""
    import evaluate  # heavy; only when a module is wanted

    resolved, _ = scorer_of(task)
    return evaluate.load(module_path(resolved), config_name=resolved.code, **kw)


__all__ = [
    "ReferenceQuirkWarning",
    "bootstrap_ci",
    "bootstrap_vs_constant",
    "error_analysis",
    "item_stats",
    "load_module",
    "module_path",
    "paired_bootstrap",
    "score",
]
