"""``ecellm serve`` under load on loopback: dynamic batching vs one request at a time, same model and load.

Starts the real server (``ecellm serve`` in a subprocess, 127.0.0.1) twice: ``--max-batch 16`` with a short
batching window, then ``--max-batch 1`` (every request is its own engine call). Each time, C concurrent
clients send PSI (yes/no, constrained) or AG (generated) requests (distinct inputs) back to back, a bounded
number of requests; reports
requests/s, p50/p99 latency and failed requests. Model: a tiny random Llama with the SmolLM2 tokenizer, or
SmolLM2-135M-Instruct (``--model smollm2``).

    .venv/bin/python benchmarks/bench_serve.py                       # 16 clients, 192 requests, 32 new tokens
    .venv/bin/python benchmarks/bench_serve.py --clients 8 --requests 96 --max-new-tokens 16
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict) -> tuple[bool, float]:
    start = time.perf_counter()
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            ok = response.status == 200 and "result" in json.loads(response.read())
    except OSError:
        ok = False
    return ok, time.perf_counter() - start


def start_server(model: str, max_batch: int, window_ms: float, max_new_tokens: int, threads: int | None, log: Path):
    port = free_port()
    argv = [sys.executable, "-m", "ecellm.cli", "-q", "serve", "--model", model, "--port", str(port),
            "--max-batch", str(max_batch), "--batch-size", str(max_batch), "--batch-window-ms", str(window_ms),
            "--max-new-tokens", str(max_new_tokens), *(["--threads", str(threads)] if threads else [])]
    handle = log.open("w")
    process = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ,
                                                                                  "PYTHONPATH": str(REPO)})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/health", timeout=5):
                return process, base, argv
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"server did not start: {log.read_text()[-2000:]}")


def bodies_for(task: str, n: int) -> list[dict]:
    if task == "ag":  # free generation to the budget (the tiny model never stops early)
        return [{"question": f"Does it fit a {i % 9 + 10} inch laptop?",
                 "documents": [f"My {i % 7 + 12} inch laptop fits.", "Roomy side pockets."]} for i in range(n)]
    return [{"query": f"usb c charger {i % 90 + 10}w", "product": f"Voltix {i % 50 + 20}W USB-C Wall Charger"}
            for i in range(n)]  # PSI: yes/no, decoded inside its answer set (method auto)


def load(base: str, clients: int, requests: int, task: str) -> dict:
    bodies = bodies_for(task, requests)
    url = f"{base}/v1/{task}"
    post(url, bodies[0])  # warm-up (the first constrained call compiles the grammar)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        outcomes = list(pool.map(lambda body: post(url, body), bodies))
    seconds = time.perf_counter() - start
    latencies = sorted(t for _, t in outcomes)
    with urllib.request.urlopen(base + "/health", timeout=30) as response:
        batching = json.loads(response.read())["batching"]
    return {"requests": requests, "clients": clients, "failed": sum(not ok for ok, _ in outcomes),
            "seconds": round(seconds, 2), "requests_per_s": round(requests / seconds, 2),
            "p50_s": round(statistics.median(latencies), 3),
            "p99_s": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 3),
            "mean_batch": batching["mean_batch"], "largest_batch": batching["largest_batch"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="tiny, smollm2, or a model folder")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=192)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--window-ms", type=float, default=10.0)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--task", default="psi", choices=["psi", "ag"])
    args = parser.parse_args()

    from ecellm.offline_models import SMOLLM2_ID, build_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        model = {"tiny": lambda: str(build_tiny_model(Path(tmp) / "tiny")), "smollm2": lambda: SMOLLM2_ID}.get(
            args.model, lambda: args.model)()
        results = {}
        for label, max_batch in (("dynamic batching", 16), ("one at a time", 1)):
            process, base, argv = start_server(model, max_batch, args.window_ms, args.max_new_tokens, args.threads,
                                               Path(tmp) / f"{max_batch}.log")
            try:
                results[label] = {**load(base, args.clients, args.requests, args.task),
                                  "server": "ecellm " + " ".join(argv[3:])}
            finally:
                process.terminate()
                process.wait(timeout=60)
            print(label, json.dumps(results[label]), flush=True)
    ratio = results["dynamic batching"]["requests_per_s"] / results["one at a time"]["requests_per_s"]
    print(json.dumps({"model": args.model, "task": args.task, "max_new_tokens": args.max_new_tokens, "results": results,
                      "throughput_ratio": round(ratio, 2)}, indent=1))


if __name__ == "__main__":
    main()
