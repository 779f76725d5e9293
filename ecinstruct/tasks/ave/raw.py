"""AVE from MAVE: extract attribute values from product text, naming the field each came from.

The paper's construction: MAVE product splits, positives + negatives; the record's attributes are the
targets (the first one decides OOD membership); attribute names are drawn at random from the test
split until they cover the OOD test size: those attributes are held out of every IND split, and
their test records form the OOD test. Input = paragraphs grouped by source (title, description,
feature, price, brand) + "target attributes"; output = the lower-cased (attribute, value, source)
evidences, or value/source "None" for an attribute without evidence.

Layouts: MAVE's full JSON lines (``mave_positives.jsonl`` / ``mave_negatives.jsonl``), per split
folders or one file pair (then split 80/10/10 by product); or ImplicitAVE's TSV (titles with an
implicit value, no spans — a variant of the task).
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecinstruct.raw.base import Examples, Layout, RawProcessor, Sizes, Source, rng_for, split_80_10_10, test_texts
from ecinstruct.raw.decontam import remove_overlap
from ecinstruct.raw.io import iter_jsonl, read_csv, require_columns
from ecinstruct.raw.qc import TaskQC, clean_text, dedupe, keep_if
from ecinstruct.raw.sampling import BottomK, priority
from ecinstruct.tasks import ave

SOURCE = Source(
    name="MAVE (Multi-source Attribute Value Extraction; product text of Amazon Review Data 2018)",
    origin="https://github.com/google-research-datasets/MAVE (full records: join its labels with "
           "All_Amazon_Meta.json as its README explains)",
    license="MAVE labels CC-BY-4.0; Amazon 2018 text: no license listed, research use",
)
SOURCES_ORDER = ("title", "description", "feature", "price", "brand")
SPLIT_DIRS = {"train": ("train",), "validation": ("val", "valid", "eval"), "test": ("test",)}


@dataclass
class Product:
    """A MAVE record: paragraphs (source, text) and attributes (key, [(value, paragraph id)])."""

    id: str
    paragraphs: list[tuple[str, str]]
    attributes: list[tuple[str, list[tuple[str, int | None]]]]
    split: str | None = None

    @property
    def first_attribute(self) -> str:
        return self.attributes[0][0]


def product_from_mave(record: dict, split: str | None = None) -> Product:
    paragraphs = [(p.get("source", ""), clean_text(p.get("text", ""))) for p in record.get("paragraphs", [])]
    attributes = [(a["key"], [(clean_text(e.get("value", "")), e.get("pid")) for e in a.get("evidences", [])])
                  for a in record.get("attributes", []) if a.get("key")]
    return Product(str(record.get("id")), paragraphs, attributes, split)


def example_of(product: Product) -> dict:
    text: dict[str, list[str]] = {}
    for source, paragraph in product.paragraphs:
        if source in SOURCES_ORDER and paragraph:
            text.setdefault(source, []).append(paragraph)
    data = {f"product {s}": ", ".join(text[s]) for s in SOURCES_ORDER if s in text}
    data["target attributes"] = " and ".join(key for key, _ in product.attributes)
    evidences = set()
    for key, found in product.attributes:
        for value, pid in found:
            source = product.paragraphs[pid][0] if pid is not None and pid < len(product.paragraphs) else "title"
            evidences.add((key.lower(), value.lower(), f"product {source}"))
        if not found:
            evidences.add((key.lower(), "None", "None"))
    output = [{"attribute": a, "value": v, "source": s} for a, v, s in sorted(evidences)]
    return {"input": json.dumps(data), "options": None, "output": json.dumps(output)}


def held_out_attributes(test: list[Product], target: int, max_fraction: float, rng) -> set[str]:
    """Attribute names drawn at random until their test records reach ``target`` (at most
    ``max_fraction`` of the names, so a small source keeps IND data)."""
    return held_out_from_counts(Counter(p.first_attribute for p in test), target, max_fraction, rng)


def held_out_from_counts(counts: dict[str, int], target: int, max_fraction: float, rng) -> set[str]:
    """:func:`held_out_attributes` from the test records' counts per first attribute."""
    names = sorted(counts)
    rng.shuffle(names)
    limit = max(1, int(len(names) * max_fraction))
    held, covered = set(), 0
    for name in names:
        if covered >= target or len(held) >= limit:
            break
        held.add(name)
        covered += counts[name]
    return held


