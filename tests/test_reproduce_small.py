"""The real-data reproduction's flow on a few rows of the real raw subsets (tiny model, 2 training steps), so the
script cannot rot: build-raw → train → every method's evaluation → table with CIs and p-values."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.shared
@pytest.mark.slow
def test_reproduce_small_tiny_flow(shared_dir, tmp_path):
    out = tmp_path / "repro"
    cmd = [sys.executable, str(REPO / "benchmarks" / "reproduce_small.py"), "--out", str(out), "--tiny",
           "--raw-dir", str(shared_dir / "data" / "raw"), "--sizes", "train=16,validation=4,test=6,ood=6",
           "--train-rows", "40", "--test-rows", "4",
           "--generate-tasks", "AVE,PM,SA,SR,AG"]
    subprocess.run(cmd, check=True, cwd=REPO, timeout=1200)
    report = (out / "report.md").read_text()
    changes = json.loads((out / "changes.json").read_text())
    cells = {(c["method"], c["reading"]) for c in changes}
    assert {("generate", "strict"), ("constrained", "strict"), ("loglik", "strict"), ("loglik_norm", "strict")} <= cells
    assert {c["task"] for c in changes if c["method"] == "generate"} == {"AVE", "PM", "SA", "SR", "AG"}
    assert {c["task"] for c in changes if c["method"] == "loglik"} == {"PM", "SA", "SR"}
    for change in changes:
        assert change["n"] == 4 and 0.0 <= change["p_value"] <= 1.0
        assert change["low"] <= change["delta"] + 1e-9 <= change["high"] + 2e-9
    assert "Generalist vs task-specific (SA only)" in report
    # The data-size curve: 25 / 50 / 100 % of the 8 SA-only rows, each scored on the same 4 SA test rows.
    curve = re.findall(r"^\| (\d+) \| strict \| 4 \| (\d\.\d{3}) \|", report, re.M)
    assert [int(rows) for rows, _ in curve] == [2, 4, 8]
    assert re.search(r"\| AVE \| (IND|OOD) \|", report)
    card = (out / "card" / "README.md").read_text()
    assert "base_model: local/tiny-random-llama" in card and "model-index" in card
    assert (out / "zero_shot_vs_fine_tuned.png").read_bytes()[:4] == b"\x89PNG"
    # Resumes: a second run skips the build and training and reuses every cached prediction.
    rerun = subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert "build-raw" not in rerun.stderr and "ecellm train" not in rerun.stderr
