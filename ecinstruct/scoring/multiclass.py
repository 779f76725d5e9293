"""Option-letter classification (PRP, SA, MPC): accuracy and macro precision/recall/F1.

Ref mode reads the first character of the stripped answer and accepts any of ``A``–``E`` (so
``Answer: B`` reads as ``A``), drops invalid answers, and macro-averages over the classes that occur
in the kept gold and predictions. Strict mode accepts only one of the task's letters, alone or followed
by ``:``, ``.``, ``)``, ``]`` or whitespace, counts invalid answers as wrong, and macro-averages over
the task's fixed option set.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from ecinstruct.answers import flexible
from ecinstruct.scoring.base import Mode, Scorer, TaskFacts, f1_of, one_hot_rows, safe_div

REFERENCE_LETTERS = "ABCDE"  # the reference accepts these five for every multi-class task
STRICT_FOLLOWERS = ":.)]"


def parse_reference(prediction: object) -> str | None:
    """First character of the stripped answer if it is one of ``A``–``E``, else ``None``."""
    if not isinstance(prediction, str):
        return None
    answer = prediction.strip()
    return answer[0] if answer and answer[0] in REFERENCE_LETTERS else None


def parse_strict(prediction: object, letters: str) -> str | None:
    """The option letter if the answer is exactly one of ``letters`` (optionally followed by
    ``:``/``.``/``)``/``]``/whitespace and anything after), else ``None``."""
    if not isinstance(prediction, str):
        return None
    answer = prediction.strip()
    if not answer or answer[0] not in letters:
        return None
    if len(answer) > 1 and answer[1] not in STRICT_FOLLOWERS and not answer[1].isspace():
        return None
    return answer[0]


def is_empty(prediction: object) -> bool:
    """Empty or whitespace-only text: the input that crashes the reference's multi-class branch."""
    return isinstance(prediction, str) and not prediction.strip()


@dataclass(frozen=True)
class OptionLetterScorer(Scorer):
    """Macro-F1 (PRP, SA) or accuracy (MPC) over option letters; ``letters`` comes from the task."""

    headline: str = "f1"
    letters: str = ""
    options: tuple[str, ...] = ()
    letter_answers: bool = False  # gold answers are bare letters (PRP), not whole options (SA, MPC)
    family: ClassVar[str] = "option_letter"

    def bind(self, task: TaskFacts) -> OptionLetterScorer:
        if self.letters:
            return self
        return replace(self, letters="".join(task.option_letters), options=tuple(task.options or ()),
                       letter_answers=task.answer_type == "option letter")

    def extract(self, prediction: object, *, options: Any = None, option_labels: Any = None) -> str | None:
        texts = [flexible.option_text(o) for o in self.options]
        return flexible.option_letter(prediction, self.letters, texts)

    def candidates(self, row: dict) -> tuple[str, ...]:
        """The task's fixed options in gold form: bare letters (PRP) or whole option strings (SA, MPC)."""
        return tuple(self.letters) if self.letter_answers else self.options

    def universe(self, mode: Mode) -> str:
        """The class letters a confusion table has in this mode."""
        if not self.letters:
            raise ValueError("OptionLetterScorer needs its task's option letters (bind it to a task)")
        return REFERENCE_LETTERS if mode == "reference" else self.letters

    def labels(self, mode: Mode) -> tuple[str, ...]:
        """Class letters of the confusion matrix in this mode."""
        return tuple(self.universe(mode))

    def columns(self, mode: Mode) -> tuple[str, ...]:
        classes = self.universe(mode)
        cells = tuple(f"{g}>{p}" for g in classes for p in (*classes, "invalid"))
        return (*cells, "invalid", "empty")

    def parse(self, prediction: object, mode: Mode) -> str | None:
        return parse_reference(prediction) if mode == "reference" else parse_strict(prediction, self.letters)

    def parse_gold(self, reference: object) -> str:
        gold = reference.strip()[:1] if isinstance(reference, str) else ""
        if not gold or gold not in self.letters:
            raise ValueError(f"gold answer {reference!r} does not start with one of the letters {self.letters}")
        return gold

    def item_stats(self, predictions: list, references: list, *, ood: bool, mode: Mode,
                   option_labels: list | None, **kw: Any) -> np.ndarray:
        classes = self.universe(mode)
        width = len(classes) + 1
        cells, empty = [], []
        for prediction, reference in zip(predictions, references, strict=True):
            pred = self.parse(prediction, mode)
            column = len(classes) if pred is None else classes.index(pred)
            cells.append(width * classes.index(self.parse_gold(reference)) + column)
            empty.append(is_empty(prediction))
        table = one_hot_rows(cells, width * len(classes))
        invalid = table[:, width - 1 :: width].sum(axis=1, keepdims=True)
        return np.concatenate([table, invalid, np.asarray(empty, dtype=float)[:, None]], axis=1)

    def confusion_tensor(self, sums: np.ndarray, mode: Mode) -> np.ndarray:
        """Gold × (predicted letters + invalid) counts, vectorised over leading axes."""
        k = len(self.universe(mode))
        return sums[..., : k * (k + 1)].reshape(*sums.shape[:-1], k, k + 1)

    def from_sums(self, sums: np.ndarray, *, mode: Mode) -> dict[str, np.ndarray]:
        table = self.confusion_tensor(sums, mode)
        valid = table[..., :-1]
        hits = np.diagonal(valid, axis1=-2, axis2=-1)
        predicted = valid.sum(axis=-2)
        # Ref mode drops invalid answers entirely; strict mode keeps them as misses of their gold class.
        gold = valid.sum(axis=-1) if mode == "reference" else table.sum(axis=-1)
        precision, recall = safe_div(hits, predicted), safe_div(hits, gold)
        f1 = f1_of(precision, recall)
        # Ref mode: the classes present in kept gold ∪ predictions; strict: the task's option set.
        classes = ((gold + predicted) > 0).astype(float) if mode == "reference" else np.ones_like(hits)
        n_classes = classes.sum(axis=-1)
        kept = valid.sum(axis=(-2, -1))
        total = kept if mode == "reference" else table.sum(axis=(-2, -1))
        nan_if_empty = np.nan if mode == "reference" else 0.0
        return {
            "accuracy": safe_div(hits.sum(axis=-1), total, empty=nan_if_empty),
            "precision": safe_div((precision * classes).sum(axis=-1), n_classes, empty=nan_if_empty),
            "recall": safe_div((recall * classes).sum(axis=-1), n_classes, empty=nan_if_empty),
            "f1": safe_div((f1 * classes).sum(axis=-1), n_classes, empty=nan_if_empty),
            "kept": kept,
        }

    def quirks(self, sums: np.ndarray, mode: Mode) -> list[str]:
        messages = []
        empty = int(sums[self.columns(mode).index("empty")])
        if empty:
            messages.append(f"{empty} empty prediction(s): the reference evaluator crashes on them "
                            "(index error); counted as invalid")
        if float(self.confusion_tensor(sums, mode)[..., :-1].sum()) == 0:
            messages.append("no valid prediction: the reference evaluator errors out; metrics are NaN")
        return messages
