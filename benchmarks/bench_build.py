"""Benchmark: `ecinstruct build` and `ecinstruct.load` on a file of the published size and shape.

Generates (once) a ``dataset.json`` with the published row counts per task, setting and split
(263,562 rows; IND/OOD diverse, single, unseen and 1-shot) and ~2 KB rows (~529 MB, like
NingLab/ECInstruct), from the project's own sample rows, then measures in fresh subprocesses:

* ``ecinstruct build --source dataset.json --out DIR`` (one streaming pass, all configs);
* ``ecinstruct.load(dataset.json, "default")`` (the datasets builder; prepares the arrow cache).

Usage: ``python benchmarks/bench_build.py [--work /tmp/ecinstruct-bench] [--rows-scale 1.0]``
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from ecinstruct.sample import sample_rows
from ecinstruct.settings import SETTINGS
from ecinstruct.tasks import TASKS

# Published sizes per task (the paper's dataset statistics): train, val, IND test, OOD test.
SIZES = {t.code: (10_000, 1_000, 1_000, 1_000 if t.has_ood else 0) for t in TASKS}
SIZES["PM"] = (2_022, 253, 253, 0)
TARGET_ROW_BYTES = 2_000  # 529 MB / 264k rows


def _counts(task_code: str, setting) -> dict[str, int]:
    train, val, test, ood = SIZES[task_code]
    if setting.domain == "OOD":
        return {"test": ood}
    if setting.instructions == "unseen" or setting.one_shot:
        return {"test": test}
    return {"train": train, "val": val, "test": test}


def generate(path: Path, scale: float) -> int:
    templates = defaultdict(list)
    for row in sample_rows(seed=0):
        templates[(row["task"], row["setting"], row["split"])].append(row)
    n = 0
    with open(path, "w", encoding="utf-8") as handle:
        for task in TASKS:
            for setting in SETTINGS:
                for split, count in _counts(task.code, setting).items():
                    pool = templates.get((task.name, setting.name, split))
                    for i in range(int(count * scale)) if pool else ():
                        row = dict(pool[i % len(pool)])
                        row.pop("option_labels", None)
                        line = json.dumps(row)
                        pad = max(0, TARGET_ROW_BYTES - len(line))
                        row["input"] = row["input"] + " " * pad  # same shape, published-like row size
                        handle.write(json.dumps(row) + "\n")
                        n += 1
    return n


def measure(code: str) -> dict:
    """Wall time and the child's own peak RSS (ru_maxrss of the child process, in MB)."""
    probe = "\nimport resource; print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code + probe], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak_kb = int(done.stdout.rsplit("PEAK_KB", 1)[1].split()[0])
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(peak_kb / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, default=Path("/tmp/ecinstruct-bench"))
    parser.add_argument("--rows-scale", type=float, default=1.0)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    source = args.work / "dataset.json"
    if not source.exists():
        rows = generate(source, args.rows_scale)
        print(f"generated {rows} rows, {source.stat().st_size / 1e6:.0f} MB")
    for stale in ("hub", "cache"):  # a prepared cache would make the load measurement a cache hit
        shutil.rmtree(args.work / stale, ignore_errors=True)
    results = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}",
        "file_mb": round(source.stat().st_size / 1e6),
        "build": measure(f"from ecinstruct.cli import main; main(['build', '--source', '{source}', "
                         f"'--out', '{args.work / 'hub'}'])"),
        "load_default": measure(f"import ecinstruct; ecinstruct.load('{source}', 'default', "
                                f"cache_dir='{args.work / 'cache'}')"),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
