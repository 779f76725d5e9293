"""The paper's quality control as reusable steps, each recording how many rows it dropped.

Steps take rows (any dicts), return the kept rows, and record ``(step, rows in, rows out)`` in a
:class:`TaskQC`, with the wall time since the previous record (so reading the rows a step filters
counts towards that step). A processor chains the steps that apply to its source; the report of all
tasks (:class:`QCReport`) goes into the dataset card without the times (the card must be
byte-identical for the same inputs), and with them on the console.

The per-record steps (:func:`clean_fields`, :func:`english_only`) run on the task's
:class:`~ecinstruct.raw.parallel.Workers`; the English check uses the task's detector
(:mod:`ecinstruct.raw.langid`).
"""

from __future__ import annotations

import functools
import html
import re
import time
import unicodedata
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ecinstruct.raw.english_words import ENGLISH_WORDS, FOREIGN_WORDS, is_english  # noqa: F401  (public here too)
from ecinstruct.raw.parallel import SERIAL, Workers

Row = dict


@dataclass
class QCStep:
    name: str
    rows_in: int
    rows_out: int
    detail: str = ""
    seconds: float = 0.0

    @property
    def dropped(self) -> int:
        return self.rows_in - self.rows_out


@dataclass
class TaskQC:
    """QC record of one task: steps in order, the layout used and the final split sizes.

    Also carries how per-record steps run: ``workers`` (the process pool) and ``detector`` (the
    English check; ``None``: :func:`ecinstruct.raw.langid.default_detector`).
    """

    code: str
    steps: list[QCStep] = field(default_factory=list)
    splits: dict[str, int] = field(default_factory=dict)
    layout: str = ""
    fidelity: str = ""
    caveat: str = ""
    scope: str = ""  # the part being processed (a category file), prefixed to step details
    workers: Workers = field(default=SERIAL, repr=False, compare=False)
    detector: Any = field(default=None, repr=False, compare=False)
    _mark: float = field(default_factory=time.perf_counter, repr=False, compare=False)

    def start_clock(self) -> None:
        self._mark = time.perf_counter()

    def record(self, name: str, rows_in: int, rows_out: int, detail: str = "") -> None:
        if self.scope:
            detail = f"[{self.scope}] {detail}".strip()
        now = time.perf_counter()
        self.steps.append(QCStep(name, rows_in, rows_out, detail, now - self._mark))
        self._mark = now

    def english_detector(self):
        if self.detector is None:
            from ecinstruct.raw.langid import default_detector

            self.detector = default_detector()
        return self.detector

    def record_split(self, split: str, n: int) -> None:
        self.splits[split] = n

    def step(self, name: str) -> QCStep:
        """The (last) step of that name; KeyError when it did not run."""
        for step in reversed(self.steps):
            if step.name == name:
                return step
        raise KeyError(f"{self.code}: no QC step {name!r}; ran {[s.name for s in self.steps]}")


@dataclass
class QCReport:
    tasks: dict[str, TaskQC] = field(default_factory=dict)

    def for_task(self, code: str) -> TaskQC:
        return self.tasks.setdefault(code, TaskQC(code))

    def markdown(self, *, times: bool = False) -> str:
        """The report as markdown tables; ``times`` adds each step's seconds and rows/s (not for cards)."""
        timing = (" s | rows/s |", "---:|---:|") if times else ("", "")
        lines = [f"| task | source layout | step | rows in | rows out | dropped | note |{timing[0]}",
                 f"|---|---|---|---:|---:|---:|---|{timing[1]}"]
        for code, qc in self.tasks.items():
            layout = f"{qc.layout} ({qc.fidelity})" if qc.layout else ""
            for step in qc.steps:
                line = (f"| {code} | {layout} | {step.name} | {step.rows_in} | {step.rows_out} | "
                        f"{step.dropped} | {step.detail} |")
                if times:
                    rate = f"{step.rows_in / step.seconds:,.0f}" if step.seconds > 0 else "—"
                    line += f" {step.seconds:.2f} | {rate} |"
                lines.append(line)
        lines.append("")
        lines.append("| task | " + " | ".join(("train", "validation", "test_ind", "test_ood")) + " |")
        lines.append("|---|---:|---:|---:|---:|")
        for code, qc in self.tasks.items():
            cells = [str(qc.splits.get(s, "—")) for s in ("train", "validation", "test_ind", "test_ood")]
            lines.append(f"| {code} | " + " | ".join(cells) + " |")
        caveats = [f"* **{code}** ({qc.layout}): {qc.caveat}" for code, qc in self.tasks.items() if qc.caveat]
        if caveats:
            lines += ["", "Sources that differ from the paper's:", "", *caveats]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------- text

