"""The three ways an engine answers a prompt: the one place their names are read.

- ``generate``: free generation (the paper's way).
- ``constrained``: generation that may only write a valid answer (the task's :class:`~ecinstruct.answers.Constraint`:
  a choice list, a regex or a JSON schema).
- ``loglik``: no generation; the task's candidate answers are ranked by their log-likelihood after the prompt.

A method name is data in configs and files (``Literal`` there: :data:`MethodName`); code that acts on it turns
it into a :class:`Method` once (:meth:`Method.parse`) and asks the member (``method.constrains``,
``method.ranks_candidates``) instead of comparing names.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from ecellm.evaluation.errors import EvaluationError

MethodName = Literal["generate", "constrained", "loglik"]


class Method(str, Enum):
    """An answer method. A ``str`` subclass: it equals, hashes and serialises (JSON, cache keys) as its name."""

    GENERATE = "generate"
    CONSTRAINED = "constrained"
    LOGLIK = "loglik"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @classmethod
    def parse(cls, name: str) -> Method:
        """The method called ``name``, or the one-line error listing the known ones."""
        try:
            return cls(name)
        except ValueError:
            raise EvaluationError(f"unknown method {name!r}; expected one of: {', '.join(names())}") from None

    @property
    def constrains(self) -> bool:
        """The answer is generated inside the row's constraint."""
        return self is Method.CONSTRAINED

    @property
    def ranks_candidates(self) -> bool:
        """The answer is the best-scored of the row's candidates (no generation)."""
        return self is Method.LOGLIK


def names() -> tuple[str, ...]:
    """Every method name, in order (``generate`` first: the default)."""
    return tuple(m.value for m in Method)
