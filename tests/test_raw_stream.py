"""Streaming raw builds: readers in every format, constant-memory sampling, --num-proc, bounded RSS."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecinstruct.errors import SourceError
from ecinstruct.raw.base import Sizes
from ecinstruct.raw.io import iter_csv, iter_jsonl, iter_parquet, read_csv, read_parquet
from ecinstruct.raw.pipeline import build_examples
from ecinstruct.raw.sampling import BottomK, CountMinSketch, priority

FIXTURES = Path(__file__).parent / "fixtures" / "raw"
RECORDS = [{"asin": f"B{i:09d}", "title": f"Wireless Mouse {i} – Ergonómico", "also_buy": [f"B{i + 1:09d}"],
            "overall": float(i % 5 + 1)} for i in range(250)]


# ------------------------------------------------------------------------------------------ readers


def test_jsonl_plain_and_gzip_give_the_same_rows(tmp_path):
    text = "".join(json.dumps(r) + "\n" + ("\n" if i % 50 == 0 else "") for i, r in enumerate(RECORDS))
    (tmp_path / "a.json").write_text(text, encoding="utf-8")
    with gzip.open(tmp_path / "a.json.gz", "wt", encoding="utf-8") as out:
        out.write(text)
    assert list(iter_jsonl(tmp_path / "a.json")) == RECORDS
    assert list(iter_jsonl(tmp_path / "a.json.gz")) == RECORDS
    assert list(iter_jsonl(tmp_path / "a.json.gz", limit=7)) == RECORDS[:7]


def test_csv_utf8_latin1_gzip_and_headerless(tmp_path):
    rows = [{"id": str(i), "title": f"Caf\u00e9 grinder {i}", "price": f"{i}.99"} for i in range(300)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["id", "title", "price"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (tmp_path / "u.csv").write_text(buffer.getvalue(), encoding="utf-8")
    (tmp_path / "l.csv").write_bytes(buffer.getvalue().encode("latin-1"))  # the Leipzig CSVs
    with gzip.open(tmp_path / "u.csv.gz", "wt", encoding="utf-8") as out:
        out.write(buffer.getvalue())
    for name in ("u.csv", "l.csv", "u.csv.gz"):
        assert list(iter_csv(tmp_path / name)) == rows, name
    assert read_csv(tmp_path / "l.csv") == rows
    body = buffer.getvalue().split("\n", 1)[1]
    (tmp_path / "h.csv").write_text(body, encoding="utf-8")
    assert list(iter_csv(tmp_path / "h.csv", header=False, fieldnames=["id", "title", "price"])) == rows


def test_parquet_batches_columns_and_filter(tmp_path):
    table = pa.Table.from_pylist([{**r, "locale": "us" if i % 3 else "es"} for i, r in enumerate(RECORDS)])
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=64)
    assert list(iter_parquet(path, batch_size=10)) == table.to_pylist() == read_parquet(path)
    got = list(iter_parquet(path, ["asin", "overall"], batch_size=17, where=("locale", "us")))
    assert got == [{"asin": r["asin"], "overall": r["overall"]} for r in table.to_pylist() if r["locale"] == "us"]
    with pytest.raises(SourceError, match=r"missing column\(s\) no_such_column; found asin, title"):
        list(iter_parquet(path, ["no_such_column"]))
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(SourceError, match=r"bad\.parquet"):
        list(iter_parquet(tmp_path / "bad.parquet"))


# ----------------------------------------------------------------------------------------- sampling


def test_bottom_k_is_the_k_smallest_priorities_in_order():
    rng = random.Random(3)
    stream = [(rng.randrange(1000), f"item{i}") for i in range(2000)]
    sample = BottomK(25)
    for p, item in stream:
        sample.offer(p, item)
    expected = [item for _, item in sorted(stream, key=lambda e: e[0])[:25]]  # sort is stable: ties by arrival
    assert sample.items() == expected and sample.full
    small = BottomK(5000)
    for p, item in stream:
        small.offer(p, item)
    assert not small.full and len(small) == 2000


def test_priority_is_stable_and_seeded():
    assert priority(1, "MPC:sample:train", "42") == priority(1, "MPC:sample:train", "42")
    assert priority(1, "MPC:sample:train", "42") != priority(2, "MPC:sample:train", "42")
    # A fixed value: the same in every process and Python version (not Python's salted hash()).
    assert priority(1, "x", "y") == int.from_bytes(__import__("hashlib").blake2b(b"1:x:y", digest_size=8).digest(),
                                                   "big")


def test_count_min_never_undercounts():
    rng = random.Random(0)
    keys = [f"A{int(5000 * rng.random() ** 2):013X}" for _ in range(20_000)]
    sketch = CountMinSketch(width=1024)  # small: many collisions
    sketch.add(keys)
    true = Counter(keys)
    distinct = sorted(true)
    estimates = sketch.estimate(distinct)
    assert all(int(e) >= true[k] for k, e in zip(distinct, estimates, strict=True))
    assert sum(int(e) > true[k] for k, e in zip(distinct, estimates, strict=True)) > 0  # it is an estimate
    exact = CountMinSketch(width=1 << 20)
    exact.add(keys)
    assert [int(e) for e in exact.estimate(distinct[:50])] == [true[k] for k in distinct[:50]]


# ----------------------------------------------------------------------------------- whole builds


def test_num_proc_does_not_change_the_output():
    tasks = ["SA", "AP", "AG", "PM"]  # the tasks with clean-up and language ID steps
    sizes = Sizes(train=6, validation=2, test=2, ood=2)
    one = build_examples(FIXTURES, tasks, sizes, seed=4, num_proc=1)
    two = build_examples(FIXTURES, tasks, sizes, seed=4, num_proc=2)
    assert list(one.rows()) == list(two.rows())
    for code in tasks:
        assert [(s.name, s.rows_in, s.rows_out, s.detail) for s in one.qc.tasks[code].steps] == \
               [(s.name, s.rows_in, s.rows_out, s.detail) for s in two.qc.tasks[code].steps]
    assert any(s.name == "english-only" for s in two.qc.tasks["SA"].steps)


def test_qc_report_has_step_times_on_the_console_only():
    build = build_examples(FIXTURES, ["SA"], Sizes(6, 2, 2, 2), seed=1)
    timed = build.qc.markdown(times=True)
    assert "rows/s" in timed and "rows/s" not in build.qc.markdown()
    assert all(step.seconds >= 0 for step in build.qc.tasks["SA"].steps)
    assert "rows/s" not in build.card_sections()["Quality control"]  # the card stays byte-identical


_MEMORY_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    import pyarrow as pa, pyarrow.parquet as pq
    from ecinstruct.raw.base import Sizes
    from ecinstruct.raw.pipeline import build_examples

    LABELS = ("exact", "substitute", "complement", "irrelevant")

    def write(path, n, columns):  # in parts of 100k rows: the generator must not be what uses memory
        writer, decoded = None, 0
        for start in range(0, n, 100_000):
            part = pa.table(columns(range(start, min(n, start + 100_000))))
            writer = writer or pq.ParquetWriter(path, part.schema)
            writer.write_table(part)
            decoded += part.nbytes  # the columns' size in memory, as Arrow holds them
        writer.close()
        return decoded

    def esci(root, n):
        folder = root / "esci"
        folder.mkdir(parents=True)
        return write(folder / "shopping_queries_dataset_examples.parquet", n, lambda ids: {
            "example_id": list(ids), "query": [f"cordless drill kit {i // 20}" for i in ids],
            "query_id": [i // 20 for i in ids], "product_id": [f"P{i % (n // 2):09d}" for i in ids],
            "product_locale": ["us" if i % 5 else "es" for i in ids], "esci_label": [LABELS[i % 4] for i in ids],
            "small_version": [i % 2 for i in ids], "large_version": [1] * len(ids),
            "split": ["test" if i // 20 % 4 == 0 else "train" for i in ids]}) + write(
            folder / "shopping_queries_dataset_products.parquet", n // 2, lambda ids: {
            "product_id": [f"P{i:09d}" for i in ids],
            "product_title": [f"Brushless Cordless Drill Driver Kit, 20V, model {i} with two batteries" for i in ids],
            "product_locale": ["us" if i % 5 else "es" for i in ids]})

    root, n = Path(sys.argv[1]), int(sys.argv[2])
    esci(root / "small", 4000)
    decoded = esci(root / "large", n)
    sizes = Sizes(300, 50, 50, 0)
    build_examples(root / "small", ["MPC"], sizes, language_detector="heuristic")  # imports, first-use caches
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    build = build_examples(root / "large", ["MPC"], sizes, language_detector="heuristic")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"growth_mib": (after - before) / 1024, "decoded_mib": decoded / 2**20,
                      "labelled": build.qc.tasks["MPC"].step("US examples with an ESCI label").rows_out,
                      "train": len(build.examples["MPC"]["train"])}))
""")


