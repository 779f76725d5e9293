"""Every raw-source processor on a small fixture in its source's original format (tests/fixtures/raw,
plus ESCI parquet files written here): options, outputs, OOD membership, candidates, label mapping."""

from __future__ import annotations

import ast
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecinstruct.errors import SourceError
from ecinstruct.raw import PROCESSORS
from ecinstruct.raw.base import Sizes
from ecinstruct.raw.qc import TaskQC
from ecinstruct.tasks import get_task
from ecinstruct.tasks.ag.raw import best_answer
from ecinstruct.tasks.pm.raw import parse_ditto_record
from ecinstruct.tasks.prp.raw import relation_pairs
from ecinstruct.tasks.qpr.raw import output_of

FIXTURES = Path(__file__).parent / "fixtures" / "raw"
SMALL = Sizes(train=6, validation=2, test=2, ood=2)


def build(code: str, raw_dir: Path = FIXTURES, sizes: Sizes = SMALL, seed: int = 1) -> tuple[dict, TaskQC]:
    qc = TaskQC(code)
    return PROCESSORS[code].build(raw_dir, sizes, seed, qc), qc


def drops(qc: TaskQC, step: str) -> list[int]:
    return [s.dropped for s in qc.steps if s.name == step]


# ------------------------------------------------------------------------------------------- AVE

def test_ave_mave_rows_and_held_out_attributes():
    samples, qc = build("AVE")
    held = qc.step("held-out attributes").detail.split(": ", 1)[1].split(", ")
    assert len(held) == 1  # 1 of 4 attribute names (max 25% held out)
    assert held[0] in {"Lid Style", "Material", "Color", "Capacity"}
    ood = [json.loads(s["input"])["target attributes"] for s in samples["test_ood"]]
    assert ood and set(ood) == set(held)
    for split in ("train", "validation", "test_ind"):
        assert all(json.loads(s["input"])["target attributes"] not in held for s in samples[split])
    order = ["product title", "product description", "product feature", "product price", "product brand",
             "target attributes"]
    for s in (s for rows in samples.values() for s in rows):
        row = json.loads(s["input"])
        assert list(row) == [k for k in order if k in row] and "product title" in row
        for o in json.loads(s["output"]):
            assert o["value"] == "None" or (o["value"] == o["value"].lower() and o["value"] in json.dumps(row).lower())
            assert o["source"] == "None" or o["source"] in row


def test_ave_negative_record_gives_none():
    from ecinstruct.tasks.ave.raw import example_of, product_from_mave

    product = product_from_mave({"id": "x", "paragraphs": [{"text": "Jar &amp; Lid", "source": "title"}],
                                 "attributes": [{"key": "Color", "evidences": []}]})
    sample = example_of(product)
    assert json.loads(sample["input"]) == {"product title": "Jar & Lid", "target attributes": "Color"}
    assert json.loads(sample["output"]) == [{"attribute": "color", "value": "None", "source": "None"}]


# ------------------------------------------------------------------------------------------- PRP

def test_prp_pair_rules():
    products = [
        {"asin": "P1", "title": "Zeta", "also_buy": ["P2", "P9"], "also_view": ["P2"], "similar_item": ""},
        {"asin": "P2", "title": "Alpha", "also_buy": [], "also_view": ["P3", "P2"], "similar_item": ""},
        {"asin": "P3", "title": "Alpha", "also_buy": ["P4"], "also_view": [], "similar_item": ""},
        {"asin": "P4", "title": "Mid", "also_buy": [], "also_view": [],
         "similar_item": '<a href="/dp/P100000001/ref=1"></a><a href="/dp/P5XXXXXXXX/ref=2">'},
        {"asin": "P5XXXXXXXX", "title": "Beta", "also_buy": [], "also_view": [], "similar_item": ""},
    ]
    qc = TaskQC("PRP")
    pairs = relation_pairs(products, qc)
    # Zeta–Alpha is both A and B → discarded; Alpha–Alpha (same title) and self links are not pairs;
    # P9 is absent from the file.
    assert pairs == {"A": [("Alpha", "Mid")], "B": [], "C": [("Beta", "Mid")]}
    assert qc.step("multi-relation pairs").dropped == 2


def test_prp_build_options_order_and_ood():
    samples, qc = build("PRP")
    prp = get_task("PRP")
    assert {len(v) for v in samples.values()} == {2, 6} and len(samples["train"]) == 6
    for split, rows in samples.items():
        for s in rows:
            pair = json.loads(s["input"])
            assert list(pair) == ["Product 1:", "Product 2:"] and pair["Product 1:"] < pair["Product 2:"]
            assert s["options"] == list(prp.options) and s["output"] in prp.option_letters
            tools = any(w in s["input"] for w in ("Hammer", "Drill", "Wrench", "Ladder"))
            assert tools == (split == "test_ood")
    assert "&amp;" not in json.dumps(samples)  # titles' entities decoded
    assert set(drops(qc, "multi-relation pairs")) == {8}


# -------------------------------------------------------------------------------------------- PM

