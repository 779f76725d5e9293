"""End to end on a tiny random model and the fixture data: every task and split in both modes, the files,
determinism, resume after a kill, settings changes, adapters, compare, Table 4 data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ecellm.evaluation import evaluate
from ecellm.evaluation.compare import compare
from ecinstruct.tasks import TASKS

FAST = {"max_new_tokens": 6, "n_resamples": 100, "bertscore_model": "offline", "progress": False, "batch_size": 8}
# The tiny model's tokenizer has a chat template, so its default format would be "chat"; these tests pin alpaca.
ALPACA = {**FAST, "prompt_format": "alpaca"}
ALL_PAIRS = {(t.code, "test_ind") for t in TASKS} | {(t.code, "test_ood") for t in TASKS if t.has_ood}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from ecellm.offline_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="module")
def first_run(tiny_model, built_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "run1"
    return evaluate(str(tiny_model), str(built_folder), out=out, **ALPACA)


def raw_predictions(folder: Path) -> dict[str, str]:
    return {json.loads(line)["id"]: json.loads(line)["raw"]
            for file in sorted((folder / "samples").glob("*.jsonl")) for line in file.read_text().splitlines()}


def test_every_task_both_splits_both_modes(first_run, small_sizes):
    got = {(e["task"], e["split"], e["mode"]) for e in first_run.entries}
    assert got == {(t, s, m) for t, s in ALL_PAIRS for m in ("strict", "reference", "flexible")}
    for entry in first_run.entries:
        assert entry["n"] == small_sizes[entry["split"]]
        assert entry["metric"] and "metrics" in entry and "invalid_rate" in entry
        if entry["score"] is not None:
            assert entry["ci_low"] <= entry["score"] + 1e-9 and entry["score"] <= entry["ci_high"] + 1e-9
    assert first_run.meta["prompt_format"] == "alpaca"
    assert first_run.meta["timing"]["generated_prompts"] == sum(small_sizes[s] for _, s in ALL_PAIRS)


def test_files_hold_the_numbers(first_run):
    out = first_run.out_dir
    doc = json.loads((out / "results.json").read_text())
    assert doc["results"] == first_run.entries and doc["settings_hash"] == first_run.meta["settings_hash"]
    markdown = (out / "results.md").read_text()
    assert "eCeLLM-M (published) | 0.662 | 0.558 | 0.995" in markdown  # paper's IND row, AVE..PM
    ours = next(line for line in markdown.splitlines() if line.startswith(f"| **{first_run.meta['model']['name']}"))
    cells = ours.split("|")[2:-1]
    expected = [first_run.get(t.code, "test_ind", "strict")["score"] for t in TASKS]
    assert [c.strip() for c in cells] == ["–" if v is None else f"{v:.3f}" for v in expected]
    png = (out / "results.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    sample = json.loads((out / "samples" / "PM.test_ind.jsonl").read_text().splitlines()[0])
    assert {"id", "prompt", "raw", "gold", "strict", "reference"} <= set(sample)
    assert {"answer", "parsed", "correct", "valid"} <= set(sample["strict"])
    assert "### Response:" in sample["prompt"]


def test_two_runs_same_predictions(first_run, tiny_model, built_folder, tmp_path):
    second = evaluate(str(tiny_model), str(built_folder), out=tmp_path / "run2", **ALPACA)
    assert raw_predictions(tmp_path / "run2") == raw_predictions(first_run.out_dir)
    assert [e["score"] for e in second.entries] == [e["score"] for e in first_run.entries]


def test_resume_after_kill_regenerates_nothing_finished(tiny_model, built_folder, tmp_path, monkeypatch):
    from ecellm.engines.transformers_engine import TransformersEngine

    original, calls = TransformersEngine.generate, {"n": 0}

    def dies_on_third_batch(self, prompts, max_new_tokens, seed):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # what Ctrl-C / a kill does mid-run
        return original(self, prompts, max_new_tokens, seed)

    out = tmp_path / "killed"
    kw = {**FAST, "tasks": "AVE,PM,SA,AP", "batch_size": 2, "checkpoint_every": 4}
    monkeypatch.setattr(TransformersEngine, "generate", dies_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        evaluate(str(tiny_model), str(built_folder), out=out, **kw)
    cached_files = list((out / "cache").glob("*/*.jsonl"))
    before = {json.loads(line)["id"]: line for f in cached_files for line in f.read_text().splitlines()}
    assert len(before) == 8  # two finished batches of 4, nothing lost
    with cached_files[0].open("a") as handle:
        handle.write('{"id": "torn-by-the-kill", "te')  # a write cut short
    monkeypatch.setattr(TransformersEngine, "generate", original)
    resumed = evaluate(str(tiny_model), str(built_folder), out=out, **kw)
    total = sum(len(r) for r in resumed.samples.values())
    assert resumed.meta["timing"]["reused_prompts"] == 8
    assert resumed.meta["timing"]["generated_prompts"] == total - 8
    after = raw_predictions(out)
    assert set(after) == {s["id"] for rows in resumed.samples.values() for s in rows}
    assert all(after[i] == json.loads(line)["text"] for i, line in before.items())  # finished rows untouched


def test_changed_setting_never_reuses(first_run, tiny_model, built_folder, tmp_path):
    cache = first_run.out_dir / "cache"
    same = evaluate(str(tiny_model), str(built_folder), out=tmp_path / "same", cache_dir=cache, tasks="PM", **ALPACA)
    assert same.meta["timing"]["generated_prompts"] == 0
    assert same.meta["settings_hash"] == first_run.meta["settings_hash"]
    changed = evaluate(str(tiny_model), str(built_folder), out=tmp_path / "changed", cache_dir=cache, tasks="PM",
                       **{**ALPACA, "max_new_tokens": 5})
    assert changed.meta["settings_hash"] != first_run.meta["settings_hash"]
    assert changed.meta["timing"]["reused_prompts"] == 0 and changed.meta["timing"]["generated_prompts"] > 0
    mistral = evaluate(str(tiny_model), str(built_folder), cache_dir=cache, tasks="PM", prompt_format="mistral",
                       chart=False, **FAST)
    assert mistral.meta["timing"]["reused_prompts"] == 0 and mistral.meta["prompt_format"] == "mistral"


def test_peft_adapter_base_from_config(tiny_model, built_folder, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter = tmp_path / "adapter"
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model),
                           LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    model.save_pretrained(adapter)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(adapter)
    (adapter / "training_summary.json").write_text(json.dumps({"base_model": str(tiny_model),
                                                                "prompt_format": "mistral"}))
    result = evaluate(str(adapter), str(built_folder), tasks="PM", splits="test_ind", published=False, chart=False,
                      **FAST)
    assert result.meta["model"]["kind"] == "adapter" and result.meta["model"]["base"] == str(tiny_model)
    assert result.meta["prompt_format"] == "mistral"
    assert result.meta["prompt_format_source"] == "training_summary.json"
    assert result.get("PM", "test_ind")["n"] == 3


def test_compare_and_generalist_vs_task_specific(first_run, tiny_model, built_folder, tmp_path):
    from ecellm.cli import main

    cache = first_run.out_dir / "cache"
    for code in ("PM", "SA"):  # "task-specific" result folders, one task each (same predictions via the cache)
        evaluate(str(tiny_model), str(built_folder), out=tmp_path / code, cache_dir=cache, tasks=code, **ALPACA)
    rows = compare(first_run.out_dir, [tmp_path / "PM", tmp_path / "SA"], n_resamples=100)
    assert {(r["task"], r["split"]) for r in rows} == {("PM", "test_ind"), ("SA", "test_ind"), ("SA", "test_ood")}
    assert all(r["delta"] in (0.0, None) for r in rows)
    assert main(["compare", str(first_run.out_dir), str(tmp_path / "PM"), str(tmp_path / "SA"),
                 "--labels", "generalist", "task-specific", "--n-resamples", "50", "--out",
                 str(tmp_path / "t5.md")]) == 0
    table = (tmp_path / "t5.md").read_text()
    assert "| task | split | metric | n | generalist | task-specific | delta | 95% CI | p |" in table


def test_cli_eval(tiny_model, built_folder, tmp_path, capsys):
    from ecellm.cli import main

    out = tmp_path / "cli"
    args = ["eval", "--model", str(tiny_model), "--data", str(built_folder), "--out", str(out), "--tasks", "PM,AP",
            "--max-new-tokens", "4", "--n-resamples", "50", "--no-progress", "--modes", "strict"]
    assert main(args) == 0
    assert "## In-domain (IND)" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} >= {"results.json", "results.md", "results.png", "samples", "cache"}
    assert main(args) == 0  # rerun: everything from the cache
    assert json.loads((out / "results.json").read_text())["timing"]["generated_prompts"] == 0


def test_unseen_instruction_and_one_shot(tiny_model, built_folder, tmp_path):
    unseen = evaluate(str(tiny_model), str(built_folder), config="unseen_instruction", tasks="PM,SR",
                      out=tmp_path / "unseen", **ALPACA)
    markdown = (tmp_path / "unseen" / "results.md").read_text()
    assert "eCeLLM-M (diverse) (published) | 0.995 | 0.540" in markdown  # Table 4 row: PM, SR
    assert unseen.meta["data"]["config"] == "unseen_instruction"
    one_shot = evaluate(str(tiny_model), str(built_folder), config="one_shot", tasks="PM", splits="test_ind",
                        published=False, chart=False, **ALPACA)
    sample = one_shot.samples[("PM", "test_ind")][0]
    assert sample["prompt"].count("### Response:") == 2
    # reference extraction starts at the query's own marker, not at the solved example's
    assert sample["reference"]["answer"] == sample["raw"].split("### Response:")[0].strip()


def test_shared_cache_copy_is_reused(first_run, tiny_model, built_folder, tmp_path):
    shutil.copytree(first_run.out_dir / "cache", tmp_path / "moved" / "cache")
    moved = evaluate(str(tiny_model), str(built_folder), out=tmp_path / "moved", chart=False, **ALPACA)
    assert moved.meta["timing"]["generated_prompts"] == 0
    assert raw_predictions(tmp_path / "moved") == raw_predictions(first_run.out_dir)


def test_validation_split_writes_its_table_and_chart(tiny_model, built_folder, tmp_path):
    """Settings are chosen on the validation split: an eval of it writes every file (the chart once crashed on a
    split it had no title for) and its report has a validation table."""
    out = tmp_path / "val"
    result = evaluate(str(tiny_model), str(built_folder), out=out, tasks="PM,SA", splits="validation", **ALPACA)
    assert {e["split"] for e in result.entries} == {"validation"}
    assert result.get("PM", "validation")["n"] > 0
    assert (out / "results.png").read_bytes()[:4] == b"\x89PNG"
    assert "## Validation — headline metric per task" in (out / "results.md").read_text()
