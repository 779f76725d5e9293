"""What every scoring family shares: the two modes, the Scorer interface, safe arithmetic.

A scorer turns (prediction, reference) pairs into a matrix of **additive per-item statistics**
(one row per item: counts, hits, per-item NDCG, ...) and computes its metrics from the column sums.
Every metric of the paper is a function of such sums, which is what makes bootstrap resampling cheap:
resample rows, re-sum, recompute, without re-parsing a single string.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, Protocol

import numpy as np

from ecinstruct.answers import flexible
from ecinstruct.answers.constraint import Constraint
from ecinstruct.text import parse_options

Mode = Literal["reference", "strict", "flexible"]
# reference: the reference evaluator's reading; strict: exact answer format, invalid = wrong; flexible: the
# answer found in a chatty output (ecinstruct.answers.flexible), then scored as in strict.
MODES: tuple[str, ...] = ("reference", "strict", "flexible")


class ReferenceQuirkWarning(UserWarning):
    """The reference evaluator would crash on this input; ref mode reports the closest defined value."""


def check_mode(mode: str) -> Mode:
    """Return ``mode`` if it is a known mode, else raise a helpful error."""
    if mode not in MODES:
        raise ValueError(f"unknown scoring mode {mode!r}; expected one of: {', '.join(MODES)}")
    return mode  # type: ignore[return-value]


def safe_div(num: Any, den: Any, empty: float = 0.0) -> np.ndarray:
    """Element-wise ``num / den`` with ``empty`` wherever the denominator is 0."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    ok = den != 0
    return np.where(ok, num / np.where(ok, den, 1.0), empty)


def f1_of(precision: Any, recall: Any) -> np.ndarray:
    """Harmonic mean of precision and recall, 0 when both are 0."""
    p, r = np.asarray(precision, dtype=float), np.asarray(recall, dtype=float)
    return safe_div(2 * p * r, p + r)


def one_hot_rows(cells: Sequence[int], width: int) -> np.ndarray:
    """An ``(len(cells), width)`` 0/1 matrix with a single 1 per row, at column ``cells[i]``."""
    out = np.zeros((len(cells), width))
    out[np.arange(len(cells)), np.asarray(cells, dtype=int)] = 1.0
    return out


class TaskFacts(Protocol):
    """What a scorer reads of the task it is bound to. Scoring sits beneath the tasks and never imports them;
    :class:`ecinstruct.tasks.base.Task` has these."""

    @property
    def options(self) -> tuple[str, ...] | None: ...
    @property
    def option_letters(self) -> tuple[str, ...]: ...
    @property
    def answer_type(self) -> str: ...


