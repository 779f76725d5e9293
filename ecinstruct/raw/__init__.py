"""Build ECInstruct from the raw sources: one processor per task, shared QC and decontamination.

Each task's processor is the ``PROCESSOR`` of its folder's ``raw.py`` (``ecinstruct/tasks/<code>/raw.py``);
:data:`PROCESSORS` finds them. The shared machinery (readers of the common sources, QC, sampling,
decontamination) lives here. See :mod:`ecinstruct.raw.pipeline` for the whole build and the raw-directory
layout.
"""

from __future__ import annotations

from collections.abc import Mapping

from ecinstruct.raw.base import Layout, RawProcessor, Sizes, Source
from ecinstruct.tasks import Task, TaskParts, get_task

# Task code → processor, in registry order, for every task whose folder has a raw.py.
PROCESSORS: Mapping[str, RawProcessor] = TaskParts("raw", "PROCESSOR")


def get_processor(task: str | Task) -> RawProcessor:
    """The raw-source processor of a task (code, name or alias)."""
    return PROCESSORS[get_task(task).code]


__all__ = ["PROCESSORS", "Layout", "RawProcessor", "Sizes", "Source", "get_processor"]
