"""The engine layer: open a model, generate (freely or inside a constraint), score candidates by log-likelihood.

Evaluation (:mod:`ecellm.evaluation`), prediction and serving (:mod:`ecellm.inference`) and the training-time task
evaluation (:mod:`ecellm.training.callbacks`) all answer through here. One :class:`~ecellm.engines.base.Engine`
class per backend (``transformers``, ``vllm``, ``openai``), found by name in :mod:`ecellm.engines.registry`;
the answer methods (``generate``, ``constrained``, ``loglik``) are :class:`~ecellm.engines.methods.Method`.

Imports are lazy so that ``import ecellm.engines`` stays cheap (no torch).
"""

from __future__ import annotations

from ecellm.lazy import lazy_exports

_EXPORTS = {
    "Engine": "ecellm.engines.base",
    "Generation": "ecellm.engines.base",
    "GenerationSettings": "ecellm.engines.generation_settings",
    "Method": "ecellm.engines.methods",
    "engine_names": "ecellm.engines.registry",
    "get_engine": "ecellm.engines.registry",
    "register": "ecellm.engines.registry",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
