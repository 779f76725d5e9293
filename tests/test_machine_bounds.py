"""Never take the machine down: worker counts are bounded by its CPUs, and workers die with the command."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecinstruct import machine
from ecinstruct.raw.parallel import Workers

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "raw"


@pytest.fixture
def two_cpus(monkeypatch):
    monkeypatch.setattr(machine, "available_cpus", lambda: 2)


def test_worker_count_is_clamped_to_the_machine_with_a_warning(two_cpus, caplog):
    with caplog.at_level(logging.WARNING, logger="ecinstruct.machine"):
        assert Workers(10_000).num_proc == 2  # computed only: no pool starts before map()
    assert "--num-proc 10000 is more than the 2 CPU(s) of this machine; using 2" in caplog.text
    assert Workers(2).num_proc == 2 and Workers(1).num_proc == 1
    with pytest.raises(ValueError, match="at least 1"):
        Workers(0)


def test_available_cpus_follows_the_affinity_mask(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3}, raising=False)
    assert machine.available_cpus() == 2


def test_build_raw_num_proc_10000_runs_bounded(monkeypatch, tmp_path, caplog):
    from ecinstruct.cli import main

    monkeypatch.setattr(machine, "available_cpus", lambda: 1)  # a one-CPU machine: no pool at all
    started = []
    monkeypatch.setattr("multiprocessing.context.BaseContext.Pool", lambda *a, **k: started.append(a))
    with caplog.at_level(logging.WARNING):
        status = main(["build-raw", "--raw-dir", str(FIXTURES), "--tasks", "PRP", "--sizes",
                       "train=4,validation=2,test=2,ood=2", "--num-proc", "10000", "--out", str(tmp_path / "o")])
    assert status == 0 and started == []
    assert "--num-proc 10000 is more than the 1 CPU(s)" in caplog.text


def test_torch_threads_are_bounded(two_cpus):
    assert machine.bound_workers(64, "--threads") == 2


def test_pid_alive_counts_a_zombie_as_gone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while machine.pid_alive(child.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not machine.pid_alive(child.pid)  # exited, not reaped yet: a zombie
    child.wait()
    assert machine.pid_alive(os.getpid())


POOL_SCRIPT = """
import os, sys, time
from ecinstruct.raw.parallel import Workers
with Workers(2) as workers:  # two quick chunks, then chunks a worker would sleep through for 10 minutes
    for n, _ in enumerate(workers.map(time.sleep, [0.001] * 1024 + [600] * 2048)):
        if n == 0:
            print(os.getpid(), flush=True)
"""


def _descendants(pid: int) -> set[int]:
    try:
        import psutil
    except ImportError:  # /proc: children of every process, transitively
        by_parent: dict[int, set[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                by_parent.setdefault(ppid, set()).add(int(entry.name))
        found, todo = set(), [pid]
        while todo:
            kids = by_parent.get(todo.pop(), set()) - found
            found |= kids
            todo.extend(kids)
        return found
    return {p.pid for p in psutil.Process(pid).children(recursive=True)}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_the_command_leaves_no_worker_behind():
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    parent = subprocess.Popen([sys.executable, "-c", POOL_SCRIPT], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert parent.stdout.readline().strip() == str(parent.pid)  # the pool runs
        workers = _descendants(parent.pid)
        assert len(workers) >= 2  # the fork server, its 2 workers (and the resource tracker)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while (alive := {pid for pid in workers if machine.pid_alive(pid)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in alive:  # a failure must not leave them running either
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"workers left behind: {sorted(alive)}"


def test_server_request_threads_are_bounded(caplog):
    from ecellm.engines.openai_engine import MAX_CONCURRENCY, OpenAIOptions

    with caplog.at_level(logging.WARNING):
        assert OpenAIOptions(base_url="http://127.0.0.1:1/v1", concurrency=10_000).concurrency == MAX_CONCURRENCY
    assert "--concurrency 10000" in caplog.text


def test_dataloader_workers_of_a_recipe_are_bounded(two_cpus):
    from types import SimpleNamespace

    from ecellm.training import validate

    cfg = SimpleNamespace(dataloader_num_workers=64, max_steps=1, num_train_epochs=1, learning_rate=1e-4,
                          per_device_train_batch_size=1, per_device_eval_batch_size=1, gradient_accumulation_steps=1,
                          max_length=8)
    ours = SimpleNamespace(effective_batch_size=None, max_train_samples=None, max_eval_samples=None,
                           train_samples_per_task=None, task_eval_batch_size=None)
    validate._check_counts(SimpleNamespace(training=cfg, ecellm=ours, model=SimpleNamespace(use_peft=False)))
    assert cfg.dataloader_num_workers == 2