def test_pm_leipzig_pairs_balance_and_fields():
    samples, qc = build("PM", sizes=Sizes())
    assert qc.step("join perfect mapping").dropped == 1  # a9 is not in Amazon.csv
    assert qc.step("dedupe").dropped == 1  # a4/g4 listed twice
    everything = [s for rows in samples.values() for s in rows]
    assert Counter(s["output"] for s in everything) == {"yes": 5, "no": 5}
    assert [len(samples[s]) for s in ("train", "validation", "test_ind")] == [8, 1, 1]
    records = [json.loads(s["input"]) for s in everything]
    assert all(list(r) == ["product 1", "product 2"] for r in records)
    assert all(list(r["product 1"]) == ["title", "description", "manufacturer", "price"] for r in records)
    office = next(r["product 1"] for r in records if r["product 1"]["title"] == "office suite small business")
    assert office["manufacturer"] == "nan" and office["description"].endswith("...")
    assert len(office["description"].split()) == 50
    budget = next(r["product 1"] for r in records if r["product 1"]["title"] == "home budget planner 2007")
    assert budget["description"] == "nan"
    for s in everything:
        r = json.loads(s["input"])
        is_match = r["product 1"]["title"].split()[0] in r["product 2"]["title"]
        assert (s["output"] == "yes") == is_match


def test_pm_ditto_record_parsing():
    record = parse_ditto_record("COL title VAL adobe cs3 upgrade COL manufacturer VAL  COL price VAL 413.99 ")
    assert record == ("adobe cs3 upgrade", "nan", "nan", "413.99")
    with pytest.raises(SourceError):
        parse_ditto_record("title: nothing")


# -------------------------------------------------------------------------------------------- SA

def test_sa_label_mapping_qc_and_ood():
    samples, qc = build("SA")
    options = list(get_task("SA").options)
    assert options == ["A: very positive", "B: positive", "C: neutral", "D: negative", "E: very negative"]
    # Per category: 1 duplicated review, 1 without text, 1 Spanish review.
    assert drops(qc, "dedupe")[::2] == [1, 1, 1, 1]
    assert drops(qc, "has text and rating") == [1, 1, 1, 1]
    assert drops(qc, "english-only") == [1, 1, 1, 1]
    assert [len(samples[s]) for s in ("train", "validation", "test_ind", "test_ood")] == [6, 2, 2, 2]
    assert all("Tools_and_Home_Improvement" in s["input"] for s in samples["test_ood"])
    assert not any("Tools_and_Home_Improvement" in s["input"] for s in samples["train"])
    for rows in samples.values():
        for s in rows:
            assert s["options"] == options and s["output"] in options
            assert len(s["input"].split(" ")) >= 10


# -------------------------------------------------------------------------------------------- SR

def test_sr_candidates_history_and_ood_pool():
    samples, qc = build("SR")
    assert drops(qc, "5-core") == [2, 2, 2, 2]  # the user with two ratings
    assert drops(qc, "items with metadata") == [1, 1, 1, 1]
    letters = [chr(ord("A") + i) for i in range(20)]
    for split, rows in samples.items():
        for s in rows:
            history = ast.literal_eval(s["input"])
            assert history[0].startswith("1st: ") and history[1].startswith("2nd: ")
            assert [o.split(":")[0] for o in s["options"]] == letters
            assert len({o.split(": ", 1)[1] for o in s["options"]}) == 20
            assert s["output"] in letters
            if split == "test_ood":
                assert all("Tools & Home Improvement" in o for o in s["options"])
    assert str(samples["test_ind"][0]["options"]) == get_task("SR").serialize_options(samples["test_ind"][0]["options"])


def test_sr_leave_last_out_targets():
    from ecinstruct.tasks.sr.raw import SRProcessor

    processor = SRProcessor()
    texts = {f"i{k}": f"Item {k}." for k in range(30)}
    pool = sorted(texts.values())
    import random

    seq = [f"i{k}" for k in range(6)]
    for from_end, target in ((3, "Item 3."), (2, "Item 4."), (1, "Item 5.")):
        s = processor.make_example(seq, from_end, texts, pool, random.Random(0))
        picked = next(o for o in s["options"] if o.startswith(s["output"] + ":"))
        assert picked.endswith(target)
        assert len(ast.literal_eval(s["input"])) == 6 - from_end
        others = {o.split(": ", 1)[1] for o in s["options"]} - {target}
        assert not others & {"Item 3.", "Item 4.", "Item 5."}  # the last three are never negatives


# ----------------------------------------------------------------------------------- MPC/PSI/QPR

