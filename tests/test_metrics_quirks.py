"""Our own examples, one or more per quirk of the reference metric (docs/metrics.md; ref vs strict), plus
dispatch and input errors."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support

from ecellm.metrics import ReferenceQuirkWarning, score

REF = {"mode": "reference"}


def ref(task: str, predictions: list, references: list, **kw) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReferenceQuirkWarning)
        return score(task, predictions, references, mode="reference", **kw)


# ---------------------------------------------------------------- dispatch


@pytest.mark.parametrize(("alias", "code"), [("Product_Relation_Predicition", "PRP"),
                                             ("Product_Substitue_Identification", "PSI"),
                                             ("Query_Product_Ranking", "QPR"),
                                             ("Product_Relation_Prediction", "PRP"), ("prp", "PRP")])
def test_misspelled_and_published_names_dispatch(alias, code):
    kw = {"option_labels": [["E", "S"]]} if code == "QPR" else {}
    gold = {"PRP": "A", "PSI": "yes", "QPR": "A,B"}[code]
    assert score(alias, [gold], [gold], **kw) == score(code, [gold], [gold], **kw)
    assert ref(alias, [gold], [gold], **kw)["score"] == pytest.approx(1.0, abs=1e-5)


def test_zero_gold_rows_is_loud():
    with pytest.raises(ValueError, match="zero gold rows"):
        score("Product_Substitue_Identification", [], [])


def test_input_errors():
    with pytest.raises(ValueError, match="2 predictions but 1"):
        score("PM", ["yes", "no"], ["yes"])
    with pytest.raises(ValueError, match="mode"):
        score("PM", ["yes"], ["yes"], mode="paper")
    with pytest.raises(ValueError, match="out-of-domain"):
        score("QPR", ["A"], ["A"], ood=True, option_labels=[["E"]])
    with pytest.raises(ValueError, match="option_labels"):
        score("QPR", ["A"], ["A"])
    with pytest.raises(ValueError, match="gold"):
        score("PM", ["yes"], ["maybe"])
    with pytest.raises(ValueError, match="gold"):
        score("PRP", ["A"], ["E"])  # E is not a PRP option
    with pytest.raises(KeyError):
        score("Product_Recommendation", ["A"], ["A"])


# ---------------------------------------------------------------- binary


def test_binary_validity_is_exact_after_lower_strip():
    gold = ["yes"] * 6
    result = score("PM", ["Yes", " YES\n", "yes.", '"yes"', "yes, they match", "y"], gold)
    assert result["invalid"] == 4 and result["recall"] == pytest.approx(2 / 6)


def test_binary_nothing_valid_is_nan_in_ref_mode():
    with pytest.warns(ReferenceQuirkWarning) as caught:
        result = score("PSI", ["maybe", None], ["yes", "no"], mode="reference")
    assert {"no valid", "not strings"} <= {m for w in caught for m in ("no valid", "not strings")
                                           if m in str(w.message)}
    assert math.isnan(result["f1"]) and result["invalid"] == 2
    assert score("PSI", ["maybe", None], ["yes", "no"])["f1"] == 0.0


def test_binary_ref_epsilon_on_specificity():
    result = ref("PM", ["no"], ["no"])
    assert result["specificity"] == pytest.approx(1 / (1 + 1e-8), rel=1e-12) and result["specificity"] < 1.0
    assert score("PM", ["no"], ["no"])["specificity"] == 1.0


# ---------------------------------------------------------------- multi-class


def test_reference_first_character_rule():
    # "Electronics" reads as E, "Based on" as B, "B) positive" as B; lower case is invalid.
    result = ref("SA", ["Electronics", "Based on the review", "B) positive", "b"], ["E", "B", "B", "B"])
    assert result["accuracy"] == 1.0 and result["invalid"] == 1
    strict = score("SA", ["Electronics", "Based on the review", "B) positive", "b"], ["E", "B", "B", "B"])
    assert strict["invalid"] == 3 and strict["accuracy"] == 0.25


def test_strict_accepts_letter_followers():
    answers = ["B", "B:", "B.", "B)", "B]", "B positive", "B\tpositive", "B-positive", "BB"]
    result = score("SA", answers, ["B"] * len(answers))
    assert result["invalid"] == 2  # "B-positive" and "BB"


def test_ref_letters_outside_options_become_extra_classes():
    # PRP has A-C; ref mode reads "E" as a class and macro-averages over {A, E}.
    result = ref("PRP", ["A", "E"], ["A", "A"])
    assert result["precision"] == pytest.approx((1.0 + 0.0) / 2) and result["invalid"] == 0
    strict = score("PRP", ["A", "E"], ["A", "A"])
    assert strict["invalid"] == 1 and strict["precision"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("seed", range(5))
def test_ref_macro_matches_sklearn_on_kept_items(seed):
    rng = np.random.default_rng(seed)
    gold = list(rng.choice(list("ABCDE"), 60))
    predictions = list(rng.choice(["A", "B", "C", "D", "E", "x", "B: positive"], 60))
    kept = [(g, p[0]) for g, p in zip(gold, predictions, strict=True) if p[0] in "ABCDE"]
    g, p = zip(*kept, strict=True)
    labels = sorted(set(g) | set(p))
    precision, recall, f1, _ = precision_recall_fscore_support(g, p, labels=labels, average="macro",
                                                               zero_division=0)
    result = ref("SA", predictions, gold)
    assert (result["precision"], result["recall"], result["f1"]) == pytest.approx((precision, recall, f1))


def test_gold_full_option_string_reads_its_letter():
    assert score("MPC", ["D"], ["D: The product is irrelevant to the query."])["accuracy"] == 1.0


# ---------------------------------------------------------------- SR


def test_sr_rules():
    assert score("SR", ["t"], ["T"])["invalid"] == 1  # lower case
    assert score("SR", ["AB"], ["A"])["invalid"] == 1
    assert ref("SR", ["A", "U", "A"], ["A", "A", "B"])["score"] == 0.5  # U is not a candidate letter


# ---------------------------------------------------------------- QPR


def test_qpr_ref_first_character_and_leading_space():
    labels = [["E", "S", "I"]]
    assert ref("QPR", ["AB"], ["A,B,C"], option_labels=labels)["invalid"] == 0  # read as A
    assert ref("QPR", ["A: the mouse,B: the pad"], ["A,B,C"], option_labels=labels)["score"] == pytest.approx(
        1.0, abs=1e-5)
    lower = ref("QPR", ["a,b"], ["A,B,C"], option_labels=labels)  # lower case: both tokens invalid
    assert (lower["invalid_tokens"], lower["invalid"], lower["n"]) == (2, 1, 1)  # `invalid` counts items, <= n


def test_qpr_naming_only_the_best_item():
    labels = [["I", "C", "E", "S"]]
    assert ref("QPR", ["C"], ["C,D,B,A"], option_labels=labels)["score"] == pytest.approx(1.0, abs=1e-5)
    assert ref("QPR", ["B"], ["C,D,B,A"], option_labels=labels)["score"] == pytest.approx(1.0, abs=2e-4)
    assert score("QPR", ["C"], ["C,D,B,A"], option_labels=labels)["score"] < 0.96
    assert score("QPR", ["B"], ["C,D,B,A"], option_labels=labels)["score"] < 0.01


def test_qpr_strict_reports_tokens_and_items():
    labels = [["E", "S"], ["E", "S"], ["E", "S"]]
    result = score("QPR", ["A, B", "A,X,A", "nonsense"], ["A,B"] * 3, option_labels=labels)
    assert (result["invalid"], result["invalid_tokens"], result["duplicate_tokens"]) == (2, 2, 1)
    assert result["empty_rankings"] == 1


def test_qpr_label_formats():
    for labels in ([["S", "E"]], [("s", "e")], ['["S", "E"]'], ["S,E"]):
        assert score("QPR", ["B,A"], ["B,A"], option_labels=labels)["score"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="E, S, C, I"):
        score("QPR", ["A"], ["A"], option_labels=[["X"]])


# ---------------------------------------------------------------- AVE


def t(a, v, s) -> dict:
    return {"attribute": a, "value": v, "source": s}


def test_ave_duplicates_hit_repeatedly_in_ref_once_in_strict():
    gold = json.dumps([t("color", "red", "product title")])
    pred = json.dumps([t("color", "red", "product title")] * 3)
    result = ref("AVE", [pred], [gold])
    assert result["recall"] == 3.0 and result["hits"] == 3
    assert score("AVE", [pred], [gold])["f1"] == 1.0


def test_ave_ref_pred_count_needs_attribute_key_only():
    gold = json.dumps([t("color", "red", "product title")])
    pred = json.dumps([{"attribute": "color"}, {"value": "red"}, "plain text", [1, 2]])
    assert ref("AVE", [pred], [gold])["pred_count"] == 1
    assert score("AVE", [pred], [gold])["pred_count"] == 4  # every malformed element is a wrong prediction


@pytest.mark.parametrize("element", [3, None, "the attribute is red", {"attribute": ["a"], "value": "v",
                                                                       "source": "product title"}])
def test_ave_ref_crashing_elements_warn(element):
    gold = json.dumps([t("color", "red", "product title")])
    with pytest.warns(ReferenceQuirkWarning, match="crash"):
        result = score("AVE", [json.dumps([element])], [gold], mode="reference")
    assert result["hits"] == 0


def test_ave_ood_non_string_source_warns_in_ref():
    gold = json.dumps([t("color", "red", "product title")])
    with pytest.warns(ReferenceQuirkWarning):
        score("AVE", [json.dumps([t("color", "red", 5)])], [gold], mode="reference", ood=True)


def test_ave_ood_short_values_match_both_ways():
    gold = json.dumps([t("length", "3 inches", "product description")])
    longer = json.dumps([t("length", "about 3 inches long", "description")])
    assert ref("AVE", [longer], [gold], ood=True)["hits"] == 1
    assert score("AVE", [longer], [gold], ood=True)["hits"] == 1
    assert score("AVE", [longer], [gold])["hits"] == 0  # IND stays exact


def test_ave_strict_one_to_one_matching_in_ood():
    gold = json.dumps([t("size", "3", "product title"), t("size", "3 inches", "product title")])
    pred = json.dumps([t("size", "3 inches", "product title")])
    assert ref("AVE", [pred], [gold], ood=True)["hits"] == 2  # one prediction hits two gold triples
    assert score("AVE", [pred], [gold], ood=True)["hits"] == 1


def test_ave_strict_normalises_whitespace_and_case():
    gold = json.dumps([t("color", "navy blue", "product title")])
    pred = json.dumps([t(" Color", "Navy Blue ", "PRODUCT TITLE")])
    assert score("AVE", [pred], [gold])["f1"] == 1.0 and ref("AVE", [pred], [gold])["f1"] == 0.0


def test_ave_numeric_value_and_nan_json():
    gold = json.dumps([t("pack size", "3", "product title")])
    assert score("AVE", ['[{"attribute": "pack size", "value": 3, "source": "product title"}]'], [gold])["f1"] == 1
    assert ref("AVE", ['[{"attribute": "pack size", "value": 3, "source": "product title"}]'], [gold])["f1"] == 0
    assert score("AVE", ['[{"attribute": "pack size", "value": NaN, "source": "x"}]'], [gold])["invalid"] == 0


# ---------------------------------------------------------------- AG


def test_ag_bleurt_reference_skips_failures_strict_scores_zero():
    def pairs(candidates, references):
        return [0.5] * len(candidates), [0.5] * len(candidates), [0.5] * len(candidates)

    def bleurt(reference, candidate):
        if candidate == "boom":
            raise RuntimeError("model failure")
        assert len(candidate.split()) <= 300
        return 0.8

    predictions, gold = ["good answer", "boom", "word " * 400], ["gold", "gold", "gold"]
    ref_result = score("AG", predictions, gold, mode="reference", pair_scorer=pairs, bleurt=bleurt)
    strict = score("AG", predictions, gold, pair_scorer=pairs, bleurt=bleurt)
    assert ref_result["bleurt"] == pytest.approx(0.8) and ref_result["invalid"] == 1
    assert strict["bleurt"] == pytest.approx(1.6 / 3) and strict["bleurt_failures"] == 1


def test_ag_unloadable_bleurt_is_skipped_with_a_note():
    def pairs(candidates, references):
        return [1.0] * len(candidates), [1.0] * len(candidates), [1.0] * len(candidates)

    result = score("AG", ["a"], ["a"], pair_scorer=pairs, bleurt="/nonexistent/bleurt-checkpoint")
    assert result["bleurt"] is None and "skipped" in result["bleurt_note"]


def test_qpr_misaligned_labels_are_refused():
    from ecinstruct.errors import ScoringError

    with pytest.raises(ScoringError, match="disagree with the ranking"):
        score("QPR", ["A,B"], ["B,A"], option_labels=[["E", "S"]])
