"""The eight ECInstruct settings, the dataset configs built from them, and the split names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ecinstruct.errors import UnknownNameError
from ecinstruct.tasks import TASKS, Task

Domain = Literal["IND", "OOD"]
InstructionKind = Literal["diverse", "single", "unseen"]

# Our split names; the published `split` column says train / val / test and the domain comes
# from the setting, so (split, domain) maps onto one of these.
SPLITS: tuple[str, ...] = ("train", "validation", "test_ind", "test_ood")
PUBLISHED_SPLITS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class Setting:
    """One value of the published ``setting`` column."""

    name: str
    domain: Domain
    instructions: InstructionKind
    one_shot: bool = False

    @property
    def group(self) -> str:
        """The config group of this setting (``default``, ``single_instruction``, ...)."""
        if self.one_shot:
            return "one_shot"
        return {"diverse": "default", "single": "single_instruction", "unseen": "unseen_instruction"}[
            self.instructions
        ]

    def split_name(self, published_split: str) -> str:
        """Map the published ``split`` value (train/val/test) to our split name."""
        if published_split == "test":
            return f"test_{self.domain.lower()}"
        if self.domain == "OOD":
            raise ValueError(f"setting {self.name} has only test rows, got split {published_split!r}")
        return {"train": "train", "val": "validation"}[published_split]


SETTINGS: tuple[Setting, ...] = (
    Setting("IND_Diverse_Instruction", "IND", "diverse"),
    Setting("OOD_Diverse_Instruction", "OOD", "diverse"),
    Setting("IND_Single_Instruction", "IND", "single"),
    Setting("OOD_Single_Instruction", "OOD", "single"),
    Setting("IND_Unseen_Instruction", "IND", "unseen"),
    Setting("OOD_Unseen_Instruction", "OOD", "unseen"),
    Setting("IND_Diverse_Instruction_1-shot", "IND", "diverse", one_shot=True),
    Setting("OOD_Diverse_Instruction_1-shot", "OOD", "diverse", one_shot=True),
)
_SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


def get_setting(name: str | Setting) -> Setting:
    """Look a setting up by its exact published name."""
    if isinstance(name, Setting):
        return name
    try:
        return _SETTINGS_BY_NAME[name]
    except (KeyError, TypeError):
        raise UnknownNameError("setting", name, _SETTINGS_BY_NAME) from None


@dataclass(frozen=True)
class ConfigSpec:
    """A dataset config: which tasks and which settings it holds."""

    name: str
    tasks: tuple[Task, ...]
    group: str
    description: str

    @property
    def settings(self) -> tuple[Setting, ...]:
        return tuple(s for s in SETTINGS if s.group == self.group)

    def contains(self, task: Task, setting: Setting) -> bool:
        return task in self.tasks and setting.group == self.group


def _build_configs() -> dict[str, ConfigSpec]:
    configs = [
        ConfigSpec("default", TASKS, "default", "ECInstruct proper: IND and OOD diverse-instruction rows, "
                   "all 10 tasks (what eCeLLM is trained and tested on)."),
        *(
            ConfigSpec(t.config_name, (t,), "default", f"{t.code} ({t.name}) rows of ECInstruct proper.")
            for t in TASKS
        ),
        ConfigSpec("single_instruction", TASKS, "single_instruction",
                   "Every row carries the seed instruction (instruction-diversity ablation)."),
        ConfigSpec("unseen_instruction", TASKS, "unseen_instruction",
                   "Test rows carrying the held-out paraphrase (generalisation to unseen instructions)."),
        ConfigSpec("one_shot", TASKS, "one_shot",
                   "Test rows with a solved training example in few_shot_example (1-shot evaluation)."),
    ]
    return {c.name: c for c in configs}


CONFIGS: dict[str, ConfigSpec] = _build_configs()
# Config groups that own data files; per-task configs reuse the files of `default`.
GROUPS: tuple[str, ...] = ("default", "single_instruction", "unseen_instruction", "one_shot")


def get_config(name: str | ConfigSpec) -> ConfigSpec:
    """Look a dataset config up by name (``default``, ``ave``, ..., ``one_shot``); task codes work too."""
    if isinstance(name, ConfigSpec):
        return name
    key = str(name).strip().lower()
    if key not in CONFIGS:
        raise UnknownNameError("config", name, CONFIGS)
    return CONFIGS[key]