@pytest.fixture(scope="module")
def esci_dir(tmp_path_factory) -> Path:
    """ESCI's two parquet files, with US/ES rows, a Spanish title and non-ASCII text."""
    root = tmp_path_factory.mktemp("raw") / "esci"
    root.mkdir()
    examples, products = [], []
    labels = ["E", "S", "C", "I"]
    for q in range(6):
        for p in range(8):
            pid = f"B{q}{p:08d}"
            split = "train" if q < 4 else "test"
            examples.append({"example_id": q * 100 + p, "query": f"garden hose {q}", "query_id": q,
                             "product_id": pid, "product_locale": "us", "esci_label": labels[p % 4],
                             "small_version": 1, "large_version": 1, "split": split})
            title = f"Hose Reel Model {q}-{p}\n<br>Green" if p != 7 else "Manguera de jardín para el patio y la casa"
            title = title.replace("Model", "Café Model") if p == 1 else title
            products.append({"product_id": pid, "product_title": title,
                             "product_description": None, "product_bullet_point": None, "product_brand": "Acme",
                             "product_color": None, "product_locale": "us"})
    examples.append({**examples[0], "example_id": 999, "product_locale": "es"})
    pq.write_table(pa.Table.from_pylist(examples), root / "shopping_queries_dataset_examples.parquet")
    pq.write_table(pa.Table.from_pylist(products), root / "shopping_queries_dataset_products.parquet")
    return root.parent


def test_mpc_label_mapping_and_cleaning(esci_dir):
    samples, qc = build("MPC", esci_dir, Sizes(20, 5, 5, 0))
    assert qc.step("US examples with an ESCI label").rows_in == 48  # the es row is filtered on read
    assert qc.step("english-only").dropped == 6  # the Spanish title of each query
    options = list(get_task("MPC").options)
    for rows in samples.values():
        for s in rows:
            data = json.loads(s["input"])
            assert list(data) == ["query", "product title"] and data["product title"].isascii()
            assert "\n" not in data["product title"] and "<br>" not in data["product title"]
            p = int(data["product title"].split("-")[1].split()[0])
            assert s["output"] == options[p % 4] and s["options"] == options
    assert [len(samples[s]) for s in ("train", "validation", "test_ind")] == [20, 5, 5]


def test_psi_yes_iff_substitute(esci_dir):
    samples, _ = build("PSI", esci_dir, Sizes(28, 7, 7, 0))
    for s in (s for rows in samples.values() for s in rows):
        data = json.loads(s["input"])
        assert list(data) == ["query", "product"] and s["options"] is None
        assert (s["output"] == "yes") == (int(data["product"].split("-")[1].split()[0]) % 4 == 1)


def test_qpr_sets_and_labels(esci_dir):
    samples, _ = build("QPR", esci_dir, Sizes(30, 5, 5, 0))
    assert len(samples["train"]) == 30
    for s in (s for rows in samples.values() for s in rows):
        data = json.loads(s["input"])
        labels = s["option_labels"]
        assert 2 <= len(labels) <= 4 and len(set(labels)) == len(labels)
        assert [p[0] for p in data["product list"]] == [chr(65 + i) for i in range(len(labels))]
        assert s["output"] == output_of(labels)
        for option, label in zip(data["product list"], labels, strict=True):
            assert "ESCI"[int(option.split("-")[1].split()[0]) % 4] == label


def test_qpr_output_order():
    assert output_of(["C", "S", "E"]) == "C,B,A"
    assert output_of(["E", "S"]) == "A,B"
    assert output_of(["I", "E", "C", "S"]) == "B,D,C,A"


# ---------------------------------------------------------------------------------------- AP / AG

def test_ap_answerability_and_ood_category():
    samples, _ = build("AP")
    for split, rows in samples.items():
        for s in rows:
            data = json.loads(s["input"])
            assert list(data) == ["question", "document"] and len(data["document"]) == 2
            number = int(data["question"].split("number ")[1].split()[0])
            assert s["output"] == ("yes" if number % 2 == 0 else "no")
            assert data["question"].startswith("Does the cell") == (split == "test_ood")
            if split != "test_ood":
                assert data["question"].split()[2] in ("sports", "tools")


def test_ag_descriptive_answerable_best_answer():
    samples, _ = build("AG")
    assert samples["test_ood"] and samples["train"]
    for split, rows in samples.items():
        for s in rows:
            data = json.loads(s["input"])
            number = int(data["question"].split("number ")[1].split()[0])
            assert number % 2 == 0 and number % 3 != 2  # answerable, descriptive
            assert s["output"].startswith("Helpful answer")
            assert data["question"].split()[2] in (("cell",) if split == "test_ood" else ("electronics", "home"))


def test_best_answer_rules():
    assert best_answer([{"answerText": "a", "helpful": [0, 0]}, {"answerText": "b", "helpful": [2, 3]},
                        {"answerText": "c", "helpful": [2, 2]}]) == "b"  # first on ties
    assert best_answer([{"answerText": "a", "helpful": [0, 4]}]) is None  # no helpful vote
    assert best_answer([]) is None


# ----------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("code", list(PROCESSORS))
def test_missing_source_names_file_origin_license(code, tmp_path):
    with pytest.raises(SourceError) as err:
        PROCESSORS[code].build(tmp_path, SMALL, 1, TaskQC(code))
    message = str(err.value)
    processor = PROCESSORS[code]
    assert processor.source.origin in message and processor.source.license in message
    assert processor.layouts()[0].required[0][0] in message
