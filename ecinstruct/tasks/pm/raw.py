"""PM from Amazon-Google Products: are two product records (Amazon, Google) the same product?

The paper's construction: positives = the perfect mapping joined to both tables (duplicates removed);
as many negatives, by randomly pairing Amazon and Google products that are not a match; records
``title, description (≤ 50 words + "..."), manufacturer, price`` with ``"nan"`` for missing values;
80/10/10 of everything, no sub-sampling, no OOD test.

Accepted layouts: the Leipzig benchmark's CSVs, or the Magellan/ditto serialisation of its pairs
(``COL title VAL … COL manufacturer VAL … COL price VAL …``, which has no description).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ecinstruct.errors import SourceError
from ecinstruct.raw.base import Examples, Layout, RawProcessor, Sizes, Source, rng_for, split_80_10_10, test_texts
from ecinstruct.raw.decontam import remove_overlap
from ecinstruct.raw.io import read_csv, require_columns
from ecinstruct.raw.qc import TaskQC, clean_text, dedupe
from ecinstruct.tasks import pm
from ecinstruct.text import cut_words

SOURCE = Source(
    name="Amazon-Google Products (Leipzig entity-resolution benchmark)",
    origin="https://dbs.uni-leipzig.de/research/projects/benchmark-datasets-for-entity-resolution",
    license="CC-BY-4.0 (as declared by the eCeLLM reference implementation)",
)
LEIPZIG = ("amazon_google", "Amazon-GoogleProducts")
MAPPING_NAMES = ("Amzon_GoogleProducts_perfectMapping.csv", "Amazon_GoogleProducts_perfectMapping.csv")
FIELDS = ("title", "description", "manufacturer", "price")
_DITTO_FIELD = re.compile(r"COL (\w+) VAL ?(.*?)(?= COL \w+ VAL|$)")

Record = tuple[str, str, str, str]  # title, description, manufacturer, price


def record(title: object, description: object, manufacturer: object, price: object) -> Record:
    """A cleaned record; missing values become ``"nan"`` (as the published rows show them)."""
    values = [clean_text(v) for v in (title, description, manufacturer, price)]
    values[1] = cut_words(values[1], 50) if values[1] else ""
    return tuple(v if v else "nan" for v in values)  # type: ignore[return-value]


def example_of(amazon: Record, google: Record, label: bool) -> dict:
    pair = {"product 1": dict(zip(FIELDS, amazon, strict=True)),
            "product 2": dict(zip(FIELDS, google, strict=True))}
    return {"input": json.dumps(pair), "options": None, "output": "yes" if label else "no"}


@dataclass
class Pairs:
    """Matching pairs and the record tables to draw random non-matching pairs from."""

    positives: list[tuple[Record, Record]]
    amazon: list[Record]
    google: list[Record]


@dataclass(frozen=True)
class PMProcessor(RawProcessor):
    task = pm.TASK
    source = SOURCE

    def layouts(self) -> tuple[Layout, ...]:
        return (
            Layout("leipzig-csv", (tuple(f"{d}/Amazon.csv" for d in LEIPZIG),
                                   tuple(f"{d}/GoogleProducts.csv" for d in LEIPZIG),
                                   tuple(f"{d}/{m}" for d in LEIPZIG for m in MAPPING_NAMES)), _load_leipzig),
            Layout("magellan-ditto", (("pm_amazon_google/train.txt", "amazon_google/train.txt"),), _load_ditto,
                   fidelity="variant",
                   caveat="Magellan/ditto serialisation: no description field (emitted as \"nan\"); "
                          "positives = the benchmark's matches of all its splits"),
        )

    def make_examples(self, records: Pairs, sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        positives = dedupe(records.positives, lambda p: frozenset(p), qc, "same pair of records, either order")
        negatives = random_negatives(records, len(positives), rng_for(seed, self.code, "negatives"))
        qc.record("random negatives", len(positives), len(negatives), "one non-matching pair per positive")
        examples_all = [example_of(a, g, True) for a, g in positives] + [example_of(a, g, False) for a, g in negatives]
        train, val, test = split_80_10_10(examples_all, rng_for(seed, self.code, "split"))
        examples = {"validation": val[:sizes.validation], "test_ind": test[:sizes.test]}
        examples["train"] = remove_overlap(train, test_texts(examples), qc, text_of=lambda s: s["input"],
                                          limit=sizes.train)
        return {split: examples[split] for split in ("train", "validation", "test_ind")}


def random_negatives(pairs: Pairs, n: int, rng) -> list[tuple[Record, Record]]:
    """``n`` random (Amazon, Google) pairs that are not a match, none used twice (paper's pairing:
    both tables shuffled, the i-th Amazon product paired with the i-th Google product, cycling)."""
    amazon, google = sorted(set(pairs.amazon)), sorted(set(pairs.google))
    rng.shuffle(amazon)
    rng.shuffle(google)
    taken = {frozenset(p) for p in pairs.positives}
    negatives: list[tuple[Record, Record]] = []
    for offset in range(len(google)):
        for i, a in enumerate(amazon):
            if len(negatives) >= n:
                return negatives
            g = google[(i + offset) % len(google)]
            if frozenset((a, g)) not in taken:
                taken.add(frozenset((a, g)))
                negatives.append((a, g))
    return negatives


def _load_leipzig(paths: list[Path], qc: TaskQC) -> Pairs:
    amazon_rows, google_rows, mapping = (read_csv(p) for p in paths)
    require_columns(amazon_rows, ("id", "title", "description", "manufacturer", "price"), paths[0])
    require_columns(google_rows, ("id", "name", "description", "manufacturer", "price"), paths[1])
    require_columns(mapping, ("idAmazon", "idGoogleBase"), paths[2])
    amazon = {r["id"]: record(r["title"], r["description"], r["manufacturer"], r["price"]) for r in amazon_rows}
    google = {r["id"]: record(r["name"], r["description"], r["manufacturer"], r["price"]) for r in google_rows}
    joined = [(amazon.get(m["idAmazon"]), google.get(m["idGoogleBase"])) for m in mapping]
    positives = [(a, g) for a, g in joined if a and g]
    qc.record("join perfect mapping", len(mapping), len(positives), "mapping rows whose ids exist in both tables")
    return Pairs(positives, list(amazon.values()), list(google.values()))


def parse_ditto_record(text: str) -> Record:
    """``COL title VAL x COL manufacturer VAL y COL price VAL z`` → a record (no description)."""
    values = {m.group(1): m.group(2).strip() for m in _DITTO_FIELD.finditer(text.strip())}
    if "title" not in values:
        raise SourceError(f"not a Magellan/ditto record (no 'COL title VAL'): {text[:80]!r}")
    return record(values.get("title"), values.get("description"), values.get("manufacturer"), values.get("price"))


def _load_ditto(paths: list[Path], qc: TaskQC) -> Pairs:
    files = [paths[0].parent / f"{name}.txt" for name in ("train", "valid", "test")]
    positives, amazon, google, n_lines = [], [], [], 0
    for path in (f for f in files if f.is_file()):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 3 or parts[2].strip() not in ("0", "1"):
                raise SourceError(f"{path}, line {number}: expected '<left record>\\t<right record>\\t<0|1>'")
            a, g = parse_ditto_record(parts[0]), parse_ditto_record(parts[1])
            amazon.append(a)
            google.append(g)
            n_lines += 1
            if parts[2].strip() == "1":
                positives.append((a, g))
    qc.record("matches of the benchmark", n_lines, len(positives), "labelled pairs → pairs labelled 1")
    return Pairs(positives, amazon, google)


PROCESSOR = PMProcessor()
