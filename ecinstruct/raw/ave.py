"""AVE from MAVE: extract attribute values from product text, naming the field each came from.

Paper (SPEC §5.1, §1.6): MAVE product splits, positives + negatives; the record's attributes are the
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
from dataclasses import dataclass
from pathlib import Path

from ecinstruct.raw.base import Layout, RawProcessor, Samples, Sizes, Source, rng_for, split_80_10_10, test_texts
from ecinstruct.raw.decontam import remove_overlap
from ecinstruct.raw.io import iter_jsonl, read_csv, require_columns
from ecinstruct.raw.qc import TaskQC, clean_text, dedupe, keep_if
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


def sample_of(product: Product) -> dict:
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
    names = sorted({p.first_attribute for p in test})
    rng.shuffle(names)
    limit = max(1, int(len(names) * max_fraction))
    held, covered = set(), 0
    for name in names:
        if covered >= target or len(held) >= limit:
            break
        held.add(name)
        covered += sum(p.first_attribute == name for p in test)
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

    def _load_mave(self, paths: list[Path], qc: TaskQC) -> list[Product]:
        splits = ("train", "validation", "test") if len(paths) == 3 else (None,)
        products = []
        for path, split in zip(paths, splits, strict=True):
            for name in ("mave_positives.jsonl", "mave_negatives.jsonl"):
                if (path.parent / name).is_file():
                    products += [product_from_mave(r, split) for r in iter_jsonl(path.parent / name)]
        return products

    def _load_implicit(self, paths: list[Path], qc: TaskQC) -> list[Product]:
        rows = read_csv(paths[0], delimiter="\t")
        require_columns(rows, ("id", "texts", "attribute_names", "attribute_values"), paths[0])
        return [Product(r["id"], [("title", clean_text(r["texts"].removeprefix("[Title]")))],
                        [(r["attribute_names"].strip(), [(clean_text(r["attribute_values"]), 0)])]) for r in rows]

    def make_samples(self, records: list[Product], sizes: Sizes, seed: int, qc: TaskQC) -> Samples:
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
        samples: Samples = {}
        for split, pool, n in (("validation", pools["validation"], sizes.validation),
                               ("test_ind", pools["test"], sizes.test)):
            ind = [p for p in pool if p.first_attribute not in held]
            rng.shuffle(ind)
            samples[split] = [sample_of(p) for p in ind[:n]]
        ood = [p for p in pools["test"] if p.first_attribute in held]
        rng.shuffle(ood)
        samples["test_ood"] = [sample_of(p) for p in ood[:sizes.ood]]
        train = [p for p in pools["train"] if p.first_attribute not in held]
        rng.shuffle(train)
        samples["train"] = remove_overlap([sample_of(p) for p in train], test_texts(samples), qc,
                                          text_of=lambda s: s["input"], limit=sizes.train)
        return {split: samples[split] for split in ("train", "validation", "test_ind", "test_ood")}


PROCESSOR = AVEProcessor()
