"""Checks against the official QPR test label file in ../shared (skipped when it is absent)."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from ecellm.metrics import bootstrap_ci, score
from ecinstruct.scoring.ranking import gold_ranking

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def qpr_labels(shared_dir) -> list[list[str]]:
    return json.loads((shared_dir / "reference" / "ecinstruct_rows" / "qpr_test_labels.json").read_text())


def test_label_statistics(qpr_labels):
    assert len(qpr_labels) == 1000
    assert Counter(len(item) for item in qpr_labels) == {2: 666, 3: 288, 4: 46}
    assert Counter(label for item in qpr_labels for label in item) == {"E": 849, "S": 773, "C": 232, "I": 526}
    assert all(len(set(item)) == len(item) for item in qpr_labels)  # distinct labels per item
    assert all(set(item) & {"E", "S", "C"} for item in qpr_labels)  # the strict IDCG is never 0


def test_gold_rankings_score_one_in_both_modes(qpr_labels):
    gold = [gold_ranking(item) for item in qpr_labels]
    assert gold_ranking(["C", "S", "E"]) == "C,B,A" and gold_ranking(["E", "S"]) == "A,B"
    ref = score("Query_Product_Ranking", gold, gold, option_labels=qpr_labels, mode="reference")
    strict = score("QPR", gold, gold, option_labels=qpr_labels)
    assert ref["score"] == pytest.approx(1.0, abs=5e-4) and ref["invalid"] == 0
    assert strict["score"] == pytest.approx(1.0, abs=1e-12) and strict["invalid"] == 0


def test_reference_mode_is_lenient_on_partial_and_shuffled_answers(qpr_labels):
    gold = [gold_ranking(item) for item in qpr_labels]
    top_only = [g.split(",")[0] for g in gold]
    assert score("QPR", top_only, gold, option_labels=qpr_labels, mode="reference")["score"] == pytest.approx(
        1.0, abs=5e-4)
    assert score("QPR", top_only, gold, option_labels=qpr_labels)["score"] < 0.97
    rng = random.Random(0)
    shuffled = [",".join(rng.sample(g.split(","), len(g.split(",")))) for g in gold]
    ref = score("QPR", shuffled, gold, option_labels=qpr_labels, mode="reference")["score"]
    strict = score("QPR", shuffled, gold, option_labels=qpr_labels)["score"]
    assert 0.5 < strict < 1.0  # every option named: the two normalisations agree up to the 1e-6 epsilon
    assert abs(ref - strict) < 1e-5
    ci = bootstrap_ci("QPR", shuffled, gold, option_labels=qpr_labels, n_resamples=300)
    assert ci["score"]["low"] < strict < ci["score"]["high"]
