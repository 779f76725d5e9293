"""Build from the real raw subsets in ../shared/data/raw (skipped when absent) and check real properties.

Tasks the subsets support: PM, SA, SR, and the variants AVE (implicit values) and AG (no documents).
PRP (31 pairs), MPC/PSI/QPR (labels only) and AP are tested from fixtures; PRP's pair rules and QPR's
set sampling are also checked on the real files here.
"""

from __future__ import annotations

import ast
import json
import random
from collections import Counter

import pytest

from ecinstruct.raw.esci import read_judgments
from ecinstruct.raw.io import iter_jsonl
from ecinstruct.raw.pipeline import build_examples
from ecinstruct.raw.qc import TaskQC, clean_fields
from ecinstruct.schema import normalize_row
from ecinstruct.tasks.prp.raw import relation_pairs
from ecinstruct.tasks.qpr.raw import output_of, sample_sets

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def raw_dir(shared_dir):
    return shared_dir / "data" / "raw"


@pytest.fixture(scope="module")
def build(raw_dir):
    return build_examples(raw_dir)


def steps(build, code):
    return [(s.name, s.rows_in, s.rows_out) for s in build.qc.tasks[code].steps]


def test_buildable_tasks(build):
    assert list(build.examples) == ["AVE", "PM", "SA", "SR", "AG"]
    assert set(build.skipped) == {"PRP", "MPC", "PSI", "QPR", "AP"}
    assert all(qc.fidelity == "variant" and qc.caveat for qc in build.qc.tasks.values())


def test_sa_counts_and_labels(build):
    assert steps(build, "SA")[:5] == [
        ("dedupe", 2036, 443), ("has text and rating", 443, 441), ("min-words", 441, 269),
        ("clean-up", 269, 269), ("english-only", 269, 269)]
    samples = build.examples["SA"]
    assert {k: len(v) for k, v in samples.items()} == {"train": 215, "validation": 26, "test_ind": 28}
    labels = Counter(s["output"][0] for rows in samples.values() for s in rows)
    assert labels == {"A": 159, "B": 46, "C": 38, "D": 15, "E": 11}


def test_pm_counts_and_balance(build):
    assert steps(build, "PM")[:3] == [("matches of the benchmark", 9167, 933), ("dedupe", 933, 911),
                                      ("random negatives", 911, 911)]
    samples = build.examples["PM"]
    everything = [s for rows in samples.values() for s in rows]
    assert len(everything) == 1822 and Counter(s["output"] for s in everything) == {"yes": 911, "no": 911}
    for split in samples:
        assert 0.4 < sum(s["output"] == "yes" for s in samples[split]) / len(samples[split]) < 0.6
    assert all(json.loads(s["input"])["product 1"]["description"] == "nan" for s in everything)


def test_sr_leave_last_out_on_recbole(build, raw_dir):
    samples = build.examples["SR"]
    assert [len(samples[s]) for s in ("train", "validation", "test_ind")] == [2342, 1000, 1000]
    for s in samples["test_ind"][:200]:
        assert len(s["options"]) == 20 and s["output"] in "ABCDEFGHIJKLMNOPQRST"
        history = ast.literal_eval(s["input"])
        assert 4 <= len(history) <= 31 and history[0].startswith("1st: ")
    # Every user's test history is its full RecBole test history (history lengths 4–31).
    lengths = Counter(len(ast.literal_eval(s["input"])) for s in samples["test_ind"])
    assert min(lengths) >= 4 and max(lengths) <= 31


def test_ave_implicit_ood_attributes(build):
    qc = build.qc.tasks["AVE"]
    held = qc.step("held-out attributes").detail.split(": ", 1)[1].split(", ")
    assert len(held) == 3  # 25% of the 12 attribute names
    samples = build.examples["AVE"]
    for split, rows in samples.items():
        for s in rows:
            attribute = json.loads(s["input"])["target attributes"]
            assert (attribute in held) == (split == "test_ood")


def test_ag_pairs_variant(build):
    assert steps(build, "AG")[2] == ("english-only", 7026, 7026)  # lingua and the heuristic agree here
    assert steps(build, "AG")[3] == ("dedupe", 7026, 6826)
    s = build.examples["AG"]["test_ind"][0]
    assert json.loads(s["input"])["document"] == [] and s["output"]
    assert "& #" not in json.dumps(build.examples["AG"])  # tokenised entities repaired


def test_no_train_test_overlap_and_valid_rows(build):
    report = build.decontam
    assert report.total("exact") == 0
    assert report.total("near", include_by_design=False) == 0
    assert report.tasks["SR"]["test_ind"].near > 0 and "SR" in report.notes  # leave-last-out, by design
    for number, row in enumerate(build.rows()):
        normalize_row({k: v for k, v in row.items() if k != "option_labels"}, number)


def test_deterministic(raw_dir, build):
    again = build_examples(raw_dir, ["SA", "PM"])
    assert again.examples["SA"] == build.examples["SA"] and again.examples["PM"] == build.examples["PM"]
    other = build_examples(raw_dir, ["SA"], seed=2)
    assert other.examples["SA"] != build.examples["SA"]


def test_prp_pair_rules_on_real_metadata(raw_dir):
    qc = TaskQC("PRP")
    products = clean_fields(list(iter_jsonl(raw_dir / "prp_amazon2018_meta" / "meta_Appliances.json")),
                            ("title",), qc)
    pairs = relation_pairs(products, qc)
    assert {k: len(v) for k, v in pairs.items()} == {"A": 13, "B": 8, "C": 10}
    assert qc.step("multi-relation pairs").detail.startswith("12 distinct pairs in >1 relation")
    assert all(a < b for group in pairs.values() for a, b in group)


def test_qpr_sets_from_real_esci_labels(raw_dir):
    groups = read_judgments(raw_dir / "esci_us_judgments_labels_only" / "esci_us_judgments.json")
    assert len(groups) == 120 and sum(len(v) for g in groups.values() for v in g.values()) == 5351
    with_titles = {q: {label: [(a, a) for a in ids] for label, ids in g.items()} for q, g in groups.items()}
    sets = sample_sets(with_titles, 1000, random.Random(1))
    assert len(sets) == 1000
    assert set(Counter(len(s["option_labels"]) for s in sets)) == {2, 3, 4}
    for s in sets:
        assert len(set(s["option_labels"])) == len(s["option_labels"]) and s["output"] == output_of(s["option_labels"])
