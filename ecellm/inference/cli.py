"""`ecellm predict` (answer every row of a CSV / JSONL / Parquet file) and `ecellm serve` (HTTP API + web page)."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from ecellm.evaluation.validate import arg, check_at_least_one, check_device, check_dtype
from ecinstruct.tasks import TASKS

logger = logging.getLogger(__name__)

PREDICT_EPILOG = """Examples:
  ecellm predict --model runs/xs --task AVE --input products.csv --out preds.jsonl \\
      --map title=product_name --map attributes=wanted
  ecellm predict --model NingLab/eCeLLM-M --task SA --input reviews.parquet --out sa.jsonl --map review=text
Fields per task (columns of the same name are read unless --map says otherwise):
""" + "\n".join(f"  {t.code:<4} {', '.join(f.name + ('' if f.required else '?') for f in t.inputs.fields)}"
                for t in TASKS) + """
  (? = optional; list fields take a JSON list or one text; PM records also as product1.title, ... columns)
Output: one JSON line per input row, in input order: row, line, task, result, valid, raw, answer
(bad rows: row, line, error). Rerunning the same command resumes after the rows already answered."""

SERVE_EPILOG = """Examples:
  ecellm serve --model runs/xs                     (http://127.0.0.1:8000: try-it page, /docs for the API)
  curl -s localhost:8000/v1/sa -H 'content-type: application/json' -d '{"review": "Broke after two days."}'"""


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_predict(subparsers)
    _register_serve(subparsers)


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="Hub id or folder: full model, merged model or PEFT adapter.")
    p.add_argument("--method", default="auto",
                   help="auto (constrained decoding for closed-answer tasks, free generation for AVE and AG), "
                        "generate, constrained or loglik.")
    p.add_argument("--backend", default="transformers", choices=["transformers", "vllm"])
    p.add_argument("--prompt-format", help="alpaca, mistral or chat (default: the model's own).")
    p.add_argument("--max-new-tokens", type=_count("--max-new-tokens"),
                   help="Answer budget (default: the task's, 100).")
    p.add_argument("--batch-size", type=_count("--batch-size"), default=16, help="Rows decoding together.")
    p.add_argument("--threads", type=_count("--threads"),
                   help="CPU threads for torch (default: torch's choice; at most the machine's CPUs).")
    p.add_argument("--device", type=arg(check_device), help="cpu, cuda, cuda:1 ... (default: cuda when available).")
    p.add_argument("--dtype", type=arg(check_dtype),
                   help="float32, bfloat16, float16 (default: float32 on CPU, bfloat16 on GPU).")
    p.add_argument("--revision", help="Hub revision of the model.")


def _count(option: str):
    """argparse type of a whole number >= 1."""
    return arg(check_at_least_one, int, option)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--port {text!r} is not a whole number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"--port {port}: a TCP port is 1 to 65535 (default 8000)")
    return port


def _window(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--batch-window-ms {text!r} is not a number") from None
    if not 0 <= value <= 60_000:  # also rejects NaN
        raise argparse.ArgumentTypeError(f"--batch-window-ms must be 0 to 60000 (milliseconds), got {text}")
    return value


def _predictor_options(args: argparse.Namespace) -> dict:
    return {"method": args.method, "backend": args.backend, "prompt_format": args.prompt_format,
            "max_new_tokens": args.max_new_tokens, "batch_size": args.batch_size, "threads": args.threads,
            "device": args.device, "dtype": args.dtype, "revision": args.revision}


def _register_predict(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("predict", help="Answer one task for every row of a CSV / JSONL / Parquet file.",
                              description=__doc__, epilog=PREDICT_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    _model_options(p)
    p.add_argument("--task", required=True, help="Task code: " + ", ".join(t.code for t in TASKS) + ".")
    p.add_argument("--input", required=True, help="Input table: .csv (or .tsv; UTF-8), .jsonl or .parquet.")
    p.add_argument("--out", required=True, help="Output JSON lines file (never the input or a file of yours).")
    p.add_argument("--map", action="append", metavar="FIELD=COLUMN",
                   help="Read a task field from a differently named column (repeatable, or comma-separated).")
    p.add_argument("--on-error", default="skip", choices=["skip", "fail"],
                   help="A bad row: write it as an error line and go on (skip), or stop the run (fail).")
    p.add_argument("--chunk-size", type=_count("--chunk-size"), default=64,
                   help="Rows per checkpoint (what a kill may lose).")
    p.add_argument("--overwrite", action="store_true", help="Replace an earlier --out of `ecellm predict`.")
    p.add_argument("--no-progress", action="store_true", help="No progress bar.")
    p.set_defaults(func=cmd_predict)


def _register_serve(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="HTTP API (one endpoint per task) and a page to try each task.",
                              description=__doc__, epilog=SERVE_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    _model_options(p)
    p.add_argument("--host", default="127.0.0.1", help="Address to bind (default: localhost only).")
    p.add_argument("--port", type=_port, default=8000, help="TCP port, 1 to 65535 (default 8000).")
    p.add_argument("--max-batch", type=_count("--max-batch"), default=16,
                   help="Most requests answered in one engine call.")
    p.add_argument("--batch-window-ms", type=_window, default=10.0,
                   help="How long the first waiting request waits for others to batch with (0: no waiting).")
    p.add_argument("--max-body-kb", type=_count("--max-body-kb"), default=256,
                   help="Largest request body accepted (413 above).")
    p.set_defaults(func=cmd_serve)


def cmd_predict(args: argparse.Namespace, rest: list[str] | None = None) -> int:
    """Errors propagate to the CLI's runner: one ``ecellm: error:`` line, exit 2 for a bad input."""
    from ecellm.inference.predict_file import predict_file

    summary = predict_file(args.model, args.task, args.input, args.out, mapping=args.map,
                           on_error=args.on_error, chunk_size=args.chunk_size, overwrite=args.overwrite,
                           progress=not args.no_progress, **_predictor_options(args))
    sys.stdout.write(json.dumps(summary.as_dict()) + "\n")
    return 0


def cmd_serve(args: argparse.Namespace, rest: list[str] | None = None) -> int:
    from ecinstruct.errors import ECInstructError

    try:
        from ecellm.inference.serve import serve
    except ImportError as err:
        raise ECInstructError(f"ecellm serve needs FastAPI and uvicorn: pip install 'ecellm[serve]' ({err})") from None
    serve(args.model, host=args.host, port=args.port, max_batch=args.max_batch,
          batch_window_ms=args.batch_window_ms, max_body_kb=args.max_body_kb, **_predictor_options(args))
    return 0
