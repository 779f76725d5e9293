"""Errors that tell the user what was expected and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable


class ECInstructError(ValueError):
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
