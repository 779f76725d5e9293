"""The lever ablation's flow on a few real rows (tiny model, 2 training steps), so the benchmark cannot rot:
one variant against the shipped XS, scored on validation rows (never the test split), with a paired bootstrap."""

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
def test_ablate_levers_tiny_flow(shared_dir, tmp_path):
    data = tmp_path / "data"
    subprocess.run([str(Path(sys.executable).with_name("ecinstruct")), "build-raw", "--raw-dir",
                    str(shared_dir / "data" / "raw"), "--out", str(data), "--tasks", "PM,SA", "--sizes",
                    "train=12,validation=4,test=4,ood=4", "--seed", "1"], check=True, timeout=600)
    out = tmp_path / "ablation"
    cmd = [sys.executable, str(REPO / "benchmarks" / "ablate_levers.py"), "--data", str(data), "--out", str(out),
           "--tiny", "--tasks", "PM,SA", "--eval-tasks", "PM,SA", "--rows-per-task", "4", "--val-rows", "4",
           "--variants", "no_balance", "--seeds", "42,3"]
    run = subprocess.run(cmd, check=True, cwd=REPO, timeout=900, capture_output=True, text=True)
    rows = json.loads((out / "ablation.json").read_text())
    # one comparison per seed, each variant against the XS of its own seed
    assert {(r["variant"], r["task"], r["split"], r["seed"]) for r in rows} == {
        ("no_balance", task, "validation", seed) for task in ("PM", "SA") for seed in (42, 3)}
    for r in rows:
        assert r["method"] == "loglik" and 0 < r["n"] <= 4
        assert abs(r["delta"] - (r["score_b"] - r["score_a"])) < 1e-9 and 0.0 <= r["p_value"] <= 1.0
    report = (out / "ablation.md").read_text()
    assert "| no_balance |" in report and "balanced answers" in report
    verdicts = r"(holds|leans|seed noise|no change)"
    assert "## Across seeds" in report and re.search(r"^\| no_balance \| PM \| .+ \| " + verdicts, report, re.M)
    # A rerun may add a seed (more runs in the folder) but not change what each run trained on.
    refused = subprocess.run([*cmd, "--rows-per-task", "8"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 1 and "--rows-per-task 4, now 8" in refused.stderr, refused.stderr
    trained = {re.search(r"models/(\S+)", line)[1]: re.search(r"--seed (\d+)", line)[1]
               for line in run.stderr.splitlines() if "$ " in line and " train " in line}
    assert trained == {"XS": "42", "no_balance": "42", "XS_seed3": "3", "no_balance_seed3": "3"}
    # the variant changed its one recipe field and nothing else of ecellm's
    xs, variant = (json.loads((out / "models" / name / "training_summary.json").read_text())["ecellm_arguments"]
                   for name in ("XS", "no_balance"))
    assert xs["balance_answers"] is True and variant["balance_answers"] is False
    assert {k: v for k, v in xs.items() if k != "balance_answers"} == \
        {k: v for k, v in variant.items() if k != "balance_answers"}


def test_a_lever_counts_only_with_one_sign_on_every_seed():
    """Across seeds: significant with one sign everywhere = holds; one sign, not always significant = leans;
    signs that differ = seed noise (however significant each seed's own bootstrap is); zero everywhere = no
    change."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from ablate_levers import across_seeds

    def row(variant, task, seed, delta, p):
        return {"variant": variant, "task": task, "seed": seed, "delta": delta, "p_value": p}

    rows = [row("a", "PM", 42, -0.5, 0.001), row("a", "PM", 1, -0.3, 0.01),
            row("a", "SA", 42, 0.1, 0.01), row("a", "SA", 1, 0.05, 0.3),
            row("b", "PM", 42, 0.4, 0.001), row("b", "PM", 1, -0.4, 0.001),
            row("c", "PM", 42, 0.0, 1.0), row("c", "PM", 1, 0.0, 1.0)]
    lines = across_seeds(rows, [42, 1])
    assert "| a | PM | -0.500 * | -0.300 * | -0.400 | holds: lower |" in lines
    assert "| a | SA | +0.100 * | +0.050 | +0.075 | leans: higher |" in lines
    assert "| b | PM | +0.400 * | -0.400 * | +0.000 | seed noise |" in lines
    assert "| c | PM | +0.000 | +0.000 | +0.000 | no change |" in lines


def test_the_plain_folder_names_follow_the_recipes_own_seed():
    """XS's seed is read from the recipe file, so the ablation's plain folders cannot drift from it."""
    import yaml

    sys.path.insert(0, str(REPO / "benchmarks"))
    from ablate_levers import recipe_seed, run_name

    seed = yaml.safe_load((REPO / "ecellm" / "recipes" / "XS.yaml").read_text())["seed"]
    assert recipe_seed() == seed
    assert run_name("no_balance", seed) == "no_balance"
    assert run_name("no_balance", seed + 1) == f"no_balance_seed{seed + 1}"
