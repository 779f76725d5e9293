"""Benchmark: `ecinstruct build-raw` on raw files of the real sources' shapes, at a chosen scale.

Generates (once per scale, under ``--work``) the Amazon Review 2018 files of the paper's four
categories and ESCI's two parquet files with :mod:`ecinstruct.raw.synthetic` (``--scale 1`` = the
largest real files: ~21 M reviews and ratings per category, ~786 k products, ~2.6 M ESCI judgements;
the Amazon part is ~36 GB of plain JSON lines and CSV, written in minutes),
then runs ``build-raw --tasks X`` for every task and ``--num-proc`` value in a fresh subprocess and
measures wall time, CPU time (user + system of the build and its workers), input rows/s and peak RSS
(the whole process tree: main process + workers, sampled every 0.2 s), with the machine's 1-minute
load average before and after (other jobs inflate wall time, not CPU time). Every run appends a JSON
line to ``<work>/results.jsonl``; a markdown table is printed at the end.

    python benchmarks/bench_build_raw.py --scales 0.004,0.016 --num-proc 1,2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from ecinstruct.raw.synthetic import Shape, write_raw_tree

TASKS = ("SA", "SR", "PRP", "MPC", "PSI", "QPR")
PARTS = {"amazon2018": ("SA", "SR", "PRP"), "esci": ("MPC", "PSI", "QPR")}  # files each task needs
SA_MAX_REVIEWS = 200_000  # SA reads the first 200k reviews of a category (the paper's cut)


def input_rows(task: str, shape: Shape) -> int:
    """Rows of raw input a task reads (what rows/s is per)."""
    return {"SA": 4 * min(shape.reviews, SA_MAX_REVIEWS), "SR": 4 * (shape.ratings + shape.items),
            "PRP": 4 * shape.items}.get(task, shape.esci_examples)


def measure(command: list[str], env: dict[str, str]) -> dict:
    """Run ``command``; wall and CPU seconds, peak RSS of the process tree, exit code, output tail."""
    start, cpu_before = time.perf_counter(), _children_cpu()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watched = psutil.Process(process.pid)
    peak = 0
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    reader.join()
    return {"seconds": time.perf_counter() - start, "cpu_seconds": _children_cpu() - cpu_before,
            "peak_rss_mib": peak / 2**20, "returncode": process.returncode, "tail": "".join(output[-5:])}


def _children_cpu() -> float:
    """User + system CPU seconds of finished child processes (the build and its workers): unlike wall
    time, not inflated when other jobs share the machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/ecinstruct-bench-raw"))
    parser.add_argument("--scales", default="0.004,0.016", help="comma-separated fractions of the full size")
    parser.add_argument("--num-proc", default="1,2")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--sizes", default=None, help="build-raw --sizes (default: the paper's)")
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    num_procs = [int(n) for n in args.num_proc.split(",")]
    tasks = [t.strip().upper() for t in args.tasks.split(",")]
    args.work.mkdir(parents=True, exist_ok=True)
    results_path = args.work / "results.jsonl"
    env = {**os.environ, "TQDM_DISABLE": "1"}
    results = []
    for scale in scales:
        shape = Shape.full().scaled(scale)
        parts = tuple(part for part, codes in PARTS.items() if set(codes) & set(tasks))
        raw = args.work / f"raw-{scale:g}-{'+'.join(parts)}"
        if not (raw / "done.json").is_file():
            start, cpu = time.perf_counter(), time.process_time()
            sizes = write_raw_tree(raw, shape, parts=parts)
            (raw / "done.json").write_text(json.dumps({"shape": shape.__dict__, "bytes": sizes,
                                                       "seconds": time.perf_counter() - start,
                                                       "cpu_seconds": time.process_time() - cpu}))
        generated = json.loads((raw / "done.json").read_text())
        print(f"scale {scale:g}: {shape}; {sum(generated['bytes'].values()) / 2**20:,.0f} MiB on disk "
              f"(generated in {generated['seconds']:.0f} s)", flush=True)
        for task in tasks:
            for num_proc in num_procs:
                out = args.work / f"out-{scale:g}-{task}-{num_proc}"
                shutil.rmtree(out, ignore_errors=True)
                command = [sys.executable, "-m", "ecinstruct.cli", "build-raw", "--raw-dir", str(raw), "--out",
                           str(out), "--tasks", task, "--num-proc", str(num_proc)]
                if args.sizes:
                    command += ["--sizes", args.sizes]
                load_before = os.getloadavg()[0]
                run = measure(command, env)
                if run["returncode"] != 0:
                    raise SystemExit(f"{' '.join(command)} failed:\n{run['tail']}")
                rows = input_rows(task, shape)
                row = {"scale": scale, "task": task, "num_proc": num_proc, "input_rows": rows,
                       "seconds": round(run["seconds"], 1), "rows_per_s": round(rows / run["seconds"]),
                       "cpu_seconds": round(run["cpu_seconds"], 1), "rows_per_cpu_s": round(rows / run["cpu_seconds"]),
                       "peak_rss_mib": round(run["peak_rss_mib"]),
                       "load_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
                       "machine": f"{platform.machine()}, "
                       f"{os.cpu_count()} CPUs", "python": platform.python_version()}
                results.append(row)
                with results_path.open("a") as handle:
                    handle.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
                shutil.rmtree(out, ignore_errors=True)
    print("\n| scale | task | --num-proc | input rows | wall s | rows/s | CPU s | rows/CPU-s | peak RSS MiB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['scale']:g} | {r['task']} | {r['num_proc']} | {r['input_rows']:,} | {r['seconds']} | "
              f"{r['rows_per_s']:,} | {r['cpu_seconds']} | {r['rows_per_cpu_s']:,} | {r['peak_rss_mib']} |")


if __name__ == "__main__":
    main()
