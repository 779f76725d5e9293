"""Errors that tell the user what was expected and how to fix it.

:class:`ECError` is the common root of every error that ``ecinstruct`` and ``ecellm`` raise on purpose: a
command line catches it and prints its message as one line. ``exit_code`` tells the command how to end:
2 for input the user can fix (a usage error), 1 for a run that failed for another reason (a network,
a disk, a lock held by another run).
"""

from __future__ import annotations

from collections.abc import Iterable

USAGE = 2  # exit status of a bad input (argparse uses 2 as well)
RUNTIME = 1  # exit status of a run that failed although its input was fine


class ECError(Exception):
    """Root of the project's errors; each package derives its own base from it."""

    exit_code: int = USAGE


class RuntimeFailure(ECError):
    """Mixin marker: the input was fine but the run could not finish (exit status 1)."""

    exit_code = RUNTIME


class ECInstructError(ECError, ValueError):
    """Base class of every data-layer error."""


class UnknownNameError(ECInstructError, KeyError):
    """A task, setting or config name that does not exist."""

    def __init__(self, kind: str, name: object, valid: Iterable[str]) -> None:
        self.kind, self.name = kind, name
        choices = ", ".join(dict.fromkeys(valid))
        super().__init__(f"unknown {kind} {name!r}; expected one of: {choices}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class RowFormatError(ECInstructError):
    """A row of a data file that does not follow the ECInstruct schema."""

    def __init__(self, row: int | str, problem: str, fix: str) -> None:
        self.row, self.problem, self.fix = row, problem, fix
        super().__init__(f"row {row}: {problem}. {fix}")


class SourceError(ECInstructError):
    """A data source that cannot be found or read."""


class SourceUnavailableError(RuntimeFailure, SourceError):
    """A source that exists in principle but could not be reached now (the Hub offline): exit status 1."""


class OutputFolderError(ECInstructError):
    """An output folder that may not be written or replaced (it holds the source or files that are not ours)."""


class ScoringError(ECInstructError):
    """Scoring inputs that cannot give a meaningful number (e.g. QPR labels that contradict the gold)."""
