"""The training flow: recipe → ECInstruct data → SFTTrainer with a LoRA config → adapter + tokenizer + summary.

One linear function, :func:`run`; :func:`train` is the Python entry point (``ecellm.train``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ecellm.artifacts import SUMMARY_FILE, TrainingSummary
from ecellm.errors import TrainingError
from ecellm.training.recipes import Recipe, load_recipe

logger = logging.getLogger(__name__)



@dataclass
class TrainResult:
    """What a training run produced. ``adapter_dir`` is a standard PEFT adapter folder with the tokenizer."""

    output_dir: Path
    adapter_dir: Path
    merged_dir: Path | None
    metrics: dict[str, Any]
    summary: dict[str, Any] = field(repr=False)


def train(recipe: str | os.PathLike | None = "XS", *, args: list[str] | None = None, **overrides: Any) -> TrainResult:
    """Train eCeLLM from a recipe: a shipped name (``XS``, ``S``, ``M``, ``L``, ...) or a YAML path.

    ``overrides`` use the recipe's (TRL's) field names, e.g. ``max_steps=10, output_dir="runs/x"``;
    ``args`` are command-line style overrides (``["--max_steps", "10"]``) applied last.
    """
    return run(load_recipe(recipe, overrides, args))


def run(recipe: Recipe) -> TrainResult:
    from transformers import AutoTokenizer
    from trl import get_quantization_config

    from ecellm.offline_models import resolve_model_path
    from ecellm.training.callbacks import TaskEvalCallback
    from ecellm.training.data import load_rows, select_train_rows, task_eval_rows, to_prompt_completion
    from ecellm.training.trainer import ECellmSFTTrainer
    from ecellm.training.validate import check_recipe

    check_recipe(recipe)  # every value, before anything is loaded
    script, cfg, model_args, ours = recipe.script, recipe.training, recipe.model, recipe.ecellm
    model_path = resolve_model_path(model_args.model_name_or_path or "")
    cfg.model_init_kwargs = {"revision": model_args.model_revision, "dtype": model_args.dtype,
                             "attn_implementation": model_args.attn_implementation, **(cfg.model_init_kwargs or {})}
    _set_accumulation(cfg, ours.effective_batch_size)
    with _loading("tokenizer", model_args.model_name_or_path):
        tokenizer = AutoTokenizer.from_pretrained(model_path, revision=model_args.model_revision,
                                                  trust_remote_code=cfg.trust_remote_code)
    peft_config, expected, output_head = _lora_config(model_path, model_args, cfg)

    evaluating = cfg.eval_strategy != "no"
    splits = (script.dataset_train_split, script.dataset_test_split) if evaluating else (script.dataset_train_split,)
    with cfg.main_process_first(desc="ECInstruct data"):
        rows = load_rows(script.dataset_name, script.dataset_config, splits, ours)
        fit_length = cfg.max_length if ours.fit_inputs_to_max_length else None
        drawn = select_train_rows(rows[splits[0]], ours.train_samples_per_task, ours.balance_answers, cfg.seed,
                                  ours.repeat_rare_answers, ours.samples_per_task_overrides())
        train_ds = to_prompt_completion(_head(drawn, ours.max_train_samples, cfg.seed), ours.prompt_format,
                                        tokenizer, fit_length)
        eval_ds = (to_prompt_completion(_head(rows[splits[1]], ours.max_eval_samples, cfg.seed), ours.prompt_format,
                                        tokenizer, fit_length) if evaluating else None)
    max_length = cfg.max_length
    if cfg.padding_free and not cfg.packing and fit_length:
        cfg.max_length = None  # rows already fit; TRL refuses max_length with padding-free batches without packing

    trainer = ECellmSFTTrainer(model=model_path, args=cfg, train_dataset=train_ds, eval_dataset=eval_ds,
                         processing_class=tokenizer, peft_config=peft_config,
                         quantization_config=get_quantization_config(model_args), output_head=output_head,
                         loss_length_power=ours.loss_length_power)
    _check_adapted(trainer.model, expected)
    if ours.task_eval_samples and evaluating:
        trainer.add_callback(TaskEvalCallback(trainer, task_eval_rows(rows[splits[1]], ours.task_eval_samples),
                                              ours.prompt_format, ours.task_eval_max_new_tokens,
                                              ours.task_eval_batch_size))

    output = trainer.train(resume_from_checkpoint=_resume_checkpoint(cfg))
    if peft_config is not None:  # record the recipe's base id, portable across machines, not a cache path
        trainer.model.peft_config["default"].base_model_name_or_path = model_args.model_name_or_path
    trainer.save_model(cfg.output_dir)
    out = Path(cfg.output_dir)
    summary = _summary(recipe, model_path, trainer, output.metrics, len(train_ds), eval_ds, max_length)
    merged = out / "merged" if ours.save_merged and peft_config is not None else None
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(out)
        TrainingSummary.from_dict(summary).save(out)
        if merged:
            trainer.model.merge_and_unload().save_pretrained(merged)
            tokenizer.save_pretrained(merged)
    # Every rank's last collective must be finished before the group is destroyed: torch's gloo backend can
    # deadlock when its worker thread frees a gathered tensor (needs the GIL) while the main thread joins it.
    trainer.accelerator.wait_for_everyone()
    trainer.end()
    logger.info("adapter, tokenizer and %s saved to %s", SUMMARY_FILE, out)
    return TrainResult(output_dir=out, adapter_dir=out, merged_dir=merged, metrics=output.metrics, summary=summary)


@contextmanager
def _loading(what: str, name: str) -> Iterator[None]:
    """Turn a failed ``from_pretrained`` into one line naming the model and the likely fixes."""
    try:
        yield
    except (OSError, ValueError, ImportError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise TrainingError(f"cannot load the {what} of model {name!r} ({type(err).__name__}: {first}). Expected a "
                            "Hub id reachable from this machine (or in its cache) or a folder written by "
                            "save_pretrained with its tokenizer") from None


def _head(rows, n: int | None, seed: int):
    """``n`` rows drawn with the run's seed (the splits are grouped by task, so the first ``n`` would not be)."""
    return rows.shuffle(seed=seed).select(range(min(n, len(rows)))) if n is not None else rows


