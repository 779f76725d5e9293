"""Single-letter answers among many candidates (SR, letters ``A``–``T``): HR@1.

Both modes accept only the bare letter (after stripping; upper case). Ref mode computes HR@1 over the
valid answers only; strict mode over all items (invalid = miss). An opt-in lenient parser also accepts
``K: <item text>``; it is off by default and reported in the result when on.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ecinstruct.answers import flexible
from ecinstruct.scoring.base import Mode, Scorer, row_options, safe_div
from ecinstruct.scoring.multiclass import parse_strict as parse_letter_prefix


def parse_exact(prediction: object, letters: str) -> str | None:
    """The stripped answer if it is exactly one of ``letters``, else ``None`` (both modes)."""
    if not isinstance(prediction, str):
        return None
    answer = prediction.strip()
    return answer if len(answer) == 1 and answer in letters else None


@dataclass(frozen=True)
class SingleLetterScorer(Scorer):
    """HR@1 for a ranking task answered with the letter of the top candidate."""

    n_letters: int = 20
    lenient: bool = False
    headline: str = "hr@1"
    family: ClassVar[str] = "hit_rate_at_1"

    @property
    def letters(self) -> str:
        return string.ascii_uppercase[: self.n_letters]

    def labels(self, mode: Mode) -> tuple[str, ...]:
        """Candidate letters (rows/columns of the confusion matrix)."""
        return tuple(self.letters)

    def columns(self, mode: Mode) -> tuple[str, ...]:
        return ("hit", "valid", "invalid")

    def parse(self, prediction: object, mode: Mode, *, lenient: bool | None = None) -> str | None:
        if self.lenient if lenient is None else lenient:
            return parse_letter_prefix(prediction, self.letters)
        return parse_exact(prediction, self.letters)

    def extract(self, prediction: object, *, options: Any = None, option_labels: Any = None) -> str | None:
        """The letter named in a chatty answer; with the row's options also the item named by its name."""
        names = [flexible.item_name(o) for o in options] if options else []
        letters = self.letters[: len(names)] if names else self.letters
        return flexible.option_letter(prediction, letters, names)

    def candidates(self, row: dict) -> tuple[str, ...]:
        """The letters of the row's candidate items."""
        options = row_options(row)
        return tuple(self.letters[: len(options)] if options else self.letters)

    def parse_gold(self, reference: object) -> str:
        gold = parse_exact(reference, self.letters)
        if gold is None:
            raise ValueError(f"gold answer {reference!r} is not one of the letters {self.letters}")
        return gold

    def item_stats(self, predictions: list, references: list, *, ood: bool, mode: Mode,
                   option_labels: list | None, lenient: bool | None = None, **kw: Any) -> np.ndarray:
        rows = []
        for prediction, reference in zip(predictions, references, strict=True):
            gold, pred = self.parse_gold(reference), self.parse(prediction, mode, lenient=lenient)
            rows.append((float(pred == gold), float(pred is not None), float(pred is None)))
        return np.asarray(rows, dtype=float).reshape(-1, 3)

    def from_sums(self, sums: np.ndarray, *, mode: Mode) -> dict[str, np.ndarray]:
        hit, valid, invalid = sums[..., 0], sums[..., 1], sums[..., 2]
        if mode == "reference":
            return {"hr@1": safe_div(hit, valid, empty=np.nan), "kept": valid}
        return {"hr@1": safe_div(hit, valid + invalid), "kept": valid}

    def quirks(self, sums: np.ndarray, mode: Mode) -> list[str]:
        if float(sums[1]) == 0:
            return ["no valid letter answer: the reference evaluator errors out; HR@1 is NaN"]
        return []

    def score(self, predictions: Any, references: Any, *, lenient: bool | None = None,
              **kw: Any) -> dict[str, Any]:
        result = super().score(predictions, references, lenient=lenient, **kw)
        if self.lenient if lenient is None else lenient:
            result["lenient"] = True  # the non-default parser must be visible in reported numbers
        return result
