"""Metric inputs that used to crash or give impossible numbers: AG lone surrogates and negative F_BERT,
QPR reference-mode `invalid` above n, QPR labels that contradict the gold ranking."""

from __future__ import annotations

import pytest

from ecellm.metrics import score
from ecinstruct.errors import ScoringError


def test_ag_lone_surrogate_is_scored_with_the_real_offline_encoder():
    from ecinstruct.scoring.generation import offline_encoder

    try:
        path, layers = offline_encoder()
    except FileNotFoundError:
        pytest.skip("offline MiniLM wheel not installed")
    result = score("AG", ["\ud800 a fine answer", "plain"], ["a fine answer", "plain"], model_type=path,
                   num_layers=layers, progress=False)
    assert result["n"] == 2 and 0.0 <= result["score"] <= 1.0


def test_ag_f_bert_stays_in_0_1_when_similarities_are_negative():
    def pairs(candidates, references):  # what an encoder with anti-correlated embeddings returns
        n = len(candidates)
        return [-0.4] * n, [0.3] * n, [2 * -0.4 * 0.3 / (-0.1)] * n  # bert_score's F: 2.4, nonsense

    result = score("AG", ["a", "b"], ["c", "d"], pair_scorer=pairs)
    assert result["score"] == 0.0 and result["precision"] == 0.0 and result["recall"] == pytest.approx(0.3)


def test_ag_f_bert_unchanged_for_ordinary_similarities():
    def pairs(candidates, references):
        return [0.9], [0.6], [2 * 0.9 * 0.6 / 1.5]

    assert score("AG", ["a"], ["b"], pair_scorer=pairs)["score"] == pytest.approx(0.72)


def test_qpr_reference_invalid_never_exceeds_n():
    labels = [["E", "S", "C"], ["S", "E", "C"]]
    result = score("QPR", ["x,y,z", "q, r"], ["A,B,C", "B,A,C"], option_labels=labels, mode="reference")
    assert result["invalid_tokens"] == 5 and result["invalid"] == 2 == result["n"]


@pytest.mark.parametrize("mode", ["strict", "reference"])
def test_qpr_labels_that_contradict_the_gold_are_an_error(mode):
    with pytest.raises(ScoringError, match=r"1 of 2 QPR gold outputs disagree.*item 1"):
        score("QPR", ["A,B", "A,B"], ["A,B", "A,B"], option_labels=[["E", "S"], ["S", "E"]], mode=mode)


@pytest.mark.parametrize("labels", [None, [["E", "X"]], ["[not json"], [[]]])
def test_qpr_unusable_labels_are_one_clear_error(labels):
    with pytest.raises(ScoringError):
        score("QPR", ["A,B"], ["A,B"], option_labels=labels)
