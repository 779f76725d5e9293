"""Beyond the paper: bootstrap intervals, the paired and the one-sample bootstrap tests, error analysis."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from ecellm.metrics import bootstrap_ci, bootstrap_vs_constant, error_analysis, item_stats, paired_bootstrap, score


def noisy(gold: list[str], choices: str, accuracy: float, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [g if rng.random() < accuracy else rng.choice([*choices, "", "Answer: A"]) for g in gold]


_RNG = random.Random(1)
GOLD = [_RNG.choice("ABCDE") for _ in range(400)]


@pytest.mark.filterwarnings("ignore::ecinstruct.scoring.ReferenceQuirkWarning")
@pytest.mark.parametrize("mode", ["reference", "strict"])
def test_bootstrap_interval_brackets_the_estimate(mode):
    predictions = noisy(GOLD, "ABCDE", 0.6, seed=2)
    ci = bootstrap_ci("SA", predictions, GOLD, mode=mode, n_resamples=500, seed=0)
    point = score("SA", predictions, GOLD, mode=mode)
    assert ci["score"]["estimate"] == pytest.approx(point["score"])
    assert ci["score"]["low"] < point["score"] < ci["score"]["high"]
    assert ci["score"]["high"] - ci["score"]["low"] < 0.2
    assert {"accuracy", "precision", "recall", "f1"} <= set(ci)
    again = bootstrap_ci("SA", predictions, GOLD, mode=mode, n_resamples=500, seed=0)
    assert again == ci  # seeded


def test_bootstrap_matches_a_naive_resampling_loop():
    predictions = noisy(GOLD, "ABCDE", 0.6, seed=3)
    ci = bootstrap_ci("SA", predictions, GOLD, n_resamples=300, seed=5)
    rng = np.random.default_rng(5)
    naive = []
    for _ in range(300):
        idx = rng.integers(0, len(GOLD), len(GOLD))
        naive.append(score("SA", [predictions[i] for i in idx], [GOLD[i] for i in idx])["score"])
    low, high = np.quantile(naive, [0.025, 0.975])
    assert ci["score"]["low"] == pytest.approx(low, abs=1e-9) and ci["score"]["high"] == pytest.approx(high)


def test_bootstrap_for_every_family_with_precomputed_stats():
    gold = [json.dumps([{"attribute": "color", "value": "red", "source": "product title"}])] * 50
    predictions = [g if i % 3 else "oops" for i, g in enumerate(gold)]
    stats = item_stats("AVE", predictions, gold)
    ci = bootstrap_ci("AVE", predictions, gold, n_resamples=200, stats=stats)
    assert ci["score"]["low"] <= ci["score"]["estimate"] <= ci["score"]["high"]
    labels = [["S", "E"]] * 50
    qpr = bootstrap_ci("QPR", ["B,A"] * 25 + ["A"] * 25, ["B,A"] * 50, option_labels=labels, n_resamples=200)
    assert 0 < qpr["score"]["low"] < qpr["score"]["high"] <= 1


def test_paired_bootstrap_detects_a_real_difference_only():
    weak, strong = noisy(GOLD, "ABCDE", 0.4, seed=4), noisy(GOLD, "ABCDE", 0.8, seed=5)
    result = paired_bootstrap("SA", weak, strong, GOLD, n_resamples=500)
    assert result["delta"] > 0.2 and result["p_value"] < 0.01 and result["low"] > 0
    same = paired_bootstrap("SA", weak, list(weak), GOLD, n_resamples=200)
    assert same["delta"] == 0 and same["p_value"] == 1.0
    close = paired_bootstrap("SA", weak, noisy(GOLD, "ABCDE", 0.41, seed=6), GOLD, n_resamples=500)
    assert close["p_value"] > 0.05


def test_error_analysis_option_task():
    analysis = error_analysis("PRP", ["A", "B", "Answer: C", "", "C"], ["A", "A", "C", "B", "C"])
    assert analysis["confusion"]["rows"] == ["A", "B", "C"]
    assert analysis["confusion"]["columns"][-1] == "invalid"
    assert analysis["confusion"]["matrix"] == [[1, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 1]]
    assert [e["index"] for e in analysis["invalid_examples"]] == [2, 3]
    ref = error_analysis("PRP", ["A", "B", "Answer: C", "", "C"], ["A", "A", "C", "B", "C"], mode="reference")
    assert ref["confusion"]["rows"] == list("ABCDE") and ref["invalid"] == 1


def test_error_analysis_yes_no_sr_qpr():
    yes_no = error_analysis("PM", ["yes", "no", "maybe"], ["yes", "yes", "no"], max_examples=1)
    assert yes_no["confusion"]["matrix"] == [[1, 1, 0], [0, 0, 1]] and len(yes_no["invalid_examples"]) == 1
    sr = error_analysis("SR", ["K", "k"], ["K", "A"])
    assert len(sr["confusion"]["rows"]) == 20 and sr["invalid"] == 1
    qpr = error_analysis("QPR", ["B,A", "A", "?"], ["B,A"] * 3, option_labels=[["S", "E"]] * 3)
    assert qpr["first_choice_labels"] == {"E": 1, "S": 1, "C": 0, "I": 0, "none": 1}


def test_error_analysis_ave_per_attribute():
    def t(a, v, s="product title"):
        return {"attribute": a, "value": v, "source": s}

    gold = [json.dumps([t("color", "red")]), json.dumps([t("material", "wool")]), json.dumps([t("color", "blue")])]
    predictions = [json.dumps([t("color", "red"), t("size", "xl")]), "not json", json.dumps([t("color", "navy")])]
    per = error_analysis("AVE", predictions, gold)["per_attribute"]
    assert per["color"] == {"gold": 2, "predicted": 2, "hits": 1, "precision": 0.5, "recall": 0.5}
    assert per["material"]["recall"] == 0.0 and per["size"]["precision"] == 0.0
    ref = error_analysis("AVE", predictions, gold, mode="reference")
    assert ref["per_attribute"]["color"]["hits"] == 1 and ref["invalid"] == 1


def test_paired_bootstrap_p_value_agrees_with_its_interval():
    """The 95% interval excludes 0 exactly when p < 0.05, on skewed small-sample differences too (the old
    shift-to-the-null p-value gave p = 0.06 beside a CI of [+0.025, +0.200] on AVE OOD)."""
    import random

    from ecellm.metrics.bootstrap import percentile_p_value

    rng = random.Random(0)
    disagreements = 0
    for trial in range(40):
        base, better = noisy(GOLD, "ABCDE", 0.3, seed=100 + trial), noisy(GOLD, "ABCDE", rng.uniform(0.3, 0.6),
                                                                          seed=200 + trial)
        r = paired_bootstrap("SA", base, better, GOLD, n_resamples=400, seed=trial)
        disagreements += (r["low"] > 0 or r["high"] < 0) != (r["p_value"] < 0.05)
    assert disagreements == 0
    assert percentile_p_value(np.array([0.1] * 97 + [-0.1] * 3)) == 0.06
    assert percentile_p_value(np.array([0.0] * 10)) == 1.0


def test_one_sample_bootstrap_against_chance_needs_a_significant_margin():
    """SR against chance (1 in 20): 20 hits in 100 rows is significantly above it, 7 in 100 is not (a point estimate
    above chance is not enough), and the interval agrees with the p-value."""
    golds = ["A"] * 100
    for hits, significant in ((20, True), (7, False)):
        answers = ["A"] * hits + ["B"] * (100 - hits)
        r = bootstrap_vs_constant("SR", answers, golds, 0.05)
        assert r["metric"] == "hr@1" and r["score"] == pytest.approx(hits / 100)
        assert r["delta"] == pytest.approx(hits / 100 - 0.05)
        assert (r["p_value"] < 0.05) is significant and (r["low"] > 0) is significant
