"""The engines by name: ``get_engine("vllm")`` is the class; ``--backend`` and ``backend=`` take these names.

Adding a backend is one class file (a sub-class of :class:`~ecellm.engines.base.Engine`) and one
:func:`register` call: here for the built-in ones, anywhere before the run for a plugin. Callers ask the
class what it can do (``is_server``, ``methods``, ``predictor_methods``, :meth:`~ecellm.engines.base.Engine.
check_options`, ...) instead of comparing names. Importing this module loads no model library (the engine
modules import torch, vLLM or the openai client only when used).
"""

from __future__ import annotations

from typing import Any

from ecellm.engines.base import Engine
from ecellm.engines.openai_engine import OpenAIEngine
from ecellm.engines.transformers_engine import TransformersEngine
from ecellm.engines.vllm_engine import VllmEngine
from ecellm.evaluation.errors import EvaluationError

_ENGINES: dict[str, type[Engine]] = {}


def register(engine: type[Engine]) -> type[Engine]:
    """Make ``engine`` available under its ``name`` (a later class of the same name replaces it)."""
    if not (isinstance(engine, type) and issubclass(engine, Engine)):
        raise TypeError(f"{engine!r} is not an Engine sub-class")
    _ENGINES[engine.name] = engine
    return engine


for _engine in (TransformersEngine, VllmEngine, OpenAIEngine):  # the default first
    register(_engine)


def engine_names() -> tuple[str, ...]:
    """Every registered backend name, the default first."""
    return tuple(_ENGINES)


def get_engine(name: str) -> type[Engine]:
    """The engine class called ``name``, or the one-line error listing the known ones."""
    try:
        return _ENGINES[name]
    except (KeyError, TypeError):
        raise EvaluationError(f"unknown backend {name!r}; expected one of: {', '.join(_ENGINES)}") from None


def add_engine_arguments(parser: Any) -> None:
    """``ecellm eval``'s engine options: each backend's in its own help group."""
    for engine in _ENGINES.values():
        engine.add_arguments(parser)


def engine_from_args(args: Any) -> Any:
    """Engine options from parsed ``ecellm eval`` arguments (checked before anything is loaded). Server options
    (``--base-url``) given with a local backend are read by the server engine, so that the run then refuses
    them in one line (:meth:`~ecellm.engines.base.Engine.check_options`)."""
    engine = get_engine(args.backend)
    if args.base_url and not engine.is_server:
        engine = next(e for e in _ENGINES.values() if e.is_server)
    return engine.options_from_args(args)
