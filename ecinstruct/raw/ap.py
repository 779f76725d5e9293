"""AP from AmazonQA: can the question be answered from the review snippets? (``is_answerable``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ecinstruct.raw import amazonqa
from ecinstruct.raw.base import Layout, RawProcessor, Samples, Sizes, rng_for, test_texts
from ecinstruct.raw.decontam import remove_overlap
from ecinstruct.raw.qc import TaskQC, clean_fields, dedupe, english_only
from ecinstruct.tasks import ap


def sample_of(record: dict) -> dict:
    return {"input": amazonqa.qa_input(record["questionText"], record["review_snippets"] or []),
            "options": None, "output": "yes" if amazonqa.is_answerable(record) else "no"}


@dataclass(frozen=True)
class QAProcessor(RawProcessor):
    """AP (and, via a subclass, AG): IND categories' splits sampled at random, OOD = a category's test."""

    task = ap.TASK
    source = amazonqa.SOURCE

    ind_categories: tuple[str, ...] = ("Sports_and_Outdoors", "Tools_and_Home_Improvement")
    ood_category: str = amazonqa.OOD_CATEGORY

    def layouts(self) -> tuple[Layout, ...]:
        return (Layout("amazonqa-jsonl", amazonqa.required_files(), self._load),)

    def _load(self, paths: list[Path], qc: TaskQC) -> dict[str, list[dict]]:
        wanted = {*self.ind_categories, self.ood_category}
        splits = zip(amazonqa.SPLIT_FILES, paths, strict=True)
        return {split: amazonqa.read_split(path, wanted) for split, path in splits}

    def quality(self, records: list[dict], qc: TaskQC) -> list[dict]:
        records = clean_fields(records, ("questionText", "review_snippets"), qc)
        records = english_only(records, ("questionText",), qc)
        return dedupe(records, lambda r: (r["questionText"], tuple(r["review_snippets"] or ())), qc,
                      "same question and snippets")

    def select(self, records: list[dict], n: int, rng) -> list[dict]:
        """Samples of a shuffled pool (AG overrides: it also filters and picks the answer)."""
        records = list(records)
        rng.shuffle(records)
        return [sample_of(r) for r in records[:n]]

    def make_samples(self, records: dict[str, list[dict]], sizes: Sizes, seed: int, qc: TaskQC) -> Samples:
        ood_name = amazonqa.canonical_category(self.ood_category)
        for split in list(records):
            qc.scope = split
            records[split] = self.quality(records[split], qc)
        qc.scope = ""
        rng = rng_for(seed, self.code, "sample")
        ind = {split: [r for r in rows if amazonqa.category_of(r) != ood_name] for split, rows in records.items()}
        samples: Samples = {
            "validation": self.select(ind["validation"], sizes.validation, rng),
            "test_ind": self.select(ind["test"], sizes.test, rng),
            "test_ood": self.select([r for r in records["test"] if amazonqa.category_of(r) == ood_name],
                                    sizes.ood, rng),
        }
        train = self.select(ind["train"], len(ind["train"]), rng)
        samples["train"] = remove_overlap(train, test_texts(samples), qc, text_of=lambda s: s["input"],
                                          limit=sizes.train)
        return {split: samples[split] for split in ("train", "validation", "test_ind", "test_ood")}


PROCESSOR = QAProcessor()
