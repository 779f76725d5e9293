"""The one error type of the evaluation flow: says what was expected and how to fix it."""

from __future__ import annotations


class EvaluationError(ValueError):
    """A bad evaluation input: unknown task, missing split, unloadable model, prompt too long, ..."""
