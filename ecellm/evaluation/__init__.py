"""Evaluate any causal LM on ECInstruct: ``evaluate()`` and the ``ecellm eval`` / ``ecellm compare`` commands.

Imports are lazy so that ``import ecellm.evaluation`` stays cheap (no torch, no datasets).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "evaluate": "ecellm.evaluation.run",
    "EvalConfig": "ecellm.evaluation.config",
    "Results": "ecellm.evaluation.results",
    "GenerationSettings": "ecellm.engines.generation_settings",
    "EvaluationError": "ecellm.evaluation.errors",
    "load_published": "ecellm.evaluation.paper_scores",
    "compare": "ecellm.evaluation.compare",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = sorted(_EXPORTS)
