"""The task registry: one module per task, one line per task here."""

from __future__ import annotations

from ecinstruct.errors import UnknownNameError
from ecinstruct.tasks import ag, ap, ave, mpc, pm, prp, psi, qpr, sa, sr
from ecinstruct.tasks.base import Task

# Paper order (Tables 2–3).
TASKS: tuple[Task, ...] = (
    ave.TASK,
    prp.TASK,
    pm.TASK,
    sa.TASK,
    sr.TASK,
    mpc.TASK,
    psi.TASK,
    qpr.TASK,
    ap.TASK,
    ag.TASK,
)

_BY_NAME: dict[str, Task] = {name.lower(): task for task in TASKS for name in task.names}


def get_task(name: str | Task) -> Task:
    """Look a task up by code (``"AVE"``/``"ave"``), exact published name, or accepted alias."""
    if isinstance(name, Task):
        return name
    task = _BY_NAME.get(str(name).strip().lower())
    if task is None:
        raise UnknownNameError("task", name, [t.code for t in TASKS] + [t.name for t in TASKS])
    return task


def resolve_tasks(tasks: str | Task | list | tuple | None) -> tuple[Task, ...]:
    """``None``/``"all"`` → every task; a comma string or a list → those tasks, in registry order."""
    if tasks is None or tasks == "all":
        return TASKS
    if isinstance(tasks, str | Task):
        tasks = [t for t in str(tasks).split(",") if t.strip()] if isinstance(tasks, str) else [tasks]
    wanted = {get_task(t) for t in tasks}
    return tuple(t for t in TASKS if t in wanted)


__all__ = ["TASKS", "Task", "get_task", "resolve_tasks"]
