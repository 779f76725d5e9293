"""Dataset and model cards: rendered through huggingface_hub's card classes, metadata valid for the Hub."""

from __future__ import annotations

import json

import pytest
import yaml
from huggingface_hub import DatasetCard, ModelCard
from publish_helpers import results_file

from ecellm.publishing import ModelCardInputs, load_results, render_model_card, scores_from_results
from ecellm.publishing.model_card import published_models, published_score
from ecinstruct.card_checks import CardValidationError, check, dataset_card_problems, model_card_problems
from ecinstruct.dataset_card import retarget_dataset_card


def _model_inputs(tmp_path, **overrides) -> ModelCardInputs:
    scores = scores_from_results(load_results(results_file(tmp_path / "after.json", 0.2)))
    baseline = scores_from_results(load_results(results_file(tmp_path / "before.json")))
    values = {"repo_id": "my-org/eCeLLM-XS", "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct", "scores": scores,
              "baseline": baseline, "recipe": {"LoRA r / alpha / dropout": "16 / 16 / 0.1"}}
    return ModelCardInputs(**{**values, **overrides})


def test_dataset_card_is_valid_and_describes_everything(built_folder):
    text = (built_folder / "README.md").read_text()
    assert dataset_card_problems(text, folder=built_folder) == []
    data = DatasetCard(text).data.to_dict()
    assert data["license"] == "cc-by-4.0" and "text-generation" in data["task_categories"]
    assert {c["config_name"] for c in data["configs"]} >= {"default", "ave", "one_shot", "unseen_instruction"}
    for section in ("## Tasks", "## Settings", "## Configs and splits", "## Sources and licenses",
                    "## Quality control and decontamination", "## Citation", "IND_Diverse_Instruction_1-shot"):
        assert section in text


def test_retargeted_dataset_card_names_the_repo(built_folder):
    text = retarget_dataset_card((built_folder / "README.md").read_text(), "my-org/ECInstruct")
    assert 'load_dataset("my-org/ECInstruct", "ave")' in text and "<your-org>" not in text


def test_dataset_card_problems_are_found(built_folder):
    text = (built_folder / "README.md").read_text()
    broken = text.replace("license: cc-by-4.0", "license: free-for-all").replace("- text-generation", "- chatting")
    problems = dataset_card_problems(broken)
    assert any("license" in p for p in problems) and any("chatting" in p for p in problems)
    missing = dataset_card_problems(text, folder=built_folder / "nowhere")
    assert any("is not in" in p for p in missing)
    with pytest.raises(CardValidationError, match="license"):
        check(problems, "README.md")


def test_model_card_has_model_index_per_task_and_split(tmp_path):
    text = render_model_card(_model_inputs(tmp_path))
    assert model_card_problems(text) == []
    card = ModelCard(text)
    results = card.data.eval_results
    assert len(results) == 16  # 10 IND + 6 OOD
    assert {(r.dataset_config, r.dataset_split) for r in results} >= {("ave", "test_ind"), ("ave", "test_ood"),
                                                                       ("pm", "test_ind")}
    meta = yaml.safe_load(text.split("---")[1])
    index = meta["model-index"][0]
    assert index["name"] == "eCeLLM-XS" and len(index["results"]) == 16
    ave_ood = next(r for r in results if r.dataset_config == "ave" and r.dataset_split == "test_ood")
    assert ave_ood.metric_value == pytest.approx(0.3) and ave_ood.metric_type == "f1_star"
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and meta["library_name"] == "peft"


def test_model_card_body_prompt_example_results_and_published_numbers(tmp_path):
    text = render_model_card(_model_inputs(tmp_path))
    assert "### Instruction:" in text and "### Response:" in text  # the rendered alpaca example
    assert "PeftModel.from_pretrained" in text and '"my-org/eCeLLM-XS"' in text
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    compile(code, "usage", "exec")  # the ready-to-run example is valid Python
    for name in published_models():
        assert name in text
    row = next(line for line in text.splitlines() if line.startswith("| AVE | F1* | IND"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3:] == ["0.100", "**0.300**", "0.582", "0.662", "0.509"]  # before, after, L, M, S
    pm_ood = [line for line in text.splitlines() if line.startswith("| PM |")]
    assert len(pm_ood) == 1  # PM has no OOD test
    for heading in ("## How to use", "## Results", "## Training recipe", "## Training data",
                    "## Intended use and limits", "## Citation"):
        assert heading in text


def test_merged_and_chat_cards(tmp_path):
    text = render_model_card(_model_inputs(tmp_path, kind="merged", prompt_format="chat", baseline=[]))
    assert model_card_problems(text) == []
    assert "apply_chat_template" in text and "PeftModel" not in text
    assert ModelCard(text).data.to_dict()["library_name"] == "transformers"


def test_model_card_without_results_says_how_to_add_them(tmp_path):
    text = render_model_card(_model_inputs(tmp_path, scores=[], baseline=[]))
    assert model_card_problems(text) == [] and "model-index" not in text
    assert "--results" in text


def test_model_card_problems_are_found(tmp_path):
    text = render_model_card(_model_inputs(tmp_path))
    assert any("base_model" in p for p in model_card_problems(text.replace(
        "base_model: HuggingFaceTB/SmolLM2-135M-Instruct", "base_model: /home/me/model")))
    broken_index = text.replace("model-index:", "model-index: 3\nignored:")
    assert model_card_problems(broken_index)


def test_results_files_are_checked(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"results": [{"task": "AVE", "split": "test_ind", "metrics": {"BLEU": 1}}]}))
    hand_written = tmp_path / "hand.json"
    hand_written.write_text(json.dumps({"results": [{"task": "AVE", "split": "IND", "metrics": {"f1*": 0.5}}]}))
    assert scores_from_results(load_results(hand_written))[0].value == 0.5
    with pytest.raises(ValueError, match="F1"):
        scores_from_results(load_results(bad))
    with pytest.raises(ValueError, match="no such results file"):
        load_results(tmp_path / "missing.json")


def test_published_numbers_cover_the_tests_that_exist():
    from ecinstruct.tasks import TASKS

    assert published_models() == ["eCeLLM-L", "eCeLLM-M", "eCeLLM-S"]
    for model in published_models():
        for task in TASKS:
            assert published_score(model, "test_ind", task.code) is not None, (model, task.code)
            assert (published_score(model, "test_ood", task.code) is not None) == task.has_ood, (model, task.code)
