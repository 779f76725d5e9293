"""Build ECInstruct from the raw sources: one processor per task, shared QC and decontamination.

Registry: task code → processor. Adding a task = one module exposing ``PROCESSOR`` + one line here.
See :mod:`ecinstruct.raw.pipeline` for the whole build and the raw-directory layout.
"""

from __future__ import annotations

from ecinstruct.raw.base import Layout, RawProcessor, Sizes, Source
from ecinstruct.tasks import Task, get_task
from ecinstruct.tasks.ag import raw as ag
from ecinstruct.tasks.ap import raw as ap
from ecinstruct.tasks.ave import raw as ave
from ecinstruct.tasks.mpc import raw as mpc
from ecinstruct.tasks.pm import raw as pm
from ecinstruct.tasks.prp import raw as prp
from ecinstruct.tasks.psi import raw as psi
from ecinstruct.tasks.qpr import raw as qpr
from ecinstruct.tasks.sa import raw as sa
from ecinstruct.tasks.sr import raw as sr

PROCESSORS: dict[str, RawProcessor] = {
    p.code: p
    for p in (ave.PROCESSOR, prp.PROCESSOR, pm.PROCESSOR, sa.PROCESSOR, sr.PROCESSOR,
              mpc.PROCESSOR, psi.PROCESSOR, qpr.PROCESSOR, ap.PROCESSOR, ag.PROCESSOR)
}


def get_processor(task: str | Task) -> RawProcessor:
    """The raw-source processor of a task (code, name or alias)."""
    return PROCESSORS[get_task(task).code]


__all__ = ["PROCESSORS", "Layout", "RawProcessor", "Sizes", "Source", "get_processor"]
