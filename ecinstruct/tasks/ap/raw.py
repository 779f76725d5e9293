"""AP from AmazonQA: can the question be answered from the review snippets? (``is_answerable``)."""

from __future__ import annotations

from dataclasses import dataclass

from ecinstruct.raw import amazonqa
from ecinstruct.tasks import ap


def example_of(record: dict) -> dict:
    return {"input": amazonqa.qa_input(record["questionText"], record["review_snippets"] or []),
            "options": None, "output": "yes" if amazonqa.is_answerable(record) else "no"}


@dataclass(frozen=True)
class APProcessor(amazonqa.QAProcessor):
    task = ap.TASK

    ind_categories: tuple[str, ...] = ("Sports_and_Outdoors", "Tools_and_Home_Improvement")

    def to_example(self, record: dict) -> dict:
        return example_of(record)


PROCESSOR = APProcessor()
