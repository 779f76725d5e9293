"""vLLM's offline engine for real (CPU here, GPU alike): `ecellm eval --backend vllm` gives the transformers
backend's greedy texts, structured outputs keep answers inside their constraint, and log-likelihoods match
transformers'. One engine for the whole module (the backend reuses it when the arguments are the same)."""

from __future__ import annotations

import json
import re

import pytest
from vllm_helpers import FAST, hf_loglik, raw_texts, require_vllm

pytestmark = require_vllm()


@pytest.fixture(scope="module")
def smol():
    from ecellm.offline_models import smollm2_dir

    return smollm2_dir()


@pytest.fixture(scope="module")
def vllm_run(smol, built_folder, tmp_path_factory):
    from ecellm.engines.vllm_engine import release_engines
    from ecellm.evaluation import evaluate

    yield evaluate(str(smol), str(built_folder), backend="vllm", out=tmp_path_factory.mktemp("vllm"), **FAST)
    release_engines()


@pytest.fixture(scope="module")
def backend(vllm_run, smol):
    """A backend on the module's engine (same arguments: the live engine is reused, not started again)."""
    from ecellm.engines.generation_settings import GenerationSettings
    from ecellm.engines.model_loader import describe_model
    from ecellm.engines.vllm_engine import VllmEngine, VllmOptions

    options = VllmOptions(max_model_len=vllm_run.meta["engine"]["engine"]["max_model_len"])
    return VllmEngine(describe_model(str(smol)), GenerationSettings(), device="cpu", dtype="float32",
                       options=options, batch_size=FAST["batch_size"])


def test_vllm_eval_gives_the_transformers_greedy_texts(vllm_run, smol, built_folder, tmp_path):
    from ecellm.evaluation import evaluate

    reference = evaluate(str(smol), str(built_folder), backend="transformers", out=tmp_path, **FAST)
    got, expected = raw_texts(vllm_run), raw_texts(reference)
    assert len(got) == 9 and got == expected
    engine = vllm_run.meta["engine"]["engine"]
    assert engine["enforce_eager"] is True and engine["kv_cache_memory_bytes"] == 2**30
    assert engine["max_num_seqs"] == FAST["batch_size"] and 100 < engine["max_model_len"] < 2048
    assert [e["score"] for e in vllm_run.entries] == [e["score"] for e in reference.entries]


def test_engine_is_reused_and_structured_outputs_hold(backend):
    from ecellm.engines.vllm_engine import _ENGINE
    from ecinstruct.answers.constraint import Constraint

    assert len(_ENGINE) == 1 and next(iter(_ENGINE.values())) is backend.llm
    prompt = "<|im_start|>user\nIs the sky blue? Answer yes or no.<|im_end|>\n<|im_start|>assistant\n"
    schema = {"type": "object", "properties": {"rating": {"type": "integer"}}, "required": ["rating"]}
    constraints = [Constraint(choices=("maybe so", "certainly not")), Constraint(regex=r"[0-9]{3}"),
                   Constraint(json_schema=json.dumps(schema)), None]
    out = backend.generate([prompt] * 4, max_new_tokens=24, seed=0, constraints=constraints)
    assert out[0].text in ("maybe so", "certainly not")
    assert re.fullmatch(r"[0-9]{3}", out[1].text)
    assert isinstance(json.loads(out[2].text)["rating"], int)
    assert out[3].text.strip() and out[3].text not in ("maybe so", "certainly not")


def test_loglik_matches_transformers(backend, smol):
    prompt = "The capital of France is"
    conts = [" Paris", " a city in Europe"]
    (got,) = backend.loglik([prompt], [conts])
    for cont, ll in zip(conts, got, strict=True):
        ref, n, greedy = hf_loglik(smol, prompt, cont)
        assert ll.n_tokens == n and ll.logprob == pytest.approx(ref, abs=2e-3) and ll.is_greedy == greedy
    assert got[0].logprob > got[1].logprob
