"""`ecellm publish ... --dry-run`: the staged folder is the real Hub layout; plain loaders read it, no server."""

from __future__ import annotations

import json

import datasets
import pytest
import torch
from publish_helpers import BASE_REPO, results_file, tiny_adapter, tiny_base

from ecellm.cli import main as publish_main
from ecellm.publish import PublishError, publish_dataset, publish_model
from ecinstruct.atomic import MARKER
from ecinstruct.card_checks import dataset_card_problems, model_card_problems

SECRET = "hf_dryRunSecretToken0123456789"


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    base = tiny_base(root / "base")
    return base, tiny_adapter(base, root / "adapter")


def _generate(model, tokenizer, text: str = "### Instruction:\nSay yes.\n\n### Response:\n") -> list[int]:
    inputs = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=5, do_sample=False, pad_token_id=tokenizer.eos_token_id)
    return out[0].tolist()


def test_dataset_dry_run_folder_loads_with_plain_load_dataset(built_folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    out = tmp_path / "staged"
    assert publish_main(["publish", "dataset", str(built_folder), "--repo", "my-org/ECInstruct", "--dry-run",
                         "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "dry run" in printed and str(out) in printed and SECRET not in printed
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MARKER)
    assert (out / MARKER).is_file()  # ours, so a rerun may replace it; never uploaded (ignore_patterns)
    assert files[0] == "README.md" and all(f.startswith("data/") and f.endswith(".parquet") for f in files[1:])
    card = (out / "README.md").read_text()
    assert dataset_card_problems(card, folder=out) == [] and 'load_dataset("my-org/ECInstruct"' in card
    cache = str(tmp_path / "cache")
    for config in ("default", "psi", "one_shot"):
        staged = datasets.load_dataset(str(out), config, cache_dir=cache)
        source = datasets.load_dataset(str(built_folder), config, cache_dir=cache)
        assert {k: len(v) for k, v in staged.items()} == {k: len(v) for k, v in source.items()}
    assert all(SECRET not in p.read_bytes().decode("latin-1") for p in out.rglob("*") if p.is_file())


def test_adapter_dry_run_loads_with_from_pretrained(model_dirs, tmp_path, monkeypatch):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    monkeypatch.setenv("HF_TOKEN", SECRET)
    base_dir, adapter_dir = model_dirs
    result = publish_model(adapter_dir, "my-org/tiny-ecellm", results=results_file(tmp_path / "r.json"),
                           dry_run=True, out=tmp_path / "staged")
    staged = result.folder
    assert {"README.md", "adapter_config.json", "adapter_model.safetensors", "tokenizer_config.json",
            "training_summary.json", "eval_results.json"} <= set(result.files)
    assert model_card_problems((staged / "README.md").read_text()) == []
    assert json.loads((staged / "adapter_config.json").read_text())["base_model_name_or_path"] == BASE_REPO
    assert "base_model_path" not in json.loads((staged / "training_summary.json").read_text())

    tokenizer = AutoTokenizer.from_pretrained(staged)
    pulled = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir), staged).eval()
    local = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir), adapter_dir).eval()
    assert _generate(pulled, tokenizer) == _generate(local, tokenizer)
    assert all(SECRET not in p.read_bytes().decode("latin-1") for p in staged.rglob("*") if p.is_file())


def test_merged_dry_run_loads_with_from_pretrained(model_dirs, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_dir, adapter_dir = model_dirs
    merged_dir = tmp_path / "merged"
    merged = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir), adapter_dir).merge_and_unload()
    merged.save_pretrained(merged_dir)
    AutoTokenizer.from_pretrained(adapter_dir).save_pretrained(merged_dir)
    result = publish_model(merged_dir, "my-org/tiny-ecellm-merged", base_model=BASE_REPO, dry_run=True,
                           out=tmp_path / "staged")
    assert "model.safetensors" in result.files and "adapter_config.json" not in result.files
    card = (result.folder / "README.md").read_text()
    assert model_card_problems(card) == [] and "library_name: transformers" in card
    tokenizer = AutoTokenizer.from_pretrained(result.folder)
    assert _generate(AutoModelForCausalLM.from_pretrained(result.folder).eval(), tokenizer) == _generate(
        merged.eval(), tokenizer)


def test_bad_inputs_get_one_clear_error(model_dirs, built_folder, tmp_path, capsys):
    base_dir, adapter_dir = model_dirs
    with pytest.raises(PublishError, match="ORG/NAME"):
        publish_dataset(built_folder, "not-a-repo-id", dry_run=True, out=tmp_path / "x")
    with pytest.raises(PublishError, match="ecinstruct build"):
        publish_dataset(tmp_path, "my-org/ds", dry_run=True, out=tmp_path / "x")
    with pytest.raises(PublishError, match="neither a PEFT adapter"):
        publish_model(built_folder, "my-org/m", dry_run=True, out=tmp_path / "x")
    local_base = tmp_path / "local-adapter"
    tiny_adapter(base_dir, local_base, base_id=str(base_dir))
    with pytest.raises(PublishError, match="--base-model"):
        publish_model(local_base, "my-org/m", dry_run=True, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()  # nothing half-staged
    assert publish_main(["publish", "model", str(adapter_dir), "--repo", "my-org/m", "--results",
                         str(tmp_path / "missing.json"), "--dry-run", "--out", str(tmp_path / "y")]) == 2
    assert "no such results file" in capsys.readouterr().err
