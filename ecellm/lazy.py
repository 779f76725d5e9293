"""Lazy package exports (PEP 562): a package lists what it exports and where each name lives, and the module that
defines the name is imported on first use, so ``import ecellm`` and its subpackages stay cheap (no torch)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], list[str]]:
    """The ``__getattr__`` and ``__all__`` of ``package`` for ``exports`` (public name → defining module)."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    return __getattr__, sorted(exports)
