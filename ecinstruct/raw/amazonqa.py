"""AmazonQA files shared by AP and AG, and the processor they share.

Original distribution (https://github.com/amazonqa/amazonqa), under ``<raw-dir>/amazonqa/``:
``train-qar.jsonl``, ``val-qar.jsonl``, ``test-qar.jsonl`` (``.gz`` too). Each line: ``questionText``,
``questionType`` (``yesno``/``descriptive``), ``review_snippets`` (≤ 10 strings), ``answers``
(``answerText``, ``answerType``, ``helpful`` = [helpful votes, total votes]), ``asin``, ``qid``,
``category``, ``is_answerable``, …
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ecinstruct.raw.base import Examples, Layout, RawProcessor, Sizes, Source, rng_for, test_texts
from ecinstruct.raw.decontam import remove_overlap
from ecinstruct.raw.io import iter_jsonl
from ecinstruct.raw.qc import TaskQC, clean_fields, dedupe, english_only
from ecinstruct.raw.sampling import BottomK, priority
from ecinstruct.text import canonical_category

SOURCE = Source(
    name="AmazonQA (review-based product question answering)",
    origin="https://github.com/amazonqa/amazonqa (Gupta et al., 2019; built on the UCSD Amazon QA data)",
    license="no license listed",
)
SPLIT_FILES = {"train": "train-qar.jsonl", "validation": "val-qar.jsonl", "test": "test-qar.jsonl"}
OOD_CATEGORY = "Cell_Phones_and_Accessories"
FIELDS = ("questionText", "questionType", "review_snippets", "answers", "category", "is_answerable", "qid")


def required_files() -> tuple[tuple[str, ...], ...]:
    return tuple((f"amazonqa/{name}", f"amazonqa/{name}.gz") for name in SPLIT_FILES.values())


def read_split(path: Path, categories: set[str]) -> list[dict]:
    """Records of one split file whose category is one of ``categories`` (canonical names)."""
    wanted = {canonical_category(c) for c in categories}
    return [{f: r.get(f) for f in FIELDS} for r in iter_jsonl(path)
            if canonical_category(str(r.get("category", ""))) in wanted]


def category_of(record: dict) -> str:
    return canonical_category(str(record.get("category", "")))


def is_answerable(record: dict) -> bool:
    value = record.get("is_answerable")
    return value is True or str(value).strip().lower() in ("1", "true")


def qa_input(question: str, snippets: list[str]) -> str:
    return json.dumps({"question": question, "document": list(snippets)})


# AmazonQA split file → the sample split its IND records feed (OOD records come from the test file only).
SAMPLE_SPLIT = {"train": "train", "validation": "validation", "test": "test_ind"}


@dataclass(frozen=True)
class QAProcessor(RawProcessor):
    """AP and AG: IND categories' splits sampled at random, OOD = a category's test. Subclasses set
    ``task`` and ``ind_categories`` and implement :meth:`to_example`."""

    source = SOURCE

    ind_categories: tuple[str, ...] = ()
    ood_category: str = OOD_CATEGORY

    def layouts(self) -> tuple[Layout, ...]:
        return (Layout("amazonqa-jsonl", required_files(), self._load),)

    def _load(self, paths: list[Path], qc: TaskQC) -> dict[str, Path]:
        return dict(zip(SPLIT_FILES, paths, strict=True))  # streamed by make_examples

    def usable(self, record: dict) -> bool:
        """Whether a record can become an example of this task at all (AG narrows it)."""
        return True

    def draw(self, files: dict[str, Path], quotas: dict[str, int], seed: int, qc: TaskQC) -> tuple[Examples, set]:
        """Per sample split, the usable records of smallest seeded hash of their text (a bottom-k
        sample while streaming; identical records share a hash), then QC on those; and the splits
        whose sample was cut by its quota."""
        ood_name = canonical_category(self.ood_category)
        wanted = {canonical_category(c) for c in (*self.ind_categories, self.ood_category)}
        reservoirs = {split: BottomK(n) for split, n in quotas.items()}
        n_read = n_wanted = 0
        for source, path in files.items():
            for record in iter_jsonl(path, desc=f"{self.code} {path.name}"):
                n_read += 1
                category = category_of(record)
                if category not in wanted or not self.usable(record):
                    continue
                n_wanted += 1
                split = SAMPLE_SPLIT[source] if category != ood_name else "test_ood" if source == "test" else None
                if split is not None:
                    key = json.dumps([record.get("questionText"), record.get("review_snippets")])
                    reservoirs[split].offer(priority(seed, f"{self.code}:{split}", key),
                                            {f: record.get(f) for f in FIELDS})
        qc.record("categories", n_read, n_wanted, f"{', '.join(sorted(wanted))}; usable for {self.code}")
        drawn = [{**r, "pool": split} for split, reservoir in reservoirs.items() for r in reservoir.items()]
        qc.record("seeded sample", n_wanted, len(drawn),
                  "per split, the records of smallest hash(seed, text): the split size plus a margin for QC drops")
        kept = self.quality(drawn, qc)
        pools: Examples = {split: [] for split in quotas}
        for r in kept:
            pools[r["pool"]].append(r)
        return pools, {split for split, reservoir in reservoirs.items() if reservoir.full}

    def stream_examples(self, files: dict[str, Path], sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        wanted = {"train": sizes.train, "validation": sizes.validation, "test_ind": sizes.test,
                  "test_ood": sizes.ood}
        margin = 1.5
        while True:
            first_step = len(qc.steps)
            pools, cut = self.draw(files, {s: int(n * margin) + 100 for s, n in wanted.items()}, seed, qc)
            examples = {split: [self.to_example(r) for r in pools[split][:wanted[split]]]
                       for split in ("validation", "test_ind", "test_ood")}
            examples["train"] = remove_overlap((self.to_example(r) for r in pools["train"]), test_texts(examples), qc,
                                              text_of=lambda s: s["input"], limit=sizes.train)
            if not {s for s in wanted if len(examples[s]) < wanted[s]} & cut:
                return {split: examples[split] for split in ("train", "validation", "test_ind", "test_ood")}
            del qc.steps[first_step:]
            margin *= 4

    def to_example(self, record: dict) -> dict:
        raise NotImplementedError

    def quality(self, records: list[dict], qc: TaskQC) -> list[dict]:
        records = clean_fields(records, ("questionText", "review_snippets"), qc)
        records = english_only(records, ("questionText",), qc)
        return dedupe(records, lambda r: (r["questionText"], tuple(r["review_snippets"] or ())), qc,
                      "same question and snippets")

    def select(self, records: list[dict], n: int, rng) -> list[dict]:
        """Examples of a shuffled pool (AG overrides: it also filters and picks the answer)."""
        records = list(records)
        rng.shuffle(records)
        return [self.to_example(r) for r in records[:n]]

    def make_examples(self, records: dict[str, Path | list[dict]], sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        if all(isinstance(r, Path) for r in records.values()):
            return self.stream_examples(records, sizes, seed, qc)
        ood_name = canonical_category(self.ood_category)
        for split in list(records):
            qc.scope = split
            records[split] = self.quality(records[split], qc)
        qc.scope = ""
        rng = rng_for(seed, self.code, "sample")
        ind = {split: [r for r in rows if category_of(r) != ood_name] for split, rows in records.items()}
        examples: Examples = {
            "validation": self.select(ind["validation"], sizes.validation, rng),
            "test_ind": self.select(ind["test"], sizes.test, rng),
            "test_ood": self.select([r for r in records["test"] if category_of(r) == ood_name],
                                    sizes.ood, rng),
        }
        train = self.select(ind["train"], len(ind["train"]), rng)
        examples["train"] = remove_overlap(train, test_texts(examples), qc, text_of=lambda s: s["input"],
                                          limit=sizes.train)
        return {split: examples[split] for split in ("train", "validation", "test_ind", "test_ood")}
