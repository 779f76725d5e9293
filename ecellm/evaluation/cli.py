"""`ecellm eval` (evaluate a model on ECInstruct) and `ecellm compare` (paired-bootstrap deltas).

`ecellm eval`'s flags are generated from :class:`~ecellm.evaluation.config.EvalConfig` (help, default, type,
choices and check from each field; see :mod:`ecellm.options`), the engine groups from each engine's options
dataclass the same way (``ecellm.engines.registry.add_engine_arguments``); only ``--eval-config`` is declared
here.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ecellm.evaluation.checks import check_at_least_one
from ecellm.evaluation.validate import arg

logger = logging.getLogger(__name__)


def _count(option: str):
    """argparse type of a whole number >= 1 (rows, threads, resamples, ...)."""
    return arg(check_at_least_one, int, option)


EVAL_EPILOG = """Examples:
  ecellm eval --model HuggingFaceTB/SmolLM2-135M-Instruct --data path/to/ECInstruct --out runs/smollm2
  ecellm eval --model runs/xs --data path/to/ECInstruct --out runs/xs/eval        (adapter from `ecellm train`)
  ecellm eval --model NingLab/eCeLLM-M --config unseen_instruction --out runs/m-unseen     (Table 4)
  ecellm eval --model mistralai/Mistral-7B-Instruct-v0.2 --sample --out runs/mistral   (reference sampling)
  ecellm eval --backend vllm --model runs/xs --data ... --out runs/xs/eval-vllm     (vLLM engine, CPU or GPU)
  ecellm eval --backend openai --base-url http://127.0.0.1:8000/v1 --model served-name --out runs/served
  accelerate launch --num_processes 2 -m ecellm.cli eval --model ... --out ...   (prompts shared by 2 processes)
Rerunning the same command resumes: finished rows come from <out>/cache and are not generated again."""

COMPARE_EPILOG = """Examples:
  ecellm compare runs/a runs/b
  ecellm compare runs/generalist runs/ts-ave runs/ts-prp ... --labels generalist task-specific   (Table 5)"""


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_eval(subparsers)
    _register_compare(subparsers)


def _register_eval(subparsers: argparse._SubParsersAction) -> None:
    from ecellm.engines.registry import add_engine_arguments
    from ecellm.evaluation.config import EvalConfig
    from ecellm.options import add_flags

    p = subparsers.add_parser("eval", help="Evaluate a model on ECInstruct (tables, chart, per-sample logs).",
                              description=__doc__.split("\n\n")[0], epilog=EVAL_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--eval-config", metavar="FILE",
                   help="YAML file of evaluation options (flag names with underscores; unknown keys fail); flags given "
                        "here win over it. The run records every option in results.json (`options`).")
    add_flags(p, EvalConfig)
    add_engine_arguments(p)  # each engine's options dataclass (VllmOptions, OpenAIOptions): one flag per field
    p.set_defaults(func=cmd_eval, parser=p)


def _register_compare(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("compare", help="Per-task deltas between eval results, with paired-bootstrap p-values.",
                              description=__doc__.split("\n\n")[0], epilog=COMPARE_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="Result folder (or results.json) of system A.")
    p.add_argument("b", nargs="+", help="Result folder(s) of system B; several are merged by task (Table 5).")
    p.add_argument("--labels", nargs=2, default=("A", "B"), metavar=("A", "B"), help="Column names.")
    p.add_argument("--mode", default="strict", choices=["strict", "reference", "flexible"])
    p.add_argument("--method", choices=["generate", "constrained", "loglik", "loglik_norm"],
                   help="Compare the answers of this method (default: each run's own).")
    p.add_argument("--n-resamples", type=_count("--n-resamples"), default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="Also write the table to this Markdown file (never an input or a file of a run).")
    p.add_argument("--overwrite", action="store_true", help="Replace an earlier --out of `ecellm compare`.")
    p.set_defaults(func=cmd_compare)


def cmd_eval(args: argparse.Namespace, rest: list[str] | None = None) -> int:
    from dataclasses import fields

    from ecellm.engines.registry import engine_from_args
    from ecellm.evaluation.config import EvalConfig
    from ecellm.evaluation.run import evaluate

    parser = getattr(args, "parser", None)
    explicit = {f.name for f in fields(EvalConfig)
                if parser is None or getattr(args, f.name, None) != parser.get_default(f.name)}
    results = evaluate(run_config=EvalConfig.from_args(args, explicit), engine=engine_from_args(args))
    if results is None:  # a non-zero rank of a multi-process run: rank 0 reports
        return 0
    sys.stdout.write(results.markdown() + "\n")
    if args.out:
        logger.info("wrote %s", Path(args.out).resolve())
    return 0


def cmd_compare(args: argparse.Namespace, rest: list[str] | None = None) -> int:
    from ecellm.evaluation.compare import TABLE_START, compare, compare_markdown
    from ecellm.evaluation.errors import EvaluationError
    from ecinstruct.atomic import atomic_write_text, check_output_file, starts_with

    if args.out and Path(args.out).is_dir():
        raise EvaluationError(f"--out {args.out} is a folder; compare writes one Markdown file, e.g. "
                              f"--out {Path(args.out) / 'compare.md'}")
    if args.out:
        check_output_file(args.out, inputs=[args.a, *args.b], overwrite=args.overwrite, writer="`ecellm compare`",
                          ours=starts_with(TABLE_START))
    rows = compare(args.a, list(args.b), mode=args.mode, n_resamples=args.n_resamples, seed=args.seed,
                   method=args.method)
    table = compare_markdown(rows, tuple(args.labels), args.mode)
    sys.stdout.write(table)
    if args.out:
        atomic_write_text(args.out, table)
    return 0

