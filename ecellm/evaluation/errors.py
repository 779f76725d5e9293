"""The one error type of the evaluation flow: says what was expected and how to fix it."""

from __future__ import annotations

from ecellm.errors import EcellmError, EcellmRuntimeError


class EvaluationError(EcellmError):
    """A bad evaluation input: unknown task, missing split, unloadable model, prompt too long, ..."""


class EvaluationBusyError(EcellmRuntimeError, EvaluationError):
    """Another evaluation is writing to the same output folder."""
