"""Binary yes/no tasks (PM, PSI, AP): F1 of the positive class ``yes``.

Validity is the same in both modes: ``lower(strip(p))`` must be exactly ``yes`` or ``no``. The modes
differ in what happens to invalid answers: ref mode drops them from every denominator, strict mode
keeps them as "neither yes nor no" (a missed positive when the gold is yes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ecinstruct.answers import flexible
from ecinstruct.scoring.base import Mode, Scorer, f1_of, one_hot_rows, safe_div

LABELS: tuple[str, str] = ("yes", "no")
# Cells of the gold × prediction table; "invalid" is the third prediction column.
_CELLS = ("tp", "fn", "invalid_yes", "fp", "tn", "invalid_no")
_EPS = 1e-8  # the reference adds it to the specificity and NPV denominators


def parse_yes_no(prediction: object) -> str | None:
    """``"yes"``/``"no"`` for a valid answer (case and surrounding whitespace ignored), else ``None``."""
    if not isinstance(prediction, str):
        return None
    answer = prediction.strip().lower()
    return answer if answer in LABELS else None


# Both modes share the validity rule; the names keep the lm-eval-harness style "one parser per mode".
parse_reference = parse_strict = parse_yes_no


@dataclass(frozen=True)
class YesNoScorer(Scorer):
    """Accuracy, precision, recall, F1, specificity and NPV with ``yes`` as the positive class."""

    headline: str = "f1"
    family: ClassVar[str] = "yes_no_f1"

    def columns(self, mode: Mode) -> tuple[str, ...]:
        return (*_CELLS, "invalid")

    def labels(self, mode: Mode) -> tuple[str, ...]:
        """Class labels, positive first (rows/columns of the confusion matrix)."""
        return LABELS

    def parse(self, prediction: object, mode: Mode) -> str | None:
        return parse_yes_no(prediction)

    def extract(self, prediction: object, *, options: Any = None, option_labels: Any = None) -> str | None:
        return flexible.yes_no(prediction)

    def candidates(self, row: dict) -> tuple[str, ...]:
        return LABELS

    def parse_gold(self, reference: object) -> str:
        gold = parse_yes_no(reference)
        if gold is None:
            raise ValueError(f"gold answer {reference!r} is neither 'yes' nor 'no'")
        return gold

    def item_stats(self, predictions: list, references: list, *, ood: bool, mode: Mode,
                   option_labels: list | None, **kw: Any) -> np.ndarray:
        cells = []
        for prediction, reference in zip(predictions, references, strict=True):
            pred = parse_yes_no(prediction)
            cells.append(3 * LABELS.index(self.parse_gold(reference)) + (2 if pred is None else LABELS.index(pred)))
        table = one_hot_rows(cells, 6)
        return np.concatenate([table, table[:, [2]] + table[:, [5]]], axis=1)

    def from_sums(self, sums: np.ndarray, *, mode: Mode) -> dict[str, np.ndarray]:
        tp, fn, inv_yes, fp, tn, inv_no = (sums[..., i] for i in range(6))
        kept = tp + fn + fp + tn
        if mode == "reference":
            out = {
                "accuracy": safe_div(tp + tn, kept, empty=np.nan),
                "precision": safe_div(tp, tp + fp),
                "recall": safe_div(tp, tp + fn),
                "specificity": tn / (tn + fp + _EPS),
                "npv": tn / (tn + fn + _EPS),
            }
            out["f1"] = f1_of(out["precision"], out["recall"])
            out = {k: np.where(kept > 0, v, np.nan) for k, v in out.items()}  # nothing valid: no number
        else:
            n = kept + inv_yes + inv_no
            out = {
                "accuracy": safe_div(tp + tn, n),
                "precision": safe_div(tp, tp + fp),
                "recall": safe_div(tp, tp + fn + inv_yes),
                "specificity": safe_div(tn, tn + fp + inv_no),
                "npv": safe_div(tn, tn + fn),
            }
            out["f1"] = f1_of(out["precision"], out["recall"])
        out["kept"] = kept
        return out

    def quirks(self, sums: np.ndarray, mode: Mode) -> list[str]:
        tp, fn, _, fp, tn, _ = (float(sums[i]) for i in range(6))
        if tp + fn + fp + tn == 0:
            return ["no valid yes/no prediction: the reference evaluator errors out; metrics are NaN"]
        if (tp + fn + fp == 0) or (tn + fp + fn == 0):
            return ["only one class among the valid (gold, prediction) pairs: the reference evaluator "
                    "crashes; computed with both classes declared"]
        return []
