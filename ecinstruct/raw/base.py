"""What every raw-source processor shares: sizes, source descriptions, layouts, seeded sampling.

A processor turns one task's raw source into *examples* per split (``train``, ``validation``,
``test_ind`` and, for tasks with an OOD test, ``test_ood``); :mod:`ecinstruct.assemble` turns
examples into published-format rows. A source can be laid out in several ways under the raw
directory (the authors' original distribution, or a smaller real subset in another format): each
way is a :class:`Layout`, which knows the files it needs and how to load them into the
processor's common intermediate records.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, ClassVar

from ecinstruct.errors import ECInstructError, SourceError
from ecinstruct.raw.qc import TaskQC
from ecinstruct.tasks import Task

logger = logging.getLogger(__name__)

Examples = dict[str, list[dict]]


@dataclass(frozen=True)
class Sizes:
    """Rows per split; the paper's defaults are 10,000 / 1,000 / 1,000 and 1,000 OOD test rows."""

    train: int = 10_000
    validation: int = 1_000
    test: int = 1_000
    ood: int = 1_000

    _ALIASES: ClassVar[dict[str, str]] = {"val": "validation", "test_ind": "test", "test_ood": "ood"}

    @classmethod
    def parse(cls, text: str | None) -> Sizes:
        """``"train=10000,validation=1000,test=1000,ood=1000"`` (any subset; ``val`` works too)."""
        if not text:
            return cls()
        values: dict[str, int] = {}
        names = {f.name for f in fields(cls)}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, _, value = part.partition("=")
            key = cls._ALIASES.get(key.strip().lower(), key.strip().lower())
            if key not in names or not value.strip().isdigit():
                raise ECInstructError(f"bad size {part!r}: expected name=count with name one of "
                                      f"{', '.join(sorted(names))}, e.g. train=10000,validation=1000,test=1000")
            values[key] = int(value)
        return replace(cls(), **values)

    def for_split(self, split: str) -> int:
        return {"train": self.train, "validation": self.validation, "test_ind": self.test,
                "test_ood": self.ood}[split]

    def __str__(self) -> str:
        return f"train={self.train},validation={self.validation},test={self.test},ood={self.ood}"


@dataclass(frozen=True)
class Source:
    """Where a raw source comes from and under which terms."""

    name: str
    origin: str
    license: str


@dataclass(frozen=True)
class Layout:
    """One accepted arrangement of a source's files under the raw directory.

    ``required`` lists, per needed file, the accepted relative paths (globs); the first existing one
    is used. ``load(paths, qc)`` reads them into the processor's intermediate records.
    ``fidelity`` is ``"paper"`` when the layout is the source the paper used, ``"variant"`` for a
    related real subset that changes the task (``caveat`` says how).
    """

    name: str
    required: tuple[tuple[str, ...], ...]
    load: Callable[[list[Path], TaskQC], Any]
    fidelity: str = "paper"
    caveat: str = ""

    def find(self, raw_dir: Path) -> list[Path] | None:
        """The files of this layout under ``raw_dir``, or ``None`` when one is missing."""
        found = []
        for alternatives in self.required:
            match = _first_match(raw_dir, alternatives)
            if match is None:
                return None
            found.append(match)
        return found

    def describe(self) -> str:
        return " + ".join(" or ".join(alts) for alts in self.required)


def _first_match(raw_dir: Path, patterns: Sequence[str]) -> Path | None:
    for pattern in patterns:
        matches = sorted(p for p in raw_dir.glob(pattern) if p.is_file())
        if matches:
            return matches[0]
    return None


class RawProcessor:
    """Builds one task's examples from its raw source.

    Subclasses set ``task`` and ``source``, list their accepted :meth:`layouts` (the paper's source
    first) and implement :meth:`make_examples` on the layouts' common intermediate records.
    Subclasses are dataclasses whose fields are the task's construction parameters (categories,
    minimum lengths, ...), so a user can change them with :func:`dataclasses.replace`.
    """

    task: ClassVar[Task]
    source: ClassVar[Source]
    # Why near-duplicates between train and test are expected for this task (None: they are not).
    near_overlap_by_design: ClassVar[str | None] = None

    @property
    def code(self) -> str:
        return self.task.code

    def layouts(self) -> tuple[Layout, ...]:
        raise NotImplementedError

    def make_examples(self, records: Any, sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        raise NotImplementedError

    def detect(self, raw_dir: str | Path) -> tuple[Layout, list[Path]] | None:
        """The first layout whose files all exist under ``raw_dir`` (paper layouts are listed first)."""
        for layout in self.layouts():
            paths = layout.find(Path(raw_dir))
            if paths is not None:
                return layout, paths
        return None

    def missing_message(self, raw_dir: str | Path) -> str:
        accepted = "; or ".join(f"[{layout.name}] {layout.describe()}" for layout in self.layouts())
        return (f"{self.code} ({self.task.name}): no source files under {raw_dir}. Expected {accepted}. "
                f"Source: {self.source.name}, from {self.source.origin} (license: {self.source.license}).")

    def require(self, raw_dir: str | Path) -> tuple[Layout, list[Path]]:
        found = self.detect(raw_dir)
        if found is None:
            raise SourceError(self.missing_message(raw_dir))
        return found

    def build(self, raw_dir: str | Path, sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        """Examples per split, deterministic for a given ``seed``; QC drops are recorded in ``qc``."""
        layout, paths = self.require(raw_dir)
        qc.layout, qc.fidelity, qc.caveat = layout.name, layout.fidelity, layout.caveat
        logger.info("%s: reading %s (%s)", self.code, layout.name, ", ".join(str(p) for p in paths))
        qc.start_clock()
        records = layout.load(paths, qc)
        examples = self.make_examples(records, sizes, seed, qc)
        for split, rows in examples.items():
            qc.record_split(split, len(rows))
        return examples


def rng_for(seed: int, code: str, purpose: str) -> random.Random:
    """A generator fixed by the seed, the task and what it is used for (string seeds hash stably)."""
    return random.Random(f"{seed}:{code}:{purpose}")


def split_80_10_10(items: list, rng: random.Random) -> tuple[list, list, list]:
    """Shuffle and cut 80/10/10 into train, validation, test pools."""
    items = list(items)
    rng.shuffle(items)
    n_train, n_val = int(len(items) * 0.8), int(len(items) * 0.1)
    return items[:n_train], items[n_train:n_train + n_val], items[n_train + n_val:]


def require_file(path: Path, what: str, source: Source) -> Path:
    """``path`` if it exists; otherwise a :class:`SourceError` naming the file, its origin and license."""
    if not path.is_file():
        raise SourceError(f"{path}: missing {what}. It comes from {source.name} ({source.origin}; "
                          f"license: {source.license}).")
    return path


def quotas(n: int, k: int) -> list[int]:
    """``n`` split into ``k`` near-equal parts, larger parts first (10,000 / 3 → 3,334, 3,333, 3,333)."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def test_texts(examples: Examples) -> list[str]:
    """Inputs of every held-out split (validation and tests): what training rows must not repeat."""
    return [s["input"] for split, rows in examples.items() if split != "train" for s in rows]
