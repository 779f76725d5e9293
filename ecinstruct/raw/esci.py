"""Shopping Queries Dataset (ESCI) shared by MPC, PSI and QPR, and the processor MPC and PSI share.

Original distribution (https://github.com/amazon-science/esci-data), under ``<raw-dir>/esci/``:
``shopping_queries_dataset_examples.parquet`` (example_id, query, query_id, product_id,
product_locale, esci_label, small_version, large_version, split) and
``shopping_queries_dataset_products.parquet`` (product_id, product_title, …, product_locale).

The paper's treatment: US locale; titles' newlines/whitespace/``<p>``/``<br>`` → space; query and
title English; NFKD + ASCII folding; ESCI ``train`` → train pool, ESCI ``test`` halved at random into
the test and validation pools.

The files are streamed by record batch and sampled while streaming (seeded hashes of example ids or
queries, see :mod:`ecinstruct.raw.sampling`); only the sampled examples and their products' titles
are ever held, so memory follows the requested split sizes, not the 2.6 M judgements.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ecinstruct.errors import SourceError
from ecinstruct.raw.base import Examples, Layout, RawProcessor, Sizes, Source, test_texts
from ecinstruct.raw.decontam import remove_overlap
from ecinstruct.raw.io import iter_parquet, read_json
from ecinstruct.raw.qc import TaskQC, ascii_fold, clean_fields, english_only
from ecinstruct.raw.sampling import BottomK, priority

SOURCE = Source(
    name="Shopping Queries Dataset (ESCI)",
    origin="https://github.com/amazon-science/esci-data (Reddy et al., 2022)",
    license="Apache-2.0",
)
EXAMPLES = ("esci/shopping_queries_dataset_examples.parquet",)
PRODUCTS = ("esci/shopping_queries_dataset_products.parquet",)
LABELS = ("E", "S", "C", "I")
_LABEL_NAMES = {"exact": "E", "substitute": "S", "complement": "C", "irrelevant": "I"}
EXAMPLE_COLUMNS = ("example_id", "query", "product_id", "esci_label", "small_version", "split")
HALF = 1 << 63  # priorities are uniform 64-bit integers
# Examples drawn per split = size × MARGIN + 100, so that QC and overlap drops leave the size.
MARGIN = 1.5


@dataclass(frozen=True)
class Files:
    """The two ESCI parquet files; tasks stream them (nothing is read until a task samples)."""

    examples: Path
    products: Path


def layouts() -> tuple[Layout, ...]:
    return (Layout("esci-parquet", (EXAMPLES, PRODUCTS), lambda paths, qc: Files(*paths)),)


def iter_examples(files: Files, counts: Counter, desc: str) -> Iterator[dict]:
    """US examples with an ESCI label, streamed by record batch (``counts``: ``us``, ``labelled``)."""
    rows = iter_parquet(files.examples, list(EXAMPLE_COLUMNS), where=("product_locale", "us"), desc=desc)
    for row in rows:
        counts["us"] += 1
        row["esci_label"] = _LABEL_NAMES.get(str(row["esci_label"]).lower(), row["esci_label"])
        if row["esci_label"] in LABELS:
            counts["labelled"] += 1
            yield row


def pool_of(row: dict, seed: int, code: str) -> str:
    """ESCI ``train`` → train; ESCI ``test`` halved at random (by a seeded hash of the example id) →
    test_ind or validation."""
    if row["split"] != "test":
        return "train"
    return "test_ind" if priority(seed, f"{code}:test-halves", str(row["example_id"])) < HALF else "validation"


def with_titles(rows: list[dict], files: Files) -> list[dict]:
    """``rows`` with their US product titles: one streaming pass over the product table that keeps
    only the titles of these rows' products."""
    wanted = {r["product_id"] for r in rows}
    titles = {}
    for p in iter_parquet(files.products, ["product_id", "product_title"], where=("product_locale", "us"),
                          desc="ESCI product titles"):
        if p["product_id"] in wanted:
            titles[p["product_id"]] = p["product_title"] or ""
    return [{**r, "product_title": titles.get(r["product_id"], "")} for r in rows]


def quality(rows: list[dict], qc: TaskQC) -> list[dict]:
    """The paper's QC of ESCI text: cleaned, English, ASCII-folded (each step recorded)."""
    rows = clean_fields(rows, ("query", "product_title"), qc)
    rows = english_only(rows, ("query", "product_title"), qc)
    for r in rows:
        r["query"], r["product_title"] = ascii_fold(r["query"]), ascii_fold(r["product_title"])
    return rows


