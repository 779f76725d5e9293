"""The GPU suite behind benchmarks/gpu_suite.sh: one JSON with three measurements, random weights (no download).

(a) LoRA SFT of a Mistral-7B-shaped model at 2048 tokens with the ``M`` recipe's adapter (r/alpha/dropout,
    every projection and the head) and micro-batch (8 rows of 2048 tokens): tokens/s and MFU;
(b) vLLM generation throughput of the same shape on 15,253 prompts (the ECInstruct test-set size) with
    a length profile (token counts of prompts rendered from rows), 100 new tokens each (EOS ignored:
    random weights would stop at random places); a timed fraction, extrapolated and said so;
(c) the transformers backend (our decode loop) on the same prompts, timed fraction, extrapolated.

``--dry-run``: tiny shapes on CPU, a few steps and prompts, so the same code paths run in the tests.
MFU counts 6·N·tokens FLOPs (N = all weights; the usual convention, although frozen LoRA bases skip the
weight-gradient third: 4·N would be the work actually done) against the GPU's dense bf16 peak.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import logging
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger("gpu_suite")

TEST_PROMPTS = 15_253  # ECInstruct test_ind + test_ood rows
MISTRAL_7B = {"hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
              "num_key_value_heads": 8, "vocab_size": 32000, "max_position_embeddings": 32768,
              "tie_word_embeddings": False}
# Head size 64: vLLM's CPU attention kernels have no smaller one.
TINY = {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 2,
        "num_key_value_heads": 1, "vocab_size": 32000, "max_position_embeddings": 4096, "tie_word_embeddings": False}
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0, "L4": 121.0}


def _recipe_m() -> dict[str, Any]:
    import yaml

    from ecellm.training.recipes import resolve_recipe

    return yaml.safe_load(resolve_recipe("M").read_text())


def _config(shape: dict[str, int]):
    from transformers import MistralConfig

    return MistralConfig(**shape, bos_token_id=1, eos_token_id=2, pad_token_id=2)


def _peak_tflops(device: str) -> float | None:
    import torch

    if device == "cpu":
        return None
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def bench_sft(shape: dict, device: str, dtype: str, seq_len: int, micro_batch: int, steps: int, warmup: int) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    recipe = _recipe_m()
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(_config(shape), dtype=getattr(torch, dtype))
    n_params = sum(p.numel() for p in model.parameters())
    lora = LoraConfig(r=recipe["lora_r"], lora_alpha=recipe["lora_alpha"], lora_dropout=recipe["lora_dropout"],
                      target_modules=recipe["lora_target_modules"], task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)
    checkpointing = bool(recipe.get("activation_checkpointing"))
    if checkpointing:  # transformers 5.x renamed gradient_checkpointing_enable (deprecated) to activation_...
        enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
        enable()
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=recipe["learning_rate"])
    ids = torch.randint(3, shape["vocab_size"], (micro_batch, seq_len), device=device)

    for _ in range(warmup):
        _train_step(model, optimizer, ids)
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        _train_step(model, optimizer, ids)
    _sync(device)
    seconds = time.perf_counter() - start
    tokens_s = steps * micro_batch * seq_len / seconds
    peak = _peak_tflops(device)
    out = {"params": n_params, "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
           "seq_len": seq_len, "micro_batch": micro_batch, "steps_timed": steps, "warmup_steps": warmup,
           "lora": {"r": lora.r, "alpha": lora.lora_alpha, "dropout": lora.lora_dropout,
                    "targets": sorted(lora.target_modules)},
           "activation_checkpointing": checkpointing, "dtype": dtype, "seconds": round(seconds, 3),
           "tokens_per_s": round(tokens_s, 1),
           "peak_memory_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2) if device != "cpu" else None,
           "mfu_6n": round(6 * n_params * tokens_s / (peak * 1e12), 4) if peak else None,
           "mfu_4n": round(4 * n_params * tokens_s / (peak * 1e12), 4) if peak else None}
    del model, optimizer
    _free(device)
    return out


def _train_step(model: Any, optimizer: Any, ids: Any) -> None:
    model(input_ids=ids, labels=ids).loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def length_profile(n: int, prompt_format: str = "mistral") -> tuple[list[int], str]:
    """Prompt token counts for ``n`` prompts: the project's synthetic ECInstruct rows rendered in the prompt
    format, tokenized with SmolLM2's tokenizer (Llama-like), tiled to ``n`` (ECELLM_SUITE_DATA: a built
    ECInstruct folder to take the real test rows instead)."""
    from transformers import AutoTokenizer

    from ecellm.offline_models import smollm2_tokenizer_dir
    from ecinstruct.prompts import build_prompt

    data = os.environ.get("ECELLM_SUITE_DATA")
    if data:
        from ecellm.evaluation.data import load_data

        dataset = load_data(data, "default")
        rows = [r for split in ("test_ind", "test_ood") if split in dataset for r in dataset[split]]
        source = f"test rows of {data}"
    else:
        from ecinstruct.sample import sample_rows

        rows = list(sample_rows(sizes={"train": 0, "validation": 0, "test_ind": 20, "test_ood": 10}, seed=0))
        rows = [r for r in rows if r.get("split", "test") != "train"]
        source = "the project's synthetic sample rows (ecinstruct.sample), tiled"
    tokenizer = AutoTokenizer.from_pretrained(str(smollm2_tokenizer_dir()))
    lengths = [len(ids) for ids in tokenizer([build_prompt(r, prompt_format) for r in rows])["input_ids"]]
    return [lengths[i % len(lengths)] for i in range(n)], source


def random_prompts(lengths: list[int], vocab: int, seed: int = 0) -> list[list[int]]:
    import random

    rng = random.Random(seed)
    return [[rng.randrange(3, vocab) for _ in range(n)] for n in lengths]


def save_shape(shape: dict, folder: Path, with_weights: bool, dtype: str) -> Path:
    """A model folder: config + tokenizer (vLLM loads dummy weights), plus weights when asked (transformers)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ecellm.offline_models import smollm2_tokenizer_dir

    _config(shape).save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(smollm2_tokenizer_dir())).save_pretrained(folder)
    if with_weights:
        torch.manual_seed(0)
        AutoModelForCausalLM.from_config(_config(shape), dtype=getattr(torch, dtype)).save_pretrained(folder)
    return folder


