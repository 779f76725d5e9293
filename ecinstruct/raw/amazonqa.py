"""AmazonQA files shared by AP and AG.

Original distribution (https://github.com/amazonqa/amazonqa), under ``<raw-dir>/amazonqa/``:
``train-qar.jsonl``, ``val-qar.jsonl``, ``test-qar.jsonl`` (``.gz`` too). Each line: ``questionText``,
``questionType`` (``yesno``/``descriptive``), ``review_snippets`` (≤ 10 strings), ``answers``
(``answerText``, ``answerType``, ``helpful`` = [helpful votes, total votes]), ``asin``, ``qid``,
``category``, ``is_answerable``, …
"""

from __future__ import annotations

import json
from pathlib import Path

from ecinstruct.raw.base import Source
from ecinstruct.raw.io import iter_jsonl
from ecinstruct.raw.text import canonical_category

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
