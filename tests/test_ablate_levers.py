"""The lever ablation's flow on a few real rows (tiny model, 2 training steps), so the benchmark cannot rot:
one variant against the shipped XS, scored on validation rows (never the test split), with a paired bootstrap."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.shared
@pytest.mark.slow
def test_ablate_levers_tiny_flow(shared_dir, tmp_path):
    data = tmp_path / "data"
    subprocess.run([str(Path(sys.executable).with_name("ecinstruct")), "build-raw", "--raw-dir",
                    str(shared_dir / "data" / "raw"), "--out", str(data), "--tasks", "PM,SA", "--sizes",
                    "train=12,validation=4,test=4,ood=4", "--seed", "1"], check=True, timeout=600)
    out = tmp_path / "ablation"
    cmd = [sys.executable, str(REPO / "benchmarks" / "ablate_levers.py"), "--data", str(data), "--out", str(out),
           "--tiny", "--tasks", "PM,SA", "--eval-tasks", "PM,SA", "--rows-per-task", "4", "--val-rows", "4",
           "--variants", "no_balance"]
    subprocess.run(cmd, check=True, cwd=REPO, timeout=900)
    rows = json.loads((out / "ablation.json").read_text())
    assert {(r["variant"], r["task"], r["split"]) for r in rows} == {("no_balance", "PM", "validation"),
                                                                     ("no_balance", "SA", "validation")}
    for r in rows:
        assert r["method"] == "loglik" and 0 < r["n"] <= 4
        assert abs(r["delta"] - (r["score_b"] - r["score_a"])) < 1e-9 and 0.0 <= r["p_value"] <= 1.0
    report = (out / "ablation.md").read_text()
    assert "| no_balance |" in report and "balanced answers" in report
    # the variant changed its one recipe field and nothing else of ecellm's
    xs, variant = (json.loads((out / "models" / name / "training_summary.json").read_text())["ecellm_arguments"]
                   for name in ("XS", "no_balance"))
    assert xs["balance_answers"] is True and variant["balance_answers"] is False
    assert {k: v for k, v in xs.items() if k != "balance_answers"} == \
        {k: v for k, v in variant.items() if k != "balance_answers"}
