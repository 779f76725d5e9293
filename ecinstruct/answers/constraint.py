"""The two answer-aware engine calls beside free generation, shared by every backend.

- **Constrained generation**: each prompt may carry a :class:`Constraint`, the set of texts the decoder is
  allowed to produce (a closed list of answers, a regular expression, or a JSON schema). A backend enforces it
  with a structured-generation library (transformers: xgrammar) or its own structured outputs (vLLM).
- **Log-likelihood scoring**: a backend returns, for a prompt and each of its candidate continuations, the
  summed log-probability of the continuation's tokens after the prompt (:class:`LogLik`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Constraint:
    """What one prompt's answer may be: exactly one of ``choices``, ``regex`` or ``json_schema``.

    ``json_schema`` is JSON text (hashable, so constraints can key caches and compiled-grammar memos).
    """

    choices: tuple[str, ...] | None = None
    regex: str | None = None
    json_schema: str | None = None

    def __post_init__(self) -> None:
        given = [name for name in ("choices", "regex", "json_schema") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"a Constraint takes exactly one of choices, regex, json_schema; got {given or 'none'}")
        if self.choices is not None and not self.choices:
            raise ValueError("a choices Constraint needs at least one choice")
        if self.json_schema is not None:
            json.loads(self.json_schema)  # fail early on a malformed schema

    @property
    def kind(self) -> str:
        return "choices" if self.choices is not None else "regex" if self.regex is not None else "json_schema"

    def as_dict(self) -> dict:
        return {self.kind: list(self.choices) if self.choices is not None else getattr(self, self.kind)}


@dataclass(frozen=True)
class LogLik:
    """Summed log-probability of one continuation after its prompt, its token count, and whether greedy
    decoding would have produced exactly it (lm-eval's ``is_greedy``)."""

    logprob: float
    n_tokens: int
    is_greedy: bool = False
