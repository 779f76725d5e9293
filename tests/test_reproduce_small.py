"""The real-data reproduction's flow on a few rows of the real raw subsets (tiny model, 2 training steps), so the
script cannot rot: build-raw → zero-shot evals → generalist (with its learning curve) → evals → majority-answer
yardstick → task-specific models and the data-size curve → report with CIs and p-values."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.shared
@pytest.mark.slow
def test_reproduce_small_tiny_flow(shared_dir, tmp_path, benchmark_task):
    out = tmp_path / "repro"
    cmd = [sys.executable, str(REPO / "benchmarks" / "reproduce_small.py"), "--out", str(out), "--tiny",
           "--raw-dir", str(shared_dir / "data" / "raw"), "--sizes", "train=16,validation=4,test=6,ood=6",
           "--rows-per-task", "8", "--test-rows", "4", "--generate-tasks", "AVE,PM,SA,SR,AG",
           "--specific-tasks", "PM,SA", "--curve-tasks", "PM,SA", "--train-tasks", "AVE,PM,SA,AG,SRY",
           "--train-args", "--loss_length_power 0.25"]
    subprocess.run(cmd, check=True, cwd=REPO, timeout=1500)
    report = (out / "report.md").read_text()
    changes = json.loads((out / "changes.json").read_text())
    cells = {(c["method"], c["reading"]) for c in changes}
    assert {("generate", "strict"), ("generate", "flexible"), ("loglik", "strict"), ("loglik_norm", "strict")} <= cells
    assert {c["task"] for c in changes if c["method"] == "generate"} == {"AVE", "PM", "SA", "SR", "AG"}
    # SR is ranked one candidate at a time (the generalist learnt it as SRY), not by the letters' log-likelihood.
    assert {c["task"] for c in changes if c["method"] == "loglik"} == {"PM", "SA"}
    assert [c["task"] for c in changes if c["method"] == "pointwise"] == ["SR"]
    for change in changes:
        assert change["n"] == 4 and 0.0 <= change["p_value"] <= 1.0
        assert change["low"] <= change["delta"] + 1e-9 <= change["high"] + 2e-9
        # the yardstick beside every cell, scored on the same rows: the majority answer, or SR's chance (1 in 20)
        m = change["yardstick"]
        assert 0.0 <= m["score_a"] <= 1.0 and 0.0 <= m["p_value"] <= 1.0
        assert m["low"] <= m["delta"] + 1e-9 <= m["high"] + 2e-9
        assert abs(m["delta"] - (change["score_b"] - m["score_a"])) < 1e-6  # BERTScore: float noise
        assert m["kind"] == ("chance" if change["task"] == "SR" else "majority")
        if change["task"] == "SR":
            assert m["score_a"] == pytest.approx(0.05)
    assert "## Verdict" in report and "(vs majority)" in report and "(vs chance)" in report
    assert report.count("(vs chance)") == sum(1 for c in changes if c["task"] == "SR")  # SR's cells, no other
    assert "Generalist vs task-specific" in report and "Collapse check" in report
    # The data-size curve: 25 / 50 / 100 % of the 8 rows per task, PM and SA, on the same 4 test rows.
    curve = re.findall(r"^\| (PM|SA) \| (\d+) \| 4 \| (\d\.\d{3}) \|", report, re.M)
    assert sorted((t, int(n)) for t, n, _ in curve) == [("PM", 2), ("PM", 4), ("PM", 8), ("SA", 2), ("SA", 4),
                                                        ("SA", 8)]
    # The learning curve: the base model and then the generalist were evaluated on validation rows during
    # training, and the checkpoint with the best validation task score is the one scored on the test rows.
    assert re.search(r"^\| 0 \(base\) \| – \| \d+\.\d{3} \|", report, re.M), report
    assert re.search(r"^\| \*\*2\*\* \(kept\) \| \d+\.\d{3} \| \d+\.\d{3} \|", report, re.M), report
    assert "the checkpoint of step 2, the best by validation score" in report
    assert "on at most 2 validation rows of each task)." in report  # --tiny's --select-rows
    summary = json.loads((out / "models" / "generalist" / "training_summary.json").read_text())
    assert summary["tasks"] == ["AVE", "PM", "SA", "AG", "SRY"] and summary["dataset_name"].endswith("data_pointwise")
    # Each of the 16 SR training rows and 4 validation rows as its right candidate (yes) and one other (no).
    from ecinstruct.hub_layout import read_counts

    benchmark_task("sr_pointwise")  # SRY's files count only where its folder is known
    counts = {(code, split): n for (_, code, split), n in read_counts(out / "data_pointwise").items()}
    assert counts[("SRY", "train")] == 32 and counts[("SRY", "validation")] == 8
    assert counts[("SR", "train")] == 16 and ("SRY", "test_ind") not in counts
    ranked = json.loads((out / "eval" / "generalist_pointwise_test_ind.json").read_text())
    assert ranked["rows"] == 4 and len(ranked["hits"]["margin"]) == 4
    # SR's validation rows ranked alike for both models: the reading that weighs SR against the other tasks' loss.
    validation = {name: json.loads((out / "eval" / f"{name}_pointwise_validation.json").read_text())
                  for name in ("zero_shot", "generalist")}
    assert {v["split"] for v in validation.values()} == {"validation"} and validation["generalist"]["rows"] == 4
    hits = [f"{v['readings']['margin']['hr1']:.3f}" for v in validation.values()]
    assert (f"SR on 4 validation rows, ranked one candidate at a time (HR@1): zero-shot {hits[0]}, kept generalist "
            f"{hits[1]}.") in report
    assert summary["best_checkpoint"].endswith("checkpoint-2") and summary["best_metric"] is not None
    assert summary["best_step"] == 2
    assert summary["ecellm_arguments"]["loss_length_power"] == 0.25  # --train-args over XS's 0.5
    assert "(recipe fields over `XS`: `--loss_length_power 0.25`)" in report
    assert "--train-args '--loss_length_power 0.25'`" in report  # the command as it can be pasted again
    assert re.search(r"\| AVE \| (IND|OOD) \|", report)
    card = (out / "card" / "README.md").read_text()
    assert "base_model: local/tiny-random-llama" in card and "model-index" in card
    assert (out / "zero_shot_vs_fine_tuned.png").read_bytes()[:4] == b"\x89PNG"
    # Resumes: a second run skips the build and training and reuses every cached prediction.
    rerun = subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert "build-raw" not in rerun.stderr and "ecellm train" not in rerun.stderr
    assert "sr_pointwise_probe.py" not in rerun.stderr  # the SRY layout and both rankings are reused
    # ... but only under the options it was started with: another question gets one line and no work done.
    other = subprocess.run([*cmd[:-2], "--train-args", "--loss_length_power 0.5"], cwd=REPO, capture_output=True,
                           text=True, timeout=300)
    assert other.returncode == 1 and other.stdout == ""
    assert other.stderr.strip().splitlines() == [other.stderr.strip()]
    assert "--train-args ['--loss_length_power', '0.25'], now ['--loss_length_power', '0.5']" in other.stderr
    assert "run_options.json" in other.stderr and "choose a new --out" in other.stderr


def test_learning_curve_marks_the_kept_checkpoint_not_the_last(tmp_path):
    """The step the Trainer kept by validation score is the one marked, even when a later step exists; step 0 is
    the base model and has no training loss."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from reproduce_small import _learning_curve

    history = [{"step": 0, "eval_loss": 3.0, "eval_task_PM": 0.0, "eval_task_score": 0.0},
               {"step": 1, "loss": 2.5}, {"step": 2, "loss": 1.5},
               {"step": 2, "eval_loss": 1.2, "eval_task_PM": 0.9, "eval_task_score": 0.9},
               {"step": 4, "loss": 0.5},
               {"step": 4, "eval_loss": 1.4, "eval_task_PM": 0.6, "eval_task_score": 0.6}]
    summary = {"best_checkpoint": str(tmp_path / "checkpoint-2"), "best_step": 2, "best_metric": 0.9,
               "log_history": history}
    (tmp_path / "training_summary.json").write_text(json.dumps(summary))
    lines = _learning_curve(tmp_path)
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| step")]
    assert rows == ["| 0 (base) | – | 3.000 | 0.000 | – |", "| **2** (kept) | 1.500 | 1.200 | 0.900 | – |",
                    "| 4 | 0.500 | 1.400 | 0.600 | – |"]
    assert "the checkpoint of step 2, the best by validation score (0.900)." in "\n".join(lines)


def test_a_run_folder_resumes_only_under_its_own_options(tmp_path):
    """The first start records its options; the same options resume (another --out path is no change), other
    ones are refused with every difference named, so a finished model is never reported under other options."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from resume_guard import RUN_OPTIONS, check_same_options

    def args(**changes):
        base = {"out": tmp_path, "raw_dir": Path("/data/raw"), "rows_per_task": 250, "train_args": ["--seed", "1"]}
        return argparse.Namespace(**{**base, **changes})

    assert check_same_options(tmp_path, args()) is None
    assert json.loads((tmp_path / RUN_OPTIONS).read_text())["rows_per_task"] == 250
    assert check_same_options(tmp_path, args(out=Path("elsewhere"))) is None
    problem = check_same_options(tmp_path, args(rows_per_task=100, train_args=[]))
    assert problem is not None and "\n" not in problem
    assert "--rows-per-task 250, now 100" in problem and "--train-args ['--seed', '1'], now []" in problem
    assert json.loads((tmp_path / RUN_OPTIONS).read_text())["rows_per_task"] == 250  # the record is not replaced
