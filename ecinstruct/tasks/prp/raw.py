"""PRP from Amazon Review 2018 metadata: how two products relate (also-buy / also-view / similar).

The paper's construction: per category, every product's ``also_buy`` (A), ``also_view`` (B) and
``similar_item`` (C; ids parsed from the HTML table) give candidate pairs; a pair is kept when the
partner exists in the file and the titles differ; pairs are the sorted title pair (so Product 1 /
Product 2 are in alphabetical order); **a pair found under more than one relation is discarded**.
Per category 80/10/10; IND = a random sample from the three IND categories; OOD = the Tools test part.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecinstruct.raw import amazon2018
from ecinstruct.raw.base import Examples, Layout, RawProcessor, Sizes, rng_for, split_80_10_10, test_texts
from ecinstruct.raw.decontam import remove_overlap
from ecinstruct.raw.io import iter_jsonl
from ecinstruct.raw.qc import TaskQC, clean_text
from ecinstruct.raw.sampling import batched, mix64, priority, stable_hash
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


def example_of(pair: TitlePair, letter: str) -> dict:
    return {"input": json.dumps({"Product 1:": pair[0], "Product 2:": pair[1]}),
            "options": list(prp.TASK.options), "output": letter}


class PairSampler:
    """One category's single-relation title pairs, read in three streaming passes of its metadata.

    1. titles: each product's title is cleaned (on ``qc.workers``) and only its 64-bit hash is kept,
       by a hash of its id (16 bytes a product; the last record of an id wins, as in
       :func:`relation_pairs`);
    2. pairs: every relation link becomes a pair of title hashes; the ``k`` distinct pairs of smallest
       seeded hash are kept with the set of relations each was found under. A pair's hash does not
       depend on the relation, so a pair is kept under all its relations or not at all, and the
       rule "a pair under more than one relation is discarded" stays exact within the sample;
    3. texts: the titles of just the kept pairs are read back.

    When a category has at most ``k`` distinct pairs, the result is :func:`relation_pairs`'s.
    Memory: the per-product hashes, a one-byte flag per product, and ``O(k)`` pairs.
    """

    def __init__(self, path: Path, qc: TaskQC, salt: int, batch: int = 10_000) -> None:
        self.path, self.qc, self.salt, self.batch = path, qc, salt, batch
        self.full = False  # whether pairs were turned away (the result is then a sample)

    def _batches(self, desc: str) -> Iterator[list[dict]]:
        return batched(iter_jsonl(self.path, desc=f"{self.path.name} ({desc})"), self.batch)

    def read_titles(self) -> None:
        ids, titles, usable = [], [], []
        n_in = n_out = 0
        for records in self._batches("titles"):
            cleaned = list(self.qc.workers.map(clean_text, [r.get("title") for r in records]))
            has_title = np.array([bool(t) for t in cleaned], dtype=bool)
            usable.append(has_title)
            n_in, n_out = n_in + len(records), n_out + int(has_title.sum())
            named = [k for k, r in enumerate(records) if has_title[k] and r.get("asin")]
            ids.append(stable_hash([records[k]["asin"] for k in named]))
            titles.append(stable_hash([cleaned[k] for k in named]))
        self.qc.record("clean-up", n_in, n_out, "HTML/entities/Unicode on title")
        self.usable = np.concatenate(usable) if usable else np.zeros(0, dtype=bool)
        ids_all = np.concatenate(ids) if ids else np.zeros(0, dtype=np.uint64)
        titles_all = np.concatenate(titles) if titles else np.zeros(0, dtype=np.uint64)
        # Last record of an id wins: unique ids of the reversed arrays keep the last occurrence.
        self.ids, last = np.unique(ids_all[::-1], return_index=True)
        self.titles = titles_all[::-1][last]

    def title_of(self, ids: list[str]) -> np.ndarray:
        """Title hashes of product ids (0 where the id has no usable title)."""
        hashes = stable_hash(ids)
        at = np.minimum(np.searchsorted(self.ids, hashes), max(len(self.ids) - 1, 0))
        found = (self.ids[at] == hashes) if len(self.ids) else np.zeros(len(ids), dtype=bool)
        return np.where(found, self.titles[at] if len(self.ids) else 0, np.uint64(0)).astype(np.uint64)

    def sample_pairs(self, k: int) -> dict[tuple[int, int], int]:
        """The ``k`` distinct title-hash pairs of smallest seeded hash → bitmask of their relations."""
        keep = _PairHeap(k)
        number = 0
        for records in self._batches("pairs"):
            owners, partners, bits = [], [], []
            for record in records:
                number += 1
                asin = record.get("asin")
                if not asin or not self.usable[number - 1]:
                    continue
                for bit, (_, links) in enumerate(RELATIONS.values()):
                    for other in links(record):
                        if other != asin:
                            owners.append(asin)
                            partners.append(other)
                            bits.append(1 << bit)
            if owners:
                own, other = self.title_of(owners), self.title_of(partners)
                ok = (own != 0) & (other != 0) & (own != other)
                lo, hi = np.minimum(own, other)[ok], np.maximum(own, other)[ok]
                keep.offer(lo, hi, mix64(lo, hi, salt=self.salt), np.asarray(bits, dtype=np.uint8)[ok])
        self.full = keep.full
        return keep.pairs()

    def read_texts(self, wanted: set[int]) -> dict[int, str]:
        """Cleaned titles of the wanted title hashes."""
        texts: dict[int, str] = {}
        for records in self._batches("titles of the sampled pairs"):
            named = [r for r in records if r.get("asin")]
            hashes = self.title_of([r["asin"] for r in named]).tolist()
            for record, title_hash in zip(named, hashes, strict=True):
                if title_hash in wanted and title_hash not in texts:
                    title = clean_text(record.get("title"))
                    if int(stable_hash([title])[0]) == title_hash:  # not an earlier record of the id
                        texts[title_hash] = title
            if len(texts) == len(wanted):
                break
        return texts


class _PairHeap:
    """Bottom-``k`` distinct (lo, hi) pairs by priority, OR-ing the relation bits of repeated pairs."""

    def __init__(self, k: int) -> None:
        self.k, self.full = k, False
        self.lo = self.hi = self.priority = np.zeros(0, dtype=np.uint64)
        self.bits = np.zeros(0, dtype=np.uint8)

    def offer(self, lo: np.ndarray, hi: np.ndarray, priority: np.ndarray, bits: np.ndarray) -> None:
        if len(self.priority) >= self.k:  # only pairs at or under the k-th priority can enter
            cut = priority <= self.priority[-1]
            self.full |= not cut.all()
            lo, hi, priority, bits = lo[cut], hi[cut], priority[cut], bits[cut]
        lo, hi = np.concatenate([self.lo, lo]), np.concatenate([self.hi, hi])
        priority, bits = np.concatenate([self.priority, priority]), np.concatenate([self.bits, bits])
        order = np.lexsort((hi, lo, priority))
        lo, hi, priority, bits = lo[order], hi[order], priority[order], bits[order]
        first = np.r_[True, (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])] if len(lo) else np.zeros(0, dtype=bool)
        starts = np.flatnonzero(first)
        bits = np.bitwise_or.reduceat(bits, starts) if len(starts) else bits
        self.full |= len(starts) > self.k
        starts = starts[:self.k]
        self.lo, self.hi, self.priority, self.bits = lo[starts], hi[starts], priority[starts], bits[:self.k]

    def pairs(self) -> dict[tuple[int, int], int]:
        return dict(zip(zip(self.lo.tolist(), self.hi.tolist(), strict=True), self.bits.tolist(), strict=True))


def stream_relation_pairs(path: Path, qc: TaskQC, *, salt: int, k: int, wanted: int) -> dict[str, list[TitlePair]]:
    """:func:`relation_pairs` of a metadata file in bounded memory (see :class:`PairSampler`).

    ``k`` distinct pairs are sampled; when fewer than ``wanted`` of them are single-relation and
    pairs were turned away, the sample is drawn again four times larger.
    """
    sampler = PairSampler(path, qc, salt)
    sampler.read_titles()
    while True:
        bits = sampler.sample_pairs(k)
        single = {pair: bit for pair, bit in bits.items() if bit.bit_count() == 1}
        if len(single) >= wanted or not sampler.full:
            break
        k *= 4
    texts = sampler.read_texts({h for pair in single for h in pair})
    letters = list(RELATIONS)
    result: dict[str, list[TitlePair]] = {letter: [] for letter in letters}
    for (lo, hi), bit in single.items():
        result[letters[bit.bit_length() - 1]].append(tuple(sorted((texts[lo], texts[hi]))))
    for pairs in result.values():
        pairs.sort()
    total = sum(bit.bit_count() for bit in bits.values())
    detail = ", ".join(f"{letter} {len(group)}" for letter, group in result.items())
    sampled = f" (in a sample of {len(bits)} distinct pairs by a seeded hash)" if sampler.full else ""
    qc.record("multi-relation pairs", total, len(single),
              f"{len(bits) - len(single)} distinct pairs in >1 relation{sampled}; kept {detail}")
    return result


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
        return paths  # read one category at a time by make_examples

    def category_pools(self, path: Path, sizes: Sizes, qc: TaskQC, seed: int, name: str) -> tuple[list, list, list]:
        """A category's examples cut 80/10/10 by a seeded shuffle (the pairs: a seeded-hash sample
        large enough for every part, see :func:`stream_relation_pairs`)."""
        test = max(sizes.test, sizes.ood)
        # Single-relation pairs for the 80/10/10 cut to fill every part (+10: the cut rounds down);
        # the sample holds half as many more, as some of its pairs are under several relations.
        wanted = math.ceil(max(sizes.train / 0.8, sizes.validation / 0.1, test / 0.1)) + 10
        salt = priority(seed, f"{self.code}:pairs", name)
        pairs = stream_relation_pairs(path, qc, salt=salt, k=wanted * 3 // 2 + 100, wanted=wanted)
        examples = [example_of(pair, letter) for letter, group in pairs.items() for pair in group]
        train, validation, test_pool = split_80_10_10(examples, rng_for(seed, self.code, f"split:{name}"))
        return train[:sizes.train], validation[:sizes.validation], test_pool[:test]

    def make_examples(self, records: list[Path], sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        """Categories are read one at a time, each in memory bounded by the split sizes."""
        pools = []
        for name, path in zip((*self.ind_categories, self.ood_category), records, strict=True):
            qc.scope = name
            pools.append(self.category_pools(path, sizes, qc, seed, name))
        qc.scope = ""
        ind, ood = pools[:-1], pools[-1]
        rng = rng_for(seed, self.code, "sample")
        examples: Examples = {}
        for split, part in (("validation", 1), ("test_ind", 2)):
            union = [s for pool in ind for s in pool[part][:sizes.for_split(split)]]
            examples[split] = rng.sample(union, min(len(union), sizes.for_split(split)))
        examples["test_ood"] = ood[2][:sizes.ood]
        union = [s for pool in ind for s in pool[0][:sizes.train]]
        rng.shuffle(union)
        examples["train"] = remove_overlap(union, test_texts(examples), qc, text_of=lambda s: s["input"],
                                          limit=sizes.train)
        return {split: examples[split] for split in ("train", "validation", "test_ind", "test_ood")}


PROCESSOR = PRPProcessor()
