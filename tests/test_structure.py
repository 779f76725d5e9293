"""The import structure holds (``benchmarks/measure_structure.py``): no import circle in ``ecinstruct`` or ``ecellm``
with module-level, lazy and type-only imports all counted, every module on a declared floor, and every upward import
saying why."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def structure():
    spec = importlib.util.spec_from_file_location("measure_structure", ROOT / "benchmarks" / "measure_structure.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def measured(structure):
    return structure.measure(ROOT)


def test_no_import_circles_with_lazy_and_type_only_imports_counted(measured):
    assert measured["cycles"] == []
    assert measured["import_statements"]["lazy"] and measured["import_statements"]["type"]  # both were read


def test_every_module_is_on_a_declared_floor(measured):
    assert measured["unplaced_modules"] == []


def test_every_upward_import_says_why(measured):
    unexplained = [f"{u['source']}:{u['line']} -> {u['target']}" for u in measured["upward_imports"] if not u["reason"]]
    assert unexplained == []
    assert len(measured["upward_imports"]) <= 5  # a handful at most


def test_the_task_core_is_beneath_what_uses_it(structure):
    floor = {name: structure.layer_of(name) for name in (
        "ecinstruct.errors", "ecinstruct.answers.flexible", "ecinstruct.scoring.base", "ecinstruct.tasks.base",
        "ecinstruct.tasks.typed_results", "ecinstruct.tasks", "ecinstruct.tasks.sa", "ecinstruct.settings",
        "ecinstruct.schema", "ecinstruct.tasks.sa.raw", "ecinstruct.export", "ecinstruct.cli", "ecellm.cli")}
    order = ["ecinstruct.errors", "ecinstruct.answers.flexible", "ecinstruct.scoring.base", "ecinstruct.tasks.base",
             "ecinstruct.tasks.sa", "ecinstruct.settings", "ecinstruct.tasks.sa.raw", "ecinstruct.export",
             "ecinstruct.cli", "ecellm.cli"]
    assert [floor[m] for m in order] == sorted(floor[m] for m in order)
    assert len({floor[m] for m in order}) == len(order)
    assert floor["ecinstruct.tasks.typed_results"] == floor["ecinstruct.tasks"] == floor["ecinstruct.tasks.base"]
    assert floor["ecinstruct.schema"] == floor["ecinstruct.settings"]


def test_lazy_and_type_only_imports_make_circles_and_upward_imports_need_a_reason(structure, tmp_path):
    package = tmp_path / "ecinstruct"
    (package / "scoring").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "scoring" / "__init__.py").write_text("")
    (package / "scoring" / "base.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from ecinstruct.schema import COLUMNS\n"
    )
    (package / "schema.py").write_text(
        "def columns():\n"
        "    from ecinstruct.scoring import base\n"
        "    return base\n"
    )
    (package / "errors.py").write_text(
        "def later():\n"
        "    # upward: a test of the reason\n"
        "    from ecinstruct import export\n"
        "    from ecinstruct import loading\n"
    )
    (package / "export.py").write_text("")
    (package / "loading.py").write_text("")
    measured = structure.measure(tmp_path)
    assert measured["cycles"] == [["ecinstruct.schema", "ecinstruct.scoring.base"]]
    upward = {(u["source"], u["target"], u["kind"]): u["reason"] for u in measured["upward_imports"]}
    assert upward == {
        ("ecinstruct.scoring.base", "ecinstruct.schema", "type"): "",
        ("ecinstruct.errors", "ecinstruct.export", "lazy"): "a test of the reason",
        ("ecinstruct.errors", "ecinstruct.loading", "lazy"): "",
    }
    assert measured["unexplained_upward_imports"] == 2
