"""End-to-end training on a tiny random model (real SmolLM2 tokenizer) and the fixture data."""

from __future__ import annotations

import json
import math

import pytest
import torch

pytestmark = pytest.mark.slow

FAST = {"eval_strategy": "no", "save_strategy": "no", "logging_steps": 1, "report_to": "none",
        "max_train_samples": 16, "per_device_train_batch_size": 4, "effective_batch_size": 4}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from ecellm.offline_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def trained(tiny_model, built_folder, tmp_path_factory):
    """XS on the tiny model: 3 steps, a checkpoint at step 3, with the in-training task evaluation."""
    import ecellm

    out = tmp_path_factory.mktemp("run") / "out"
    overrides = {**FAST, "eval_strategy": "steps", "eval_steps": 3, "save_strategy": "steps", "save_steps": 3,
                 "task_eval_samples": 1, "task_eval_max_new_tokens": 4, "metric_for_best_model": "task_score",
                 "load_best_model_at_end": True, "greater_is_better": True}
    return ecellm.train("XS", model_name_or_path=str(tiny_model), dataset_name=str(built_folder),
                        output_dir=str(out), max_steps=3, **overrides)


def test_loss_is_logged_and_finite(trained):
    state = json.loads((trained.output_dir / "checkpoint-3" / "trainer_state.json").read_text())
    losses = [e["loss"] for e in state["log_history"] if "loss" in e]
    assert len(losses) == 3 and all(math.isfinite(x) for x in losses)
    assert "eval_task_score" in state["log_history"][-1] or any("eval_task_score" in e for e in state["log_history"])
    assert state["best_metric"] is not None  # selected by task_score


def test_output_is_a_peft_adapter_with_summary(trained):
    files = {p.name for p in trained.output_dir.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "training_summary.json"} <= files
    summary = json.loads((trained.output_dir / "training_summary.json").read_text())
    assert summary["prompt_format"] == "alpaca" and summary["base_model"] == trained.summary["base_model"]
    assert summary["global_step"] == 3 and summary["lora"]["r"] == 16


def test_lora_changed_base_unchanged_and_adapter_generates(trained, tiny_model):
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter = load_file(trained.output_dir / "adapter_model.safetensors")
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b)  # B starts at zero: non-zero means it trained
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    reference = {k: v.clone() for k, v in base.state_dict().items()}
    model = PeftModel.from_pretrained(base, trained.output_dir)
    merged = model.merge_and_unload()  # merged weights differ only where LoRA adapted
    changed = {k for k, v in merged.state_dict().items() if not torch.equal(v, reference[k])}
    assert changed and all("proj" in k for k in changed)
    base_again = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert all(torch.equal(v, reference[k]) for k, v in base_again.state_dict().items())  # saved base untouched
    tokenizer = AutoTokenizer.from_pretrained(trained.output_dir)
    ids = tokenizer("### Instruction:\nhello", return_tensors="pt")
    out = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), trained.output_dir).generate(
        **ids, max_new_tokens=3, do_sample=False)
    assert out.shape[1] == ids["input_ids"].shape[1] + 3


def test_prompt_tokens_are_masked(tiny_model, built_folder):
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from ecellm.training.config import ECeLLMArguments
    from ecellm.training.data import load_rows, to_prompt_completion

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    rows = load_rows(str(built_folder), "default", ("train",), ECeLLMArguments())["train"].select(range(4))
    data = to_prompt_completion(rows, "alpaca", tokenizer, 2048)
    args = SFTConfig(output_dir="unused", bf16=False, use_cpu=True, report_to="none", max_length=2048,
                     activation_checkpointing=False)  # TRL defaults the deprecated gradient_checkpointing to True
    trainer = SFTTrainer(model=str(tiny_model), args=args, train_dataset=data, processing_class=tokenizer)
    for example, source in zip(trainer.train_dataset, data, strict=True):
        n_prompt = len(tokenizer(source["prompt"])["input_ids"])
        labels = example["labels"]
        assert all(x == -100 for x in labels[:n_prompt])
        answer = tokenizer(source["completion"], add_special_tokens=False)["input_ids"]
        assert labels[n_prompt:] == example["input_ids"][n_prompt:]
        assert labels[-1] == tokenizer.eos_token_id and len(labels) - n_prompt >= len(answer)


def test_over_long_rows_keep_their_answer(tiny_model, built_folder):
    from transformers import AutoTokenizer

    from ecellm.training.config import ECeLLMArguments
    from ecellm.training.data import load_rows, to_prompt_completion

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    rows = load_rows(str(built_folder), "default", ("train",), ECeLLMArguments(tasks=["AP"]))["train"]
    full = to_prompt_completion(rows, "alpaca")
    limit = max(len(tokenizer(r["prompt"] + r["completion"])["input_ids"]) for r in full) - 10
    data = to_prompt_completion(rows, "alpaca", tokenizer, limit)
    assert len(data) == len(rows) and data["prompt"] != full["prompt"]  # the longest row was shortened
    for example, row in zip(data, rows, strict=True):
        assert example["completion"] == row["output"]  # the answer is never cut
        assert len(tokenizer(example["prompt"] + example["completion"])["input_ids"]) + 1 <= limit


