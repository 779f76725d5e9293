"""Per-task error analysis: confusion matrices, per-attribute P/R (AVE), invalid-answer examples."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ecellm.metrics.core import item_stats, scorer_of
from ecinstruct.scoring import Scorer, check_mode


def confusion_matrix(scorer: Scorer, predictions: Sequence, references: Sequence, mode: str) -> dict[str, Any]:
    """Gold × parsed-prediction counts; the last column counts invalid answers."""
    labels = list(scorer.labels(mode))  # type: ignore[attr-defined]
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels) + 1), dtype=int)
    for prediction, reference in zip(predictions, references, strict=True):
        parsed = scorer.parse(prediction, mode)  # type: ignore[attr-defined]
        matrix[index[scorer.parse_gold(reference)], index.get(parsed, len(labels))] += 1  # type: ignore[attr-defined]
    return {"rows": labels, "columns": [*labels, "invalid"], "matrix": matrix.tolist()}


def invalid_examples(mask: np.ndarray, predictions: Sequence, references: Sequence,
                     max_examples: int) -> list[dict[str, Any]]:
    """The first ``max_examples`` items flagged invalid, with their answers."""
    return [{"index": int(i), "prediction": predictions[i], "reference": references[i]}
            for i in np.flatnonzero(mask)[:max_examples]]


def error_analysis(task: Any, predictions: Sequence, references: Sequence, *, ood: bool = False,
                   mode: str = "strict", option_labels: Sequence | None = None, max_examples: int = 10,
                   **kw: Any) -> dict[str, Any]:
    """What went wrong, per family.

    Always: ``n``, ``invalid``, ``invalid_examples``. Option and yes/no tasks: ``confusion``. AVE:
    ``per_attribute`` precision/recall. QPR: ``first_choice_labels`` (ESCI label of each top-ranked item).
    """
    resolved, scorer = scorer_of(task)
    mode = check_mode(mode)
    predictions, references = list(predictions), list(references)
    stats = item_stats(resolved, predictions, references, ood=ood, mode=mode, option_labels=option_labels, **kw)
    mask = scorer.invalid_mask(stats, mode)
    out: dict[str, Any] = {"task": resolved.code, "mode": mode, "n": len(stats), "invalid": int(mask.sum()),
                           "invalid_examples": invalid_examples(mask, predictions, references, max_examples)}
    if hasattr(scorer, "labels"):
        out["confusion"] = confusion_matrix(scorer, predictions, references, mode)
    if hasattr(scorer, "per_attribute"):
        out["per_attribute"] = scorer.per_attribute(predictions, references, ood=ood, mode=mode)
    if hasattr(scorer, "first_choices"):
        out["first_choice_labels"] = scorer.first_choices(predictions, option_labels, mode)
    return out
