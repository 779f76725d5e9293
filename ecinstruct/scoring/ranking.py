"""Query-product ranking (QPR): NDCG with graded ESCI gains.

Each item needs the ESCI label of every option (``option_labels[i][0]`` is the label of option A).
Gains ``E 1.0, S 0.1, C 0.01, I 0`` are used as exponents (``2**g - 1``); the discount at 0-based rank
``k`` is ``1/log2(k+2)``.

Ref mode splits on commas, reads each token's first character (a token with a leading space is
invalid), keeps duplicates, and normalises by the ideal ordering of the *predicted* items only, plus a
1e-6 epsilon: naming only the best item scores ~1. Strict mode trims tokens, accepts exact letters,
ignores later duplicates, and normalises by the ideal ordering of *all* gold items.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ecinstruct.answers import flexible
from ecinstruct.answers.constraint import Constraint
from ecinstruct.errors import ScoringError
from ecinstruct.scoring.base import Mode, Scorer, safe_div

logger = logging.getLogger(__name__)

GRADES: dict[str, float] = {"E": 1.0, "S": 0.1, "C": 0.01, "I": 0.0}
GAINS: dict[str, float] = {label: 2.0**grade - 1.0 for label, grade in GRADES.items()}
_EPS = 1e-6  # the reference's IDCG epsilon
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain of already exponentiated gains, in ranked order."""
    if len(gains) > 64:  # long (degenerate) answers: vectorise
        values = np.asarray(gains, dtype=float)
        return float((values / np.log2(np.arange(len(values)) + 2.0)).sum())
    return sum(gain / math.log2(rank + 2) for rank, gain in enumerate(gains))


def parse_reference(prediction: object, n_options: int) -> tuple[list[int], int]:
    """Option indices read by the reference rule, and the number of invalid tokens."""
    if not isinstance(prediction, str):
        return [], 1
    picked, invalid = [], 0
    for token in prediction.strip().split(","):
        index = _LETTERS.find(token[:1]) if token else -1
        if 0 <= index < n_options:
            picked.append(index)
        else:
            invalid += 1
    return picked, invalid


def parse_strict(prediction: object, n_options: int) -> tuple[list[int], int, int]:
    """Unique option indices in predicted order, the number of invalid tokens, and of duplicates."""
    if not isinstance(prediction, str):
        return [], 1, 0
    picked: list[int] = []
    invalid = duplicates = 0
    for token in prediction.split(","):
        token = token.strip()
        index = _LETTERS.find(token) if len(token) == 1 else -1
        if not 0 <= index < n_options:
            invalid += 1
        elif index in picked:
            duplicates += 1
        else:
            picked.append(index)
    return picked, invalid, duplicates


def parse_labels(labels: object) -> tuple[str, ...]:
    """One item's ESCI labels, from a list (``["S", "E"]``), a JSON list or a comma string (``"S,E"``)."""
    if isinstance(labels, str):
        text = labels.strip()
        try:
            labels = json.loads(text) if text.startswith("[") else [p.strip() for p in text.split(",")]
        except (ValueError, RecursionError):
            raise ScoringError(f"option labels {text[:40]!r} are not a JSON list of ESCI labels") from None
    if not isinstance(labels, Sequence) or isinstance(labels, str) or not labels:
        raise ScoringError(f"option labels {labels!r} are not a non-empty list of ESCI labels")
    out = tuple(str(label).strip().upper() for label in labels)
    bad = [label for label in out if label not in GRADES]
    if bad or len(out) > len(_LETTERS):
        raise ScoringError(f"option labels {labels!r}: every label must be one of E, S, C, I")
    return out


def gold_ranking(labels: Sequence[str]) -> str:
    """The gold answer (letters ordered E, S, C, I) of an item with these option labels."""
    order = sorted(range(len(labels)), key=lambda i: -GRADES[labels[i]])
    return ",".join(_LETTERS[i] for i in order)


def ndcg_reference(prediction: object, labels: Sequence[str]) -> tuple[float, int, int]:
    """Per-item NDCG, invalid-token count and number of letters read; reference rule."""
    picked, invalid = parse_reference(prediction, len(labels))
    gains = [GAINS[labels[i]] for i in picked]
    if not gains:
        return 0.0, invalid, 0
    return dcg(gains) / (dcg(sorted(gains, reverse=True)) + _EPS), invalid, len(picked)


def ndcg_strict(prediction: object, labels: Sequence[str]) -> tuple[float, int, int, int]:
    """Per-item NDCG, invalid tokens, duplicate tokens, number of valid letters; strict rule."""
    picked, invalid, duplicates = parse_strict(prediction, len(labels))
    ideal = dcg(sorted((GAINS[label] for label in labels), reverse=True))
    value = dcg([GAINS[labels[i]] for i in picked]) / ideal if ideal > 0 else 0.0
    return value, invalid, duplicates, len(picked)