_TAG = re.compile(r"<[^>]{0,500}>")
# Entities that a tokeniser split apart ("& # xff1f ;", "& amp ;") — seen in tokenised QA dumps.
_SPLIT_ENTITY = re.compile(r"&\s*#\s*(x?[0-9a-fA-F]+)\s*;|&\s*(amp|lt|gt|quot|apos|nbsp)\s*;")
_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200d\ufeff]")
_SPACE = re.compile(r"\s+")


def _join_entity(match: re.Match) -> str:
    return f"&#{match.group(1)};" if match.group(1) else f"&{match.group(2)};"


def clean_text(text: object) -> str:
    """HTML tags and entities removed/decoded, Unicode NFKC-normalised, whitespace collapsed.

    ``None``/NaN become ``""``. Entities are decoded twice because scraped text is often
    double-escaped (``&amp;amp;``).
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    text = _SPLIT_ENTITY.sub(_join_entity, str(text))
    text = html.unescape(html.unescape(text))
    text = _TAG.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub("", text)
    return _SPACE.sub(" ", text).strip()


def ascii_fold(text: str) -> str:
    """NFKD-normalise and drop non-ASCII characters (the paper's treatment of ESCI text)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def n_words(text: str) -> int:
    """Number of space-separated words, the paper's measure: ``text.split(" ")``, so a double space
    counts as an (empty) word. Apply length steps before :func:`clean_fields` collapses spaces."""
    return len(text.split(" ")) if text else 0


# ---------------------------------------------------------------------------------------------- steps


def clean_fields(rows: Iterable[Row], fields: tuple[str, ...], qc: TaskQC, *, name: str = "clean-up") -> list[Row]:
    """Apply :func:`clean_text` to ``fields`` (string or list-of-string values); rows that end up with
    an empty first field are dropped (nothing left after removing markup). Runs on ``qc.workers``."""
    rows = list(rows)
    cleaned = qc.workers.map(functools.partial(_clean_row, fields=fields), rows, desc=f"{qc.code} {name}",
                             total=len(rows))
    kept = [row for row in cleaned if row[fields[0]]]
    qc.record(name, len(rows), len(kept), f"HTML/entities/Unicode on {', '.join(fields)}")
    return kept


def _clean_row(row: Row, fields: tuple[str, ...]) -> Row:
    row = dict(row)
    for f in fields:
        value = row.get(f)
        row[f] = [clean_text(v) for v in value] if isinstance(value, list) else clean_text(value)
    return row


def keep_if(rows: Iterable[Row], predicate: Callable[[Row], bool], qc: TaskQC, name: str,
            detail: str = "") -> list[Row]:
    """The generic filter step: keep rows satisfying ``predicate``."""
    rows = list(rows)
    kept = [r for r in rows if predicate(r)]
    qc.record(name, len(rows), len(kept), detail)
    return kept


def english_only(rows: Iterable[Row], fields: tuple[str, ...], qc: TaskQC) -> list[Row]:
    """Keep rows whose every text field is English (``qc``'s detector, on ``qc.workers``)."""
    rows = list(rows)
    detector = qc.english_detector()
    verdicts = qc.workers.map(functools.partial(_all_english, detector=detector, fields=fields), rows,
                              desc=f"{qc.code} english-only", total=len(rows))
    kept = [row for row, english in zip(rows, verdicts, strict=True) if english]
    qc.record("english-only", len(rows), len(kept), f"fields {', '.join(fields)}; {detector.name}")
    return kept


def _all_english(row: Row, detector, fields: tuple[str, ...]) -> bool:
    return all(detector.is_english(str(row.get(f) or "")) for f in fields)


def min_words(rows: Iterable[Row], field: str, n: int, qc: TaskQC) -> list[Row]:
    """Minimum detail: at least ``n`` space-separated words in ``field``."""
    return keep_if(rows, lambda r: n_words(str(r.get(field) or "")) >= n, qc, "min-words", f"{field} ≥ {n} words")


def max_chars(rows: Iterable[Row], field: str, n: int, qc: TaskQC) -> list[Row]:
    """Length limit: fewer than ``n`` characters in ``field``."""
    return keep_if(rows, lambda r: len(str(r.get(field) or "")) < n, qc, "max-chars", f"{field} < {n} chars")


def dedupe(rows: Iterable[Row], key: Callable[[Row], Hashable], qc: TaskQC, detail: str = "") -> list[Row]:
    """Keep the first row of every distinct ``key``."""
    rows = list(rows)
    seen: set = set()
    kept = []
    for row in rows:
        k = key(row)
        if k not in seen:
            seen.add(k)
            kept.append(row)
    qc.record("dedupe", len(rows), len(kept), detail)
    return kept
