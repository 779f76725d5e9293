"""`ecellm` command line. Each subcommand lives in its own module and registers itself here.

To add one, write ``register(subparsers)`` in your module (add a parser with ``set_defaults(func=...)``,
where ``func(args) -> int``) and append the module path to :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from ecellm import __version__
from ecinstruct.cli_support import OneLineParser, pop_verbose, run_command

logger = logging.getLogger("ecellm")

# Modules with a `register(subparsers)` function, one per subcommand.
COMMANDS: list[str] = [
    "ecellm.training.cli",
    "ecellm.publish_cli",
    "ecellm.evaluation.cli",
    "ecellm.evaluation.score_cli",
    "ecellm.demo",
    "ecellm.inference.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="ecellm", description="Train and evaluate eCeLLM models on ECInstruct.",
                           epilog="Exit status: 0 done, 2 bad input (one line says what and how to fix it), "
                                  "1 the run failed. -v (anywhere) shows the traceback of an error.")
    parser.add_argument("--version", action="version", version=f"ecellm {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="Only log warnings and errors.")
    parser.add_argument("-v", "--verbose", action="store_true", help="Show the traceback of an error.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit status 0 on success, 2 for a bad input, 1 for a failed run; one line on stderr (``-v``: traceback)."""
    argv, verbose = pop_verbose(argv)
    parser = build_parser()
    try:
        args, rest = parser.parse_known_args(argv)
    except SystemExit as stop:  # a usage error (already printed as one line) or --help
        return int(stop.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if rest and not getattr(args, "accepts_extra", False):
        try:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        except SystemExit as stop:
            return int(stop.code or 0)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_command(lambda: args.func(args, rest), prog="ecellm", verbose=verbose)


if __name__ == "__main__":
    sys.exit(main())
