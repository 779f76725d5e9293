"""`ecellm predict` (answer every row of a CSV / JSONL / Parquet file) and `ecellm serve` (HTTP API + web page).

Both commands' flags are generated from their config dataclasses (``ecellm.inference.config``: ``PredictConfig``,
``ServeConfig``, sharing ``PredictorOptions``), see :mod:`ecellm.options`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from ecellm.inference.config import PredictConfig, ServeConfig
from ecellm.options import add_flags, from_args
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


def _register_predict(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("predict", help="Answer one task for every row of a CSV / JSONL / Parquet file.",
                              description=__doc__.split("\n\n")[0], epilog=PREDICT_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(p, PredictConfig, required=("model",))
    p.set_defaults(func=cmd_predict)


def _register_serve(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="HTTP API (one endpoint per task) and a page to try each task.",
                              description=__doc__.split("\n\n")[0], epilog=SERVE_EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(p, ServeConfig, required=("model",))
    p.set_defaults(func=cmd_serve)


def cmd_predict(args: argparse.Namespace, rest: list[str] | None = None) -> int:
    """Errors propagate to the CLI's runner: one ``ecellm: error:`` line, exit 2 for a bad input."""
    from ecellm.inference.predict_file import predict_file

    config = from_args(PredictConfig, args)
    summary = predict_file(config.model, config.task, config.input, config.out, **config.file_kwargs(),
                           **config.predictor_kwargs())
    sys.stdout.write(json.dumps(summary.as_dict()) + "\n")
    return 0


def cmd_serve(args: argparse.Namespace, rest: list[str] | None = None) -> int:
    from ecinstruct.errors import ECInstructError

    try:
        from ecellm.inference.serve import serve
    except ImportError as err:
        raise ECInstructError(f"ecellm serve needs FastAPI and uvicorn: pip install 'ecellm[serve]' ({err})") from None
    config = from_args(ServeConfig, args)
    serve(config.model, **config.server_kwargs(), **config.predictor_kwargs())
    return 0
