"""Instruction sets: per task a seed instruction and five paraphrases, one held out as *unseen*.

Rows of a setting draw their instruction from the set: ``single`` rows use the seed, ``unseen`` rows
the held-out paraphrase, ``diverse`` rows one of the other five (seed + four paraphrases) at random.
The package ships its own sets, one per task folder (``ecinstruct/tasks/<code>/instructions.json``); a user
can pass a file of their own (every task in one file, format of :func:`load_instructions`), or extract the
published set from the published data.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ecinstruct.errors import ECInstructError
from ecinstruct.settings import Setting, get_setting
from ecinstruct.tasks import TASKS, Task, get_task, task_folder

N_PARAPHRASES = 5


@dataclass(frozen=True)
class InstructionSet:
    """The instructions of one task."""

    seed: str
    paraphrases: tuple[str, ...]
    unseen_index: int

    def __post_init__(self) -> None:
        if not 0 <= self.unseen_index < len(self.paraphrases):
            raise ECInstructError(f"unseen_index {self.unseen_index} is outside the {len(self.paraphrases)} "
                                  "paraphrases; use an index of one of them")

    @property
    def unseen(self) -> str:
        return self.paraphrases[self.unseen_index]

    @property
    def diverse_pool(self) -> tuple[str, ...]:
        """The instructions diverse rows draw from: the other paraphrases, then the seed."""
        kept = tuple(p for i, p in enumerate(self.paraphrases) if i != self.unseen_index)
        return (*kept, self.seed)

    def for_setting(self, setting: Setting, rng: random.Random) -> str:
        """The instruction of one row of ``setting`` (draws from ``rng`` for diverse settings)."""
        if setting.instructions == "single":
            return self.seed
        if setting.instructions == "unseen":
            return self.unseen
        return rng.choice(self.diverse_pool)


def load_instructions(path: str | Path | None = None) -> dict[str, InstructionSet]:
    """Read an instruction file (default: the package's own, one per task folder) into
    ``{task code: InstructionSet}``.

    Format: ``{"tasks": {"AVE": {"seed": str, "paraphrases": [5 str], "unseen_index": int}, ...}}``;
    task keys may be codes or published names. Every task must be present. A task folder's
    ``instructions.json`` holds the inner object of its task.
    """
    raw = _package_sets() if path is None else json.loads(Path(path).read_text("utf-8")).get("tasks")
    if not isinstance(raw, dict):
        raise ECInstructError(f"{path}: expected an object with a 'tasks' mapping of task code → "
                              "{seed, paraphrases, unseen_index}")
    sets = {}
    for key, entry in raw.items():
        task = get_task(key)
        try:
            sets[task.code] = InstructionSet(entry["seed"], tuple(entry["paraphrases"]),
                                             int(entry["unseen_index"]))
        except (KeyError, TypeError) as err:
            raise ECInstructError(f"{path}: task {key} needs seed, paraphrases and unseen_index ({err})") from None
    missing = [t.code for t in TASKS if t.code not in sets]
    if missing:
        raise ECInstructError(f"{path}: no instructions for {', '.join(missing)}; every task needs a set")
    return sets


def _package_sets() -> dict[str, dict]:
    """The instruction set of every registered task, from ``instructions.json`` in its folder."""
    sets = {}
    for task in TASKS:
        path = task_folder(task) / "instructions.json"
        if not path.is_file():
            raise ECInstructError(f"task {task.code}: no {path}; a task folder needs its instruction set "
                                  "({seed, paraphrases, unseen_index})")
        sets[task.code] = json.loads(path.read_text("utf-8"))
    return sets


def extract_instructions(rows: Iterable[dict]) -> dict[str, dict]:
    """Recover the instruction sets used in published rows.

    Returns per task code: ``seed`` (the single-setting instruction), ``unseen`` (the unseen-setting
    one) and ``diverse_pool`` (the distinct diverse-setting instructions, most frequent first, with
    counts). Works on normalised or published rows (needs ``task``, ``setting``, ``instruction``).
    """
    seen: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for row in rows:
        task: Task = get_task(row["task"])
        kind = get_setting(row["setting"]).instructions
        seen[task.code][kind][row["instruction"]] += 1
    result = {}
    for code, kinds in seen.items():
        result[code] = {
            "seed": _single(kinds.get("single")),
            "unseen": _single(kinds.get("unseen")),
            "diverse_pool": [{"instruction": i, "rows": n} for i, n in kinds.get("diverse", Counter()).most_common()],
        }
    return result


def _single(counter: Counter | None) -> str | None:
    return counter.most_common(1)[0][0] if counter else None
