"""SA from Amazon Review 2018 reviews: review text → the 5-option sentiment of its star rating.

The paper's construction: the first 200,000 reviews per category; reviews without text or rating, or under
10 words, dropped; per category 80/10/10; IND = equal shares of Electronics, Home_and_Kitchen and
Sports_and_Outdoors, OOD = Tools_and_Home_Improvement test reviews. We also de-duplicate on
(reviewer, text) *before* splitting — 5-core files repeat a review for every product variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ecinstruct.raw import amazon2018
from ecinstruct.raw.base import Examples, Layout, RawProcessor, Sizes, quotas, rng_for, split_80_10_10, test_texts
from ecinstruct.raw.decontam import remove_overlap
from ecinstruct.raw.io import iter_jsonl
from ecinstruct.raw.qc import TaskQC, clean_fields, dedupe, english_only, keep_if, min_words
from ecinstruct.tasks import sa

FIELDS = ("reviewerID", "reviewText", "overall")  # all SA reads of a review
# 5 stars → "A: very positive" … 1 star → "E: very negative".
RATING_TO_OPTION = {5: sa.TASK.options[0], 4: sa.TASK.options[1], 3: sa.TASK.options[2],
                    2: sa.TASK.options[3], 1: sa.TASK.options[4]}


@dataclass(frozen=True)
class SAProcessor(RawProcessor):
    task = sa.TASK
    source = amazon2018.SOURCE

    ind_categories: tuple[str, ...] = amazon2018.IND_CATEGORIES
    ood_category: str | None = amazon2018.OOD_CATEGORY
    max_reviews: int = 200_000
    min_words: int = 10

    def layouts(self) -> tuple[Layout, ...]:
        cats = (*self.ind_categories, *([self.ood_category] if self.ood_category else []))
        return (
            Layout("amazon2018-reviews", tuple(amazon2018.review_files(c) for c in cats), self._load_categories),
            Layout("amazon2018-fashion-5core-subset", (("sa_amazon2018_fashion/*.json*",),), self._load_single,
                   fidelity="variant",
                   caveat="one 5-core category (AMAZON_FASHION) as IND, no OOD test; not the paper's categories"),
        )

    def _load_categories(self, paths: list[Path], qc: TaskQC) -> dict[str, Path]:
        return {path.name: path for path in paths}  # read one at a time by make_examples

    def _load_single(self, paths: list[Path], qc: TaskQC) -> dict[str, Path]:
        return {paths[0].name: paths[0]}

    def read(self, path: Path) -> list[dict]:
        """The first ``max_reviews`` reviews, streamed, with only the fields SA uses: memory is bounded
        by ``max_reviews``, however large the category file (the rest of it is never read)."""
        return [{f: r.get(f) for f in FIELDS} for r in iter_jsonl(path, limit=self.max_reviews)]

    def clean(self, reviews: list[dict], qc: TaskQC) -> list[dict]:
        """The QC chain of SA (shared steps), in order; each step records its drops."""
        reviews = dedupe(reviews, lambda r: (r.get("reviewerID"), r.get("reviewText")), qc,
                         "same reviewer and text (5-core files repeat reviews per product variant)")
        reviews = keep_if(reviews, lambda r: bool(r.get("reviewText")) and _rating(r) in RATING_TO_OPTION, qc,
                          "has text and rating")
        reviews = min_words(reviews, "reviewText", self.min_words, qc)
        reviews = clean_fields(reviews, ("reviewText",), qc)
        reviews = english_only(reviews, ("reviewText",), qc)
        return dedupe(reviews, lambda r: r["reviewText"], qc, "same text after clean-up")

    def make_examples(self, records: dict[str, Path | list[dict]], sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        """Categories are read and cleaned one at a time; of each, only the first rows of every part
        (as many as a split can take, twice that for train: overlap removal drops a few) are kept."""
        names = list(records)
        has_ood = self.ood_category is not None and len(names) == len(self.ind_categories) + 1
        ind_names = names[:-1] if has_ood else names
        pools = {name: self.category_pools(records[name], name, sizes, seed, qc) for name in names}
        examples: Examples = {split: [] for split in ("train", "validation", "test_ind")}
        qc.scope = ""
        for split, part in (("validation", 1), ("test_ind", 2)):
            for name, quota in zip(ind_names, quotas(sizes.for_split(split), len(ind_names)), strict=True):
                examples[split] += [_sample(r) for r in pools[name][part][:quota]]
        if has_ood:
            examples["test_ood"] = [_sample(r) for r in pools[names[-1]][2][:sizes.ood]]
        held_out = test_texts(examples)
        for name, quota in zip(ind_names, quotas(sizes.train, len(ind_names)), strict=True):
            first_step = len(qc.steps)
            train = remove_overlap((_sample(r) for r in pools[name][0]), held_out, qc,
                                   text_of=lambda s: s["input"], limit=quota)
            if len(train) < quota and len(pools[name][0]) == self.train_kept(sizes):  # rare: read it again
                del qc.steps[first_step:]
                again = TaskQC(self.code, workers=qc.workers, detector=qc.detector)  # its steps are recorded already
                pool = self.category_pools(records[name], name, Sizes(train=10**12), seed, again)[0]
                train = remove_overlap((_sample(r) for r in pool), held_out, qc, text_of=lambda s: s["input"],
                                       limit=quota)
            examples["train"] += train
        return examples

    @staticmethod
    def train_kept(sizes: Sizes) -> int:
        return 2 * sizes.train + 1000

    def category_pools(self, reviews: Path | list[dict], name: str, sizes: Sizes, seed: int, qc: TaskQC
                       ) -> tuple[list, list, list]:
        """A category's cleaned reviews split 80/10/10, each part cut to what the splits can use."""
        qc.scope = name
        kept = self.clean(self.read(reviews) if isinstance(reviews, Path) else reviews, qc)
        qc.scope = ""
        train, validation, test = split_80_10_10(kept, rng_for(seed, self.code, f"split:{name}"))
        return train[:self.train_kept(sizes)], validation[:sizes.validation], test[:max(sizes.test, sizes.ood)]


def _rating(review: dict) -> int | None:
    try:
        return int(float(review.get("overall")))
    except (TypeError, ValueError):
        return None


def _sample(review: dict) -> dict:
    return {"input": review["reviewText"], "options": list(sa.TASK.options),
            "output": RATING_TO_OPTION[_rating(review)]}


PROCESSOR = SAProcessor()
