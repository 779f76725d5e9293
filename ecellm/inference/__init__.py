"""Using a model on new data: :class:`Predictor` (Python), ``ecellm predict`` (files) and ``ecellm serve`` (HTTP)."""

from __future__ import annotations

from ecellm.lazy import lazy_exports

_EXPORTS = {"Predictor": "ecellm.inference.predictor", "Prediction": "ecellm.inference.predictor"}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
