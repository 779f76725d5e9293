"""The engine contract for constrained generation and log-likelihood scoring (defined with the tasks' answers).

Backends take ``generate(prompts, max_new_tokens, seed, constraints=None)`` (one :class:`Constraint` or
``None`` per prompt) and ``loglik(prompts, continuations) -> list[list[LogLik]]``.
"""

from ecinstruct.answers.constraint import Constraint, LogLik

__all__ = ["Constraint", "LogLik"]
