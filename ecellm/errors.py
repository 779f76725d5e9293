"""The base of every error ``ecellm`` raises on purpose (a sub-class of the project-wide :class:`ECError`)."""

from __future__ import annotations

from ecinstruct.errors import ECError, RuntimeFailure


class EcellmError(ECError, ValueError):
    """A bad input to training, evaluation or publishing; the message says what was expected and the fix."""


class EcellmRuntimeError(RuntimeFailure, EcellmError):
    """The input was fine but the run could not finish (network, disk, another run holding a lock)."""


class TrainingError(EcellmError):
    """A training input that cannot work (model, data, batch sizes, checkpoint)."""
