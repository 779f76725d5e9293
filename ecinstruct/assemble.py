"""Turn per-split task samples into published-format rows of all eight settings.

A *sample* is ``{"input": str, "options": list[str] | None, "output": str}`` (plus
``"option_labels"`` for QPR). Samples come per split: ``train``, ``validation``, ``test_ind`` and,
for tasks with an OOD test, ``test_ood``. This module applies the paper's instruction scheme
(shared by every task, whatever built the samples):

* ``*_Diverse_Instruction``: every row draws one instruction of the diverse pool at random;
* ``*_Single_Instruction``: every row uses the seed instruction;
* ``*_Unseen_Instruction``: test rows with the held-out paraphrase;
* ``*_Diverse_Instruction_1-shot``: test row *i* with train sample *i* as its solved example
  (OOD test rows take their example from the IND train samples too).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

from ecinstruct.instructions import InstructionSet
from ecinstruct.settings import SETTINGS, Setting
from ecinstruct.tasks import Task

_PUBLISHED_SPLIT = {"train": "train", "validation": "val", "test_ind": "test", "test_ood": "test"}


def few_shot_example(task: Task, sample: dict) -> str:
    """The ``few_shot_example`` string: a JSON object with input, options (option tasks), output."""
    example = {"input": sample["input"]}
    if task.has_options:
        example["options"] = task.serialize_options(sample.get("options"))
    example["output"] = sample["output"]
    return json.dumps(example)


def _splits_of(setting: Setting) -> tuple[str, ...]:
    if setting.domain == "OOD":
        return ("test_ood",)
    if setting.instructions == "unseen" or setting.one_shot:
        return ("test_ind",)
    return ("train", "validation", "test_ind")


def assemble_rows(
    task: Task, samples: dict[str, list[dict]], instructions: InstructionSet, seed: int = 1
) -> Iterator[dict]:
    """Published-format rows (eight columns + ``option_labels``) of every setting, setting by setting.

    Deterministic: the diverse-instruction draws come from a generator seeded by ``seed`` and the task.
    """
    rng = random.Random(f"{seed}:{task.code}:instructions")
    train = samples.get("train", [])
    for setting in SETTINGS:
        if setting.domain == "OOD" and not task.has_ood:
            continue
        for split in _splits_of(setting):
            for i, sample in enumerate(samples.get(split, [])):
                example = None
                if setting.one_shot:
                    if not train:
                        continue
                    example = few_shot_example(task, train[i % len(train)])
                yield {
                    "output": sample["output"],
                    "input": sample["input"],
                    "options": task.serialize_options(sample.get("options")),
                    "task": task.name,
                    "setting": setting.name,
                    "split": _PUBLISHED_SPLIT[split],
                    "few_shot_example": example,
                    "instruction": instructions.for_setting(setting, rng),
                    "option_labels": sample.get("option_labels"),
                }
