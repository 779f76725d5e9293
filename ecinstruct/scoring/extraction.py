"""Attribute value extraction (AVE): Recall*, Precision*, F1* over (attribute, value, source) triples.

Ref mode (the reference evaluator after its 2025 precision fix): many-to-many hits, exact
case-sensitive equality in IND, a two-way substring rule in OOD (an empty value matches anything),
``pred_count`` = predicted elements having an ``attribute`` key, 1e-6 epsilons. Strict mode: triples
lower-cased and trimmed, deduplicated, matched one-to-one; OOD substrings must be non-empty; non-list
JSON is invalid; malformed elements count as wrong predictions.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ecinstruct.answers import flexible
from ecinstruct.answers.constraint import Constraint
from ecinstruct.scoring.base import Mode, Scorer, safe_div

logger = logging.getLogger(__name__)

KEYS = ("attribute", "value", "source")
_EPS = 1e-6
Triple = tuple[str, str, str]


def loads(text: object) -> tuple[bool, Any]:
    """``(ok, value)`` of decoding JSON; never raises (deep nesting, ``None`` and non-text included)."""
    if not isinstance(text, str):
        return False, None
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


# --------------------------------------------------------------------------------------------------
# Reference rule
# --------------------------------------------------------------------------------------------------


def _has_attribute(element: object) -> bool:
    """The reference's ``'attribute' in element`` test, minus its crashes (non-dicts: no key)."""
    return isinstance(element, dict) and "attribute" in element


def _ref_crashes(element: object, ood: bool) -> bool:
    """Whether the reference evaluator would raise on this predicted element."""
    if isinstance(element, str):
        return "attribute" in element  # it then indexes the string with a string key
    if element is None or isinstance(element, int | float):
        return True  # ``in`` on a number or None
    if not isinstance(element, dict) or not all(key in element for key in KEYS):
        return False
    if not isinstance(element["attribute"], Hashable):
        return True
    return ood and element["source"] is not None and not isinstance(element["source"], str)


def _ref_hit(gold: dict, pred: dict, ood: bool) -> bool:
    if not (isinstance(pred.get("attribute"), Hashable) and all(key in pred for key in KEYS)):
        return False
    if pred["attribute"] != gold.get("attribute"):
        return False
    if pred["value"] == gold.get("value") and pred["source"] == gold.get("source"):
        return True
    if not ood or pred["value"] is None or pred["source"] is None or not isinstance(pred["source"], str):
        return False
    gold_value, gold_source = gold.get("value"), gold.get("source")
    if gold_value is None or not isinstance(gold_source, str):
        return False
    try:
        value, target = str(pred["value"]), str(gold_value)
    except RecursionError:  # str() of a pathologically nested list
        return False
    return (value in target or target in value) and (pred["source"] in gold_source
                                                     or gold_source in pred["source"])


def reference_item(prediction: object, gold: list, ood: bool) -> tuple[int, int, int, int]:
    """``(hits, pred_count, invalid, crashes)`` of one item under the reference rule."""
    ok, predicted = loads(prediction)
    if not ok:
        return 0, 0, 1, 0
    if not isinstance(predicted, list):
        return 0, 0, 0, 0  # a single object: silently empty, not invalid
    gold = [g for g in gold if isinstance(g, dict)]
    hits = sum(_ref_hit(g, q, ood) for g in gold for q in predicted if isinstance(q, dict))
    crashes = sum(_ref_crashes(q, ood) for q in predicted)
    return hits, sum(_has_attribute(q) for q in predicted), 0, crashes


# --------------------------------------------------------------------------------------------------
# Strict rule
# --------------------------------------------------------------------------------------------------