def _set_accumulation(cfg, effective_batch_size: int | None) -> None:
    """Derive gradient accumulation from the effective batch, so 1 or N processes train the same recipe."""
    if not effective_batch_size:
        return
    per_step = cfg.per_device_train_batch_size * cfg.world_size
    if effective_batch_size % per_step:
        raise TrainingError(f"effective_batch_size={effective_batch_size} is not a multiple of per_device_train_batch_"
                         f"size × processes = {cfg.per_device_train_batch_size} × {cfg.world_size}; change one of them")
    cfg.gradient_accumulation_steps = effective_batch_size // per_step
    logger.info("effective batch %d = %d per device × %d process(es) × %d accumulation steps", effective_batch_size,
                cfg.per_device_train_batch_size, cfg.world_size, cfg.gradient_accumulation_steps)


def _lora_config(model_path: str, model_args, cfg):
    """TRL's LoRA config with targets mapped and validated on the real architecture (meta device, no weights),
    the output head split off (our trainer adapts it itself), and how many modules must end up adapted."""
    from transformers import AutoConfig
    from trl import get_peft_config

    from ecellm.training.targets import expected_count, meta_model, split_output_head, validate_targets

    peft_config = get_peft_config(model_args)
    if peft_config is None:
        return None, 0, None
    with _loading("config", model_args.model_name_or_path):
        config = AutoConfig.from_pretrained(model_path, revision=model_args.model_revision,
                                            trust_remote_code=cfg.trust_remote_code)
    skeleton = meta_model(config)
    targets = validate_targets(skeleton, model_args.lora_target_modules, config.model_type)
    peft_config.target_modules, head = split_output_head(skeleton, targets)
    return peft_config, expected_count(skeleton, targets), head


def _check_adapted(model, expected: int) -> None:
    from ecellm.training.targets import adapted_count

    if expected and adapted_count(model) != expected:
        raise TrainingError(f"PEFT adapted {adapted_count(model)} modules, the recipe's targets match {expected}; "
                           "refusing to train a different set of layers than the recipe names")


def _resume_checkpoint(cfg) -> str | None:
    """``resume_from_checkpoint``: a path, or ``last``/``true`` = the newest *complete* checkpoint in output_dir
    (one cut short by a kill during its save is skipped, not deleted), if any."""
    from ecellm.training.checkpoints import last_complete_checkpoint

    value = cfg.resume_from_checkpoint
    if value is None or str(value).lower() in ("false", "none", ""):
        return None
    if str(value).lower() in ("last", "true", "auto"):
        found = last_complete_checkpoint(cfg.output_dir, needs_optimizer=not cfg.save_only_model)
        last = str(found) if found else None
        if last:
            logger.info("resuming from %s", last)
        else:
            logger.info("no checkpoint in %s yet: starting fresh", cfg.output_dir)
        return last
    return str(value)


def _summary(recipe: Recipe, model_path: str, trainer, metrics: dict, n_train: int, eval_ds,
             max_length: int | None) -> dict[str, Any]:
    import peft
    import transformers
    import trl

    cfg, model_args, ours = recipe.training, recipe.model, recipe.ecellm
    state = trainer.state
    return {
        "base_model": model_args.model_name_or_path,
        "base_model_path": model_path,
        "prompt_format": ours.prompt_format,
        "recipe": str(recipe.path) if recipe.path else None,
        "dataset_name": recipe.script.dataset_name,
        "dataset_config": recipe.script.dataset_config or "default",
        "tasks": ours.tasks or "all",
        "train_rows": n_train,
        "eval_rows": len(eval_ds) if eval_ds is not None else 0,
        "lora": {"r": model_args.lora_r, "alpha": model_args.lora_alpha, "dropout": model_args.lora_dropout,
                 "target_modules": _targets(trainer)},
        "max_length": max_length,
        "packing": cfg.packing,
        "padding_free": cfg.padding_free,
        "precision": "bf16" if cfg.bf16 else "fp16" if cfg.fp16 else "fp32",
        "world_size": cfg.world_size,
        "effective_batch_size": cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps * cfg.world_size,
        "global_step": state.global_step,
        "best_checkpoint": state.best_model_checkpoint,
        "best_step": state.best_global_step,
        "best_metric": state.best_metric,
        "metrics": metrics,
        "ecellm_arguments": asdict(ours),
        "versions": {"transformers": transformers.__version__, "trl": trl.__version__, "peft": peft.__version__},
        "log_history": state.log_history,
    }


def _targets(trainer) -> list[str] | str | None:
    config = getattr(trainer.model, "peft_config", {}).get("default")
    targets = getattr(config, "target_modules", None)
    return sorted(targets) if isinstance(targets, set | list) else targets
