"""What every command line of the project shares: one-line errors, exit statuses, ``-v`` for the traceback.

A command ends with status 0 on success, 2 when its input was wrong (a usage error: argparse's own errors
and every :class:`~ecinstruct.errors.ECError` with ``exit_code`` 2), 1 when the run failed for another
reason (disk, network, an unexpected exception). Without ``-v`` the user sees one line that says what was
wrong and how to fix it; ``-v`` (anywhere on the command line) adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Callable, Sequence

from ecinstruct.errors import RUNTIME, USAGE, ECError

logger = logging.getLogger(__name__)

VERBOSE_FLAGS = ("-v", "--verbose")
INTERRUPTED = 130  # the shell's status for a process stopped by Ctrl-C


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (what was wrong, where to read more), status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(USAGE, f"{self.prog}: error: {one_line(message)} (see `{self.prog} --help`)\n")


def one_line(text: object) -> str:
    """``text`` on a single line (messages that quote several lines are joined with ' | ')."""
    return " | ".join(part.strip() for part in str(text).strip().splitlines() if part.strip())


def pop_verbose(argv: Sequence[str] | None) -> tuple[list[str], bool]:
    """``argv`` without ``-v``/``--verbose`` and whether it was there: the flag works before or after the
    sub-command (sub-commands that pass unknown flags through, like ``ecellm train``, never see it)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--" in args:
        head, tail = args[: args.index("--")], args[args.index("--"):]
    else:
        head, tail = args, []
    verbose = any(a in VERBOSE_FLAGS for a in head)
    return [a for a in head if a not in VERBOSE_FLAGS] + tail, verbose


def run_command(func: Callable[[], int | None], *, prog: str, verbose: bool) -> int:
    """Run a command body; turn every failure into one line on stderr and the matching exit status."""
    try:
        return int(func() or 0)
    except ECError as err:
        return _fail(prog, one_line(err), err.exit_code, verbose)
    except KeyboardInterrupt:
        return _fail(prog, "interrupted; whatever was written completely is kept, rerun the same command to "
                           "continue", INTERRUPTED, verbose)
    except (OSError, MemoryError) as err:
        return _fail(prog, f"{type(err).__name__}: {one_line(err)}", RUNTIME, verbose)
    except Exception as err:
        return _fail(prog, f"unexpected {type(err).__name__}: {one_line(err)}. This is a bug of {prog}: rerun "
                           "with -v for the traceback and report it", RUNTIME, verbose)


def _fail(prog: str, message: str, status: int, verbose: bool) -> int:
    if verbose:
        traceback.print_exc(file=sys.stderr)
    print(f"{prog}: error: {message}", file=sys.stderr)
    return status
