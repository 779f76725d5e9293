"""Recipes: YAML files of TRL fields (+ :class:`ECeLLMArguments`), parsed by TRL's own ``TrlParser``.

Precedence, lowest to highest: dataclass defaults < hardware defaults (``bf16``/``fp16``/``dtype``, chosen
here because TRL's default of ``bf16=True`` is ~13x slower on a CPU without bf16 units) < the recipe file <
keyword overrides (``ecellm.train(..., max_steps=5)``) < command-line flags (``--max_steps 5``).
A key that no dataclass knows fails, in the file as on the command line.
"""

from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from trl import ModelConfig, ScriptArguments, SFTConfig, TrlParser

from ecellm.errors import TrainingError
from ecellm.training.config import ECeLLMArguments

logger = logging.getLogger(__name__)

DATACLASSES = (ScriptArguments, SFTConfig, ModelConfig, ECeLLMArguments)


class RecipeError(TrainingError):
    """A recipe that cannot be found or parsed; the message says what was expected and how to fix it."""


@dataclass
class Recipe:
    """A parsed recipe: TRL's three argument classes plus ours, and where it came from."""

    script: ScriptArguments
    training: SFTConfig
    model: ModelConfig
    ecellm: ECeLLMArguments
    path: Path | None


def shipped_recipes() -> dict[str, Path]:
    """Name → path of the recipes shipped in ``ecellm/recipes`` (``XS``, ``S``, ``M``, ``L``, ...)."""
    folder = resources.files("ecellm") / "recipes"
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".yaml")}


def resolve_recipe(recipe: str | os.PathLike) -> Path:
    """A shipped recipe name (``S``) or a path to a YAML file → the file's path."""
    path = Path(recipe).expanduser()
    if path.is_file():
        return path
    shipped = shipped_recipes()
    if str(recipe) in shipped:
        return shipped[str(recipe)]
    raise RecipeError(f"recipe {str(recipe)!r} is neither a YAML file nor a shipped recipe; shipped recipes: "
                      f"{', '.join(sorted(shipped))} (or pass the path of your own YAML file)")


def hardware_defaults() -> dict[str, Any]:
    """Mixed precision and weight dtype for this machine: bf16 where supported, fp16 on older GPUs, fp32 on CPU."""
    import torch

    if torch.cuda.is_available():
        if torch.cuda.is_bf16_supported():
            return {"bf16": True, "fp16": False, "dtype": "bfloat16"}
        return {"bf16": False, "fp16": True, "dtype": "float16"}  # e.g. a T4: no bf16 units
    cpu = {"bf16": False, "fp16": False, "dtype": "float32"}
    if not torch.backends.mps.is_available():
        cpu["use_cpu"] = True  # makes a multi-process launch on a CPU-only machine join one gloo group
    return cpu


def _known_keys() -> set[str]:
    return {f.name for cls in DATACLASSES for f in fields(cls)}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise RecipeError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe must be a YAML mapping of field: value, got {type(data).__name__}")
    env = data.pop("env", {})  # same convention as TrlParser: environment variables to set
    if not isinstance(env, dict):
        raise RecipeError(f"{path}: `env` must be a mapping of VARIABLE: value")
    for key, value in env.items():
        os.environ[str(key)] = str(value)
    return data


def _check_keys(values: dict[str, Any], where: str) -> None:
    known = _known_keys()
    unknown = [k for k in values if k not in known]
    if unknown:
        hints = [f"{k} (did you mean {', '.join(m)}?)" if (m := difflib.get_close_matches(k, known, n=2)) else k
                 for k in unknown]
        raise RecipeError(f"{where}: unknown recipe key(s): {'; '.join(hints)}. Keys are the fields of TRL's "
                          "ScriptArguments, SFTConfig, ModelConfig and ecellm's ECeLLMArguments.")


def load_recipe(
    recipe: str | os.PathLike | None = "XS",
    overrides: dict[str, Any] | None = None,
    args: list[str] | None = None,
) -> Recipe:
    """Parse a recipe with ``TrlParser``: file values, then ``overrides`` (field: value), then CLI ``args``.

    ``recipe=None`` starts from the dataclass defaults only.
    """
    path = resolve_recipe(recipe) if recipe is not None else None
    values = _read_yaml(path) if path else {}
    _check_keys(values, str(path))
    overrides = dict(overrides or {})
    _check_keys(overrides, "overrides")

    parser = TrlParser(DATACLASSES)
    parser.error = _usage_error  # one line instead of argparse's usage block and exit
    parser.set_defaults_with_config(**hardware_defaults())
    parser.set_defaults_with_config(**{**values, **overrides})
    try:
        *parsed, remaining = parser.parse_args_into_dataclasses(
            args=list(args or []), return_remaining_strings=True, look_for_args_file=False
        )
    except ValueError as err:  # raised by a dataclass __post_init__ (e.g. incompatible strategies)
        raise RecipeError(f"{path or 'recipe'}: {err}") from err
    if remaining:
        raise RecipeError(f"unknown command-line option(s) {remaining}; options are the recipe keys "
                          "(TRL field names, e.g. --max_steps 10 --output_dir runs/x); see `ecellm train --help`")
    script, training, model, ecellm = parsed
    return Recipe(script=script, training=training, model=model, ecellm=ecellm, path=path)


def _usage_error(message: str) -> None:
    raise RecipeError(f"{message} (every key and its allowed values: `ecellm train --recipe XS --help-keys`)")


def recipe_parser() -> TrlParser:
    """The parser behind a recipe (for ``--help`` listings)."""
    return TrlParser(DATACLASSES, add_help=False)
