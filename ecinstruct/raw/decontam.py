"""Train/test overlap: exact and near-duplicate inputs, for our builds and for the published data.

Texts are compared on their *content*: a JSON-encoded input contributes its string values (keys
are the template, shared by every row), a Python-literal list (SR) its elements; then lower-cased,
NFKC-normalised, punctuation removed. *Exact* = equal normalised text. *Near* = Jaccard similarity
of word 5-gram shingles at or above a threshold (0.8 by default), found through an inverted index of
the reference side's shingles and checked exactly (no hashing approximation, so results are
deterministic and reproducible).
"""

from __future__ import annotations

import ast
import json
import logging
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from ecinstruct.raw.qc import TaskQC
from ecinstruct.settings import get_setting
from ecinstruct.tasks import TASKS, get_task

logger = logging.getLogger(__name__)

SHINGLE = 5
THRESHOLD = 0.8
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def content_text(text: str) -> str:
    """The comparable content of an input: JSON/Python-literal values joined, normalised."""
    parts = list(_leaves(_parse(text)))
    joined = " ".join(parts)
    joined = unicodedata.normalize("NFKC", joined).lower()
    return _NON_WORD.sub(" ", joined).strip()


def _parse(text: str) -> object:
    stripped = text.strip()
    if stripped[:1] in "[{":
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            try:
                return ast.literal_eval(stripped)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                pass
    return text


def _leaves(value: object) -> Iterable[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _leaves(v)
    elif value is not None:
        yield str(value)


def shingles(normalised: str, n: int = SHINGLE) -> frozenset[str]:
    """Word ``n``-grams; a text shorter than ``n`` words is one shingle."""
    words = normalised.split()
    if len(words) <= n:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))


