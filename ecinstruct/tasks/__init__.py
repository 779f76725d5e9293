"""The task registry: every task is one folder, found by a scan.

A task folder is a Python package (``ecinstruct/tasks/<code>/``) holding everything about one task:

* ``__init__.py`` defines ``TASK``, a :class:`~ecinstruct.tasks.base.Task` (names, options, scorer, input
  fields, result reading; ``order`` places it among the others);
* ``instructions.json`` its instruction set (``seed``, five ``paraphrases``, ``unseen_index``);
* ``sample.py`` (optional) ``make(rng, domain, k) -> example``, its generator of the embedded sample;
* ``raw.py`` (optional) ``PROCESSOR``, its :class:`~ecinstruct.raw.base.RawProcessor` (build from raw sources).

The package's own tasks are the folders under ``ecinstruct/tasks/``. A task of your own is one such folder
anywhere: name it (or the folder holding several) in ``ECINSTRUCT_TASK_PATH`` (folders separated by
``os.pathsep``), read when ``ecinstruct`` is imported, or pass it to :func:`register_folder`. Nothing else
changes: the CLI, the builders, the evaluation and the predictor all list tasks from :data:`TASKS`.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import pkgutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, overload

from ecinstruct.errors import ECInstructError, UnknownNameError
from ecinstruct.tasks.base import Task

logger = logging.getLogger(__name__)

TASK_PATH_ENV = "ECINSTRUCT_TASK_PATH"


class TaskRegistry(Sequence[Task]):
    """The known tasks in paper order (then by ``order``), and the folder (package) of each.

    A live sequence: modules that imported :data:`TASKS` see tasks registered later.
    """

    def __init__(self) -> None:
        self._tasks: list[Task] = []
        self._packages: dict[str, str] = {}  # task code → module name of its folder
        self._by_name: dict[str, Task] = {}

    @overload
    def __getitem__(self, index: int) -> Task: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Task, ...]: ...
    def __getitem__(self, index: int | slice) -> Task | tuple[Task, ...]:
        return tuple(self._tasks[index]) if isinstance(index, slice) else self._tasks[index]

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(tuple(self._tasks))

    def __repr__(self) -> str:
        return f"TaskRegistry({', '.join(t.code for t in self._tasks)})"

    def add(self, module: ModuleType) -> Task:
        """Register the task a folder's module defines (again from the same module: no change)."""
        task = getattr(module, "TASK", None)
        if not isinstance(task, Task):
            raise ECInstructError(f"{module.__name__}: a task folder's __init__.py must define TASK = Task(...) "
                                  "(ecinstruct.tasks.base.Task)")
        if self._packages.get(task.code) == module.__name__:
            return self.get(task.code)
        clash = [name for name in task.names if name.lower() in self._by_name]
        if clash:
            raise ECInstructError(f"task {task.code} ({module.__name__}): the name {clash[0]!r} is taken by task "
                                  f"{self._by_name[clash[0].lower()].code}; give the new task other names")
        self._tasks.append(task)
        self._tasks.sort(key=lambda t: t.order)  # stable: equal orders keep registration order
        self._packages[task.code] = module.__name__
        self._by_name.update({name.lower(): task for name in task.names})
        logger.debug("task %s registered from %s", task.code, module.__name__)
        return task

    def remove(self, task: str | Task) -> None:
        """Forget a task (tests register a toy task and remove it again)."""
        task = self.get(task)
        self._tasks.remove(task)
        del self._packages[task.code]
        self._by_name = {k: t for k, t in self._by_name.items() if t is not task}

    def get(self, name: str | Task) -> Task:
        if isinstance(name, Task):
            return name
        task = self._by_name.get(str(name).strip().lower())
        if task is None:
            raise UnknownNameError("task", name, [t.code for t in self._tasks] + [t.name for t in self._tasks])
        return task

    def package(self, task: str | Task) -> str:
        """Module name of the task's folder (``ecinstruct.tasks.sa``)."""
        return self._packages[self.get(task).code]


TASKS = TaskRegistry()


def get_task(name: str | Task) -> Task:
    """Look a task up by code (``"AVE"``/``"ave"``), exact published name, or accepted alias."""
    return TASKS.get(name)


