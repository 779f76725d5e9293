"""Evaluate any causal LM on ECInstruct: ``evaluate()`` and the ``ecellm eval`` / ``ecellm compare`` commands.

Imports are lazy so that ``import ecellm.evaluation`` stays cheap (no torch, no datasets).
"""

from __future__ import annotations

from ecellm.lazy import lazy_exports

_EXPORTS = {
    "evaluate": "ecellm.evaluation.run",
    "EvalConfig": "ecellm.evaluation.config",
    "Results": "ecellm.evaluation.results",
    "GenerationSettings": "ecellm.engines.generation_settings",
    "EvaluationError": "ecellm.evaluation.errors",
    "load_published": "ecellm.evaluation.paper_scores",
    "compare": "ecellm.evaluation.compare",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
