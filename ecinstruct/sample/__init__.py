"""The package's embedded ECInstruct sample: small, invented, in the exact published format.

It covers all 10 tasks, all 8 settings and all splits, and serves as test fixture and as the
default data of the offline demo. Every text is made up by the generators here (vocabulary in
:mod:`ecinstruct.sample.vocab`, one ``sample.py`` per task folder); each task carries a simple, consistent signal
so that a small model can learn it from a few dozen training rows.

Each generator has the signature ``make(rng, domain, k) -> example``: ``domain`` is ``"IND"`` or
``"OOD"`` and ``k`` the example's position in its split (generators cycle labels on it for balanced
classes; the split is shuffled afterwards so that 1-shot pairs, which match train *i* with test
*i*, do not share labels by construction).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Literal

from ecinstruct.assemble import assemble_rows
from ecinstruct.errors import ECInstructError
from ecinstruct.instructions import load_instructions
from ecinstruct.schema import PUBLISHED_COLUMNS
from ecinstruct.settings import SPLITS
from ecinstruct.tasks import Task, TaskParts, get_task, resolve_tasks

logger = logging.getLogger(__name__)

Generator = Callable[[random.Random, str, int], dict]
# Task code → ``make`` of the task folder's sample.py (``ecinstruct/tasks/<code>/sample.py``).
GENERATORS: Mapping[str, Generator] = TaskParts("sample", "make")
DEFAULT_SIZES: dict[str, int] = {"train": 48, "validation": 8, "test_ind": 16, "test_ood": 16}
SAMPLE_RESOURCE = "data/sample/dataset.jsonl"
_MAX_TRIES = 200  # redraws allowed per example to avoid an input already used in any split


def generate_examples(task: str | Task, sizes: dict[str, int] | None = None, seed: int = 0) -> dict[str, list[dict]]:
    """Per-split examples of one task, made by its folder's ``sample.py`` (``test_ood`` only for tasks with an OOD
    test).

    Inputs are unique across all splits of the task, so no test input occurs in train.
    """
    task = get_task(task)
    sizes = {**DEFAULT_SIZES, **(sizes or {})}
    if task.code not in GENERATORS:
        raise ECInstructError(f"task {task.code} has no sample generator: add sample.py with make(rng, domain, k) "
                              "to its folder")
    make = GENERATORS[task.code]
    # a string seed is hashed deterministically (not subject to PYTHONHASHSEED)
    rng = random.Random(f"ecinstruct-sample:{seed}:{task.code}")
    used: set[str] = set()
    examples = {}
    for split in SPLITS:
        if split == "test_ood" and not task.has_ood:
            continue
        domain = "OOD" if split == "test_ood" else "IND"
        examples[split] = _draw(make, rng, domain, sizes[split], used, task.code)
    return examples


def _draw(make: Generator, rng: random.Random, domain: str, n: int, used: set[str], code: str) -> list[dict]:
    drawn = []
    for k in range(n):
        for _ in range(_MAX_TRIES):
            example = make(rng, domain, k)
            if example["input"] not in used:
                break
        else:
            raise ECInstructError(f"{code}: could not draw {n} distinct {domain} inputs; ask for fewer examples")
        used.add(example["input"])
        drawn.append(example)
    rng.shuffle(drawn)
    return drawn


def sample_rows(
    sizes: dict[str, int] | None = None, seed: int = 0, tasks: str | Iterable | None = None
) -> Iterator[dict]:
    """Published-format rows of every setting, task by task in registry order."""
    instructions = load_instructions()
    for task in resolve_tasks(tasks):
        if tasks is None and task.code not in GENERATORS:
            continue  # "every task": those that can make examples
        yield from assemble_rows(task, generate_examples(task, sizes, seed), instructions[task.code], seed=seed)


def published_record(row: dict) -> dict:
    """The eight published columns in order, plus ``option_labels`` where known (QPR rows)."""
    record = {column: row.get(column) for column in PUBLISHED_COLUMNS}
    if row.get("option_labels") is not None:
        record["option_labels"] = list(row["option_labels"])
    return record


def write_published(path: str | Path, rows: Iterable[dict], fmt: Literal["jsonl", "array"] = "jsonl") -> int:
    """Write rows in the published file format; returns the number of rows.

    ``jsonl``: one JSON object per line; ``array``: a JSON array with one object per line. Output is
    ASCII (non-ASCII escaped like the published data) and byte-identical for identical rows.
    """
    if fmt not in ("jsonl", "array"):
        raise ECInstructError(f"unknown format {fmt!r}; use 'jsonl' or 'array'")
    lines = [json.dumps(published_record(row)) for row in rows]
    text = "\n".join(lines) + "\n" if fmt == "jsonl" else "[\n" + ",\n".join(lines) + "\n]\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if lines or fmt == "array" else "", encoding="utf-8", newline="\n")
    logger.info("wrote %d rows to %s", len(lines), path)
    return len(lines)


def default_sample_path() -> Path:
    """Path of the shipped sample (default sizes, seed 0)."""
    return Path(str(resources.files("ecinstruct").joinpath(SAMPLE_RESOURCE)))


def load_sample(path: str | Path | None = None) -> list[dict]:
    """Read a JSON-lines sample file (default: the shipped one) into published-format dicts."""
    text = Path(path or default_sample_path()).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


__all__ = [
    "DEFAULT_SIZES", "GENERATORS", "default_sample_path", "generate_examples", "load_sample",
    "published_record", "sample_rows", "write_published",
]
