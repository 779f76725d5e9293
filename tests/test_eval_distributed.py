"""Evaluation on 2 CPU processes (`accelerate launch`, gloo): each rank writes its own cache shard, rank 0
merges and scores, and everything equals a 1-process run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_train_distributed import _free_port, _kill_tree

pytestmark = pytest.mark.slow


def _launch(args: list[str], timeout: int = 240) -> subprocess.CompletedProcess:
    accelerate = Path(sys.executable).with_name("accelerate")
    cmd = [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
           "-m", "ecellm.cli", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_tree(proc.pid)
        _, err = proc.communicate()
        pytest.fail(f"2-process evaluation hung; last output:\n{err[-3000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _samples(folder: Path) -> dict[str, dict]:
    return {(r := json.loads(line))["id"]: {k: r[k] for k in ("raw", "strict", "reference")}
            for file in sorted((folder / "samples").glob("*.jsonl")) for line in file.read_text().splitlines()}


def test_two_processes_equal_one(tmp_path, built_folder):
    from ecellm.cli import main
    from ecellm.offline_models import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    common = ["eval", "--model", str(model), "--data", str(built_folder), "--tasks", "PM,SR,AP,PSI",
              "--max-new-tokens", "5", "--n-resamples", "50", "--no-progress", "--no-chart", "--no-published",
              "--batch-size", "2", "--threads", "1"]
    two = _launch([*common, "--out", str(tmp_path / "two")])
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("## In-domain (IND)") == 1  # only rank 0 reports
    assert main([*common, "--out", str(tmp_path / "one")]) == 0

    one_results = json.loads((tmp_path / "one" / "results.json").read_text())
    two_results = json.loads((tmp_path / "two" / "results.json").read_text())
    assert two_results["processes"] == 2 and one_results["processes"] == 1
    assert two_results["results"] == one_results["results"]
    assert _samples(tmp_path / "two") == _samples(tmp_path / "one")
    assert two_results["timing"]["generated_prompts"] == one_results["timing"]["generated_prompts"] > 0
    (cache,) = [p for p in (tmp_path / "two" / "cache").iterdir() if p.is_dir()]
    assert not list(cache.glob("*.rank*.jsonl"))  # shards merged into the main files
    # The merged cache serves a rerun on one process: nothing generated again.
    assert main([*common, "--out", str(tmp_path / "two")]) == 0
    assert json.loads((tmp_path / "two" / "results.json").read_text())["timing"]["generated_prompts"] == 0


def test_shards_are_read_back_and_merged(tmp_path):
    from ecellm.engines.base import Generation
    from ecellm.evaluation.cache import PredictionCache

    gen = Generation(text="t", new_tokens=1, finished=True)
    ranks = [PredictionCache(tmp_path, "h", {}, shard=f"rank{r}") for r in (0, 1)]
    ranks[0].append("PM", "test_ind", [("a", "k", gen), ("c", "k", gen)])
    ranks[1].append("PM", "test_ind", [("b", "k", gen)])
    main = PredictionCache(tmp_path, "h", {})
    assert sorted(main.load("PM", "test_ind")) == ["a", "b", "c"]  # a killed multi-process run resumes
    assert main.merge_shards() == 2
    assert sorted(p.name for p in (tmp_path / "h").glob("*.jsonl")) == ["PM.test_ind.jsonl"]
    assert sorted(PredictionCache(tmp_path, "h", {}).load("PM", "test_ind")) == ["a", "b", "c"]
