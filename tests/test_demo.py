"""`ecellm demo` end to end with tiny overrides (a random 2-layer model, 2 steps, 1 test row per task and split)."""

from __future__ import annotations

import json
import re

import datasets
import pytest
from huggingface_hub import ModelCard
from publish_helpers import BASE_REPO, tiny_base

from ecellm.cli import main as ecellm_main
from ecinstruct.card_checks import model_card_problems


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    base = tiny_base(root / "base")
    out = root / "report"
    code = ecellm_main([
        "demo", "--out", str(out), "--rows-per-task", "1", "--max-new-tokens", "4", "--base-model", BASE_REPO,
        "--org", "test-org",
        # recipe overrides, as for `ecellm train`
        "--model_name_or_path", str(base), "--max_steps", "2", "--max_train_samples", "8",
        "--per_device_train_batch_size", "2", "--effective_batch_size", "2", "--eval_strategy", "no",
        "--save_strategy", "no",
    ])
    assert code == 0
    return out


def _section(report: str, title: str) -> list[str]:
    part = report.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in part.splitlines() if re.match(r"\| [A-Z]+ \| (IND|OOD) \|", line)]


def test_demo_trains_every_task_but_sr_by_default(demo_out):
    summary = json.loads((demo_out / "model" / "training_summary.json").read_text())
    assert summary["tasks"] == ["AVE", "PRP", "PM", "SA", "MPC", "PSI", "QPR", "AP", "AG"]
    assert "rows of AVE, PRP, PM, SA, MPC, PSI, QPR, AP, AG," in (demo_out / "report.md").read_text()


def test_demo_scores_by_log_likelihood_only_the_closed_tasks_it_trained(demo_out):
    from ecellm.demo import default_train_tasks, loglik_tasks

    assert loglik_tasks(default_train_tasks().split(",")) == "PRP,SA,PM,MPC,PSI,QPR,AP"
    assert loglik_tasks([]) == "PRP,SA,PM,SR,MPC,PSI,QPR,AP"  # a generalist of every task: SR too
    assert loglik_tasks(["AVE", "SR", "PM"]) == "PM,SR"
    scored = {p.name.split(".")[0] for p in (demo_out / "eval" / "fine_tuned_loglik" / "samples").iterdir()}
    assert scored == {"PRP", "SA", "PM", "MPC", "PSI", "QPR", "AP"}


def test_training_line_names_every_task_when_the_recipe_trained_all():
    from ecellm.demo_report import trained_tasks

    assert trained_tasks({"tasks": "all"}) == "every task"  # what run.py writes for an empty `tasks`
    assert trained_tasks({"tasks": ["PM", "SA"]}) == "PM, SA"


def test_train_tasks_option_is_checked_before_any_work(tmp_path, capsys):
    from ecellm.demo import _task_codes, default_train_tasks

    assert _task_codes("pm,sa") == "PM,SA" and _task_codes("recipe") is None
    assert default_train_tasks() == "AVE,PRP,PM,SA,MPC,PSI,QPR,AP,AG"
    assert ecellm_main(["demo", "--out", str(tmp_path / "d"), "--train-tasks", "PM,XX"]) == 2
    assert "unknown task 'XX'" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_report_has_the_before_after_table_for_every_task_and_split(demo_out):
    report = (demo_out / "report.md").read_text()
    for title in ("Free generation, strict reading", "Free generation, flexible reading"):
        assert len(_section(report, title)) == 16  # 10 IND + 6 OOD
    loglik = _section(report, "Log-likelihood (acc), strict reading")
    assert {line.split("|")[1].strip() for line in loglik} == {"PRP", "SA", "PM", "MPC", "PSI", "QPR", "AP"}
    for line in loglik:  # change, its CI and a p-value in every row
        cells = [c.strip() for c in line.split("|")[1:-1]]
        assert re.fullmatch(r"[+-]\d\.\d{3}( \*)?", cells[6]) and cells[7].startswith("[")
        assert 0.0 <= float(cells[8]) <= 1.0
    assert "![before/after](before_after.png)" in report and "ecellm publish model" in report
    moved = report.split("## What moved\n", 1)[1].split("\n## ", 1)[0]
    assert "Significant gains (" in moved and "Significant losses (" in moved and "No significant change: " in moved
    assert (demo_out / "before_after.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for folder in ("eval/zero_shot", "eval/fine_tuned", "eval/zero_shot_loglik", "eval/fine_tuned_loglik"):
        assert json.loads((demo_out / folder / "results.json").read_text())["schema"] == "ecellm-eval/1"


def test_model_card_and_hub_ready_folders(demo_out):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    card = (demo_out / "model_card.md").read_text()
    assert model_card_problems(card) == []
    assert len(ModelCard(card).data.eval_results) == 16
    assert "test-org/eCeLLM-XS" in card and "zero-shot" in card
    hub_model = demo_out / "hub" / "model"
    assert (hub_model / "README.md").read_text() == card
    tokenizer = AutoTokenizer.from_pretrained(hub_model)
    base = AutoModelForCausalLM.from_pretrained(demo_out.parent / "base")
    assert PeftModel.from_pretrained(base, hub_model) is not None and tokenizer.eos_token
    hub_data = demo_out / "hub" / "dataset"
    assert "test-org/ECInstruct-demo" in (hub_data / "README.md").read_text()
    ds = datasets.load_dataset(str(hub_data), "ap", cache_dir=str(demo_out.parent / "cache"))
    assert set(ds) == {"train", "validation", "test_ind", "test_ood"}


def test_what_moved_lists_gains_and_losses_with_their_intervals():
    from ecellm.demo_report import moved_markdown

    def row(task, delta, p, low, high):
        return {"task": task, "split": "IND", "method": "loglik", "reading": "strict", "score_a": 0.5,
                "score_b": 0.5 + delta, "delta": delta, "low": low, "high": high, "p_value": p,
                "significant": p < 0.05}

    lines = moved_markdown([row("PM", 0.25, 0.001, 0.1, 0.4), row("SA", -0.2, 0.02, -0.35, -0.05),
                            row("AP", 0.05, 0.4, -0.1, 0.2)])
    text = "\n".join(lines)
    assert "Significant gains (1):\n\n- PM IND, log-likelihood (acc), strict: 0.500 → 0.750 (+0.250, 95% CI " \
           "[+0.100, +0.400], p 0.001)" in text
    assert "Significant losses (1):\n\n- SA IND, log-likelihood (acc), strict: 0.500 → 0.300 (-0.200" in text
    assert lines[-1] == "No significant change: 1 of 3 cells."
    assert "- none" in "\n".join(moved_markdown([row("AP", 0.05, 0.4, -0.1, 0.2)]))
