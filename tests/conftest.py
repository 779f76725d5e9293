"""Shared test fixtures. Tests that read ../shared (the reference bundle) use `shared_dir`, which skips
them when the bundle is absent (a user's machine); CI has it and runs them."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ECELLM_SHARED_DIR", REPO.parent / "shared"))

# Deprecation warnings caused by our own calls fail the suite (pyproject: `error::FutureWarning:ecellm` and the
# like match the module a warning is attributed to). transformers' `deprecate_kwarg` warns with a stacklevel that
# lands in torch's `Module.__call__` machinery, not in the caller of `model(...)`; the wrapper below moves such a
# warning on to the first frame past that machinery when that frame is ours, so the filters see who called.
_PASSTHROUGH = (os.path.join("torch", "nn", "modules", "module.py"), os.sep + "functools.py")
_OURS = ("ecellm", "ecinstruct")
_original_warn = warnings.warn


def _warn_at_caller(message, category=None, stacklevel=1, source=None, **kwargs):
    kind = category or (type(message) if isinstance(message, Warning) else UserWarning)
    if issubclass(kind, (DeprecationWarning, FutureWarning)):
        try:
            frame, extra = sys._getframe(stacklevel), 0
        except ValueError:
            frame, extra = None, 0
        while frame is not None and frame.f_code.co_filename.endswith(_PASSTHROUGH):
            frame, extra = frame.f_back, extra + 1
        if extra and frame is not None and frame.f_globals.get("__name__", "").split(".")[0] in _OURS:
            stacklevel += extra
    _original_warn(message, category, stacklevel + 1, source, **kwargs)


warnings.warn = _warn_at_caller


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Path of ../shared; skips the test when it is not there."""
    if not (SHARED / "reference" / "SPEC.md").is_file():
        pytest.skip("../shared reference bundle not present")
    return SHARED


SMALL_SIZES = {"train": 4, "validation": 2, "test_ind": 3, "test_ood": 2}


@pytest.fixture(scope="session")
def small_sizes() -> dict[str, int]:
    """Rows per split and task of the small sample fixture."""
    return dict(SMALL_SIZES)


@pytest.fixture(scope="session")
def sample_rows() -> list[dict]:
    """Published-format rows of the project's own sample generator, small sizes."""
    from ecinstruct.sample import sample_rows as generate

    return list(generate(sizes=SMALL_SIZES, seed=0))


@pytest.fixture(scope="session")
def sample_file(tmp_path_factory, sample_rows) -> Path:
    """The small sample as a published ``dataset.json`` (JSON lines)."""
    from ecinstruct.sample import write_published

    path = tmp_path_factory.mktemp("published") / "dataset.json"
    write_published(path, sample_rows, fmt="jsonl")
    return path


@pytest.fixture(scope="session")
def built_folder(tmp_path_factory, sample_file) -> Path:
    """The small sample exported to the Hub layout by `ecinstruct build`."""
    from ecinstruct.export import write_hub_layout
    from ecinstruct.published import iter_records

    out = tmp_path_factory.mktemp("hub") / "ECInstruct"
    write_hub_layout(iter_records(sample_file), out, numbered=True)
    return out


@pytest.fixture
def benchmark_task():
    """Register a task folder under ``benchmarks/tasks`` for one test, then leave the registry (and the module
    cache) to the paper's ten tasks again, so the other tests see only those."""
    import sys

    from ecinstruct.tasks import TASKS, register_folder

    registered = []

    def register(name: str):
        (task,) = register_folder(Path(__file__).resolve().parents[1] / "benchmarks" / "tasks" / name)
        registered.append((task, name))
        return task

    yield register
    for task, name in registered:
        TASKS.remove(task)
        for module in [m for m in sys.modules if m.split(".")[:3] == ["ecinstruct", "tasks", name]]:
            del sys.modules[module]