@dataclass(frozen=True)
class AVEProcessor(RawProcessor):
    task = ave.TASK
    source = SOURCE

    max_heldout_fraction: float = 0.25

    def layouts(self) -> tuple[Layout, ...]:
        split_files = tuple(tuple(f"mave/{d}/**/mave_positives.jsonl" for d in dirs) for dirs in SPLIT_DIRS.values())
        return (
            Layout("mave-splits", split_files, self._load_mave),
            Layout("mave", (("mave/mave_positives.jsonl", "mave/reproduce/mave_positives.jsonl"),), self._load_mave),
            Layout("implicitave-tsv", (("ave_implicitave/*.tsv",),), self._load_implicit, fidelity="variant",
                   caveat="ImplicitAVE: titles only, values implied rather than quoted (no spans), so every "
                          "value's source is given as the title; not MAVE's extraction task"),
        )

    def _load_mave(self, paths: list[Path], qc: TaskQC) -> MaveFiles:
        splits = ("train", "validation", "test") if len(paths) == 3 else (None,)
        return MaveFiles(tuple((path.parent / name, split) for path, split in zip(paths, splits, strict=True)
                               for name in ("mave_positives.jsonl", "mave_negatives.jsonl")
                               if (path.parent / name).is_file()))

    def _load_implicit(self, paths: list[Path], qc: TaskQC) -> list[Product]:
        rows = read_csv(paths[0], delimiter="\t")
        require_columns(rows, ("id", "texts", "attribute_names", "attribute_values"), paths[0])
        return [Product(r["id"], [("title", clean_text(r["texts"].removeprefix("[Title]")))],
                        [(r["attribute_names"].strip(), [(clean_text(r["attribute_values"]), 0)])]) for r in rows]

    def make_examples(self, records: MaveFiles | list[Product], sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        if isinstance(records, MaveFiles):
            return self.stream_examples(records, sizes, seed, qc)
        products = keep_if(records, lambda p: bool(p.attributes) and any(t for _, t in p.paragraphs), qc,
                           "has attributes and text")
        products = dedupe(products, lambda p: p.id, qc, "same product id")
        if products and products[0].split is None:  # one file: split by product
            parts = split_80_10_10(products, rng_for(seed, self.code, "split"))
            pools = dict(zip(("train", "validation", "test"), parts, strict=True))
        else:
            pools = {s: [p for p in products if p.split == s] for s in ("train", "validation", "test")}
        held = held_out_attributes(pools["test"], sizes.ood, self.max_heldout_fraction,
                                   rng_for(seed, self.code, "ood-attributes"))
        qc.record("held-out attributes", len(products), sum(p.first_attribute not in held for p in products),
                  f"OOD attributes: {', '.join(sorted(held))}")
        rng = rng_for(seed, self.code, "sample")
        examples: Examples = {}
        for split, pool, n in (("validation", pools["validation"], sizes.validation),
                               ("test_ind", pools["test"], sizes.test)):
            ind = [p for p in pool if p.first_attribute not in held]
            rng.shuffle(ind)
            examples[split] = [example_of(p) for p in ind[:n]]
        ood = [p for p in pools["test"] if p.first_attribute in held]
        rng.shuffle(ood)
        examples["test_ood"] = [example_of(p) for p in ood[:sizes.ood]]
        train = [p for p in pools["train"] if p.first_attribute not in held]
        rng.shuffle(train)
        examples["train"] = remove_overlap([example_of(p) for p in train], test_texts(examples), qc,
                                          text_of=lambda s: s["input"], limit=sizes.train)
        return {split: examples[split] for split in ("train", "validation", "test_ind", "test_ood")}


    def stream_examples(self, files: MaveFiles, sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        """MAVE's millions of products in two streaming passes, holding a few bytes per product.

        Pass 1 notes, per product, a hash of its id, its first attribute and its split (a seeded hash
        of the id when the files are not split), which gives the de-duplication (first record of an
        id wins) and the test counts that choose the held-out attributes, exactly as in memory.
        Pass 2 keeps, per split, the products of smallest seeded hash (a bottom-k sample).
        """
        ids, attributes, splits = array("Q"), array("i"), bytearray()
        names: dict[str, int] = {}
        n_read = 0
        for product in files.products(seed, self.code):
            n_read += 1
            if not _has_text(product):
                continue
            ids.append(priority(0, "id", product.id))
            attributes.append(names.setdefault(product.first_attribute, len(names)))
            splits.append(SPLITS.index(product.split))
        qc.record("has attributes and text", n_read, len(ids))
        first = np.zeros(len(ids), dtype=bool)
        first[np.unique(np.frombuffer(ids, dtype=np.uint64), return_index=True)[1]] = True
        qc.record("dedupe", len(ids), int(first.sum()), "same product id")
        in_test = first & (np.frombuffer(splits, dtype=np.uint8) == SPLITS.index("test"))
        counts = np.bincount(np.frombuffer(attributes, dtype=np.int32)[in_test], minlength=len(names))
        by_name = {name: int(counts[i]) for name, i in names.items() if counts[i]}
        held = held_out_from_counts(by_name, sizes.ood, self.max_heldout_fraction,
                                    rng_for(seed, self.code, "ood-attributes"))
        held_ids = np.array([names[n] for n in held], dtype=np.int32)
        n_held = int((first & np.isin(np.frombuffer(attributes, dtype=np.int32), held_ids)).sum())
        qc.record("held-out attributes", int(first.sum()), int(first.sum()) - n_held,
                  f"OOD attributes: {', '.join(sorted(held))}")
        del ids, attributes, splits
        wanted = {"train": int(sizes.train * 1.5) + 100, "validation": sizes.validation, "test_ind": sizes.test,
                  "test_ood": sizes.ood}
        reservoirs = {split: BottomK(n) for split, n in wanted.items()}
        position = -1
        for product in files.products(seed, self.code):
            if not _has_text(product):
                continue
            position += 1
            if not first[position]:
                continue
            ood = product.first_attribute in held
            split = {"validation": "validation", "test": "test_ood" if ood else "test_ind"}.get(product.split, "train")
            if ood and split != "test_ood":
                continue
            reservoirs[split].offer(priority(seed, f"{self.code}:sample:{split}", product.id), product)
        examples: Examples = {split: [example_of(p) for p in reservoirs[split].items()]
                            for split in ("validation", "test_ind", "test_ood")}
        train = (example_of(p) for p in reservoirs["train"].items())
        examples["train"] = remove_overlap(train, test_texts(examples), qc, text_of=lambda s: s["input"],
                                          limit=sizes.train)
        return {split: examples[split] for split in ("train", "validation", "test_ind", "test_ood")}


SPLITS = ("train", "validation", "test")


def _has_text(product: Product) -> bool:
    return bool(product.attributes) and any(t for _, t in product.paragraphs)


@dataclass(frozen=True)
class MaveFiles:
    """MAVE's JSON-lines files with their split (``None``: one file pair, split here), streamed."""

    files: tuple[tuple[Path, str | None], ...]

    def products(self, seed: int, code: str):
        for path, split in self.files:
            for record in iter_jsonl(path):
                product = product_from_mave(record, split)
                if split is None:  # 80/10/10 by a seeded hash of the product id
                    u = priority(seed, f"{code}:split", product.id) / 2**64
                    product.split = "train" if u < 0.8 else "validation" if u < 0.9 else "test"
                yield product


PROCESSOR = AVEProcessor()
