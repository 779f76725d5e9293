"""The published eCeLLM headline scores, for the cards' comparison columns.

One source of truth: the numbers shipped with the evaluation (``ecellm/evaluation/published_ecellm.json``, the
paper's overall IND/OOD tables: the headline metric per task on 1,000 test rows per task, PM 253).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _published() -> Any:
    from ecellm.evaluation.published import load_published

    return load_published()


def published_models(split: str = "test_ind") -> list[str]:
    """The published models with numbers for ``split`` of the ``default`` config (eCeLLM-L, -M, -S)."""
    return list(_published().table("default", split))


def published_score(model: str, split: str, task_code: str) -> float | None:
    """The published headline score, or None where the paper has none (e.g. PM has no OOD test)."""
    return _published().value(model, task_code, split)


def published_source() -> str:
    return _published().source