def test_cli_trains_the_xs_recipe_with_tiny_overrides(tiny_model, built_folder, tmp_path):
    from ecellm.cli import main

    out = tmp_path / "cli"
    argv = ["train", "--recipe", "XS", "--model_name_or_path", str(tiny_model), "--dataset_name", str(built_folder),
            "--max_steps", "1", "--output_dir", str(out), "--eval_strategy", "no", "--save_strategy", "no",
            "--max_train_samples", "4", "--per_device_train_batch_size", "4", "--effective_batch_size", "4",
            "--tasks", "PSI", "--dataset_config", "single_instruction"]
    assert main(argv) == 0
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["tasks"] == ["PSI"] and summary["dataset_config"] == "single_instruction"


def test_resume_after_interruption(tiny_model, built_folder, tmp_path, monkeypatch):
    import trl

    import ecellm

    out = tmp_path / "resume"
    run = {**FAST, "model_name_or_path": str(tiny_model), "dataset_name": str(built_folder), "output_dir": str(out),
           "max_steps": 4, "save_strategy": "steps", "save_steps": 2}
    original = trl.SFTTrainer.training_step

    def killed_at_step_3(self, *args, **kwargs):
        if self.state.global_step == 3:
            raise KeyboardInterrupt  # what a kill between checkpoints looks like to the next run
        return original(self, *args, **kwargs)

    monkeypatch.setattr(trl.SFTTrainer, "training_step", killed_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        ecellm.train("XS", **run)
    assert (out / "checkpoint-2").is_dir() and not (out / "checkpoint-4").exists()
    monkeypatch.setattr(trl.SFTTrainer, "training_step", original)
    result = ecellm.train("XS", resume_from_checkpoint="last", **run)
    state = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())
    assert result.summary["global_step"] == 4
    assert [e["step"] for e in state["log_history"] if "loss" in e] == [1, 2, 3, 4]


@pytest.mark.parametrize("lost", ["trainer_state.json", "optimizer.pt"])
def test_resume_skips_a_checkpoint_cut_short_by_a_kill_during_its_save(tiny_model, built_folder, tmp_path, lost,
                                                                       caplog):
    """A kill while checkpoint-4 was being written, made deterministic: one of its files is gone. `last` must
    resume from checkpoint-2 (the newest complete one) and finish; the broken folder is not trusted."""
    import ecellm

    out = tmp_path / "killed"
    run = {**FAST, "model_name_or_path": str(tiny_model), "dataset_name": str(built_folder), "output_dir": str(out),
           "save_strategy": "steps", "save_steps": 2}
    ecellm.train("XS", max_steps=4, **run)
    (out / "checkpoint-4" / lost).unlink()
    with caplog.at_level("INFO", logger="ecellm.training"):
        result = ecellm.train("XS", max_steps=6, resume_from_checkpoint="last", **run)
    assert f"resuming from {out / 'checkpoint-2'}" in caplog.text and "skipping" in caplog.text
    state = json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())
    assert result.summary["global_step"] == 6
    assert [e["step"] for e in state["log_history"] if "loss" in e] == [1, 2, 3, 4, 5, 6]  # resumed after step 2


