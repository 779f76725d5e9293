"""The shared QC steps (each reports its drops) and the decontamination report."""

from __future__ import annotations

import pytest

from ecinstruct.errors import ECInstructError
from ecinstruct.raw.base import Sizes
from ecinstruct.raw.decontam import OverlapIndex, content_text, decontamination_report, remove_overlap
from ecinstruct.raw.qc import (
    QCReport,
    TaskQC,
    ascii_fold,
    clean_fields,
    clean_text,
    dedupe,
    english_only,
    is_english,
    max_chars,
    min_words,
)
from ecinstruct.text import cut_words, ordinal


def test_clean_text_html_entities_unicode():
    assert clean_text("Fast &amp;amp; <b>Safe</b>\n\tKettle\u200b") == "Fast & Safe Kettle"
    assert clean_text("is it safe & # xff1f ;") == "is it safe ?"  # tokenised entity, NFKC-folded
    assert clean_text(None) == "" and clean_text(float("nan")) == ""
    assert ascii_fold("Modèl café") == "Model cafe"


def test_is_english():
    assert is_english("This kettle works well and I like it a lot")
    assert is_english("") and is_english("12345")
    assert not is_english("el producto es muy bueno para la casa y el precio es justo")
    assert not is_english("Das ist sehr gut und nicht teuer")
    assert not is_english("電気ケトル 1.2L ステンレス")
    assert is_english("Acme Garden Hose 50 ft")  # no function words: a title stays


def test_steps_record_their_drops():
    qc = TaskQC("X")
    rows = [{"t": "<p>one two three</p>", "k": 1}, {"t": "one two three", "k": 1}, {"t": "<br>", "k": 2},
            {"t": "el producto es muy bueno para la casa", "k": 3}, {"t": "a b", "k": 4}]
    rows = clean_fields(rows, ("t",), qc)
    rows = english_only(rows, ("t",), qc)
    rows = min_words(rows, "t", 3, qc)
    rows = max_chars(rows, "t", 100, qc)
    rows = dedupe(rows, lambda r: r["t"], qc, "same text")
    assert rows == [{"t": "one two three", "k": 1}]
    assert [(s.name, s.dropped) for s in qc.steps] == [
        ("clean-up", 1), ("english-only", 1), ("min-words", 1), ("max-chars", 0), ("dedupe", 1)]
    report = QCReport()
    report.tasks["X"] = qc
    assert "| X |  | dedupe | 2 | 1 | 1 | same text |" in report.markdown()


def test_min_words_counts_space_separated_like_the_paper():
    qc = TaskQC("SA")
    text = "Love them!  Very comfortable and great for weight training!"  # 9 words, 10 with the double space
    assert len(min_words([{"t": text}], "t", 10, qc)) == 1


def test_formatting_helpers():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th"]
    assert cut_words("a b c.", 3) == "a b c."
    assert cut_words("a b c. d", 3) == "a b c..."


def test_sizes_parse():
    assert Sizes.parse("train=5,val=2,test=1") == Sizes(5, 2, 1, 1000)
    assert Sizes.parse(None) == Sizes(10_000, 1_000, 1_000, 1_000)
    with pytest.raises(ECInstructError, match="expected name=count"):
        Sizes.parse("training=5")


# --------------------------------------------------------------------------------------- overlap

def test_content_text_ignores_template_keys():
    a = content_text('{"question": "Does it Fit?", "document": ["Yes, it fits."]}')
    assert a == "does it fit yes it fits"
    assert content_text("['1st: A hat.', '2nd: A cap.']") == "1st a hat 2nd a cap"


def test_overlap_index_exact_and_near():
    base = "this sturdy kettle boils water fast and keeps it warm for hours without any noise at all"
    index = OverlapIndex([base, "a completely different sentence about garden hoses and their reels"])
    assert index.match(base.upper() + "!")[0] == "exact"
    near = index.match(base + " today")
    assert near[0] == "near" and near[1] == 0 and 0.8 <= near[2] < 1
    assert index.match("garden hoses are green") is None


def test_remove_overlap_drops_planted_duplicates():
    qc = TaskQC("X")
    test = ["the quick brown fox jumps over the lazy dog near the river bank today"]
    train = [{"input": "The quick brown fox jumps over the lazy dog near the river bank today."},   # exact
             {"input": "the quick brown fox jumps over the lazy dog near the river bank today again"},  # near
             {"input": "an unrelated review of a blender that is loud"}]
    kept = remove_overlap(train, test, qc, text_of=lambda r: r["input"])
    assert kept == train[2:]
    assert qc.step("train/test overlap").detail.startswith("exact + near: 1 exact, 1 near")
    assert len(remove_overlap(train, test, TaskQC("X"), text_of=lambda r: r["input"], near=False)) == 2


def test_decontamination_report_on_published_rows():
    text = "a long enough product review text that talks about the kettle and its lid in detail"
    rows = [
        {"task": "Sentiment_Analysis", "setting": "IND_Diverse_Instruction", "split": "train", "input": text},
        {"task": "Sentiment_Analysis", "setting": "IND_Diverse_Instruction", "split": "train", "input": "other"},
        {"task": "Sentiment_Analysis", "setting": "IND_Diverse_Instruction", "split": "test", "input": text},
        {"task": "Sentiment_Analysis", "setting": "OOD_Diverse_Instruction", "split": "test", "input": text + " too"},
        {"task": "Sentiment_Analysis", "setting": "IND_Single_Instruction", "split": "test", "input": text},  # ignored
        {"task": "Product_Matching", "setting": "IND_Diverse_Instruction", "split": "test", "input": "x"},
    ]
    report = decontamination_report(rows, by_design={"SR": "why"})
    sa = report.tasks["SA"]
    assert (sa["test_ind"].test_rows, sa["test_ind"].exact, sa["test_ind"].near) == (1, 1, 0)
    assert (sa["test_ood"].exact, sa["test_ood"].near) == (0, 1)
    assert report.train_rows == {"SA": 2, "PM": 0} and report.total("exact") == 1
    assert report.notes == {}  # SR absent
    assert "| SA | test_ood | 1 | 2 | 0 | 1 |" in report.markdown()
