"""PRP from Amazon Review 2018 metadata: how two products relate (also-buy / also-view / similar).

The paper's construction: per category, every product's ``also_buy`` (A), ``also_view`` (B) and
``similar_item`` (C; ids parsed from the HTML table) give candidate pairs; a pair is kept when the
partner exists in the file and the titles differ; pairs are the sorted title pair (so Product 1 /
Product 2 are in alphabetical order); **a pair found under more than one relation is discarded**.
Per category 80/10/10; IND = a random sample from the three IND categories; OOD = the Tools test part.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ecinstruct.raw import amazon2018
from ecinstruct.raw.base import Layout, RawProcessor, Samples, Sizes, rng_for, split_80_10_10, test_texts
from ecinstruct.raw.decontam import remove_overlap
from ecinstruct.raw.io import iter_jsonl
from ecinstruct.raw.qc import TaskQC, clean_fields
from ecinstruct.tasks import prp

_ASIN_LINK = re.compile(r"/dp/([A-Z0-9]{10})")
# Relation → option letter, and how to read the partner ids of a product.
RELATIONS: dict[str, tuple[str, object]] = {
    "A": ("also_buy", lambda p: p.get("also_buy") or []),
    "B": ("also_view", lambda p: p.get("also_view") or []),
    "C": ("similar_item", lambda p: _ASIN_LINK.findall(p.get("similar_item") or "")),
}

TitlePair = tuple[str, str]


def relation_pairs(products: list[dict], qc: TaskQC | None = None) -> dict[str, list[TitlePair]]:
    """Single-relation title pairs per option letter, in a deterministic (sorted) order.

    ``products`` need ``asin``, ``title`` and the relation fields. Records the number of candidate
    pairs and of pairs discarded for occurring under more than one relation.
    """
    titles = {p["asin"]: p["title"] for p in products if p.get("asin") and p.get("title")}
    found: dict[str, set[TitlePair]] = {}
    for letter, (_, partners) in RELATIONS.items():
        pairs = set()
        for product in products:
            own = titles.get(product.get("asin"))
            for other in partners(product):
                partner = titles.get(other)
                if own and partner and other != product["asin"] and partner != own:
                    pairs.add(tuple(sorted((own, partner))))
        found[letter] = pairs
    counts = Counter(pair for pairs in found.values() for pair in pairs)
    multi = {pair for pair, n in counts.items() if n > 1}
    result = {letter: sorted(pairs - multi) for letter, pairs in found.items()}
    if qc is not None:
        total = sum(len(p) for p in found.values())
        kept = sum(len(p) for p in result.values())
        detail = ", ".join(f"{k} {len(v)}" for k, v in result.items())
        qc.record("multi-relation pairs", total, kept, f"{len(multi)} distinct pairs in >1 relation; kept {detail}")
    return result


def sample_of(pair: TitlePair, letter: str) -> dict:
    return {"input": json.dumps({"Product 1:": pair[0], "Product 2:": pair[1]}),
            "options": list(prp.TASK.options), "output": letter}


@dataclass(frozen=True)
class PRPProcessor(RawProcessor):
    task = prp.TASK
    source = amazon2018.SOURCE

    ind_categories: tuple[str, ...] = amazon2018.IND_CATEGORIES
    ood_category: str = amazon2018.OOD_CATEGORY

    def layouts(self) -> tuple[Layout, ...]:
        cats = (*self.ind_categories, self.ood_category)
        return (Layout("amazon2018-metadata", tuple(amazon2018.meta_files(c) for c in cats), self._load),)

    def _load(self, paths: list[Path], qc: TaskQC) -> list[Path]:
        return paths  # read one category at a time by make_samples

    @staticmethod
    def read(path: Path) -> list[dict]:
        fields = ("asin", "title", "also_buy", "also_view", "similar_item")
        return [{f: r.get(f) for f in fields} for r in iter_jsonl(path)]

    def category_pools(self, products: list[dict], qc: TaskQC, seed: int, name: str) -> tuple[list, list, list]:
        products = clean_fields(products, ("title",), qc)
        pairs = relation_pairs(products, qc)
        samples = [sample_of(pair, letter) for letter, group in pairs.items() for pair in group]
        return split_80_10_10(samples, rng_for(seed, self.code, f"split:{name}"))

    def make_samples(self, records: list[Path | list[dict]], sizes: Sizes, seed: int, qc: TaskQC) -> Samples:
        """Categories are read one at a time; of each, only as many pairs per part as a split can take
        are kept, so memory holds one category's products and pairs at most."""
        pools = []
        for name, products in zip((*self.ind_categories, self.ood_category), records, strict=True):
            qc.scope = name
            train, validation, test = self.category_pools(
                self.read(products) if isinstance(products, Path) else products, qc, seed, name)
            pools.append((train[:sizes.train], validation[:sizes.validation], test[:max(sizes.test, sizes.ood)]))
        qc.scope = ""
        ind, ood = pools[:-1], pools[-1]
        rng = rng_for(seed, self.code, "sample")
        samples: Samples = {}
        for split, part in (("validation", 1), ("test_ind", 2)):
            union = [s for pool in ind for s in pool[part][:sizes.for_split(split)]]
            samples[split] = rng.sample(union, min(len(union), sizes.for_split(split)))
        samples["test_ood"] = ood[2][:sizes.ood]
        union = [s for pool in ind for s in pool[0][:sizes.train]]
        rng.shuffle(union)
        samples["train"] = remove_overlap(union, test_texts(samples), qc, text_of=lambda s: s["input"],
                                          limit=sizes.train)
        return {split: samples[split] for split in ("train", "validation", "test_ind", "test_ood")}


PROCESSOR = PRPProcessor()
