"""SR and PRP at source scale: compact ratings and 5-core, sampled relation pairs, bounded RSS."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import json
import os
import random
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from ecinstruct.raw.base import Sizes
from ecinstruct.raw.io import iter_jsonl
from ecinstruct.raw.pipeline import build_examples
from ecinstruct.raw.qc import TaskQC, clean_fields
from ecinstruct.raw.sampling import mix64
from ecinstruct.raw.synthetic import Shape, write_raw_tree
from ecinstruct.tasks.prp import raw as prp
from ecinstruct.tasks.sr import raw as sr

FIXTURES = Path(__file__).parent / "fixtures" / "raw"
META = sorted((FIXTURES / "amazon2018").glob("meta_*.json"))


# --------------------------------------------------------------------------------------------- SR


def reference_sequences(ratings: list[tuple[str, str, int]], k: int, max_items: int) -> list[list[str]]:
    """The k-core and sequences written the plain way (Counters, dicts, sorted tuples)."""
    while True:
        users = Counter(u for u, _, _ in ratings)
        items = Counter(i for _, i, _ in ratings)
        kept = [r for r in ratings if users[r[0]] >= k and items[r[1]] >= k]
        if len(kept) == len(ratings):
            break
        ratings = kept
    by_user: dict[str, list[tuple[int, str]]] = {}
    for user, item, time in ratings:
        by_user.setdefault(user, []).append((time, item))
    return [[item for _, item in sorted(events)[:max_items]] for _, events in sorted(by_user.items())]


def compact(ratings: list[tuple[str, str, int]]) -> tuple[sr.Ratings, list[str], list[str]]:
    users = sorted({u for u, _, _ in ratings}, key=lambda u: hash(u))  # codes not in id order on purpose
    items = sorted({i for _, i, _ in ratings})
    user_code, item_code = {u: n for n, u in enumerate(users)}, {i: n for n, i in enumerate(items)}
    arrays = sr.Ratings(np.array([user_code[u] for u, _, _ in ratings], dtype=np.int32),
                        np.array([item_code[i] for _, i, _ in ratings], dtype=np.int32),
                        np.array([t for _, _, t in ratings], dtype=np.int64))
    return arrays, users, items


@pytest.mark.parametrize("seed", range(4))
def test_vectorised_k_core_and_sequences_equal_the_plain_computation(seed):
    rng = random.Random(seed)
    ratings = [(f"U{int(300 * rng.random() ** 2)}", f"I{int(200 * rng.random() ** 2):03d}", rng.randrange(40))
               for _ in range(4000)]  # repeats and time ties (broken by item id) included
    arrays, users, items = compact(ratings)
    qc = TaskQC("SR")
    core = sr.k_core(arrays, 5, qc)
    assert qc.step("5-core").rows_out == len(core)
    core.rank_users(users)
    sequences = core.sequences(max_items=7)
    got = [[items[code] for code in sequences[user]] for user in range(len(sequences))]
    assert got == reference_sequences(ratings, 5, 7)
    assert sequences.lengths().tolist() == [len(s) for s in got]
    assert 0 < len(got) < 300 and len(core) == 0  # the ratings were used up


def test_k_core_of_nothing_left():
    arrays, users, _ = compact([("u1", "i1", 1), ("u1", "i2", 2), ("u2", "i1", 3)])
    core = sr.k_core(arrays, 5, TaskQC("SR"))
    core.rank_users(users)
    assert len(core) == 0 and len(core.sequences(50)) == 0


def test_ratings_reader_matches_the_csv_module(tmp_path):
    rows = [["B0001", "A1", "5.0", "1500000000"], ["B0002", "NA", "4.0", "1500000001.0"],
            ["B0003", "user,with comma", "3.0", "99"], ["B0004", "", "1.0", "7"]]
    for name in ("r.csv", "r.csv.gz"):
        with (gzip.open(tmp_path / name, "wt", newline="") if name.endswith(".gz")
              else open(tmp_path / name, "w", newline="")) as out:
            csv.writer(out).writerows(rows)
            out.write("\n")  # a blank line is skipped
        got = [(u, i, t) for users, items, times in sr._rating_batches(tmp_path / name, "utf-8", "x", size=3)
               for u, i, t in zip(users.tolist(), items.tolist(), times.tolist(), strict=True)]
        assert got == [(r[1], r[0], int(float(r[3]))) for r in rows]


def test_ratings_reader_bad_file_is_one_clear_error(tmp_path):
    (tmp_path / "r.csv").write_text("B0001,A1,5.0,not-a-time\n")
    with pytest.raises(Exception, match=r"r.csv: not a ratings file of lines item,user,rating,timestamp"):
        list(sr._rating_batches(tmp_path / "r.csv", "utf-8", "x"))


def test_packed_sequences():
    packed = sr.Sequences.of([[3, 1], [], [2, 2, 7]])
    assert len(packed) == 3 and packed[0] == [3, 1] and packed[1] == [] and packed[2] == [2, 2, 7]
    assert packed.lengths().tolist() == [2, 0, 3] and packed.items.dtype == np.int32


def test_times_stay_int32_only_when_they_fit():
    assert sr._narrow(np.array([0, 2**31 - 1])).dtype == np.int32
    assert sr._narrow(np.array([2**31])).dtype == np.int64


# -------------------------------------------------------------------------------------------- PRP


def in_memory_pairs(path: Path) -> tuple[dict, tuple]:
    qc = TaskQC("PRP")
    products = clean_fields(list(iter_jsonl(path)), ("title",), qc)
    pairs = prp.relation_pairs(products, qc)
    return pairs, [(s.name, s.rows_in, s.rows_out, s.detail) for s in qc.steps]


@pytest.mark.parametrize("path", META, ids=lambda p: p.stem)
def test_streamed_pairs_equal_the_in_memory_rules(path):
    qc = TaskQC("PRP")
    pairs = prp.stream_relation_pairs(path, qc, salt=5, k=10_000, wanted=1)
    expected, steps = in_memory_pairs(path)
    assert pairs == expected
    assert [(s.name, s.rows_in, s.rows_out, s.detail) for s in qc.steps] == steps


@pytest.fixture(scope="module")
def big_meta(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("prp")
    write_raw_tree(root, Shape(reviews=1, ratings=1, items=3000, esci_examples=1, esci_products=1),
                   parts=("amazon2018",), categories=("Electronics",))
    return root / "amazon2018" / "meta_Electronics.json"


def test_sampled_pairs_keep_the_multi_relation_rule(big_meta):
    full, _ = in_memory_pairs(big_meta)
    everything = {pair: letter for letter, group in full.items() for pair in group}
    qc = TaskQC("PRP")
    sample = prp.stream_relation_pairs(big_meta, qc, salt=1, k=400, wanted=1)
    drawn = {pair: letter for letter, group in sample.items() for pair in group}
    # Every sampled pair is a single-relation pair of the whole file, under the same relation.
    assert drawn and all(everything.get(pair) == letter for pair, letter in drawn.items())
    step = qc.step("multi-relation pairs")
    assert "in a sample of 400 distinct pairs" in step.detail and step.rows_out == len(drawn) <= 400
    assert len(drawn) < len(everything) / 5
    again = prp.stream_relation_pairs(big_meta, TaskQC("PRP"), salt=1, k=400, wanted=1)
    other = prp.stream_relation_pairs(big_meta, TaskQC("PRP"), salt=2, k=400, wanted=1)
    assert again == sample and other != sample
    for letter in sample:  # pairs keep their sorted (Product 1 < Product 2) order
        assert all(a < b for a, b in sample[letter])


def test_too_few_single_pairs_draws_a_larger_sample(big_meta):
    qc = TaskQC("PRP")
    sample = prp.stream_relation_pairs(big_meta, qc, salt=1, k=50, wanted=500)
    assert sum(len(group) for group in sample.values()) >= 500


def test_prp_output_does_not_depend_on_num_proc():
    sizes = Sizes(train=6, validation=2, test=2, ood=2)
    one = build_examples(FIXTURES, ["PRP"], sizes, seed=4, num_proc=1)
    two = build_examples(FIXTURES, ["PRP"], sizes, seed=4, num_proc=2)
    assert list(one.rows()) == list(two.rows())


def test_mix64_is_a_fixed_function():
    a = np.arange(3, dtype=np.uint64)
    assert mix64(a, a, salt=7).tolist() == mix64(a, a, salt=7).tolist()
    assert mix64(a, salt=1).tolist() != mix64(a, salt=2).tolist()
    assert mix64(np.array([0], dtype=np.uint64), salt=0).tolist() == [16294208416658607535]


@pytest.mark.shared
def test_streamed_pairs_on_real_metadata(shared_dir):
    path = shared_dir / "data" / "raw" / "prp_amazon2018_meta" / "meta_Appliances.json"
    qc = TaskQC("PRP")
    assert prp.stream_relation_pairs(path, qc, salt=3, k=10_000, wanted=1) == in_memory_pairs(path)[0]


# ----------------------------------------------------------------------------------- synthetic tree


def test_synthetic_tree_is_deterministic_and_builds(tmp_path):
    shape = Shape(reviews=500, ratings=4000, items=300, esci_examples=1, esci_products=1)
    one = write_raw_tree(tmp_path / "a", shape, parts=("amazon2018",))
    two = write_raw_tree(tmp_path / "b", shape, parts=("amazon2018",), gzip_level=1)
    assert len(one) == len(two) == 12
    for name in one:
        plain, packed = tmp_path / "a" / name, tmp_path / "b" / name.replace(".json", ".json.gz")
        if name.endswith(".json"):
            assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
            lines = plain.read_text().splitlines()
            assert len(lines) == (shape.items if "meta_" in name else shape.reviews)
            assert all(json.loads(line)["asin"] for line in lines[:50])
    build = build_examples(tmp_path / "a", ["SR", "PRP"], Sizes(40, 10, 10, 10), language_detector="heuristic")
    assert {k: len(v) for k, v in build.examples["SR"].items()} == {"train": 40, "validation": 10, "test_ind": 10,
                                                                   "test_ood": 10}
    assert len(build.examples["PRP"]["test_ood"]) == 10


# --------------------------------------------------------------------------------------------- RSS

_MEMORY_SCRIPT = textwrap.dedent("""
    import dataclasses, json, resource, sys
    from pathlib import Path
    from ecinstruct.tasks.prp import raw as prp
    from ecinstruct.tasks.sr import raw as sr
    from ecinstruct.raw.base import Sizes
    from ecinstruct.raw.qc import TaskQC

    task, root = sys.argv[1], Path(sys.argv[2])
    processor = {"SR": dataclasses.replace(sr.PROCESSOR, ind_categories=("Electronics",), ood_category=None),
                 "PRP": dataclasses.replace(prp.PROCESSOR, ind_categories=("Electronics",))}[task]
    sizes = Sizes(300, 50, 50, 50)
    processor.build(root / "small", sizes, 1, TaskQC(task))  # imports, first-use caches, full batches
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    samples = processor.build(root / "large", sizes, 1, TaskQC(task))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"growth_mib": (after - before) / 1024, "rows": {k: len(v) for k, v in samples.items()}}))
""")


def memory_growth(task: str, root: Path, small: Shape, large: Shape) -> dict:
    """Write a small and a large tree (Electronics; the OOD category small in both), then build
    ``task`` from both in one fresh process and return the peak-RSS growth of the large build."""
    for name, shape in (("small", small), ("large", large)):
        write_raw_tree(root / name, shape, parts=("amazon2018",), categories=("Electronics",))
        write_raw_tree(root / name, small, parts=("amazon2018",), categories=("Tools_and_Home_Improvement",))
    out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, task, str(root)], capture_output=True, text=True,
                         timeout=300, check=True, env={**os.environ, "TQDM_DISABLE": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_sr_build_memory_does_not_follow_the_input(tmp_path):
    """SR from a 3 M-rating file (~120 MiB, over 3× the ceiling; 3 M users, most with one or two
    ratings): ratings of users who cannot be in the 5-core are never held, and
    the others take 12 bytes each plus their user's id once."""
    ceiling_mib = 32
    small = Shape(reviews=1, ratings=400_000, items=2_000, esci_examples=1, esci_products=1, rating_users=400_000)
    large = dataclasses.replace(small, ratings=3_000_000, rating_users=3_000_000)
    result = memory_growth("SR", tmp_path, small, large)
    ratings_mib = (tmp_path / "large" / "amazon2018" / "Electronics.csv").stat().st_size / 2**20
    assert result["rows"] == {"train": 300, "validation": 50, "test_ind": 50}
    assert ratings_mib > 3 * ceiling_mib, ratings_mib
    assert result["growth_mib"] < ceiling_mib, result


@pytest.mark.slow
def test_prp_build_memory_does_not_follow_the_input(tmp_path):
    """PRP from a 120 k-product metadata file (~80 MiB, over 3× the ceiling): 16 bytes a product
    and a sample of pairs sized by the splits are held, not the products."""
    ceiling_mib = 24
    small = Shape(reviews=1, ratings=1, items=12_000, esci_examples=1, esci_products=1)
    large = dataclasses.replace(small, items=120_000)
    result = memory_growth("PRP", tmp_path, small, large)
    meta_mib = (tmp_path / "large" / "amazon2018" / "meta_Electronics.json").stat().st_size / 2**20
    assert result["rows"] == {"train": 300, "validation": 50, "test_ind": 50, "test_ood": 50}
    assert meta_mib > 3 * ceiling_mib, meta_mib
    assert result["growth_mib"] < ceiling_mib, result
