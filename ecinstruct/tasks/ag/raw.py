"""AG from AmazonQA: answer a descriptive, answerable question from the review snippets.

The paper's construction: IND Electronics + Home_and_Kitchen, OOD Cell_Phones_and_Accessories; only
``questionType == "descriptive"`` and answerable questions; the reference answer is the one with the
most helpful votes among answers with any votes (first on ties); no helpful vote → question dropped.
Also reads plain QA-pair JSON lines (``{"question", "answer"}``, no review snippets) as a variant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from ecinstruct.raw import amazonqa
from ecinstruct.raw.base import Examples, Layout, Sizes, rng_for, split_80_10_10, test_texts
from ecinstruct.raw.decontam import remove_overlap
from ecinstruct.raw.io import iter_jsonl
from ecinstruct.raw.qc import TaskQC, clean_fields, dedupe, english_only, keep_if
from ecinstruct.tasks import ag


def best_answer(answers: list[dict] | None) -> str | None:
    """The answer with the most helpful votes among answers with votes (first on ties); None if 0."""
    best, best_votes = None, 0
    for answer in answers or []:
        helpful = answer.get("helpful") or [0, 0]
        votes, total = int(helpful[0]), int(helpful[1]) if len(helpful) > 1 else 0
        if total > 0 and votes > best_votes:
            best, best_votes = answer.get("answerText"), votes
    return best


@dataclass(frozen=True)
class AGProcessor(amazonqa.QAProcessor):
    task = ag.TASK

    ind_categories: tuple[str, ...] = ("Electronics", "Home_and_Kitchen")

    def layouts(self) -> tuple[Layout, ...]:
        return (*super().layouts(),
                Layout("qa-pairs-jsonl", (("ag_home_qa_pairs/*.txt", "ag_home_qa_pairs/*.jsonl"),), self._load_pairs,
                       fidelity="variant",
                       caveat="question–answer pairs of one Home category without review snippets (empty "
                              "document), no votes or answerability; no OOD test"))

    def usable(self, record: dict) -> bool:
        return (record.get("questionType") == "descriptive" and amazonqa.is_answerable(record)
                and bool(best_answer(record.get("answers"))))

    def to_example(self, record: dict) -> dict:
        return {"input": amazonqa.qa_input(record["questionText"], record["review_snippets"] or []),
                "options": None, "output": best_answer(record.get("answers"))}

    def select(self, records: list[dict], n: int, rng: random.Random) -> list[dict]:
        records = list(records)
        rng.shuffle(records)
        examples = []
        for r in records:
            if len(examples) >= n:
                break
            if r.get("questionType") != "descriptive" or not amazonqa.is_answerable(r):
                continue
            answer = best_answer(r.get("answers"))
            if answer:
                examples.append({"input": amazonqa.qa_input(r["questionText"], r["review_snippets"] or []),
                                "options": None, "output": answer})
        return examples

    # ------------------------------------------------------------------------ QA pairs (variant)

    def _load_pairs(self, paths: list[Path], qc: TaskQC) -> list[dict]:
        return list(iter_jsonl(paths[0]))

    def make_examples(self, records, sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        if isinstance(records, dict):  # AmazonQA split files
            return super().make_examples(records, sizes, seed, qc)
        return self.pair_examples(records, sizes, seed, qc)

    def pair_examples(self, pairs: list[dict], sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        pairs = keep_if(pairs, lambda p: bool(p.get("question")) and bool(p.get("answer")), qc,
                        "has question and answer")
        pairs = clean_fields(pairs, ("question", "answer"), qc)
        pairs = english_only(pairs, ("question", "answer"), qc)
        pairs = dedupe(pairs, lambda p: p["question"].lower(), qc, "same question")
        as_examples = [{"input": amazonqa.qa_input(p["question"], []), "options": None, "output": p["answer"]}
                      for p in pairs]
        train, val, test = split_80_10_10(as_examples, rng_for(seed, self.code, "split"))
        examples = {"validation": val[:sizes.validation], "test_ind": test[:sizes.test]}
        examples["train"] = remove_overlap(train, test_texts(examples), qc, text_of=lambda s: s["input"],
                                          limit=sizes.train)
        return {split: examples[split] for split in ("train", "validation", "test_ind")}


PROCESSOR = AGProcessor()
