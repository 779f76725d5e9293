"""ECInstruct: the e-commerce instruction dataset of the eCeLLM paper, as a Hugging Face dataset."""

from ecinstruct.errors import ECInstructError, RowFormatError, SourceError, UnknownNameError
from ecinstruct.instructions import InstructionSet, load_instructions
from ecinstruct.loading import load
from ecinstruct.prompts import PROMPT_FORMATS, build_prompt, to_prompt_completion
from ecinstruct.settings import CONFIGS, SETTINGS, SPLITS, get_config, get_setting
from ecinstruct.tasks import TASKS, Task, get_task

__version__ = "0.1.0"

__all__ = [
    "CONFIGS",
    "PROMPT_FORMATS",
    "SETTINGS",
    "SPLITS",
    "TASKS",
    "ECInstructError",
    "InstructionSet",
    "RowFormatError",
    "SourceError",
    "Task",
    "UnknownNameError",
    "build_prompt",
    "get_config",
    "get_setting",
    "get_task",
    "load",
    "load_instructions",
    "to_prompt_completion",
]
