"""The :class:`Engine` contract every backend fulfils, and what it returns.

An engine class is chosen by name (:func:`ecellm.engines.registry.get_engine`) and answers, before any model
is loaded, what the evaluation and the predictor need to know: the options it takes (``options_class``, a
dataclass of :func:`ecellm.options.option` fields that also makes its ``ecellm eval`` flags), what the ``model``
argument names (:meth:`Engine.model_spec`), its tokenizer, the fingerprint the prediction cache is keyed by,
its context length, which answer methods it runs. :meth:`Engine.open` then loads the model (or connects to
the server) and returns an instance with ``generate`` (free or constrained) and ``loglik``.

The defaults here are those of a model this process loads from a folder or the Hub; a server engine
overrides them.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ecellm.engines.generation_settings import GenerationSettings
from ecellm.engines.methods import Method
from ecellm.engines.model_loader import ModelSpec
from ecellm.evaluation.errors import EvaluationError
from ecellm.options import add_flags, from_args
from ecinstruct.answers.constraint import Constraint, LogLik


@dataclass(frozen=True)
class Generation:
    """The new text of one prompt (special tokens skipped), its token count, and whether it hit EOS."""

    text: str
    new_tokens: int
    finished: bool


def batch_seed(seed: int, ids: list[str]) -> int:
    """A sampling seed fixed by the run seed and the batch's row ids (stable across processes)."""
    return (seed * 1_000_003 + zlib.crc32("\x00".join(ids).encode("utf-8"))) % (2**31)


class Engine(ABC):
    """One backend: class attributes and class methods describe it, an instance (from :meth:`open`) answers.

    Capabilities, read by callers instead of comparing backend names:

    - ``name``: what ``--backend`` and ``backend=`` take (also recorded in results and cache keys).
    - ``is_server``: the model runs behind a server; ``model`` is the server's name for it.
    - ``methods``: the answer methods an evaluation can run on it.
    - ``predictor_methods``: the methods :class:`~ecellm.inference.predictor.Predictor` (and the HTTP server)
      runs on it.
    - ``options_class``: the dataclass of this backend's own options (``None``: it takes none). Each field is an
      :func:`ecellm.options.option` (default, help, flag spelling, check), so the field is declared once: it
      makes the ``ecellm eval`` flag (in a help group titled ``options_title``) and :meth:`options_from_args`
      reads it back.
    """

    name: ClassVar[str]
    is_server: ClassVar[bool] = False
    methods: ClassVar[frozenset[Method]] = frozenset(Method)
    predictor_methods: ClassVar[frozenset[Method]] = frozenset({Method.GENERATE})
    options_class: ClassVar[type | None] = None
    options_title: ClassVar[str | None] = None  # default: "<name> engine (--backend <name>)"

    # -- before anything is loaded ---------------------------------------------------------------------

    @classmethod
    def check_options(cls, options: Any) -> Any:
        """The engine options this backend runs with (its defaults when ``None``); one clear error for options
        of another backend. A backend without options refuses any."""
        if cls.options_class is not None and isinstance(options, cls.options_class):
            return options
        if options is not None:
            raise EvaluationError(f"engine options ({type(options).__name__}) do not apply to --backend {cls.name}")
        return None if cls.options_class is None else cls.options_class()

    @classmethod
    def model_spec(cls, model: str | Path, *, revision: str | None = None, options: Any = None,
                   tokenizer: str | None = None) -> ModelSpec:
        """What ``model`` names (a folder, an adapter, a Hub id), resolved without loading weights."""
        from ecellm.engines.model_loader import describe_model

        return describe_model(model, revision=revision)

    @classmethod
    def open_tokenizer(cls, spec: ModelSpec) -> Any:
        """The model's tokenizer (``None`` where the engine can run without one)."""
        from ecellm.engines.model_loader import open_tokenizer

        return open_tokenizer(spec)

    @classmethod
    def fingerprint(cls, spec: ModelSpec) -> str:
        """The model's identity in the prediction cache key."""
        from ecellm.engines.model_loader import fingerprint

        return fingerprint(spec)

    @classmethod
    def context_length(cls, spec: ModelSpec) -> int | None:
        """Most tokens (prompt + answer) the model takes; ``None`` when unknown (no check)."""
        from ecellm.engines.model_loader import model_context_length

        return model_context_length(spec)

    @classmethod
    def sends_user_turn(cls, options: Any, prompt_format: str) -> bool:
        """Whether the prompt goes out as the row's bare user turn (a server applies the chat template)."""
        return False

    @classmethod
    def constrained_ready(cls) -> bool:
        """Whether constrained decoding can run here now (an optional package may be missing)."""
        return True

    @classmethod
    def add_arguments(cls, parser: Any) -> None:
        """This backend's own ``ecellm eval`` flags, one per field of ``options_class`` (in a help group of their
        own); none without an options class."""
        if cls.options_class is not None:
            title = cls.options_title or f"{cls.name} engine (--backend {cls.name})"
            add_flags(parser.add_argument_group(title), cls.options_class)

    @classmethod
    def options_from_args(cls, args: Any) -> Any:
        """This backend's options from parsed ``ecellm eval`` arguments (the flags' destinations are the field
        names; the dataclass checks them); ``None`` when it has none."""
        return None if cls.options_class is None else from_args(cls.options_class, args)

    @classmethod
    @abstractmethod
    def open(cls, spec: ModelSpec, settings: GenerationSettings, prompt_format: str, tokenizer: Any, *, device: str,
             dtype: str, batch_size: int, options: Any = None, needed_len: int | None = None) -> Engine:
        """The engine with the model loaded, decoding as ``settings`` and the prompt format say."""

    # -- answering --------------------------------------------------------------------------------------

    @abstractmethod
    def generate(self, prompts: list[str], max_new_tokens: int, seed: int,
                 constraints: Sequence[Constraint | None] | None = None) -> list[Generation]:
        """One :class:`Generation` per prompt; with ``constraints`` (one or ``None`` per prompt) each answer
        stays inside its constraint."""

    @abstractmethod
    def loglik(self, prompts: list[str], continuations: list[list[str]]) -> list[list[LogLik]]:
        """Summed log-probabilities of each prompt's candidate continuations."""

    def describe(self) -> dict[str, Any]:
        """What results.json records about the engine."""
        return {"name": self.name, "started": True}
