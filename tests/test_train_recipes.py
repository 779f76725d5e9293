"""Recipes parse with TRL's parser, unknown keys fail, LoRA targets exist in the real architecture classes."""

from __future__ import annotations

import pytest
from transformers import AutoConfig

from ecellm.offline_models import tiny_config_kwargs
from ecellm.training import RecipeError, TargetModuleError, load_recipe, shipped_recipes
from ecellm.training.targets import (
    adapts_output_head,
    expected_count,
    meta_model,
    split_output_head,
    validate_targets,
)

# The transformers architecture (model_type) of each shipped recipe's base model.
ARCHITECTURES = {"XS": "llama", "S": "phi", "M": "mistral", "L": "llama", "M-qlora": "mistral",
                 "S-qwen3": "qwen3", "M-qwen3": "qwen3", "L-qwen3": "qwen3"}
PAPER = {"S": ("microsoft/phi-2", "alpaca"), "M": ("mistralai/Mistral-7B-Instruct-v0.2", "mistral"),
         "L": ("meta-llama/Llama-2-13b-chat-hf", "alpaca")}


def tiny_skeleton(model_type: str):
    return meta_model(AutoConfig.for_model(model_type, **tiny_config_kwargs()))


def test_every_shipped_recipe_has_an_architecture():
    assert set(shipped_recipes()) == set(ARCHITECTURES)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_recipe_parses_and_targets_exist(name):
    recipe = load_recipe(name)
    assert recipe.model.use_peft and recipe.training.output_dir
    assert not recipe.training.bf16 and recipe.model.dtype == "float32"  # CPU: bf16 would be ~13x slower
    skeleton = tiny_skeleton(ARCHITECTURES[name])
    targets = validate_targets(skeleton, recipe.model.lora_target_modules, ARCHITECTURES[name])
    layers = skeleton.config.num_hidden_layers
    head = adapts_output_head(skeleton, targets)
    assert head == (name in PAPER)  # the paper adapts lm_head; the other recipes leave it frozen
    # every projection of every layer (+ the head)
    assert expected_count(skeleton, targets) == layers * (len(targets) - head) + head


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_hyperparameters(name):
    r = load_recipe(name)
    model, fmt = PAPER[name]
    assert (r.model.model_name_or_path, r.ecellm.prompt_format) == (model, fmt)
    assert (r.model.lora_r, r.model.lora_alpha, r.model.lora_dropout) == (16, 16, 0.1)
    assert (r.training.learning_rate, r.training.lr_scheduler_type.value, r.training.warmup_steps) == (
        1e-4, "cosine", 0.05)
    assert (r.ecellm.effective_batch_size, r.training.num_train_epochs, r.training.max_length) == (128, 3, 2048)
    assert r.training.load_best_model_at_end and r.training.eval_strategy.value == "epoch"
    assert r.training.padding_free and r.training.per_device_train_batch_size > 1
    assert "lm_head" in r.model.lora_target_modules


def test_precedence_file_then_overrides_then_cli():
    r = load_recipe("XS", {"max_steps": 7, "learning_rate": 3e-4}, ["--max_steps", "9", "--tasks", "AVE", "SA"])
    assert (r.training.max_steps, r.training.learning_rate, r.ecellm.tasks) == (9, 3e-4, ["AVE", "SA"])


def test_xs_keeps_the_levers_the_real_data_runs_chose():
    """XS's loss weighting and answer balancing are what docs/results measured; a silent change would void them."""
    r = load_recipe("XS")
    assert (r.ecellm.loss_length_power, r.ecellm.balance_answers, r.training.learning_rate) == (0.5, True, 1e-3)
    assert load_recipe("XS", args=["--loss_length_power", "0"]).ecellm.loss_length_power == 0.0


def test_unknown_key_in_file_fails_with_a_hint(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("model_name_or_path: x\nlearning_rte: 1.0e-4\n")
    with pytest.raises(RecipeError, match=r"learning_rte \(did you mean learning_rate"):
        load_recipe(path)


def test_unknown_override_and_cli_option_fail():
    with pytest.raises(RecipeError, match="unknown recipe key"):
        load_recipe("XS", {"epochs": 3})
    with pytest.raises(RecipeError, match="unknown command-line option"):
        load_recipe("XS", args=["--epochs", "3"])


def test_unknown_recipe_name_lists_the_shipped_ones():
    with pytest.raises(RecipeError, match="XS"):
        load_recipe("XXL")


def test_reference_phi2_targets_are_mapped_not_silently_dropped():
    skeleton = tiny_skeleton("phi")
    mapped = validate_targets(skeleton, ["Wqkv", "out_proj", "fc1", "fc2", "linear"], "phi")
    assert mapped == ["q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2", "lm_head"]
    assert adapts_output_head(skeleton, mapped)


@pytest.mark.parametrize("targets", [["q_proj", "Wqkv"], ["qkv_proj"], "q_proj"])
def test_targets_matching_nothing_fail_clearly(targets):
    skeleton = tiny_skeleton("mistral")
    if targets == "q_proj":  # ModelConfig turns a one-item list into a string: still a plain name
        assert validate_targets(skeleton, targets, "mistral") == ["q_proj"]
        return
    with pytest.raises(TargetModuleError, match="match no linear module"):
        validate_targets(skeleton, targets, "mistral")


def test_lm_head_target_is_split_off_for_our_trainer_and_refused_when_tied(tmp_path):
    from ecellm.training.run import _lora_config

    recipe = load_recipe("XS", {"lora_target_modules": ["q_proj", "lm_head"]})
    AutoConfig.for_model("llama", **tiny_config_kwargs()).save_pretrained(tmp_path / "untied")
    peft_config, expected, head = _lora_config(str(tmp_path / "untied"), recipe.model, recipe.training)
    assert (sorted(peft_config.target_modules), head) == (["q_proj"], "lm_head")
    assert expected == AutoConfig.from_pretrained(tmp_path / "untied").num_hidden_layers + 1
    tied = {**tiny_config_kwargs(), "tie_word_embeddings": True}
    AutoConfig.for_model("llama", **tied).save_pretrained(tmp_path / "tied")
    with pytest.raises(TargetModuleError, match="tie_word_embeddings"):
        _lora_config(str(tmp_path / "tied"), recipe.model, recipe.training)
    with pytest.raises(TargetModuleError, match="list the modules"):
        split_output_head(tiny_skeleton("llama"), ".*(q_proj|lm_head)")


def test_cli_rejects_unknown_option():
    from ecellm.cli import main

    assert main(["train", "--recipe", "XS", "--bogus_key", "1"]) == 2
