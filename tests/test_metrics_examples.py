"""The reference metric's worked examples (docs/metrics.md), both modes: ecellm.metrics.score must give the
published numbers."""

from __future__ import annotations

import json
import math
import warnings

import pytest

from ecellm.metrics import ReferenceQuirkWarning, score

TOL = 5e-4  # the reference prints 3 decimals


def close(result: dict, **expected: float) -> None:
    for key, value in expected.items():
        assert result[key] == pytest.approx(value, abs=TOL), (key, result[key], value)


def quiet_ref(task: str, predictions: list, references: list, **kw) -> dict:
    """Ref-mode score that must not warn (the reference runs fine on this input)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReferenceQuirkWarning)
        return score(task, predictions, references, mode="reference", **kw)


# ---------------------------------------------------------------- binary (§3.1)

B1 = (["Yes", "no", "No.", "no", "yes "], ["yes", "no", "yes", "no", "yes"])
B2 = (["yes", "no", "yes", "no", "no", "no"], ["yes", "yes", "no", "no", "no", "no"])
B3 = (["no", "NO", "Yes, they are the same product."], ["no", "no", "yes"])


def test_b1():
    close(quiet_ref("PM", *B1), accuracy=1, precision=1, recall=1, f1=1, specificity=1, npv=1, invalid=1, kept=4)
    close(score("PM", *B1), accuracy=0.8, precision=1, recall=0.667, f1=0.8, specificity=1, npv=1, invalid=1)


@pytest.mark.parametrize("mode", ["reference", "strict"])
def test_b2(mode):
    result = score("PSI", *B2, mode=mode)
    close(result, accuracy=0.667, precision=0.5, recall=0.5, f1=0.5, specificity=0.75, npv=0.75, invalid=0)
    assert result["score"] == result["f1"]


def test_b3_reference_crash_is_warned():
    with pytest.warns(ReferenceQuirkWarning, match="one class"):
        result = score("AP", *B3, mode="reference")
    close(result, accuracy=1, precision=0, recall=0, f1=0, specificity=1, npv=1, invalid=1)
    close(score("AP", *B3), accuracy=0.667, precision=0, recall=0, f1=0, specificity=1, npv=1, invalid=1)


# ---------------------------------------------------------------- multi-class (§3.2)

M1 = (["A", "B: positive", "c: neutral", "Answer: B", "E", "D"], ["A", "B", "C", "B", "E", "B"])
M2 = (["B", "B", "D", "C"], ["A", "B", "C", "B"])
M3 = (["A", "D: The product is irrelevant to the query.", "B", "Answer: A"], ["A", "D", "B", "A"])


def test_m1_sa():
    close(quiet_ref("SA", *M1), accuracy=0.6, precision=0.625, recall=0.583, f1=0.542, invalid=1, score=0.542)
    close(score("SA", *M1), accuracy=0.5, precision=0.6, recall=0.467, f1=0.5, invalid=2, score=0.5)


def test_m2_prp():
    close(quiet_ref("PRP", *M2), accuracy=0.25, precision=0.125, recall=0.125, f1=0.125, invalid=0)
    close(score("PRP", *M2), accuracy=0.25, precision=0.167, recall=0.167, f1=0.167, invalid=1)


def test_m3_mpc_headline_is_accuracy():
    close(quiet_ref("MPC", *M3), accuracy=1, precision=1, recall=1, f1=1, score=1)
    close(score("MPC", *M3), accuracy=0.75, precision=0.75, recall=0.625, f1=0.667, score=0.75)


@pytest.mark.parametrize("task", ["PRP", "SA", "MPC"])
def test_m4_empty_prediction(task):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = score(task, [""], ["B"], mode="reference")
    messages = " | ".join(str(w.message) for w in caught if w.category is ReferenceQuirkWarning)
    assert "empty" in messages and "no valid" in messages
    assert result["invalid"] == 1 and math.isnan(result["score"])
    assert score(task, [""], ["B"]) == score(task, ["   "], ["B"])
    assert score(task, [""], ["B"])["invalid"] == 1


# ---------------------------------------------------------------- SR (§3.3)

S1 = (["K", "B", " C ", "K: Zinus Ultima Comfort Memory Foam 8 Inch Mattress, King.", "k"], list("KACKK"))


def test_s1_s2():
    close(quiet_ref("SR", *S1), score=0.667, invalid=2)
    close(score("SR", *S1), score=0.4, invalid=2)
    close(quiet_ref("SR", ["T", "U"], ["T", "T"]), score=1.0, invalid=1)
    close(score("SR", ["T", "U"], ["T", "T"]), score=0.5)


def test_s3_nothing_valid():
    with pytest.warns(ReferenceQuirkWarning, match="no valid"):
        result = score("SR", ["The answer is A", ""], ["A", "B"], mode="reference")
    assert math.isnan(result["score"]) and result["invalid"] == 2
    assert score("SR", ["The answer is A", ""], ["A", "B"])["score"] == 0.0


def test_sr_lenient_is_opt_in_and_reported():
    result = score("SR", *S1, lenient=True)
    assert result["score"] == pytest.approx(0.6) and result["lenient"] is True
    assert "lenient" not in score("SR", *S1)


# ---------------------------------------------------------------- QPR (§3.4)

SEC = ["S", "E", "C"]
QPR_TABLE = [  # prediction, ref NDCG, ref invalid tokens, strict NDCG
    ("B,A,C", 0.999999, 0, 1.0),
    ("A,B,C", 0.673347, 0, 0.673347),
    ("B", 0.999999, 0, 0.953505),
    ("C", 0.999856, 0, 0.006632),
    ("A, B, C", 0.999986, 2, 0.673347),
    ("B,B,B", 0.9999995, 0, 0.953505),
    ("D,B", 0.999999, 1, 0.953505),
    ("", 0.0, 1, 0.0),
    ("Based on the query, B is best", 0.999999, 1, 0.0),
]


@pytest.mark.parametrize(("prediction", "ref", "ref_invalid", "strict"), QPR_TABLE)
def test_qpr_item_table(prediction, ref, ref_invalid, strict):
    result = quiet_ref("QPR", [prediction], ["B,A,C"], option_labels=[SEC])
    assert result["score"] == pytest.approx(ref, abs=1e-6)
    assert result["invalid_tokens"] == ref_invalid and result["invalid"] == min(ref_invalid, 1)
    assert score("QPR", [prediction], ["B,A,C"], option_labels=[SEC])["score"] == pytest.approx(strict, abs=1e-6)


def test_qpr_duplicates_and_four_items():
    strict = score("QPR", ["B,B,B"], ["B,A,C"], option_labels=[SEC])
    assert strict["duplicate_tokens"] == 2 and strict["invalid"] == 0
    iesc = [["I", "E", "S", "C"]]
    assert quiet_ref("QPR", ["B,C,A,D"], ["B,C,D,A"], option_labels=iesc)["score"] == pytest.approx(0.999539, abs=1e-6)
    assert score("QPR", ["B,C,A,D"], ["B,C,D,A"], option_labels=iesc)["score"] == pytest.approx(0.999540, abs=1e-6)
    assert quiet_ref("QPR", ["A,B"], ["B,C,D,A"], option_labels=iesc)["score"] == pytest.approx(0.630929, abs=1e-6)
    assert score("QPR", ["A,B"], ["B,C,D,A"], option_labels=iesc)["score"] == pytest.approx(0.601595, abs=1e-6)


def test_qpr_dataset_level():
    labels = [SEC, ["E", "S"], ["I", "E", "S", "C"]]
    predictions, gold = ["B,A,C", "B", "A, B"], ["B,A,C", "A,B", "B,C,D,A"]
    ref = quiet_ref("QPR", predictions, gold, option_labels=labels)
    close(ref, score=0.667, invalid=1)
    strict = score("QPR", predictions, gold, option_labels=labels)
    close(strict, score=0.557)
    assert pytest.approx(strict["score"], abs=1e-6) == (1.0 + 0.068664 + 0.601595) / 3


# ---------------------------------------------------------------- AVE (§3.5)


def triples(*rows: tuple) -> str:
    return json.dumps([{"attribute": a, "value": v, "source": s} for a, v, s in rows])


SLEEVE = ("sleeve style", "long sleeve", "product title")
A1 = (triples(SLEEVE, ("sleeve style", "Long Sleeves", "product description")),
      triples(SLEEVE, ("sleeve style", "long sleeves", "product description")))
A2 = (triples(("heel height", "3", "description"), ("heel height", "", "product description")),
      triples(("heel height", "3 inches", "product description")))
A3_GOLD = [triples(("type", "None", "None")),
           triples(("material", "nylon", "product description"), ("material", "nylon", "product feature")),
           triples(("pattern", "floral", "product title"))]
A3_PRED = [triples(("type", "None", "None")), "Material: nylon (product description)",
           json.dumps([*json.loads(triples(("pattern", "floral", "product title"))) * 2, {"attribute": "color"}])]
A4 = (json.dumps({"attribute": "type", "value": "t-shirt", "source": "product title"}),
      triples(("type", "t-shirt", "product title")))


def test_a1_case_sensitivity():
    close(quiet_ref("AVE", [A1[0]], [A1[1]]), recall=0.5, precision=0.5, f1=0.5)
    close(score("AVE", [A1[0]], [A1[1]]), recall=1, precision=1, f1=1)


def test_a2_ood_substrings():
    close(quiet_ref("AVE", [A2[0]], [A2[1]], ood=True), recall=2.0, precision=1.0, f1=1.333, hits=2)
    close(quiet_ref("AVE", [A2[0]], [A2[1]]), recall=0, precision=0, f1=0)
    close(score("AVE", [A2[0]], [A2[1]], ood=True), recall=1, precision=0.5, f1=0.667)
    close(score("AVE", [A2[0]], [A2[1]]), recall=0, precision=0, f1=0)


def test_a3_three_items():
    close(quiet_ref("AVE", A3_PRED, A3_GOLD), hits=3, gold_count=4, pred_count=4, recall=0.75, precision=0.75,
          f1=0.75, invalid=1)
    close(score("AVE", A3_PRED, A3_GOLD), hits=2, gold_count=4, pred_count=3, recall=0.5, precision=0.667,
          f1=0.571, invalid=1)


def test_a3_historical_precision_bug():
    result = score("AVE", A3_PRED, A3_GOLD, mode="reference", historical=True)
    assert result["precision"] == pytest.approx(3_000_000, rel=1e-9)
    close(result, f1=1.5, recall=0.75)
    assert result["historical_precision_bug"] is True
    with pytest.raises(ValueError, match="reference"):
        score("AVE", A3_PRED, A3_GOLD, historical=True)


def test_a4_single_object():
    close(quiet_ref("AVE", [A4[0]], [A4[1]]), recall=0, precision=0, f1=0, invalid=0)
    close(score("AVE", [A4[0]], [A4[1]]), recall=0, precision=0, f1=0, invalid=1)


# ---------------------------------------------------------------- AG (§3.6), arithmetic with a stub encoder


def stub(values: dict[str, tuple[float, float, float]]):
    def pair_scorer(candidates, references):
        rows = [values[c] for c in candidates]
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]

    return pair_scorer


@pytest.mark.parametrize("mode", ["reference", "strict"])
def test_g2_empty_candidate_scores_zero(mode):
    pairs = stub({"a": (0.9, 0.9, 0.90), "b": (0.85, 0.85, 0.85)})
    result = score("AG", ["a", "b", ""], ["x", "y", "z"], mode=mode, pair_scorer=pairs)
    close(result, f1=0.583, score=0.583, empty=1)
    assert result["invalid"] == (1 if mode == "strict" else 0)
    assert result["bleurt"] is None and "BLEURT" in result["bleurt_note"]


def test_g3_mean_of_per_pair_f():
    f1, f2 = 2 * 0.9 * 0.8 / 1.7, 2 * 0.7 * 0.9 / 1.6
    result = score("AG", ["a", "b"], ["x", "y"], pair_scorer=stub({"a": (0.9, 0.8, f1), "b": (0.7, 0.9, f2)}))
    close(result, score=0.8173, precision=0.80, recall=0.85)
    assert abs(result["score"] - 0.8242) > 0.005  # not the F of the mean P and R
