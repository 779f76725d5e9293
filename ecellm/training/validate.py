"""Every recipe value checked before a model, tokenizer or dataset is loaded: one clear error instead of a
traceback from deep inside transformers or TRL after minutes of loading."""

from __future__ import annotations

import logging
from pathlib import Path

from ecellm.artifacts import is_adapter
from ecellm.errors import TrainingError
from ecellm.training.recipes import Recipe

logger = logging.getLogger(__name__)

DTYPES = ("auto", "float32", "float16", "bfloat16")
TRAIN_WRITES = ("README.md", "adapter_config.json", "adapter_model.safetensors", "config.json", "model.safetensors",
                "tokenizer.json", "tokenizer_config.json", "training_args.bin", "training_summary.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def check_recipe(recipe: Recipe) -> None:
    """Raise :class:`TrainingError` for the first value that cannot work, naming the key and the fix."""
    _check_counts(recipe)
    _check_model(recipe.model.model_name_or_path, recipe.model.dtype)
    _check_data(recipe)
    _check_output(recipe)


def _check_counts(recipe: Recipe) -> None:
    cfg, ours, model = recipe.training, recipe.ecellm, recipe.model
    counts = {"per_device_train_batch_size": cfg.per_device_train_batch_size,
              "per_device_eval_batch_size": cfg.per_device_eval_batch_size,
              "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
              "effective_batch_size": ours.effective_batch_size, "max_length": cfg.max_length,
              "max_train_samples": ours.max_train_samples, "max_eval_samples": ours.max_eval_samples,
              "train_samples_per_task": ours.train_samples_per_task,
              "task_eval_batch_size": ours.task_eval_batch_size}
    if model.use_peft:
        counts["lora_r"] = model.lora_r
    for key, value in counts.items():
        if value is not None and value < 1:
            raise TrainingError(f"{key} must be >= 1, got {value}; fix it in the recipe or with --{key} N")
    if not cfg.learning_rate > 0:
        raise TrainingError(f"learning_rate must be > 0, got {cfg.learning_rate}")
    if cfg.max_steps is not None and cfg.max_steps < -1:
        raise TrainingError(f"max_steps must be >= 1 (or -1: train for num_train_epochs), got {cfg.max_steps}")
    workers = getattr(cfg, "dataloader_num_workers", 0) or 0
    if workers < 0:
        raise TrainingError(f"dataloader_num_workers must be >= 0, got {workers}")
    if workers > 0:
        from ecinstruct.machine import bound_workers

        cfg.dataloader_num_workers = bound_workers(workers, "dataloader_num_workers")
    if cfg.max_steps is not None and cfg.max_steps <= 0 and not cfg.num_train_epochs > 0:
        raise TrainingError(f"nothing to train: num_train_epochs={cfg.num_train_epochs} and max_steps="
                            f"{cfg.max_steps}; set one of them > 0")


def _check_model(name: str | None, dtype: str | None) -> None:
    from ecinstruct.paths import missing_local_path

    if not name:
        raise TrainingError("the recipe names no model: set model_name_or_path (a Hub id such as "
                            "HuggingFaceTB/SmolLM2-135M-Instruct, or a local model folder) or pass "
                            "--model_name_or_path")
    if dtype is not None and dtype not in DTYPES:
        raise TrainingError(f"dtype {dtype!r}: expected one of {', '.join(DTYPES)}")
    if (problem := missing_local_path(name)) is not None:
        raise TrainingError(f"model_name_or_path {problem}; expected a Hub id (org/name) or a model folder")
    folder = Path(name).expanduser()
    if not folder.is_dir():
        return
    if not (folder / "config.json").is_file():
        hint = " (a PEFT adapter: train from its base model, or merge it first)" if is_adapter(folder) else ""
        raise TrainingError(f"model_name_or_path {folder}: no config.json, so not a model folder{hint}; expected "
                            "a folder written by save_pretrained")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise TrainingError(f"model_name_or_path {folder}: no tokenizer ({', '.join(TOKENIZER_FILES[:2])}); save "
                            "the tokenizer into the model folder with tokenizer.save_pretrained(folder)")


def _check_data(recipe: Recipe) -> None:
    from ecellm.training.data import resolve_source
    from ecinstruct.paths import missing_local_path
    from ecinstruct.prompts import PROMPT_FORMATS
    from ecinstruct.settings import get_config
    from ecinstruct.tasks import resolve_tasks

    script, ours = recipe.script, recipe.ecellm
    get_config(script.dataset_config or "default")  # UnknownNameError lists the configs
    if ours.tasks:
        resolve_tasks(ours.tasks)
    if ours.prompt_format not in PROMPT_FORMATS:
        raise TrainingError(f"prompt_format {ours.prompt_format!r}: expected one of {', '.join(PROMPT_FORMATS)}")
    source = resolve_source(script.dataset_name)
    if (problem := missing_local_path(source)) is not None:
        raise TrainingError(f"dataset_name {problem}; expected a Hub id, a published dataset.json, a folder "
                            "written by `ecinstruct build`, or `sample`")


def _check_output(recipe: Recipe) -> None:
    from ecellm.training.checkpoints import incomplete_reason

    cfg = recipe.training
    out = Path(cfg.output_dir) if cfg.output_dir else None
    if out is not None and out.exists() and not out.is_dir():
        raise TrainingError(f"output_dir {out} is a file; expected a folder for checkpoints and the adapter")
    if out is not None:
        from ecellm.training.data import resolve_source
        from ecinstruct.atomic import check_run_folder

        check_run_folder(out, inputs=[recipe.model.model_name_or_path, resolve_source(recipe.script.dataset_name)],
                         option="output_dir", writer="ecellm train", writes=TRAIN_WRITES,
                         own_marks=("training_summary.json", "trainer_state.json", "checkpoint-*"))
    value = cfg.resume_from_checkpoint
    if value is None or str(value).lower() in ("false", "none", "", "last", "true", "auto"):
        return
    reason = incomplete_reason(value, needs_optimizer=not cfg.save_only_model)
    if reason is not None:
        raise TrainingError(f"resume_from_checkpoint {value}: cannot resume from it ({reason}); pass another "
                            "checkpoint folder, or `last` for the newest complete one")
