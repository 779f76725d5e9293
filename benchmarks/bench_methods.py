"""Answer methods side by side: log-likelihood choice vs free generation vs constrained generation.

Same fp32 model, same prompts (the first N IND test rows of the closed-answer tasks of the embedded sample,
tasks in turn, alpaca format), one process, torch's default threads: ``loglik`` scores every candidate after
the prompt (one prefill per prompt), ``generate`` decodes freely up to the task budget (100 new tokens, stop
at EOS or the repeated response marker), ``constrained`` decodes inside each task's answer constraint
(xgrammar). Reports prompts/s per method and the ratios.

    .venv/bin/python benchmarks/bench_methods.py --models tiny,smollm2 --n-prompts 16
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from ecellm.engines.generation_settings import GenerationSettings
from ecellm.engines.model_loader import describe_model, load_model
from ecellm.engines.transformers_engine import TransformersEngine
from ecellm.offline_models import SMOLLM2_ID, build_tiny_model, resolve_model_path
from ecinstruct.prompts import build_prompt
from ecinstruct.tasks import get_task

SAMPLE = Path(__file__).resolve().parents[1] / "ecinstruct" / "data" / "sample" / "dataset.jsonl"
CLOSED = ("PRP", "SA", "PM", "SR", "MPC", "PSI", "QPR", "AP")


def closed_rows(n: int) -> list[dict]:
    import ecinstruct

    by_task: dict[str, list[dict]] = {}
    for row in ecinstruct.load(str(SAMPLE))["test_ind"]:
        if row["task_code"] in CLOSED:
            by_task.setdefault(row["task_code"], []).append(row)
    picked, i = [], 0
    while len(picked) < n:
        picked += [rows[i] for rows in by_task.values() if i < len(rows)]
        i += 1
    return picked[:n]


def timed(step) -> tuple[float, object]:
    start = time.perf_counter()
    value = step()
    return time.perf_counter() - start, value


def measure(path: str, rows: list[dict]) -> dict:
    settings = GenerationSettings()
    loaded = load_model(describe_model(path), device="cpu", dtype="float32")
    backend = TransformersEngine(loaded, settings, stop_strings=settings.stop_strings("alpaca"), max_rows=16)
    prompts = [build_prompt(r, "alpaca") for r in rows]
    scorers = [get_task(r["task_code"]).scorer for r in rows]
    candidates = [list(s.candidates(r)) for s, r in zip(scorers, rows, strict=True)]
    constraints = [s.constraint(r) for s, r in zip(scorers, rows, strict=True)]
    # Warm-up on two prompts per method (first-call kernel set-up must not be billed to whichever runs first).
    backend.loglik(prompts[:2], candidates[:2])
    backend.generate(prompts[:2], 4, 0)
    backend.generate(prompts[:2], 4, 0, constraints=constraints[:2])
    t_ll, _ = timed(lambda: backend.loglik(prompts, candidates))
    t_gen, free = timed(lambda: backend.generate(prompts, 100, 0))
    t_con, con = timed(lambda: backend.generate(prompts, 100, 0, constraints=constraints))
    n = len(prompts)
    return {"prompts": n, "loglik_prompts_per_s": n / t_ll, "generate_prompts_per_s": n / t_gen,
            "constrained_prompts_per_s": n / t_con, "loglik_vs_generate": t_gen / t_ll,
            "constrained_overhead": t_con / t_gen, "generate_new_tokens": sum(g.new_tokens for g in free),
            "constrained_new_tokens": sum(g.new_tokens for g in con)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="tiny,smollm2")
    parser.add_argument("--n-prompts", type=int, default=16)
    args = parser.parse_args()
    rows = closed_rows(args.n_prompts)
    report = {"machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads",
              "torch": torch.__version__}
    for name in args.models.split(","):
        path = str(build_tiny_model(Path("runs/bench/tiny"))) if name == "tiny" else resolve_model_path(SMOLLM2_ID)
        report[name] = measure(path, rows)
        print(json.dumps({name: report[name]}, indent=2), flush=True)
    Path("runs/bench").mkdir(parents=True, exist_ok=True)
    Path("runs/bench/methods.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
