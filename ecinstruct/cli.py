"""`ecinstruct` command line. Each subcommand lives in its own module and registers itself here.

To add one, write ``register(subparsers)`` in your module (add a parser with ``set_defaults(func=...)``,
where ``func(args) -> int``) and append the module path to :data:`COMMANDS` (the convention of ``ecellm``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from ecinstruct.cli_support import OneLineParser, pop_verbose, run_command

logger = logging.getLogger("ecinstruct")

# Modules with a `register(subparsers)` function, one per subcommand (or group of subcommands).
COMMANDS: list[str] = [
    "ecinstruct.build_cli",
    "ecinstruct.lm_eval_pack",
    "ecinstruct.raw.cli",
    "ecinstruct.tasks.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="ecinstruct",
                           description="Build the ECInstruct dataset: the Hub layout from the published data or "
                                       "from the raw sources, its statistics, and the list of tasks.",
                           epilog="Exit status: 0 done, 2 bad input (one line says what and how to fix it), "
                                  "1 the run failed. -v (anywhere) shows the traceback of an error.")
    parser.add_argument("-q", "--quiet", action="store_true", help="Only log warnings and errors.")
    parser.add_argument("-v", "--verbose", action="store_true", help="Show the traceback of an error.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit status 0 on success, 2 for a bad input, 1 for a failed run; one line on stderr (``-v``: traceback)."""
    argv, verbose = pop_verbose(argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # a usage error (already printed as one line) or --help
        return int(stop.code or 0)
    args.verbose = verbose
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    return run_command(lambda: args.func(args), prog="ecinstruct", verbose=verbose)


if __name__ == "__main__":
    sys.exit(main())
