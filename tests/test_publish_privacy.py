"""Published artefacts carry no local paths: the card, training_summary.json and eval_results.json of a
model trained from a local folder and evaluated from local paths, published with --base-model ORG/NAME."""

from __future__ import annotations

import json

import pytest
from publish_helpers import BASE_REPO, results_file, tiny_adapter, tiny_base

from ecellm.portable import has_local_path, portable, portable_text


@pytest.mark.parametrize(("text", "expected"), [
    ("/home/me/runs/xs", "xs"),
    ("~/models/base", "base"),
    ("loaded /tmp/a/b/model.safetensors ok", "loaded model.safetensors ok"),
    ("C:\\Users\\me\\runs\\xs", "xs"),
    ("https://huggingface.co/org/name", "https://huggingface.co/org/name"),
    ("org/name", "org/name"),
    ("runs/xs", "runs/xs"),
    ("1 / 2", "1 / 2"),
])
def test_portable_text(text, expected):
    assert portable_text(text) == expected


def test_portable_walks_json_values():
    doc = {"model": {"path": "/home/me/x", "n": 3, "list": ["/srv/data/dataset.json", None, 1.5]}}
    assert portable(doc) == {"model": {"path": "x", "n": 3, "list": ["dataset.json", None, 1.5]}}


def test_published_model_folder_holds_no_local_path(tmp_path):
    from ecellm.publish import publish_model

    home = tmp_path / "home" / "me"
    base = tiny_base(home / "models" / "base")
    adapter = tiny_adapter(base, home / "runs" / "xs", base_id=str(base))  # trained from a local folder
    summary = json.loads((adapter / "training_summary.json").read_text())
    summary.update(recipe=str(home / "recipes" / "mine.yaml"), dataset_name=str(home / "data" / "dataset.json"),
                   best_checkpoint=str(adapter / "checkpoint-10"), base_model=str(base))
    (adapter / "training_summary.json").write_text(json.dumps(summary))
    (home / "eval").mkdir()
    results = results_file(home / "eval" / "results.json")
    doc = json.loads(results.read_text())
    doc["model"] = {"name": str(adapter), "kind": "adapter", "path": str(adapter), "base": str(base),
                    "base_path": str(base)}
    doc["cache"] = str(home / "eval" / "cache" / "0123abcd")
    doc["data"] = {"source": str(home / "data" / "ECInstruct")}
    results.write_text(json.dumps(doc))

    staged = publish_model(adapter, "my-org/xs", results=results, base_model=BASE_REPO, dry_run=True,
                           out=tmp_path / "staged").folder
    for path in staged.iterdir():
        if path.suffix in (".json", ".md"):
            text = path.read_text(encoding="utf-8")
            assert str(tmp_path) not in text and "home/me" not in text, path.name
            if path.name in ("README.md", "training_summary.json", "eval_results.json", "adapter_config.json"):
                assert not has_local_path(text), path.name  # (a vocabulary may hold '/...' tokens)
    published = json.loads((staged / "eval_results.json").read_text())
    assert published["model"]["base"] == BASE_REPO and published["cache"] == "0123abcd"
    assert published["results"] == doc["results"]  # the numbers are untouched
    summary = json.loads((staged / "training_summary.json").read_text())
    assert summary["base_model"] == BASE_REPO and summary["recipe"] == "mine.yaml"
    assert f"base_model: {BASE_REPO}" in (staged / "README.md").read_text()