@pytest.mark.slow
def test_esci_build_memory_does_not_follow_the_input(tmp_path):
    """MPC from an ESCI-shaped input whose decoded size is several times the RSS ceiling: the
    build's peak RSS grows by less than the ceiling over the process's peak after imports."""
    ceiling_mib = 12
    out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(tmp_path), "400000"], capture_output=True,
                         text=True, timeout=300, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["labelled"] == 320_000 and result["train"] == 300
    assert result["decoded_mib"] > 3 * ceiling_mib, result
    assert result["growth_mib"] < ceiling_mib, result


def test_mave_stream_dedupes_ids_and_keeps_split_folders(tmp_path):
    """MAVE per-split folders; a product id repeated in the negatives file counts once (first wins)."""
    def product(pid: str, key: str, text: str) -> str:
        return json.dumps({"id": pid, "paragraphs": [{"text": text, "source": "title"}],
                           "attributes": [{"key": key, "evidences": [{"value": text.split()[0], "pid": 0}]}]})

    keys = ("Color", "Material", "Style", "Size")
    for split, n in (("train", 40), ("val", 8), ("test", 16)):
        folder = tmp_path / "mave" / split
        folder.mkdir(parents=True)
        (folder / "mave_positives.jsonl").write_text(
            "\n".join(product(f"{split}{i}", keys[i % 4], f"Item{i} jar for {split}") for i in range(n)) + "\n")
        (folder / "mave_negatives.jsonl").write_text(
            "\n".join(product(f"{split}{i}", "Color", f"Again{i} jar") for i in range(3)) + "\n")
    build = build_examples(tmp_path, ["AVE"], Sizes(train=20, validation=5, test=5, ood=3), seed=2)
    qc = build.qc.tasks["AVE"]
    assert qc.layout == "mave-splits"
    assert (qc.step("dedupe").rows_in, qc.step("dedupe").rows_out) == (64 + 9, 64)
    held = qc.step("held-out attributes").detail.split(": ", 1)[1].split(", ")
    assert len(held) == 1 and held[0] in keys
    samples = build.examples["AVE"]
    titles = [json.loads(s["input"])["product title"] for rows in samples.values() for s in rows]
    assert not any(t.startswith("Again") for t in titles)  # the repeated ids' second records were dropped
    assert all(t.endswith("for train") for t in (json.loads(s["input"])["product title"] for s in samples["train"]))
    assert all(t.endswith("for val") for t in (json.loads(s["input"])["product title"] for s in samples["validation"]))
    assert {json.loads(s["input"])["target attributes"] for s in samples["test_ood"]} == set(held)
    assert len(samples["train"]) == 20 and len(samples["validation"]) == 5
