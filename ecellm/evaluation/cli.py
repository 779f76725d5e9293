"""`ecellm eval` (evaluate a model on ECInstruct) and `ecellm compare` (paired-bootstrap deltas)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ecellm.evaluation.validate import (
    arg,
    check_at_least_one,
    check_device,
    check_dtype,
    check_out,
    check_temperature,
    check_top_p,
)

logger = logging.getLogger(__name__)


def check_out_folder(path: str) -> str:
    check_out(path)
    return path


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

    p = subparsers.add_parser("eval", help="Evaluate a model on ECInstruct (tables, chart, per-sample logs).",
                              description=__doc__, epilog=EVAL_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="Hub id or folder: full model, merged model or PEFT adapter (required, here or "
                                   "in --eval-config).")
    p.add_argument("--eval-config", metavar="FILE",
                   help="YAML file of evaluation options (flag names with underscores; unknown keys fail); flags given "
                        "here win over it. The run records every option in results.json (`options`).")
    p.add_argument("--data", default="NingLab/ECInstruct", help="ECInstruct Hub id, dataset.json, or built folder.")
    p.add_argument("--config", default="default",
                   help="default (Tables 2-3), unseen_instruction (Table 4), one_shot, single_instruction, a task.")
    p.add_argument("--tasks", default="all", help="Comma-separated task codes, or 'all'.")
    p.add_argument("--splits", default="test_ind,test_ood", help="Comma-separated: test_ind, test_ood, validation.")
    p.add_argument("--out", type=arg(check_out_folder), help="Output folder (results.json/.md/.png, samples/, cache/).")
    p.add_argument("--cache-dir", help="Prediction cache folder (default: <out>/cache).")
    p.add_argument("--prompt-format", default="auto",
                   help="auto, alpaca, mistral or chat (auto: the training summary's; the paper's template for eCeLLM "
                        "and Mistral models; chat when the tokenizer has a chat template; else alpaca).")
    p.add_argument("--system-prompt", help="System message for the chat prompt format.")
    p.add_argument("--method", default="generate", choices=["generate", "constrained", "loglik"],
                   help="generate: free generation (the paper's way); constrained: the decoder may only produce a "
                        "valid answer; loglik: closed-answer tasks pick the most likely candidate (AVE, AG generate).")
    p.add_argument("--qpr-labels", help="Official QPR label file, for data built from the published file without it.")
    p.add_argument("--max-new-tokens", type=_count("--max-new-tokens"),
                   help="New-token budget (default: the task's, 100).")
    p.add_argument("--sample", action="store_true",
                   help="The reference's LoRA-path sampling (T=0.15, top-p 0.95) instead of greedy decoding.")
    p.add_argument("--temperature", type=arg(check_temperature, float), help="Sampling temperature (implies --sample).")
    p.add_argument("--top-p", type=arg(check_top_p, float), help="Sampling top-p (implies --sample).")
    p.add_argument("--seed", type=int, default=0, help="Sampling and bootstrap seed.")
    p.add_argument("--batch-size", type=_count("--batch-size"), default=16,
                   help="Rows decoding together (continuous batching refills a finished row's place).")
    p.add_argument("--checkpoint-every", type=_count("--checkpoint-every"), default=None,
                   help="Prompts per cache append, i.e. what a kill may lose (default: 4 x batch size).")
    p.add_argument("--no-stop-at-marker", dest="stop_at_marker", action="store_false",
                   help="Generate past a repeated response marker (scores are the same; raw logs get longer).")
    p.add_argument("--threads", type=_count("--threads"), help="CPU threads for torch (default: torch's choice).")
    p.add_argument("--backend", default="transformers", choices=["transformers", "vllm", "openai"])
    p.add_argument("--device", type=arg(check_device), help="cpu, cuda, cuda:1 ... (default: cuda when available).")
    p.add_argument("--dtype", type=arg(check_dtype),
                   help="float32, bfloat16, float16 (default: float32 on CPU, bfloat16 on GPU).")
    p.add_argument("--revision", help="Hub revision of the model.")
    p.add_argument("--max-samples", type=_count("--max-samples"),
                   help="Evaluate only the first N rows per task and split.")
    p.add_argument("--modes", default="strict,reference,flexible",
                   help="Answer readings: strict (exact format), reference (the paper's evaluator), flexible (the "
                        "answer found in a chatty output); comma-separated.")
    p.add_argument("--n-resamples", type=_count("--n-resamples"), default=1000,
                   help="Bootstrap resamples for the CIs.")
    p.add_argument("--bertscore-model", default="auto",
                   help="AG encoder: auto, paper (roberta-large), offline (MiniLM wheel) or a model path.")
    p.add_argument("--bertscore-layers", type=_count("--bertscore-layers"),
                   help="Encoder layer for BERTScore (for a custom model).")
    p.add_argument("--published", help="JSON with published numbers to show (default: the paper's eCeLLM numbers).")
    p.add_argument("--no-published", dest="show_published", action="store_false", help="Show no published numbers.")
    p.add_argument("--no-chart", dest="chart", action="store_false", help="Skip results.png.")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="No progress bars.")
    add_engine_arguments(p)
    p.set_defaults(func=cmd_eval, parser=p)


def _register_compare(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("compare", help="Per-task deltas between eval results, with paired-bootstrap p-values.",
                              description=__doc__, epilog=COMPARE_EPILOG,
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

