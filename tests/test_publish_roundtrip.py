"""Publish and pull over real HTTP: the Hub-protocol test server on 127.0.0.1, ``HF_ENDPOINT`` pointing at it.

The full round trip runs in a subprocess, because huggingface_hub / datasets / transformers / peft read
``HF_ENDPOINT`` when they are imported. Failure handling runs in-process (huggingface_hub's endpoint constant is
patched): a failed upload gives one clear error, commits nothing, leaves the local folder intact, and the same
call afterwards succeeds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from hub_server import HubServer
from publish_helpers import BASE_REPO, results_file, tiny_adapter, tiny_base

TOKEN = "hf_roundTripTestToken0123456789"
DATA_REPO = "ecellm-test/ECInstruct-sample"
MODEL_REPO = "ecellm-test/tiny-ecellm"

CLIENT = textwrap.dedent('''
    import json, sys
    import datasets, torch
    from huggingface_hub import HfApi, ModelCard
    from peft import AutoPeftModelForCausalLM, PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import ecinstruct
    from ecellm.publish import publish_dataset, publish_model

    cfg = json.loads(sys.argv[1])
    out = {}
    base = AutoModelForCausalLM.from_pretrained(cfg["base_dir"])  # the adapter's base, pushed the usual way
    base.push_to_hub(cfg["base_repo"])
    AutoTokenizer.from_pretrained(cfg["base_dir"]).push_to_hub(cfg["base_repo"])

    data = publish_dataset(cfg["dataset_dir"], cfg["data_repo"], private=True)
    model = publish_model(cfg["adapter_dir"], cfg["model_repo"], results=cfg["results"])
    again = publish_model(cfg["adapter_dir"], cfg["model_repo"], results=cfg["results"])
    out["commits"] = [data.commit, model.commit, again.commit]
    out["private"] = HfApi().dataset_info(cfg["data_repo"]).private

    cache = cfg["cache"]
    psi = datasets.load_dataset(cfg["data_repo"], "psi", cache_dir=cache)
    out["psi"] = {split: len(rows) for split, rows in psi.items()}
    out["one_shot"] = {s: len(r) for s, r in ecinstruct.load(cfg["data_repo"], "one_shot", cache_dir=cache).items()}

    tokenizer = AutoTokenizer.from_pretrained(cfg["model_repo"])
    pulled = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(cfg["base_repo"]), cfg["model_repo"])
    auto = AutoPeftModelForCausalLM.from_pretrained(cfg["model_repo"])  # base resolved from adapter_config
    local = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(cfg["base_dir"]), cfg["adapter_dir"])
    prompt = ecinstruct.build_prompt(psi["test_ind"][0], "alpaca")
    inputs = tokenizer(prompt, return_tensors="pt")

    def generate(m):
        with torch.no_grad():
            ids = m.eval().generate(**inputs, max_new_tokens=6, do_sample=False, pad_token_id=tokenizer.eos_token_id)
        return ids[0, inputs["input_ids"].shape[1]:].tolist()

    out["generated"] = [generate(pulled), generate(auto), generate(local)]
    card = ModelCard.load(cfg["model_repo"])
    card.validate()  # the server's validate-yaml endpoint
    out["model_index"] = len(card.data.eval_results)
    print("RESULT " + json.dumps(out))
''')


@pytest.fixture(scope="module")
def folders(tmp_path_factory, built_folder):
    root = tmp_path_factory.mktemp("roundtrip")
    base = tiny_base(root / "base")
    return {"base_dir": str(base), "adapter_dir": str(tiny_adapter(base, root / "adapter")),
            "dataset_dir": str(built_folder), "results": str(results_file(root / "results.json")),
            "cache": str(root / "cache"), "root": root}


def test_round_trip_over_http(folders):
    with HubServer(token=TOKEN, max_seconds=240) as hub:
        env = {**os.environ, "HF_ENDPOINT": hub.endpoint, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": TOKEN,
               "HF_HOME": str(folders["root"] / "hf_home"), "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0",
               "TRANSFORMERS_OFFLINE": "0", "HF_HUB_DISABLE_TELEMETRY": "1"}
        cfg = {k: v for k, v in folders.items() if k != "root"} | {
            "base_repo": BASE_REPO, "data_repo": DATA_REPO, "model_repo": MODEL_REPO}
        proc = subprocess.run([sys.executable, "-c", CLIENT, json.dumps(cfg)], env=env, capture_output=True,
                              text=True, timeout=220)
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert TOKEN not in proc.stdout + proc.stderr
        line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
        out = json.loads(line[len("RESULT "):])
        model_files = hub.files(MODEL_REPO)
        data_files = hub.files(DATA_REPO, "dataset")
        data_commits = hub.commits(DATA_REPO, "dataset")
        log = list(hub.state.log)
        unrouted = [r for r in hub.state.unrouted if not r.endswith("/api/agent-harnesses")]  # client telemetry

    assert unrouted == []  # every request the libraries made is one the server implements
    assert out["private"] is True
    assert out["psi"] == {"train": 4, "validation": 2, "test_ind": 3}
    assert out["one_shot"] == {"test_ind": 30, "test_ood": 12}
    pulled, auto, local = out["generated"]
    assert pulled == local and auto == local
    assert out["model_index"] == 16
    assert out["commits"][2] == out["commits"][1]  # re-publishing unchanged files makes no new commit
    assert {"README.md", "adapter_config.json", "adapter_model.safetensors", "eval_results.json"} <= set(model_files)
    assert any(p.endswith(".parquet") for p in data_files) and len(data_commits) == 2  # initial + one upload
    assert any("/info/lfs/objects/batch" in entry for entry in log)  # parquet/safetensors went through LFS
    assert all(TOKEN.encode() not in content for content in {**model_files, **data_files}.values())


@pytest.fixture
def hub(monkeypatch):
    """The test server with huggingface_hub (already imported here) pointed at it, no Xet, a token set."""
    from huggingface_hub import constants

    import ecellm.publish as publish

    with HubServer(token=TOKEN, max_seconds=120) as server:
        monkeypatch.setattr(constants, "ENDPOINT", server.endpoint)
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        monkeypatch.setattr(publish, "RETRY_WAIT_S", 0.01)
        yield server


def test_failed_commit_gives_a_clear_error_and_retry_is_safe(hub, built_folder, tmp_path):
    from ecellm.publish import PublishError, publish_dataset

    hub.fail_next(r"POST /api/datasets/.*/commit/", times=3, status=503)  # more than the automatic retries
    staged = tmp_path / "staged"
    with pytest.raises(PublishError) as info:
        publish_dataset(built_folder, DATA_REPO, out=staged)
    message = str(info.value)
    assert "nothing was committed" in message and "again is safe" in message and "503" in message
    assert TOKEN not in message
    assert hub.commits(DATA_REPO, "dataset") == ["initial commit"]  # the repo is exactly as before
    assert set(hub.files(DATA_REPO, "dataset")) == {".gitattributes"}
    assert (staged / "README.md").is_file()  # the staged folder is complete, not half-written

    result = publish_dataset(built_folder, DATA_REPO, out=staged)  # the same call again
    assert result.commit and len(hub.commits(DATA_REPO, "dataset")) == 2
    assert "README.md" in hub.files(DATA_REPO, "dataset")


def test_dropped_connections_are_retried(hub, built_folder):
    from ecellm.publish import publish_dataset

    hub.fail_next(r"PUT /lfs-upload/", times=1, status=None)  # the socket closes mid-upload
    hub.fail_next(r"POST /api/datasets/.*/commit/", times=1, status=None)
    result = publish_dataset(built_folder, DATA_REPO)
    assert result.commit and hub.commits(DATA_REPO, "dataset")[-1].startswith("Upload dataset")


def test_refused_token_and_unreachable_hub(hub, built_folder, monkeypatch):
    from huggingface_hub import constants

    from ecellm.publish import PublishError, publish_dataset

    monkeypatch.setenv("HF_TOKEN", "hf_wrongTokenWrongToken0123")
    with pytest.raises(PublishError, match="refused") as info:
        publish_dataset(built_folder, DATA_REPO)
    assert "wrongToken" not in str(info.value)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(PublishError, match="unreachable"):
        publish_dataset(built_folder, DATA_REPO)
