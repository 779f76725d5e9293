"""eCeLLM: e-commerce LLMs trained and evaluated on ECInstruct.

``ecellm.train`` is imported lazily, so ``import ecellm`` stays light (no torch/transformers).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["Predictor", "__version__", "evaluate", "train"]


def __getattr__(name: str) -> Any:
    if name == "train":
        from ecellm.training import train

        return train
    if name == "evaluate":
        from ecellm.evaluation.run import evaluate

        return evaluate
    if name == "Predictor":
        from ecellm.inference.predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'ecellm' has no attribute {name!r}")
