"""The ``ecinstruct build-raw`` subcommand (wired into :mod:`ecinstruct.cli` by ``register``)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ecinstruct.errors import ECInstructError
from ecinstruct.instructions import load_instructions
from ecinstruct.raw.base import Sizes
from ecinstruct.raw.pipeline import available_tasks, build_examples

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``build-raw`` to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "build-raw", help="build ECInstruct from the raw sources (Hub layout + QC/decontamination card)",
        description="Build every task whose raw source is under --raw-dir (or --tasks) with the paper's "
                    "construction and quality control, and write the same Hub layout as `ecinstruct build`.")
    parser.add_argument("--raw-dir", required=True, type=Path, help="folder of raw sources (one sub-folder per source)")
    parser.add_argument("--out", type=Path, help="output folder (Hub layout); required unless --list")
    parser.add_argument("--tasks", default=None,
                        help="comma-separated task codes (default: every task whose source is present)")
    parser.add_argument("--sizes", default=None,
                        help="rows per split, e.g. train=10000,validation=1000,test=1000,ood=1000 (paper defaults)")
    parser.add_argument("--seed", type=int, default=1, help="fixes every random choice (default 1)")
    parser.add_argument("--instructions", type=Path, default=None,
                        help="instruction file of your own (default: the package's instruction sets)")
    parser.add_argument("--num-proc", type=int, default=1,
                        help="worker processes for per-record QC (clean-up, language ID); output does not depend on it")
    parser.add_argument("--language-detector", choices=("auto", "lingua", "heuristic"), default="auto",
                        help="English check: lingua (the raw extra), the built-in heuristic, or auto "
                             "(lingua if installed)")
    parser.add_argument("--list", action="store_true", help="only list the tasks buildable from --raw-dir")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an --out folder holding other files (it is moved aside as OUT.replaced-<time>)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build, write the Hub layout, print a one-line summary per task."""
    from ecinstruct.atomic import check_output_folder
    from ecinstruct.errors import SourceError

    if not args.raw_dir.is_dir():
        raise SourceError(f"--raw-dir {args.raw_dir}: no such folder; expected a folder of raw sources, one "
                          "sub-folder per source (see `ecinstruct build-raw --help`)")
    if args.list:
        found = available_tasks(args.raw_dir)
        if not found:
            raise SourceError(f"--raw-dir {args.raw_dir}: no raw source of any task found; expected one sub-folder "
                              "per source in its original layout (see ecinstruct/raw/pipeline.py)")
        for code, layout in found.items():
            print(f"{code}\t{layout}")
        return 0
    if args.out is None:
        raise ECInstructError("build-raw needs --out DIR (the Hub-layout folder to write), or --list")
    if args.num_proc < 1:
        raise ECInstructError(f"--num-proc must be at least 1, got {args.num_proc}")
    inputs = [args.raw_dir, args.instructions]
    check_output_folder(args.out, inputs=inputs, overwrite=args.overwrite)  # before the (long) build
    from ecinstruct.export import write_hub_layout

    tasks = [t for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    instructions = load_instructions(args.instructions)
    build = build_examples(args.raw_dir, tasks, Sizes.parse(args.sizes), args.seed, num_proc=args.num_proc,
                          language_detector=args.language_detector)
    write_hub_layout(build.rows(instructions), args.out, card_sections=build.card_sections(),
                     source_name=f"the raw sources ({', '.join(build.examples)}) via `ecinstruct build-raw`",
                     overwrite=args.overwrite, inputs=inputs)
    print(build.qc.markdown(times=True))
    for code, qc in build.qc.tasks.items():
        splits = ", ".join(f"{s} {n}" for s, n in qc.splits.items())
        print(f"{code}: {qc.layout} ({qc.fidelity}) → {splits}")
    for code in build.skipped:
        print(f"{code}: skipped (source files absent)")
    report = build.decontam
    if report is not None:
        print(f"train/test overlap: {report.total('exact')} exact, "
              f"{report.total('near', include_by_design=False)} near "
              f"(+{report.total('near') - report.total('near', include_by_design=False)} by design)")
    print(f"wrote {args.out}")
    return 0
