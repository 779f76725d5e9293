"""The GPU suite's dry run (tiny shapes, CPU): every part runs and the JSON holds measured numbers."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(tmp_path: Path, parts: str) -> dict:
    out = tmp_path / "suite.json"
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_suite.sh"), str(out), "--dry-run", "--parts", parts],
                          capture_output=True, text=True, env=env, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_dry_run_sft_and_transformers(tmp_path):
    got = _run(tmp_path, "sft,transformers")
    assert got["dry_run"] and got["device"] and got["prompts"]["n"] == 24
    sft = got["sft"]
    assert sft["tokens_per_s"] > 0 and sft["lora"]["r"] == 16 and "lm_head" in sft["lora"]["targets"]
    assert 0 < sft["trainable_params"] < sft["params"]
    tf = got["transformers"]
    assert tf["prompts_timed"] == 24 and tf["prompts_per_s"] > 0 and tf["new_tokens_per_s"] > 0
    assert "vllm" not in got


@pytest.mark.vllm
@pytest.mark.skipif(os.environ.get("ECELLM_TEST_VLLM") != "1" or importlib.util.find_spec("vllm") is None,
                    reason="real-engine test: ECELLM_TEST_VLLM=1 in the vLLM venv (make test-vllm)")
def test_dry_run_vllm(tmp_path):
    got = _run(tmp_path, "vllm")
    assert got["vllm"]["prompts_timed"] == 24 and got["vllm"]["prompts_per_s"] > 0
    assert got["vllm"]["new_tokens_per_s"] == pytest.approx(got["vllm"]["prompts_per_s"] * 8, rel=1e-2)
