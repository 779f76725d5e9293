"""The same recipe on 2 CPU processes: `accelerate launch --num_processes 2` (gloo data parallel)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:  # a fixed port can be taken by another run on the same machine
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kill_tree(pid: int) -> None:
    """Kill the launcher and every process under it: torchrun starts its ranks in their own sessions, so
    killing the launcher's group would leave a hung rank holding our pipes open."""
    import psutil  # an accelerate dependency

    launcher = psutil.Process(pid)
    for process in [*launcher.children(recursive=True), launcher]:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def test_two_process_data_parallel_run_saves_one_adapter(tmp_path, built_folder):
    from ecellm.offline_models import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    out = tmp_path / "ddp"
    accelerate = Path(sys.executable).with_name("accelerate")
    # --multi_gpu makes accelerate start one process per rank via torchrun; on a CPU-only machine the
    # recipe's hardware default use_cpu=True joins them in one gloo group.
    cmd = [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
           "-m", "ecellm.cli", "train", "--recipe", "XS", "--model_name_or_path", str(model),
           "--dataset_name", str(built_folder), "--output_dir", str(out), "--max_steps", "2",
           "--eval_strategy", "no", "--save_strategy", "no", "--per_device_train_batch_size", "2",
           "--effective_batch_size", "8", "--max_train_samples", "16",
           "--lora_target_modules", "q_proj", "v_proj", "lm_head"]  # the paper's head adapter, under DDP too
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    # Own process group: on a hang, the ranks (grandchildren) are killed too, not left running.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        _kill_tree(proc.pid)
        _, stderr = proc.communicate()
        pytest.fail(f"2-process run hung; last output:\n{stderr[-3000:]}")
    assert proc.returncode == 0, stderr[-3000:]
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["effective_batch_size"] == 8 and summary["global_step"] == 2
    assert (out / "adapter_model.safetensors").is_file()
    assert sorted(json.loads((out / "adapter_config.json").read_text())["target_modules"]) == [
        "lm_head", "q_proj", "v_proj"]
    assert not list(out.glob("*rank*")) and not list(out.glob("checkpoint-*"))
