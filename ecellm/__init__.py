"""eCeLLM: e-commerce LLMs trained and evaluated on ECInstruct.

``ecellm.train`` is imported lazily, so ``import ecellm`` stays light (no torch/transformers).
"""

from __future__ import annotations

from ecellm.lazy import lazy_exports

__version__ = "0.1.0"

__getattr__, __all__ = lazy_exports(__name__, {
    "train": "ecellm.training",
    "evaluate": "ecellm.evaluation.run",
    "Predictor": "ecellm.inference.predictor",
})
