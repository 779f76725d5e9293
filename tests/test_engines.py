"""The engine layer without a real engine: vLLM's arguments and device defaults, adapter handling (tokenizer
fallback, the head adapter merged into a cached folder), log-prob arithmetic, option checks, and the OpenAI
client's retries. The real engines (vLLM in-process and `vllm serve`) are exercised in test_vllm_real.py."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from ecellm.engines.generation_settings import GenerationSettings
from ecellm.engines.model_loader import ModelSpec, describe_model
from ecellm.engines.openai_engine import OpenAIOptions, loglik_from_echo, structured_body
from ecellm.engines.vllm_engine import (
    VllmOptions,
    adapts_head,
    engine_kwargs,
    loglik_from_prompt_logprobs,
    lora_rank_slot,
    parse_engine_args,
    servable,
)
from ecellm.evaluation.errors import EvaluationError
from ecinstruct.answers.constraint import Constraint


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from ecellm.offline_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


def _adapter(tiny_model: Path, out: Path, targets: list[str], r: int = 4, tokenizer: bool = False) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(1)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model),
                           LoraConfig(r=r, target_modules=targets, init_lora_weights=False))
    model.save_pretrained(out)
    if tokenizer:
        AutoTokenizer.from_pretrained(tiny_model).save_pretrained(out)
    return out


# -- vLLM engine arguments ----------------------------------------------------------------------------------


def test_cpu_defaults_are_eager_with_a_bounded_kv_cache_and_the_data_length(tiny_model):
    spec = describe_model(str(tiny_model))
    kw = engine_kwargs(spec, VllmOptions(), device="cpu", dtype="float32", seed=3, batch_size=12, needed_len=700)
    assert kw["enforce_eager"] is True and kw["kv_cache_memory_bytes"] == 2**30
    assert kw["max_model_len"] == 700 and kw["max_num_seqs"] == 12 and kw["seed"] == 3
    assert kw["model"] == kw["tokenizer"] == str(tiny_model) and "enable_lora" not in kw


def test_gpu_defaults_compile_and_leave_memory_to_vllm_and_options_win(tiny_model):
    spec = describe_model(str(tiny_model))
    kw = engine_kwargs(spec, VllmOptions(), device="cuda", dtype="bfloat16", seed=0, batch_size=16, needed_len=None)
    assert kw["enforce_eager"] is False and "kv_cache_memory_bytes" not in kw and "max_model_len" not in kw
    options = VllmOptions(tensor_parallel_size=2, data_parallel_size=4, max_model_len=4096, enforce_eager=True,
                          kv_cache_gb=0.5, engine_args=parse_engine_args(["max_num_seqs=64", "quantization=fp8",
                                                                          "enable_prefix_caching=true"]))
    kw = engine_kwargs(spec, options, device="cuda", dtype="bfloat16", seed=0, batch_size=16, needed_len=300)
    assert (kw["tensor_parallel_size"], kw["data_parallel_size"], kw["max_model_len"]) == (2, 4, 4096)
    assert kw["enforce_eager"] is True and kw["kv_cache_memory_bytes"] == 2**29
    assert kw["max_num_seqs"] == 64 and kw["quantization"] == "fp8" and kw["enable_prefix_caching"] is True


def test_bad_engine_options_fail_early():
    with pytest.raises(EvaluationError, match="KEY=VALUE"):
        parse_engine_args(["max_num_seqs"])
    with pytest.raises(EvaluationError, match="parallel"):
        VllmOptions(tensor_parallel_size=0)
    with pytest.raises(EvaluationError, match="kv-cache"):
        VllmOptions(kv_cache_gb=0)
    with pytest.raises(EvaluationError, match="largest LoRA rank"):
        lora_rank_slot(1024)
    assert [lora_rank_slot(r) for r in (1, 4, 8, 9, 33)] == [1, 8, 8, 16, 64]


def test_adapter_without_tokenizer_uses_the_base_one_and_a_fitting_lora_rank(tiny_model, tmp_path):
    bare = describe_model(str(_adapter(tiny_model, tmp_path / "bare", ["q_proj"], r=12)))
    kw = engine_kwargs(bare, VllmOptions(), device="cpu", dtype="float32", seed=0, batch_size=4, needed_len=64)
    assert kw["model"] == str(tiny_model) and kw["tokenizer"] == str(tiny_model)
    assert kw["enable_lora"] is True and kw["max_lora_rank"] == 16
    with_tok = describe_model(str(_adapter(tiny_model, tmp_path / "tok", ["q_proj"], tokenizer=True)))
    kw = engine_kwargs(with_tok, VllmOptions(), device="cpu", dtype="float32", seed=0, batch_size=4, needed_len=64)
    assert kw["tokenizer"] == with_tok.path and kw["max_lora_rank"] == 8
    assert servable(bare) == bare and not adapts_head(bare.path)


def test_head_adapter_is_merged_once_into_a_cached_plain_model(tiny_model, tmp_path, monkeypatch):
    import torch
    from transformers import AutoModelForCausalLM

    from ecellm.engines.model_loader import load_model

    monkeypatch.setenv("ECELLM_CACHE", str(tmp_path / "cache"))
    spec = describe_model(str(_adapter(tiny_model, tmp_path / "head", ["q_proj", "lm_head"])))
    assert adapts_head(spec.path)
    served = servable(spec)
    assert served.kind == "merged" and Path(served.path).parent == tmp_path / "cache" / "merged"
    assert (Path(served.path) / "tokenizer_config.json").is_file()  # the base's tokenizer came along
    ids = torch.tensor([[1, 50, 300, 7]])
    with torch.no_grad():
        merged = AutoModelForCausalLM.from_pretrained(served.path)(ids).logits
        reference = load_model(spec, device="cpu", dtype="float32").model(ids).logits
        base = AutoModelForCausalLM.from_pretrained(tiny_model)(ids).logits
    assert torch.allclose(merged, reference, atol=1e-5) and not torch.allclose(merged, base, atol=1e-3)
    stamp = (Path(served.path) / "model.safetensors").stat().st_mtime_ns
    assert servable(spec).path == served.path  # cached: not merged again
    assert (Path(served.path) / "model.safetensors").stat().st_mtime_ns == stamp


# -- log-probability arithmetic --------------------------------------------------------------------------------


def test_prompt_logprobs_sum_only_the_continuation():
    lp = SimpleNamespace
    ids = [5, 6, 7, 8]
    logprobs = [None, {6: lp(logprob=-9.0, rank=3)}, {7: lp(logprob=-0.5, rank=1), 2: lp(logprob=-1.0, rank=2)},
                {8: lp(logprob=-1.5, rank=2), 3: lp(logprob=-0.2, rank=1)}]
    got = loglik_from_prompt_logprobs(ids, logprobs, n_prompt=2)
    assert got.logprob == pytest.approx(-2.0) and got.n_tokens == 2 and got.is_greedy is False
    assert loglik_from_prompt_logprobs(ids, logprobs, n_prompt=3).is_greedy is False
    assert loglik_from_prompt_logprobs(ids[:3], logprobs[:3], n_prompt=2).is_greedy is True
    with pytest.raises(EvaluationError, match="no tokens"):
        loglik_from_prompt_logprobs(ids, logprobs, n_prompt=4)


def test_echoed_logprobs_are_cut_at_the_character_boundary():
    # "Q: x\nA:" + " yes" ; tokens: "Q", ":", " x", "\nA", ":", " yes", then one generated token
    offsets = [0, 1, 2, 4, 6, 7, 11]
    logprobs = [None, -1.0, -2.0, -0.5, -0.1, -0.7, -3.0]
    top = [None, {":": -1.0}, {" y": -1.0}, {"\nA": -0.5}, {":": -0.1}, {" yes": -0.7}, {"!": -0.1}]
    got = loglik_from_echo(offsets, logprobs, top, start=7, end=11)
    assert got.logprob == pytest.approx(-0.7) and got.n_tokens == 1 and got.is_greedy
    both = loglik_from_echo(offsets, logprobs, top, start=4, end=11)
    assert both.logprob == pytest.approx(-1.3) and both.n_tokens == 3


def test_structured_output_fields_of_a_vllm_server():
    assert structured_body(None) == {}
    assert structured_body(Constraint(choices=("yes", "no"))) == {"structured_outputs": {"choice": ["yes", "no"]}}
    assert structured_body(Constraint(regex=r"\d+")) == {"structured_outputs": {"regex": r"\d+"}}
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert structured_body(Constraint(json_schema=json.dumps(schema))) == {"structured_outputs": {"json": schema}}


# -- OpenAI-compatible backend: options, errors, retries -------------------------------------------------------


def test_server_options_are_checked_before_anything_runs(capsys):
    from ecellm.cli import main

    with pytest.raises(EvaluationError, match="http"):
        OpenAIOptions(base_url="localhost:8000")
    with pytest.raises(EvaluationError, match="both"):
        OpenAIOptions(base_url="http://x/v1", price_input_per_m=1.0)
    assert main(["eval", "--model", "m", "--backend", "openai", "--data", "nowhere"]) == 2
    assert "needs --base-url" in capsys.readouterr().err


class _FlakyServer(BaseHTTPRequestHandler):
    """Answers 429, then 503, then a completion: what a rate-limited or restarting server does. A real vLLM
    server cannot be made to do this on demand, hence this small stand-in for the retry test only."""

    script: list[int] = []
    seen: list[dict] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append({"body": body, "auth": self.headers.get("Authorization")})
        status = type(self).script.pop(0) if type(self).script else 200
        payload = ({"error": {"message": "slow down"}} if status != 200 else
                   {"id": "c", "object": "text_completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "text": " yes", "finish_reason": "stop", "logprobs": None}],
                    "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}})
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def flaky_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FlakyServer.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_retries_on_429_and_5xx_then_records_usage_and_cost(flaky_server, monkeypatch):
    from ecellm.engines.openai_engine import OpenAIEngine

    monkeypatch.setenv("ECELLM_TEST_KEY", "sk-secret-123")
    _FlakyServer.script = [429, 503]
    options = OpenAIOptions(base_url=flaky_server, api_key_env="ECELLM_TEST_KEY", max_retries=3, concurrency=2,
                            price_input_per_m=1.0, price_output_per_m=2.0)
    backend = OpenAIEngine("served", options, GenerationSettings(), stop_strings=("###",))
    (gen,) = backend.generate(["Q: is it?\nA:"], max_new_tokens=5, seed=0)
    assert gen.text == " yes" and gen.new_tokens == 2 and gen.finished
    assert len(_FlakyServer.seen) == 3 and _FlakyServer.seen[-1]["auth"] == "Bearer sk-secret-123"
    sent = _FlakyServer.seen[-1]["body"]
    assert sent["max_tokens"] == 5 and sent["temperature"] == 0.0 and sent["stop"] == ["###"]
    described = backend.describe()
    assert described["usage"] == {"requests": 1, "prompt_tokens": 7, "completion_tokens": 2, "cost_usd": 0.000011}
    assert "sk-secret" not in json.dumps(described)


def test_a_server_that_keeps_failing_gives_one_clear_line(flaky_server):
    from ecellm.engines.openai_engine import OpenAIEngine

    _FlakyServer.script = [500] * 3
    backend = OpenAIEngine("served", OpenAIOptions(base_url=flaky_server, max_retries=2), GenerationSettings())
    with pytest.raises(EvaluationError, match="HTTP 500"):
        backend.generate(["x"], max_new_tokens=3, seed=0)
    assert len(_FlakyServer.seen) == 3
    closed = OpenAIEngine("served", OpenAIOptions(base_url="http://127.0.0.1:9/v1", max_retries=0),
                           GenerationSettings())
    with pytest.raises(EvaluationError, match="cannot reach"):
        closed.generate(["x"], max_new_tokens=3, seed=0)


def test_chat_api_refuses_loglik(flaky_server):
    from ecellm.engines.openai_engine import OpenAIEngine

    backend = OpenAIEngine("served", OpenAIOptions(base_url=flaky_server, api="chat"), GenerationSettings())
    with pytest.raises(EvaluationError, match="completions"):
        backend.loglik(["p"], [["a"]])


def test_eval_through_a_server_records_it_and_resumes_from_its_cache(flaky_server, built_folder, tmp_path):
    from ecellm.engines.generation_settings import settings_hash
    from ecellm.evaluation.run import evaluate

    options = OpenAIOptions(base_url=flaky_server, max_retries=0)
    run = {"backend": "openai", "engine": options, "tasks": "SR", "splits": "test_ind", "max_samples": 2,
           "prompt_format": "alpaca", "out": tmp_path, "n_resamples": 20, "progress": False, "chart": False,
           "published": False}
    first = evaluate("served", str(built_folder), **run)
    assert first.meta["backend"] == "openai" and first.meta["model"]["kind"] == "server"
    assert first.meta["model"]["fingerprint"] == settings_hash(server=flaky_server, model="served")
    assert first.meta["engine"]["name"] == "openai" and first.meta["engine"]["usage"]["requests"] == 2
    assert [s["body"]["model"] for s in _FlakyServer.seen] == ["served", "served"]
    again = evaluate("served", str(built_folder), **run)
    assert again.meta["timing"]["reused_prompts"] == 2 and len(_FlakyServer.seen) == 2
    assert again.meta["engine"] == {"name": "openai", "started": False}


def test_server_model_keys_the_cache_by_name_and_url():
    from ecellm.engines.openai_engine import OpenAIEngine

    a = OpenAIEngine.model_spec("m", options=OpenAIOptions(base_url="http://h:1/v1"))
    assert a == ModelSpec(name="m", kind="server", path="http://h:1/v1")
    other = OpenAIEngine.model_spec("m", options=OpenAIOptions(base_url="http://h:2/v1"))
    assert OpenAIEngine.fingerprint(a) != OpenAIEngine.fingerprint(other)
    # the hash the prediction cache was keyed by before the engines had classes: old caches stay valid
    from ecellm.engines.generation_settings import settings_hash

    assert OpenAIEngine.fingerprint(a) == settings_hash(server="http://h:1/v1", model="m")


def test_cli_flags_become_engine_options():
    import argparse

    from ecellm.engines.registry import add_engine_arguments, engine_from_args

    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="transformers")
    add_engine_arguments(parser)
    assert engine_from_args(parser.parse_args([])) is None
    vllm = engine_from_args(parser.parse_args(["--backend", "vllm", "--tensor-parallel-size", "2", "--no-enforce-eager",
                                               "--kv-cache-gb", "4", "--engine-arg", "max_num_seqs=64"]))
    assert vllm == VllmOptions(tensor_parallel_size=2, enforce_eager=False, kv_cache_gb=4.0,
                               engine_args={"max_num_seqs": 64})
    server = engine_from_args(parser.parse_args(["--backend", "openai", "--base-url", "http://h/v1", "--openai-api",
                                                 "chat", "--concurrency", "32", "--price-input", "1",
                                                 "--price-output", "2"]))
    assert server == OpenAIOptions(base_url="http://h/v1", api="chat", concurrency=32, price_input_per_m=1.0,
                                   price_output_per_m=2.0)
