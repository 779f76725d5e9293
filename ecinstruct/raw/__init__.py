"""Build ECInstruct from the raw sources: one processor per task, shared QC and decontamination.

Registry: task code → processor. Adding a task = one module exposing ``PROCESSOR`` + one line here.
See :mod:`ecinstruct.raw.pipeline` for the whole build and the raw-directory layout.
"""

from __future__ import annotations

from ecinstruct.raw import ag, ap, ave, mpc, pm, prp, psi, qpr, sa, sr
from ecinstruct.raw.base import Layout, RawProcessor, Sizes, Source
from ecinstruct.tasks import Task, get_task

PROCESSORS: dict[str, RawProcessor] = {
    p.code: p
    for p in (ave.PROCESSOR, prp.PROCESSOR, pm.PROCESSOR, sa.PROCESSOR, sr.PROCESSOR,
              mpc.PROCESSOR, psi.PROCESSOR, qpr.PROCESSOR, ap.PROCESSOR, ag.PROCESSOR)
}


def get_processor(task: str | Task) -> RawProcessor:
    """The raw-source processor of a task (code, name or alias)."""
    return PROCESSORS[get_task(task).code]


__all__ = ["PROCESSORS", "Layout", "RawProcessor", "Sizes", "Source", "get_processor"]