def test_resume_from_an_incomplete_checkpoint_path_is_one_clear_error(tiny_model, built_folder, tmp_path, capsys):
    from ecellm.cli import main

    broken = tmp_path / "out" / "checkpoint-3"
    broken.mkdir(parents=True)
    (broken / "trainer_state.json").write_text('{"global_step": 3}')
    argv = ["train", "--model_name_or_path", str(tiny_model), "--dataset_name", str(built_folder),
            "--output_dir", str(tmp_path / "out"), "--resume_from_checkpoint", str(broken)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot resume from it (no weights file" in err


def loss_and_grads(trainer_class, model_path, data, tokenizer, **trainer_kwargs):
    """One padding-free batch of 4 rows through ``compute_loss`` and ``backward`` (LoRA on q/v, no dropout)."""
    from peft import LoraConfig
    from trl import SFTConfig

    torch.manual_seed(0)
    args = SFTConfig(output_dir="unused", bf16=False, use_cpu=True, report_to="none", max_length=None,
                     padding_free=True, per_device_train_batch_size=4, activation_checkpointing=False)
    lora = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer = trainer_class(model=str(model_path), args=args, train_dataset=data, processing_class=tokenizer,
                            peft_config=lora, **trainer_kwargs)
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    trainer.model.train()
    loss = trainer.compute_loss(trainer.model, dict(batch))
    loss.backward()
    grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
    return loss.item(), grads, batch


def test_cpu_loss_projects_only_answer_positions_with_the_same_loss_and_gradients(tiny_model, built_folder,
                                                                                  monkeypatch):
    """ECellmSFTTrainer: the LM head sees only supervised positions on CPU; loss and LoRA gradients are
    those of stock TRL (which projects every position there)."""
    from transformers import AutoTokenizer
    from trl import SFTTrainer
    from trl.trainer import utils as trl_utils

    from ecellm.training.config import ECeLLMArguments
    from ecellm.training.data import load_rows, to_prompt_completion
    from ecellm.training.trainer import ECellmSFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    rows = load_rows(str(built_folder), "default", ("train",), ECeLLMArguments())["train"].select(range(4))
    data = to_prompt_completion(rows, "alpaca", tokenizer, 2048)
    projected: list[int] = []
    kernel = trl_utils._ChunkedLogProbFunction
    original_apply = kernel.apply

    def spy(hidden, *args):
        projected.append(hidden.shape[0])
        return original_apply(hidden, *args)

    monkeypatch.setattr(kernel, "apply", spy)

    stock_loss, stock_grads, batch = loss_and_grads(SFTTrainer, tiny_model, data, tokenizer)
    ours_loss, ours_grads, _ = loss_and_grads(ECellmSFTTrainer, tiny_model, data, tokenizer)
    supervised = int((batch["labels"][:, 1:] != -100).sum())
    assert projected == [batch["input_ids"].shape[1] - 1, supervised]  # stock: every position; ours: answers
    assert supervised < (batch["input_ids"].shape[1] - 1) / 2
    assert ours_loss == pytest.approx(stock_loss, rel=1e-5)
    assert stock_grads.keys() == ours_grads.keys() and len(ours_grads) == 8
    for name, grad in stock_grads.items():
        torch.testing.assert_close(ours_grads[name], grad, rtol=1e-4, atol=1e-6)


def test_output_head_adapter_trains_with_the_stock_loss(tiny_model, built_folder):
    """The paper's lm_head LoRA: at init (B = 0) the loss and the other adapters' gradients are stock TRL's,
    and the head's own adapter gets a gradient."""
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    from ecellm.training.config import ECeLLMArguments
    from ecellm.training.data import load_rows, to_prompt_completion
    from ecellm.training.trainer import ECellmSFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    rows = load_rows(str(built_folder), "default", ("train",), ECeLLMArguments())["train"].select(range(4))
    data = to_prompt_completion(rows, "alpaca", tokenizer, 2048)
    stock_loss, stock_grads, _ = loss_and_grads(SFTTrainer, tiny_model, data, tokenizer)
    head_loss, head_grads, _ = loss_and_grads(ECellmSFTTrainer, tiny_model, data, tokenizer, output_head="lm_head")
    assert head_loss == pytest.approx(stock_loss, rel=1e-5)
    head_params = {n for n in head_grads if ".lm_head." in n}
    assert head_params == {"base_model.model.lm_head.lora_A.default.weight",
                           "base_model.model.lm_head.lora_B.default.weight"}
    assert head_grads["base_model.model.lm_head.lora_B.default.weight"].abs().sum() > 0
    for name, grad in stock_grads.items():
        torch.testing.assert_close(head_grads[name], grad, rtol=1e-4, atol=1e-6)


def test_recipe_with_lm_head_saves_reloads_and_merges_the_head_adapter(tiny_model, built_folder, tmp_path):
    from peft import PeftModel
    from peft.tuners.lora import LoraLayer
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    import ecellm

    result = ecellm.train("XS", model_name_or_path=str(tiny_model), dataset_name=str(built_folder),
                          output_dir=str(tmp_path / "out"), max_steps=2, save_merged=True,
                          lora_target_modules=["q_proj", "v_proj", "lm_head"], **FAST)
    config = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert sorted(config["target_modules"]) == ["lm_head", "q_proj", "v_proj"]
    weights = load_file(result.adapter_dir / "adapter_model.safetensors")
    assert all(".lora_" in k for k in weights)  # not the frozen head itself
    head_b = next(v for k, v in weights.items() if "lm_head.lora_B" in k)
    assert head_b.abs().sum() > 0  # trained away from its zero init
    assert sorted(result.summary["lora"]["target_modules"]) == ["lm_head", "q_proj", "v_proj"]

    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    frozen_head = base.lm_head.weight.detach().clone()
    reloaded = PeftModel.from_pretrained(base, result.adapter_dir).eval()
    assert isinstance(reloaded.get_output_embeddings(), LoraLayer)
    torch.testing.assert_close(reloaded.get_output_embeddings().lora_B["default"].weight, head_b)
    merged = AutoModelForCausalLM.from_pretrained(result.merged_dir).eval()
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, reloaded(input_ids=ids).logits, rtol=1e-4, atol=1e-4)
        assert not torch.allclose(merged.lm_head.weight, frozen_head)