def bench_vllm(folder: Path, prompts: list[list[int]], new_tokens: int, device: str, dtype: str,
               budget_s: float, max_seqs: int) -> dict:
    if importlib.util.find_spec("vllm") is None:
        return {"skipped": "vllm is not installed in this environment (make vllm-env)"}
    from vllm import LLM, SamplingParams

    started = time.perf_counter()
    kwargs = {"model": str(folder), "load_format": "dummy", "dtype": dtype, "seed": 0, "max_num_seqs": max_seqs,
              "max_model_len": max(len(p) for p in prompts) + new_tokens, "enforce_eager": device == "cpu"}
    if device == "cpu":
        kwargs["kv_cache_memory_bytes"] = 2**30
    llm = LLM(**kwargs)
    start_s = time.perf_counter() - started
    params = SamplingParams(max_tokens=new_tokens, temperature=0.0, ignore_eos=True)
    done, seconds, out_tokens = 0, 0.0, 0
    chunk = max(1, min(len(prompts), max_seqs * 4))
    while done < len(prompts) and seconds < budget_s:
        batch = [{"prompt_token_ids": p} for p in prompts[done:done + chunk]]
        t = time.perf_counter()
        outputs = llm.generate(batch, params, use_tqdm=False)
        seconds += time.perf_counter() - t
        out_tokens += sum(len(o.outputs[0].token_ids) for o in outputs)
        done += len(batch)
    del llm
    _free(device)
    return _throughput(done, len(prompts), seconds, out_tokens, engine_start_s=start_s, max_num_seqs=max_seqs)


