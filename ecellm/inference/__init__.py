"""Using a model on new data: :class:`Predictor` (Python), ``ecellm predict`` (files) and ``ecellm serve`` (HTTP)."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"Predictor": "ecellm.inference.predictor", "Prediction": "ecellm.inference.predictor"}


def __getattr__(name: str) -> Any:  # lazy: importing ecellm.inference must not load torch
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = sorted(_EXPORTS)