def _norm(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None  # lists, objects, null: not a usable field
    return str(value).strip().lower()


def normalise(element: object) -> Triple | None:
    """A lower-cased, trimmed ``(attribute, value, source)``; ``None`` for a malformed element.

    A well-formed element is an object with string ``attribute`` and ``source`` and a string or
    numeric ``value``.
    """
    if not isinstance(element, dict) or not all(key in element for key in KEYS):
        return None
    if not isinstance(element["attribute"], str) or not isinstance(element["source"], str):
        return None
    triple = (_norm(element["attribute"]), _norm(element["value"]), _norm(element["source"]))
    return None if None in triple else triple  # type: ignore[return-value]


def _relaxed(gold: Triple, pred: Triple) -> bool:
    """The OOD rule with non-empty fields: same attribute, value and source substrings either way."""
    if gold[0] != pred[0] or not pred[1] or not pred[2] or not gold[1] or not gold[2]:
        return False
    return (pred[1] in gold[1] or gold[1] in pred[1]) and (pred[2] in gold[2] or gold[2] in pred[2])


def max_matching(gold: list[Triple], pred: list[Triple], ood: bool) -> int:
    """Size of a maximum one-to-one matching between gold and predicted triples."""
    if not ood:
        return len(set(gold) & set(pred))
    edges = [[j for j, q in enumerate(pred) if _relaxed(g, q)] for g in gold]
    owner: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:  # Kuhn's algorithm; items hold a handful of triples
        for j in edges[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return sum(augment(i, set()) for i in range(len(gold)))


def strict_item(prediction: object, gold: list[Triple], ood: bool) -> tuple[int, int, int]:
    """``(hits, pred_count, invalid)`` of one item under the strict rule."""
    ok, predicted = loads(prediction)
    if not ok or not isinstance(predicted, list):
        return 0, 0, 1
    triples = [normalise(element) for element in predicted]
    unique = list(dict.fromkeys(t for t in triples if t is not None))
    malformed = sum(t is None for t in triples)
    return max_matching(gold, unique, ood), len(unique) + malformed, 0


def parse_gold(reference: object) -> list | None:
    """The gold list of triples (raw JSON objects), or ``None`` when it does not decode to a list."""
    ok, gold = loads(reference)
    return gold if ok and isinstance(gold, list) else None


def strict_gold(gold: list) -> list[Triple]:
    """The set (in order) of normalised gold triples."""
    return list(dict.fromkeys(t for t in map(normalise, gold) if t is not None))


# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtractionScorer(Scorer):
    """F1* over attribute/value/source triples; ``ood=True`` switches on the relaxed OOD match."""

    headline: str = "f1"
    family: ClassVar[str] = "ave_f1_star"

    def columns(self, mode: Mode) -> tuple[str, ...]:
        return ("hits", "gold_count", "pred_count", "invalid", "ref_crashes", "bad_gold")

    def extract(self, prediction: object, *, options: Any = None, option_labels: Any = None) -> str | None:
        return flexible.json_list(prediction)

    def constraint(self, row: dict) -> Constraint:
        return Constraint(json_schema=json.dumps(answer_schema(row), sort_keys=True))

    def item_stats(self, predictions: list, references: list, *, ood: bool, mode: Mode,
                   option_labels: list | None, **kw: Any) -> np.ndarray:
        rows = []
        for prediction, reference in zip(predictions, references, strict=True):
            gold = parse_gold(reference)
            if gold is None:  # the reference skips such items (never happens in the data)
                rows.append((0, 0, 0, 0, 0, 1))
            elif mode == "reference":
                hits, pred_count, invalid, crashes = reference_item(prediction, gold, ood)
                rows.append((hits, len(gold), pred_count, invalid, crashes, 0))
            else:
                triples = strict_gold(gold)
                rows.append((*_strict_row(prediction, triples, ood), 0, 0))
        return np.asarray(rows, dtype=float).reshape(-1, 6)

    def from_sums(self, sums: np.ndarray, *, mode: Mode, historical: bool = False) -> dict[str, np.ndarray]:
        hits, gold, pred = sums[..., 0], sums[..., 1], sums[..., 2]
        if mode == "reference":
            recall = safe_div(hits, gold)
            # historical: before the 2025 fix the predicted-triple counter stayed 0.
            precision = hits / ((0 * pred if historical else pred) + _EPS)
            f1 = 2 * recall * precision / (recall + precision + _EPS)
        else:
            recall, precision = safe_div(hits, gold), safe_div(hits, pred)
            f1 = safe_div(2 * precision * recall, precision + recall)
        return {"recall": recall, "precision": precision, "f1": f1, "hits": hits,
                "gold_count": gold, "pred_count": pred}

    def quirks(self, sums: np.ndarray, mode: Mode) -> list[str]:
        messages = []
        if sums[4]:
            messages.append(f"{int(sums[4])} predicted element(s) (numbers, null, strings containing "
                            "'attribute', list-valued attributes, non-string OOD sources) crash the reference "
                            "evaluator; treated as non-matching")
        return messages

    def summarize(self, stats: np.ndarray, mode: str, *, historical: bool = False) -> dict[str, Any]:
        if stats[:, 5].any():
            _log_bad_gold(int(stats[:, 5].sum()))
        if not historical:
            return super().summarize(stats, mode)
        result = super().summarize(stats, mode)
        result.update({k: float(v) for k, v in self.from_sums(stats.sum(0), mode=mode, historical=True).items()})
        result["score"], result["historical_precision_bug"] = result["f1"], True
        return result

    def score(self, predictions: Any, references: Any, *, historical: bool = False,
              **kw: Any) -> dict[str, Any]:
        """As :meth:`Scorer.score`; ``historical=True`` (ref mode only) reproduces the pre-2025
        precision bug (precision = hits / 1e-6, F1 ≈ 2 × recall), for archaeology only."""
        if historical and kw.get("mode") != "reference":
            raise ValueError("historical=True reproduces a bug of the reference evaluator: use mode='reference'")
        return self.summarize(self.stats(predictions, references, **kw), kw.get("mode", "strict"),
                              historical=historical)

    def per_attribute(self, predictions: list, references: list, *, ood: bool, mode: Mode) -> dict[str, dict]:
        """Per gold attribute: gold triples, predicted triples, hits, precision, recall (error analysis)."""
        table: dict[str, list[float]] = {}
        for prediction, reference in zip(predictions, references, strict=True):
            gold = parse_gold(reference) or []
            for attribute, counts in _attribute_counts(prediction, gold, ood, mode).items():
                row = table.setdefault(attribute, [0.0, 0.0, 0.0])
                for k in range(3):
                    row[k] += counts[k]
        return {a: {"gold": int(g), "predicted": int(p), "hits": int(h), "precision": float(safe_div(h, p)),
                    "recall": float(safe_div(h, g))} for a, (g, p, h) in sorted(table.items())}


VALUE_MAX_CHARS = 32  # constrained decoding: values are short phrases; a bound keeps the JSON within budget


def answer_schema(row: dict) -> dict:
    """JSON schema of a well-formed answer to ``row``: a list of {attribute, value, source} objects whose
    attribute is one of the row's target attributes (separated by commas or "and") and whose source is one of
    its input fields, or "None" for an attribute the listing does not mention."""
    ok, data = loads(row.get("input"))
    data = data if ok and isinstance(data, dict) else {}
    targets = [a.strip() for a in re.split(r",| and ", str(data.get("target attributes", ""))) if a.strip()]
    # "None" is how the data marks an attribute the listing does not mention (value and source both "None").
    sources = [*(key for key in data if key != "target attributes"), "None"]
    attribute = {"enum": list(dict.fromkeys([*targets, *(t.lower() for t in targets)]))} if targets else {
        "type": "string", "maxLength": VALUE_MAX_CHARS}
    source = {"enum": sources} if sources else {"type": "string", "maxLength": VALUE_MAX_CHARS}
    item = {"type": "object", "additionalProperties": False, "required": list(KEYS),
            "properties": {"attribute": attribute, "value": {"type": "string", "maxLength": VALUE_MAX_CHARS},
                           "source": source}}
    most = max(1, len(targets)) * max(1, min(len(sources), 2))
    return {"type": "array", "items": item, "minItems": 1, "maxItems": most}


def _strict_row(prediction: object, gold: list[Triple], ood: bool) -> tuple[int, int, int, int]:
    hits, pred_count, invalid = strict_item(prediction, gold, ood)
    return hits, len(gold), pred_count, invalid


def _attribute_counts(prediction: object, gold: list, ood: bool, mode: Mode) -> dict[str, tuple]:
    """``{attribute: (gold, predicted, hits)}`` for one item; hits are attributed per attribute."""
    out: dict[str, list[int]] = {}
    if mode != "reference":
        gold_triples = strict_gold(gold)
        ok, predicted = loads(prediction)
        pred = list(dict.fromkeys(t for t in map(normalise, predicted if ok and isinstance(predicted, list)
                                                 else []) if t is not None))
        for attribute in {t[0] for t in gold_triples} | {t[0] for t in pred}:
            g = [t for t in gold_triples if t[0] == attribute]
            p = [t for t in pred if t[0] == attribute]
            out[attribute] = [len(g), len(p), max_matching(g, p, ood)]
        return out
    gold = [g for g in gold if isinstance(g, dict)]
    ok, predicted = loads(prediction)
    predicted = predicted if ok and isinstance(predicted, list) else []
    for g in gold:
        row = out.setdefault(str(g.get("attribute")), [0, 0, 0])
        row[0] += 1
        row[2] += sum(_ref_hit(g, q, ood) for q in predicted if isinstance(q, dict))
    for q in predicted:
        if _has_attribute(q):
            out.setdefault(str(q["attribute"]), [0, 0, 0])[1] += 1
    return out


def _log_bad_gold(count: int) -> None:
    logger.warning("%d gold answer(s) are not JSON lists; those items were skipped", count)
