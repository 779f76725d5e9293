"""Turn per-split task examples into published-format rows of all eight settings.

An *example* is ``{"input": str, "options": list[str] | None, "output": str}`` (plus
``"option_labels"`` for QPR): a solved instance of the task, before it gets an instruction and a setting.
Examples come per split: ``train``, ``validation``, ``test_ind`` and,
for tasks with an OOD test, ``test_ood``. This module applies the paper's instruction scheme
(shared by every task, whatever built the examples):

* ``*_Diverse_Instruction``: every row draws one instruction of the diverse pool at random;
* ``*_Single_Instruction``: every row uses the seed instruction;
* ``*_Unseen_Instruction``: test rows with the held-out paraphrase;
* ``*_Diverse_Instruction_1-shot``: test row *i* with train example *i* as its solved example
  (OOD test rows take their example from the IND train examples too).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

from ecinstruct.instructions import InstructionSet
from ecinstruct.settings import SETTINGS, Setting
from ecinstruct.tasks import Task

_PUBLISHED_SPLIT = {"train": "train", "validation": "val", "test_ind": "test", "test_ood": "test"}


def few_shot_example(task: Task, example: dict) -> str:
    """The ``few_shot_example`` string: a JSON object with input, options (option tasks), output."""
    shot = {"input": example["input"]}
    if task.has_options:
        shot["options"] = task.serialize_options(example.get("options"))
    shot["output"] = example["output"]
    return json.dumps(shot)


def _splits_of(setting: Setting) -> tuple[str, ...]:
    if setting.domain == "OOD":
        return ("test_ood",)
    if setting.instructions == "unseen" or setting.one_shot:
        return ("test_ind",)
    return ("train", "validation", "test_ind")


def assemble_rows(
    task: Task, examples: dict[str, list[dict]], instructions: InstructionSet, seed: int = 1
) -> Iterator[dict]:
    """Published-format rows (eight columns + ``option_labels``) of every setting, setting by setting.

    Deterministic: the diverse-instruction draws come from a generator seeded by ``seed`` and the task.
    """
    rng = random.Random(f"{seed}:{task.code}:instructions")
    train = examples.get("train", [])
    for setting in SETTINGS:
        if setting.domain == "OOD" and not task.has_ood:
            continue
        for split in _splits_of(setting):
            for i, example in enumerate(examples.get(split, [])):
                shot = None
                if setting.one_shot:
                    if not train:
                        continue
                    shot = few_shot_example(task, train[i % len(train)])
                yield {
                    "output": example["output"],
                    "input": example["input"],
                    "options": task.serialize_options(example.get("options")),
                    "task": task.name,
                    "setting": setting.name,
                    "split": _PUBLISHED_SPLIT[split],
                    "few_shot_example": shot,
                    "instruction": instructions.for_setting(setting, rng),
                    "option_labels": example.get("option_labels"),
                }
