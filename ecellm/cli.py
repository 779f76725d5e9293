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

logger = logging.getLogger("ecellm")

# Modules with a `register(subparsers)` function, one per subcommand.
COMMANDS: list[str] = [
    "ecellm.training.cli",
    "ecellm.publish_cli",
    "ecellm.evaluation.cli",
    "ecellm.demo",
    "ecellm.inference.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ecellm", description="Train and evaluate eCeLLM models on ECInstruct.")
    parser.add_argument("--version", action="version", version=f"ecellm {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="Only log warnings and errors.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if rest and not getattr(args, "accepts_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args, rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
