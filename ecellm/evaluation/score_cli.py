"""`ecellm score PREDICTIONS`: score predictions made anywhere (another framework, an API, a notebook) without
loading a model; the output folder is the one `ecellm eval` writes, so `ecellm compare` reads it.

The flags are generated from :class:`ScoreCommand` (``ScoreOptions`` and the output options; see
:mod:`ecellm.options`); the readings, bootstrap and encoder flags are declared once, on
``ecellm.evaluation.config.ResultsOptions``, for `ecellm eval` and `ecellm score` alike.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from ecellm.evaluation.score_file import ScoreOptions
from ecellm.options import add_flags, from_args, option

logger = logging.getLogger(__name__)


@dataclass
class ScoreCommand(ScoreOptions):
    """``ecellm score``'s flags: what to score (:class:`ScoreOptions`) and where the results go."""

    out: str | None = option(None, "Output folder (results.json/.md/.png, samples/); a new one, or one written by "
                                   "ecellm score before.")
    overwrite: bool = option(False, "Replace an --out folder holding other files (it is kept as "
                                    "<out>.replaced-<time>).")


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
                              description=__doc__.split("\n\n")[0], epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(p, ScoreCommand)
    p.set_defaults(func=cmd_score)


def cmd_score(args: argparse.Namespace, rest: list[str] | None = None) -> int:
    from ecellm.evaluation.paper_scores import load_published
    from ecellm.evaluation.score_file import score_predictions
    from ecinstruct.atomic import check_output_folder, replace_folder

    inputs = [args.predictions, args.data, args.qpr_labels]
    if args.out:  # refuse a folder we may not replace before any work
        check_output_folder(args.out, inputs=inputs, overwrite=args.overwrite)
    options = from_args(ScoreOptions, from_args(ScoreCommand, args))
    results = score_predictions(options, load_published(None) if args.show_published else None)
    sys.stdout.write(results.markdown() + "\n")
    if args.out:
        replace_folder(args.out, lambda folder: results.save(folder, chart=args.chart), overwrite=args.overwrite,
                       inputs=inputs, writer="ecellm score")
        results.out_dir = Path(args.out)
        logger.info("wrote %s", Path(args.out).resolve())
    return 0