def draw_examples(files: Files, seed: int, code: str, quotas: dict[str, int], qc: TaskQC
                  ) -> tuple[dict[str, list[dict]], set[str]]:
    """Per split, the ``quotas[split]`` labelled US examples of smallest seeded priority, QC'd, in
    priority order (a seeded random sample, drawn in ``O(quota)`` memory), and the splits whose
    sample was cut by its quota (more examples exist)."""
    reservoirs = {split: BottomK(n) for split, n in quotas.items()}
    counts: Counter = Counter()
    for row in iter_examples(files, counts, f"{code} ESCI examples"):
        split = pool_of(row, seed, code)
        reservoirs[split].offer(priority(seed, f"{code}:sample:{split}", str(row["example_id"])), row)
    drawn = [{**row, "pool": split} for split, reservoir in reservoirs.items() for row in reservoir.items()]
    qc.record("US examples with an ESCI label", counts["us"], counts["labelled"])
    qc.record("seeded sample", counts["labelled"], len(drawn),
              "per split, the examples of smallest hash(seed, id): the split size plus a margin for QC drops")
    return _checked_pools(drawn, files, quotas, qc), {split for split, reservoir in reservoirs.items()
                                                        if reservoir.full}


def draw_queries(files: Files, seed: int, code: str, quotas: dict[str, int], qc: TaskQC
                 ) -> tuple[dict[str, list[dict]], set[str]]:
    """Per split, every small-version example of the ``quotas[split]`` queries of smallest seeded
    priority, QC'd (two streaming passes: the split's queries, then their examples); and the splits
    that had more queries than their quota."""
    queries: dict[str, set[str]] = defaultdict(set)
    counts: Counter = Counter()
    for row in iter_examples(files, counts, f"{code} ESCI queries"):
        if row.get("small_version"):
            counts["small"] += 1
            queries[pool_of(row, seed, code)].add(row["query"])
    chosen = {split: set(sorted(queries[split], key=lambda q, s=split: priority(seed, f"{code}:queries:{s}", q))
                         [:n]) for split, n in quotas.items()}
    cut = {split for split, n in quotas.items() if len(queries[split]) > n}
    del queries
    qc.record("US examples with an ESCI label", counts["us"], counts["labelled"])
    qc.record("reduced ESCI version", counts["labelled"], counts["small"])
    drawn = []
    for row in iter_examples(files, Counter(), f"{code} ESCI examples"):
        split = pool_of(row, seed, code)
        if row.get("small_version") and row["query"] in chosen[split]:
            drawn.append({**row, "pool": split})
    qc.record("seeded query sample", counts["small"], len(drawn),
              "per split, the examples of the queries of smallest hash(seed, query)")
    return _checked_pools(drawn, files, quotas, qc), cut


def _checked_pools(drawn: list[dict], files: Files, splits: Iterable[str], qc: TaskQC) -> dict[str, list[dict]]:
    """The drawn examples with their titles, QC'd, grouped by the pool each was drawn for (order kept)."""
    by_split: dict[str, list[dict]] = {split: [] for split in splits}
    for row in quality(with_titles(drawn, files), qc):
        by_split[row["pool"]].append(row)
    return by_split


@dataclass(frozen=True)
class ExampleSampler(RawProcessor):
    """A task made of single ESCI examples (MPC, PSI): an independent random sample of examples per split,
    one task example per ESCI example. Subclasses set ``task`` and implement :meth:`to_example`."""

    source = SOURCE

    def layouts(self) -> tuple[Layout, ...]:
        return layouts()

    def to_example(self, row: dict) -> dict:
        raise NotImplementedError

    def make_examples(self, files: Files, sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        """A seeded sample per split, drawn while streaming; drawn again with a larger margin in the
        rare case that QC and overlap removal leave fewer rows than requested while more exist."""
        wanted = {split: sizes.for_split(split) for split in ("train", "validation", "test_ind")}
        margin = MARGIN
        while True:
            first_step = len(qc.steps)
            pools, cut = draw_examples(files, seed, self.code, {s: int(n * margin) + 100 for s, n in wanted.items()},
                                       qc)
            examples: Examples = {split: [self.to_example(r) for r in pools[split][:wanted[split]]]
                                for split in ("validation", "test_ind")}
            examples["train"] = remove_overlap((self.to_example(r) for r in pools["train"]), test_texts(examples), qc,
                                              text_of=lambda s: s["input"], limit=wanted["train"])
            short = {s for s in wanted if len(examples[s]) < wanted[s]}
            if not short & cut:
                return {split: examples[split] for split in ("train", "validation", "test_ind")}
            del qc.steps[first_step:]
            margin *= 4


def read_judgments(path: str | Path) -> dict[str, dict[str, list[str]]]:
    """An ESCI graded-judgment export (OpenSearch ``judgmentRatings``) → query → label → product ids.

    Gains 100/10/1/0 are read as E/S/C/I (inferred from label proportions; not documented upstream).
    """
    gains = {100.0: "E", 10.0: "S", 1.0: "C", 0.0: "I"}
    data = read_json(path)
    if not isinstance(data, dict) or "judgmentRatings" not in data:
        raise SourceError(f"{path}: expected an object with 'judgmentRatings': [{{query, ratings}}]")
    groups: dict[str, dict[str, list[str]]] = {}
    for entry in data["judgmentRatings"]:
        labels: dict[str, list[str]] = defaultdict(list)
        for rating in entry["ratings"]:
            labels[gains[float(rating["rating"])]].append(rating["docId"])
        groups[entry["query"]] = dict(labels)
    return groups