def bench_transformers(folder: Path, prompts: list[list[int]], new_tokens: int, device: str, dtype: str,
                       budget_s: float, batch_size: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM

    from ecellm.engines.decode import decode, greedy_picker

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype)).to(device).eval()
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))  # what the evaluation does
    done, seconds, out_tokens = 0, 0.0, 0
    chunk = batch_size * 4
    while done < len(prompts) and seconds < budget_s:
        batch = [prompts[i] for i in order[done:done + chunk]]
        t = time.perf_counter()
        states = decode(model, batch, max_new_tokens=new_tokens, pad_id=2, eos_ids=set(), pick=greedy_picker(),
                        should_stop=None, max_rows=batch_size)
        _sync(device)
        seconds += time.perf_counter() - t
        out_tokens += sum(len(s.tokens) for s in states)
        done += len(batch)
    del model
    _free(device)
    return _throughput(done, len(prompts), seconds, out_tokens, batch_size=batch_size,
                       note="longest prompts first (as the evaluation orders them): the timed fraction is the "
                            "slowest part, so the extrapolation is pessimistic")


def _throughput(done: int, total: int, seconds: float, out_tokens: int, **extra: Any) -> dict:
    rate = done / seconds if seconds else float("nan")
    return {"prompts_timed": done, "prompts_total": total, "seconds_timed": round(seconds, 3),
            "prompts_per_s": round(rate, 3), "new_tokens_per_s": round(out_tokens / seconds, 1) if seconds else None,
            "extrapolated": done < total, "seconds_all_prompts": round(total / rate, 1) if seconds else None,
            **extra}


def _sync(device: str) -> None:
    if device != "cpu":
        import torch

        torch.cuda.synchronize()


def _free(device: str) -> None:
    gc.collect()
    if device != "cpu":
        import torch

        torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="JSON file to write.")
    p.add_argument("--dry-run", action="store_true", help="Tiny shapes on CPU (what the tests run).")
    p.add_argument("--parts", default="sft,vllm,transformers", help="Comma-separated subset of the parts.")
    p.add_argument("--budget-s", type=float, default=150.0, help="Timed seconds per generation part.")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    dry = args.dry_run
    device = "cpu" if dry or not torch.cuda.is_available() else "cuda"
    if device == "cpu" and not dry:
        p.error("no GPU visible: run with --dry-run (tiny shapes on CPU) or on a GPU machine")
    shape, dtype = (TINY, "float32") if dry else (MISTRAL_7B, "bfloat16")
    parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    result: dict[str, Any] = {"dry_run": dry, "device": torch.cuda.get_device_name() if device == "cuda" else
                              platform.processor() or "cpu", "shape": shape, "dtype": dtype,
                              "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
                              "versions": {"torch": torch.__version__}}
    started = time.perf_counter()
    if "sft" in parts:
        logger.info("(a) LoRA SFT")
        result["sft"] = bench_sft(shape, device, dtype, seq_len=64 if dry else 2048,
                                  micro_batch=2 if dry else _recipe_m()["per_device_train_batch_size"],
                                  steps=2 if dry else 10, warmup=1 if dry else 2)
    n_prompts = 24 if dry else TEST_PROMPTS
    lengths, source = length_profile(n_prompts)
    if dry:
        lengths = [min(n, 48) for n in lengths]
    prompts = random_prompts(lengths, shape["vocab_size"])
    result["prompts"] = {"n": n_prompts, "length_profile": source, "mean_tokens": round(sum(lengths) / len(lengths), 1),
                         "max_tokens": max(lengths), "new_tokens": 8 if dry else 100}
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_shape(shape, Path(tmp) / "model", with_weights="transformers" in parts, dtype=dtype)
        new = result["prompts"]["new_tokens"]
        budget = math.inf if dry else args.budget_s
        if "vllm" in parts:
            logger.info("(b) vLLM")
            result["vllm"] = bench_vllm(folder, prompts, new, device, dtype, budget, max_seqs=8 if dry else 256)
        if "transformers" in parts:
            logger.info("(c) transformers backend")
            result["transformers"] = bench_transformers(folder, prompts, new, device, dtype,
                                                        budget if not dry else math.inf, batch_size=8 if dry else 64)
    if "vllm" in result and "transformers" in result and "prompts_per_s" in result["vllm"]:
        result["vllm_over_transformers"] = round(result["vllm"]["prompts_per_s"]
                                                 / result["transformers"]["prompts_per_s"], 2)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    logger.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