class OverlapIndex:
    """Reference texts (e.g. the test inputs) indexed for exact and near-duplicate look-ups."""

    def __init__(self, texts: Sequence[str], threshold: float = THRESHOLD, n: int = SHINGLE) -> None:
        self.threshold, self.n = threshold, n
        self.exact: dict[str, int] = {}
        self.sets: list[frozenset[str]] = []
        self.postings: dict[str, list[int]] = defaultdict(list)
        for i, text in enumerate(texts):
            norm = content_text(text)
            self.exact.setdefault(norm, i)
            sh = shingles(norm, n)
            self.sets.append(sh)
            for s in sh:
                self.postings[s].append(i)
        # Shingles shared by very many references (boilerplate) would make every text a candidate;
        # they still count in the Jaccard check, they just don't propose candidates.
        self.max_postings = max(50, len(texts) // 100)

    def match(self, text: str, near: bool = True) -> tuple[str, int, float] | None:
        """``("exact" | "near", reference index, similarity)`` of the closest reference, or ``None``."""
        norm = content_text(text)
        if norm in self.exact:
            return "exact", self.exact[norm], 1.0
        if not near:
            return None
        sh = shingles(norm, self.n)
        candidates: set[int] = set()
        for s in sh:
            posting = self.postings.get(s)
            if posting and len(posting) <= self.max_postings:
                candidates.update(posting)
        best: tuple[str, int, float] | None = None
        for i in sorted(candidates):
            ref = self.sets[i]
            inter = len(sh & ref)
            sim = inter / (len(sh) + len(ref) - inter) if inter else 0.0
            if sim >= self.threshold and (best is None or sim > best[2]):
                best = ("near", i, sim)
        return best


def remove_overlap(rows: Iterable[dict], references: Sequence[str], qc: TaskQC, *,
                   text_of: Callable[[dict], str], near: bool = True, limit: int | None = None,
                   threshold: float = THRESHOLD) -> list[dict]:
    """QC step: drop rows whose text duplicates (exactly, or nearly when ``near``) a reference text.

    Used to drop training candidates that overlap the validation/test inputs. With ``limit`` the
    scan stops once that many rows are kept (the pools can be far larger than the sample).
    """
    index = OverlapIndex(references, threshold)
    kept, scanned, exact, close = [], 0, 0, 0
    for row in rows:
        if limit is not None and len(kept) >= limit:
            break
        scanned += 1
        hit = index.match(text_of(row), near=near)
        if hit is None:
            kept.append(row)
        elif hit[0] == "exact":
            exact += 1
        else:
            close += 1
    kind = "exact + near" if near else "exact only"
    qc.record("train/test overlap", scanned, len(kept), f"{kind}: {exact} exact, {close} near (J≥{threshold})")
    return kept


# ------------------------------------------------------------------------------------------- report


@dataclass
class SplitOverlap:
    test_rows: int
    exact: int = 0
    near: int = 0
    examples: list[tuple[str, str, float]] = field(default_factory=list)


@dataclass
class DecontamReport:
    """Per task and test split: how many test inputs duplicate a training input."""

    threshold: float
    tasks: dict[str, dict[str, SplitOverlap]] = field(default_factory=dict)
    train_rows: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def total(self, kind: str = "exact", *, include_by_design: bool = True) -> int:
        return sum(getattr(s, kind) for code, splits in self.tasks.items() for s in splits.values()
                   if include_by_design or code not in self.notes)

    def markdown(self) -> str:
        lines = [f"Test inputs that duplicate a training input of the same task (exact after normalisation; "
                 f"near = Jaccard of word {SHINGLE}-grams ≥ {self.threshold}).", "",
                 "| task | test split | test rows | train rows | exact | near | note |",
                 "|---|---|---:|---:|---:|---:|---|"]
        for code, splits in self.tasks.items():
            for split, s in splits.items():
                lines.append(f"| {code} | {split} | {s.test_rows} | {self.train_rows.get(code, 0)} | {s.exact} | "
                             f"{s.near} | {self.notes.get(code, '')} |")
        return "\n".join(lines)


def _split_of(row: dict) -> str | None:
    """Our split name of a row (published rows: only the diverse settings, so examples count once)."""
    split = row.get("split")
    if row.get("setting"):
        setting = get_setting(row["setting"])
        if setting.group != "default":
            return None
        return setting.split_name(split)
    return {"val": "validation", "test": "test_ind"}.get(split, split)


def decontamination_report(rows: Iterable[dict], *, threshold: float = THRESHOLD,
                           by_design: dict[str, str] | None = None) -> DecontamReport:
    """Measure train/test overlap per task in rows that carry ``task``, ``split`` and ``input``.

    Works on published rows (``setting`` present: the diverse-instruction rows are used, since the
    other settings repeat the same inputs), normalised rows, or plain examples labelled with our split
    names (``train``/``validation``/``test_ind``/``test_ood``). ``by_design`` maps task codes to a
    note for tasks whose near-duplicates are part of the task's definition (SR's leave-last-out).
    """
    grouped: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        split = _split_of(row)
        if split is not None:
            grouped[get_task(row["task"]).code][split].append(row["input"])
    report = DecontamReport(threshold, notes={k: v for k, v in (by_design or {}).items() if k in grouped})
    for code in sorted(grouped, key=_task_order):
        splits = grouped[code]
        train = splits.get("train", [])
        report.train_rows[code] = len(train)
        tests = {s: texts for s, texts in splits.items() if s.startswith("test")}
        if not tests:
            continue
        index = OverlapIndex(train, threshold)
        report.tasks[code] = {s: _measure(index, texts, train, code, s) for s, texts in sorted(tests.items())}
    return report


def _task_order(code: str) -> int:
    return [t.code for t in TASKS].index(code)


def _measure(index: OverlapIndex, texts: list[str], train: list[str], code: str, split: str) -> SplitOverlap:
    result = SplitOverlap(len(texts))
    kinds: Counter = Counter()
    for text in tqdm(texts, desc=f"overlap {code} {split}", unit=" rows", mininterval=2, disable=None):
        hit = index.match(text)
        if hit is None:
            continue
        kinds[hit[0]] += 1
        if len(result.examples) < 3:
            result.examples.append((text[:120], train[hit[1]][:120], round(hit[2], 3)))
    result.exact, result.near = kinds["exact"], kinds["near"]
    return result
