"""`ecellm score PREDICTIONS`: score predictions made anywhere (another framework, an API, a notebook) without
loading a model; the output folder is the one `ecellm eval` writes, so `ecellm compare` reads it."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ecellm.evaluation.validate import arg, check_at_least_one
from ecinstruct.prompts import PROMPT_FORMATS

logger = logging.getLogger(__name__)

EPILOG = """Input (JSON lines, CSV or Parquet), one row per prediction:
  {"id": "...", "task": "PM", "split": "test_ind", "prediction": "No, these differ.", "reference": "no"}
  "prompt" may stand in for "id"; QPR rows add "option_labels" (["E", "S", "I"]); SR rows may add "options".
  With --data, references (and QPR labels, SR options) come from the data by task, split and id.
Examples:
  ecellm score preds.jsonl --out runs/api-model
  ecellm score preds.parquet --data path/to/ECInstruct --out runs/api-model
  ecellm compare runs/api-model runs/xs"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("score", help="Score predictions made elsewhere (no model): eval's tables and samples.",
                              description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("predictions", help="JSONL, CSV or Parquet file of predictions (see below).")
    p.add_argument("--data", help="ECInstruct source (Hub id, dataset.json, built folder) to take references from, "
                                  "by id.")
    p.add_argument("--config", default="default", help="Dataset config of --data (default: default).")
    p.add_argument("--qpr-labels", help="Official QPR label file, for --data built without it.")
    p.add_argument("--out", help="Output folder (results.json/.md/.png, samples/); a new one, or one written by "
                                 "ecellm score before.")
    p.add_argument("--overwrite", action="store_true",
                   help="Replace an --out folder holding other files (it is kept as <out>.replaced-<time>).")
    p.add_argument("--label", help="Name of the system in the tables (default: the file name).")
    p.add_argument("--prompt-format", default="alpaca", choices=PROMPT_FORMATS,
                   help="Format the predictions were made with: a repeated response marker of it ends an answer "
                        "(default alpaca).")
    p.add_argument("--modes", default="strict,reference,flexible", help="Readings to score, comma-separated.")
    p.add_argument("--n-resamples", type=arg(check_at_least_one, int, "--n-resamples"), default=1000,
                   help="Bootstrap resamples for the CIs.")
    p.add_argument("--seed", type=int, default=0, help="Bootstrap seed.")
    p.add_argument("--bertscore-model", default="auto",
                   help="AG encoder: auto, paper (roberta-large), offline (MiniLM wheel) or a model path.")
    p.add_argument("--bertscore-layers", type=arg(check_at_least_one, int, "--bertscore-layers"),
                   help="Encoder layer for BERTScore (for a custom model).")
    p.add_argument("--no-published", dest="show_published", action="store_false", help="Show no published numbers.")
    p.add_argument("--no-chart", dest="chart", action="store_false", help="Skip results.png.")
    p.set_defaults(func=cmd_score)


def cmd_score(args: argparse.Namespace, rest: list[str] | None = None) -> int:
    from ecellm.evaluation.paper_scores import load_published
    from ecellm.evaluation.score_file import ScoreOptions, score_predictions
    from ecinstruct.atomic import check_output_folder, replace_folder

    inputs = [args.predictions, args.data, args.qpr_labels]
    if args.out:  # refuse a folder we may not replace before any work
        check_output_folder(args.out, inputs=inputs, overwrite=args.overwrite)
    options = ScoreOptions(predictions=args.predictions, data=args.data, config=args.config, qpr_labels=args.qpr_labels,
                           label=args.label, prompt_format=args.prompt_format, modes=args.modes,
                           n_resamples=args.n_resamples, seed=args.seed, bertscore_model=args.bertscore_model,
                           bertscore_layers=args.bertscore_layers)
    results = score_predictions(options, load_published(None) if args.show_published else None)
    sys.stdout.write(results.markdown() + "\n")
    if args.out:
        replace_folder(args.out, lambda folder: results.save(folder, chart=args.chart), overwrite=args.overwrite,
                       inputs=inputs, writer="ecellm score")
        results.out_dir = Path(args.out)
        logger.info("wrote %s", Path(args.out).resolve())
    return 0
