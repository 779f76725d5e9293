"""`ecellm train --recipe S [--key value ...]`: the recipe's keys are TRL's field names."""

from __future__ import annotations

import argparse
import logging

logger = logging.getLogger(__name__)

EPILOG = """Every recipe key can be overridden with --key value, e.g.
  ecellm train --recipe XS --max_steps 20 --output_dir runs/xs --dataset_name path/to/ECInstruct
  ecellm train --recipe M --tasks AVE                     (task-specific model)
  ecellm train --recipe M --dataset_config single_instruction
  ecellm train --recipe M --resume_from_checkpoint last  (continue after an interruption)
Multi-GPU: accelerate launch --config_file <ecellm/accelerate_configs/ddp.yaml> -m ecellm.cli train --recipe M
`ecellm train --recipe XS --help-keys` lists every key with its default."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="Fine-tune a model with a recipe (LoRA, TRL SFTTrainer).",
                                   description=__doc__, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="XS",
                        help="A shipped recipe (XS, S, M, L, S-qwen3, M-qwen3, L-qwen3, M-qlora) or a YAML path.")
    parser.add_argument("--help-keys", action="store_true", help="List every recipe key (TRL fields + ecellm's).")
    parser.set_defaults(func=cmd_train, accepts_extra=True)


def cmd_train(args: argparse.Namespace, rest: list[str]) -> int:
    from ecellm.training.recipes import load_recipe, recipe_parser
    from ecellm.training.run import run

    if args.help_keys:
        recipe_parser().print_help()
        return 0
    result = run(load_recipe(args.recipe, args=rest))  # errors: one line from the `ecellm` entry point
    logger.info("done: adapter in %s", result.adapter_dir)
    return 0