def resolve_tasks(tasks: str | Task | list | tuple | None) -> tuple[Task, ...]:
    """``None``/``"all"`` → every task; a comma string or a list → those tasks, in registry order."""
    if tasks is None or tasks == "all":
        return tuple(TASKS)
    if isinstance(tasks, str | Task):
        tasks = [t for t in str(tasks).split(",") if t.strip()] if isinstance(tasks, str) else [tasks]
    wanted = {get_task(t) for t in tasks}
    return tuple(t for t in TASKS if t in wanted)


def task_folder(task: str | Task) -> Path:
    """The folder of a task (where its ``instructions.json``, ``raw.py`` and ``sample.py`` live)."""
    return Path(sys.modules[TASKS.package(task)].__file__).parent


def task_part(task: str | Task, part: str) -> ModuleType | None:
    """The optional module ``part`` (``"raw"``, ``"sample"``) of a task's folder; ``None`` when it has none."""
    name = f"{TASKS.package(task)}.{part}"
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


class TaskParts(Mapping[str, Any]):
    """Task code → ``attribute`` of the task folder's ``part`` module, for every task that has one, in
    registry order (``TaskParts("raw", "PROCESSOR")``: the raw builders). Modules import on first use."""

    def __init__(self, part: str, attribute: str) -> None:
        self.part, self.attribute = part, attribute

    def __getitem__(self, code: str) -> Any:
        try:
            module = task_part(code, self.part)
        except UnknownNameError:
            raise KeyError(code) from None
        if module is None or not hasattr(module, self.attribute):
            raise KeyError(code)
        return getattr(module, self.attribute)

    def __iter__(self) -> Iterator[str]:
        return (t.code for t in TASKS if self._has(t))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def _has(self, task: Task) -> bool:
        module = task_part(task, self.part)
        return module is not None and hasattr(module, self.attribute)


def register_folder(path: str | os.PathLike) -> tuple[Task, ...]:
    """Register the task of a task folder, or of every task folder inside ``path``; returns them.

    The folder is imported as the package ``ecinstruct.tasks.<folder name>`` (so its ``raw.py`` and
    ``sample.py`` import as ``ecinstruct.tasks.<folder name>.raw``, ...).
    """
    path = Path(path).expanduser()
    if (path / "__init__.py").is_file():
        folders = [path]
    else:
        folders = sorted(p for p in path.iterdir() if (p / "__init__.py").is_file()) if path.is_dir() else []
    if not folders:
        raise ECInstructError(f"{path}: not a task folder; expected a folder with an __init__.py that defines "
                              "TASK (or a folder of such folders); see ecinstruct/tasks/__init__.py")
    return tuple(_register(folder) for folder in folders)


def _register(folder: Path) -> Task:
    module = _import_folder(folder)
    try:
        return TASKS.add(module)
    except ECInstructError:
        sys.modules.pop(module.__name__, None)  # a rejected folder leaves nothing behind
        raise


def _import_folder(folder: Path) -> ModuleType:
    name = f"{__name__}.{folder.name}"
    init = folder.resolve() / "__init__.py"
    loaded = sys.modules.get(name)
    if loaded is not None:
        if Path(loaded.__file__ or "").resolve() != init:
            raise ECInstructError(f"{folder}: a task folder named {folder.name!r} is already loaded from "
                                  f"{Path(loaded.__file__ or '?').parent}; rename one of the two folders")
        return loaded
    if not folder.name.isidentifier():
        raise ECInstructError(f"{folder}: a task folder's name must be a Python identifier (e.g. its lower-case "
                              "task code)")
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(init.parent)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _discover() -> None:
    """The package's own task folders, then those named in ``ECINSTRUCT_TASK_PATH``."""
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg:
            TASKS.add(importlib.import_module(f"{__name__}.{info.name}"))
    for entry in filter(None, os.environ.get(TASK_PATH_ENV, "").split(os.pathsep)):
        if not Path(entry).expanduser().is_dir():
            raise ECInstructError(f"{TASK_PATH_ENV}: {entry} is not a folder; list task folders (or folders of "
                                  f"them) separated by {os.pathsep!r}")
        register_folder(entry)


_discover()

__all__ = ["TASKS", "Task", "TaskParts", "get_task", "register_folder", "resolve_tasks", "task_folder",
           "task_part"]