class Scorer(ABC):
    """One metric family. Subclasses are small frozen dataclasses configured per task."""

    family: ClassVar[str]  # the folder name of this family's ``evaluate`` module
    headline: str  # key of the headline metric in the result dict
    needs_option_labels: ClassVar[bool] = False  # scored from per-option labels (QPR's ESCI grades)
    needs_encoder: ClassVar[bool] = False  # scored with a text encoder (AG's BERTScore)

    def bind(self, task: TaskFacts) -> Scorer:
        """Specialise this scorer for ``task`` (e.g. its option letters); default: unchanged."""
        return self

    @abstractmethod
    def columns(self, mode: Mode) -> tuple[str, ...]:
        """Names of the per-item statistic columns produced by :meth:`item_stats`."""

    @abstractmethod
    def item_stats(
        self, predictions: list, references: list, *, ood: bool, mode: Mode, option_labels: list | None,
        **kw: Any,
    ) -> np.ndarray:
        """The ``(n_items, n_columns)`` matrix of additive per-item statistics."""

    @abstractmethod
    def from_sums(self, sums: np.ndarray, *, mode: Mode) -> dict[str, np.ndarray]:
        """Metrics from column sums; vectorised over any leading axes (used by the bootstrap)."""

    def quirks(self, sums: np.ndarray, mode: Mode) -> list[str]:
        """Messages for inputs on which the reference evaluator would crash (ref mode warns them)."""
        return []

    def invalid_column(self, mode: Mode) -> str:
        """The statistic column reported as ``invalid``."""
        return "invalid"

    # -- answers: the flexible reading, the closed candidate set, the decoding constraint ------------------

    def extract(self, prediction: object, *, options: Sequence[str] | None = None,
                option_labels: Sequence[str] | None = None) -> str | None:
        """The flexible reading of one prediction in the strict answer form (``None``: no answer found).
        Default: the clean-up only (:func:`ecinstruct.answers.flexible.free_text`)."""
        return flexible.free_text(prediction)

    def candidates(self, row: dict) -> tuple[str, ...] | None:
        """The closed set of gold-form answers of ``row`` (log-likelihood method); ``None``: open answer."""
        return None

    def answer_from_scores(self, candidates: Sequence[str], scores: Sequence[float]) -> str:
        """The answer chosen from candidate scores: the best candidate (first on ties)."""
        return candidates[int(np.argmax(np.asarray(scores, dtype=float)))]

    def constraint(self, row: dict) -> Constraint | None:
        """What a constrained decoder may produce for ``row``; default: one of the candidates, or free text."""
        choices = self.candidates(row)
        return Constraint(choices=tuple(choices)) if choices else None

    def stats(
        self, predictions: Sequence, references: Sequence, *, ood: bool = False, mode: str = "strict",
        option_labels: Sequence | None = None, **kw: Any,
    ) -> np.ndarray:
        """Validate the inputs and return :meth:`item_stats` (warns on reference crashes)."""
        mode = check_mode(mode)
        predictions, references = list(predictions), list(references)
        options = kw.pop("options", None)
        if mode == "flexible":
            predictions = self.read_flexible(predictions, options, option_labels)
        if len(predictions) != len(references):
            raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
        if not references:
            raise ValueError("nothing to score: zero gold rows (check the task name and setting)")
        not_text = sum(not isinstance(p, str) for p in predictions)
        if mode == "reference" and not_text:
            _warn(f"{not_text} prediction(s) are not strings (e.g. None); the reference evaluator would "
                  "crash on them; counted as invalid")
        base = "strict" if mode == "flexible" else mode
        return self.item_stats(predictions, references, ood=ood, mode=base, option_labels=option_labels, **kw)

    def read_flexible(self, predictions: list, options: Sequence | None, option_labels: Sequence | None) -> list:
        """Every prediction through :meth:`extract` (``options``/``option_labels``: per item, or ``None``)."""
        n = len(predictions)
        options = list(options) if options is not None else [None] * n
        labels = list(option_labels) if option_labels is not None else [None] * n
        if len(options) != n or len(labels) != n:
            raise ValueError(f"{n} predictions but {len(options)} option lists / {len(labels)} label lists")
        return [self.extract(p, options=o, option_labels=lab) for p, o, lab in zip(predictions, options, labels,
                                                                                   strict=True)]

    def summarize(self, stats: np.ndarray, mode: str) -> dict[str, Any]:
        """The result dict (``score``, ``n``, ``invalid`` and sub-metrics) of a stats matrix."""
        mode = check_mode(mode)
        sums = stats.sum(axis=0)
        if mode == "reference":
            for message in self.quirks(sums, mode):
                _warn(message)
        metrics = {key: float(value) for key, value in self.from_sums(sums, mode=mode).items()}
        invalid = sums[self.columns(mode).index(self.invalid_column(mode))]
        return {"score": metrics[self.headline], "n": len(stats), "invalid": int(invalid), **metrics}

    def score(
        self, predictions: Sequence, references: Sequence, *, ood: bool = False, mode: str = "strict",
        option_labels: Sequence | None = None, **kw: Any,
    ) -> dict[str, Any]:
        """Score one system: ``score`` (headline), ``n``, ``invalid`` and the family's sub-metrics."""
        stats = self.stats(predictions, references, ood=ood, mode=mode, option_labels=option_labels, **kw)
        return self.summarize(stats, mode)

    def invalid_mask(self, stats: np.ndarray, mode: str) -> np.ndarray:
        """Boolean mask of items with an invalid answer."""
        return stats[:, self.columns(check_mode(mode)).index(self.invalid_column(mode))] > 0


def _warn(message: str) -> None:
    warnings.warn(message, ReferenceQuirkWarning, stacklevel=4)


def row_options(row: dict) -> list[str] | None:
    """A row's options as a list of strings (published rows store them as JSON or Python-literal text)."""
    options = row.get("options")
    if isinstance(options, str):
        options = parse_options(options)
    return list(options) if options else None