@dataclass(frozen=True)
class RankingScorer(Scorer):
    """Mean per-item NDCG; ``option_labels`` (per-option ESCI labels) is required."""

    headline: str = "ndcg"
    family: ClassVar[str] = "qpr_ndcg"
    needs_option_labels: ClassVar[bool] = True

    def columns(self, mode: Mode) -> tuple[str, ...]:
        return ("ndcg", "invalid_tokens", "duplicate_tokens", "invalid_items", "empty_rankings", "items")

    def invalid_column(self, mode: Mode) -> str:
        # `invalid` counts items in both modes, so it never exceeds n (an invalid *rate* stays <= 1); the
        # reference's own #invalid, which counts tokens, is kept as `invalid_tokens`.
        return "invalid_items"

    def item_stats(self, predictions: list, references: list, *, ood: bool, mode: Mode,
                   option_labels: list | None, **kw: Any) -> np.ndarray:
        labels = self.check_labels(option_labels, len(references))
        _check_alignment(references, labels)
        rows = []
        for prediction, item_labels in zip(predictions, labels, strict=True):
            if mode == "reference":
                value, invalid, named = ndcg_reference(prediction, item_labels)
                duplicates = 0
            else:
                value, invalid, duplicates, named = ndcg_strict(prediction, item_labels)
            rows.append((value, invalid, duplicates, float(invalid > 0), float(named == 0), 1.0))
        return np.asarray(rows, dtype=float).reshape(-1, 6)

    def extract(self, prediction: object, *, options: Any = None, option_labels: Any = None) -> str | None:
        n = len(parse_labels(option_labels)) if option_labels is not None else len(_LETTERS)
        return flexible.ranking(prediction, n)

    def candidates(self, row: dict) -> tuple[str, ...]:
        """The letters of the row's products: the log-likelihood method ranks them by their scores."""
        return tuple(_LETTERS[: n_products(row)])

    def answer_from_scores(self, candidates: Sequence[str], scores: Sequence[float]) -> str:
        """Every candidate letter, best score first (ties: listed order)."""
        order = sorted(range(len(candidates)), key=lambda i: (-float(scores[i]), i))
        return ",".join(candidates[i] for i in order)

    def constraint(self, row: dict) -> Constraint:
        """A comma-separated ranking of the row's letters, at most one entry per product."""
        n = n_products(row)
        letters = f"[A-{_LETTERS[n - 1]}]"
        return Constraint(regex=f"{letters}(,{letters}){{0,{n - 1}}}")

    @staticmethod
    def check_labels(option_labels: Sequence | None, n: int) -> list[tuple[str, ...]]:
        if option_labels is None:
            raise ScoringError("QPR scoring needs option_labels: the ESCI label of every option, per item "
                               "(load the data with the official QPR label file)")
        labels = [parse_labels(item) for item in option_labels]
        if len(labels) != n:
            raise ScoringError(f"{len(labels)} QPR option-label lists for {n} items; give one list per item")
        return labels

    def from_sums(self, sums: np.ndarray, *, mode: Mode) -> dict[str, np.ndarray]:
        # The reference divides by the number of gold rows, so every item counts in both modes.
        ndcg, invalid_tokens, duplicates, invalid_items, empty, items = (sums[..., i] for i in range(6))
        out = {"ndcg": safe_div(ndcg, items), "invalid_tokens": invalid_tokens, "empty_rankings": empty,
               "invalid_items": invalid_items}
        if mode != "reference":
            out.update(duplicate_tokens=duplicates)
        return out

    def first_choices(self, predictions: Sequence, option_labels: Sequence, mode: Mode) -> dict[str, int]:
        """How often the answer's top-ranked item has each ESCI label (``none``: no valid letter)."""
        counts = dict.fromkeys((*GRADES, "none"), 0)
        for prediction, item in zip(predictions, self.check_labels(option_labels, len(predictions)), strict=True):
            picked = (parse_reference if mode == "reference" else parse_strict)(prediction, len(item))[0]
            counts[item[picked[0]] if picked else "none"] += 1
        return counts


def n_products(row: dict) -> int:
    """How many products a QPR row lists: its option labels, else the input's ``product list``."""
    if row.get("option_labels") is not None:
        return len(parse_labels(row["option_labels"]))
    try:
        products = json.loads(row["input"]).get("product list") if isinstance(row.get("input"), str) else None
    except (ValueError, AttributeError):
        products = None
    if not isinstance(products, list) or not products:
        raise ValueError(f"QPR row {row.get('id')}: cannot tell how many products it ranks (no option_labels and "
                         "no 'product list' in its input)")
    return min(len(products), len(_LETTERS))


def _check_alignment(references: Sequence, labels: list[tuple[str, ...]]) -> None:
    """Refuse labels that do not fit the gold rankings: NDCG reads only the labels, so a label file out of
    step with the rows would score confidently wrong numbers (1.0 for a wrong answer)."""
    wrong = [i for i, (r, item) in enumerate(zip(references, labels, strict=True))
             if isinstance(r, str) and r.replace(" ", "") != gold_ranking(item)]
    if wrong:
        first = wrong[0]
        raise ScoringError(f"{len(wrong)} of {len(labels)} QPR gold outputs disagree with the ranking their "
                           f"option_labels imply (item {first}: gold {references[first]!r}, labels "
                           f"{list(labels[first])} imply {gold_ranking(labels[first])!r}); the labels and rows "
                           "are not aligned. Use the label file that belongs to this data, in the same row order")
