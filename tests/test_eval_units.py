"""Unit tests of the evaluation pieces: settings hash, cache, prompt formats, model kinds, answers,
batching, published numbers."""

from __future__ import annotations

import json

import pytest

from ecellm.engines.base import Generation
from ecellm.engines.generation_settings import GenerationSettings, settings_hash
from ecellm.engines.model_loader import ModelSpec, describe_model
from ecellm.engines.prompt_formats import choose_prompt_format, default_prompt_format
from ecellm.evaluation.cache import PredictionCache
from ecellm.evaluation.errors import EvaluationError
from ecellm.evaluation.generate import Job, make_batches
from ecellm.evaluation.paper_scores import load_published
from ecellm.evaluation.scoring import answer


def test_settings_hash_covers_what_changes_outputs():
    greedy = GenerationSettings()
    base = {"model": "m", "prompt_format": "alpaca", "generation": greedy.cache_key()}
    assert settings_hash(**base) == settings_hash(**{**base, "generation": GenerationSettings(seed=7).cache_key()})
    for change in ({"model": "m2"}, {"prompt_format": "mistral"},
                   {"generation": GenerationSettings(max_new_tokens=5).cache_key()},
                   {"generation": GenerationSettings.reference_sampling().cache_key()}):
        assert settings_hash(**{**base, **change}) != settings_hash(**base)
    sampled = GenerationSettings.reference_sampling()
    assert (sampled.temperature, sampled.top_p, sampled.do_sample) == (0.15, 0.95, True)
    assert sampled.cache_key() != GenerationSettings.reference_sampling(seed=1).cache_key()
    with pytest.raises(EvaluationError, match="do_sample"):
        GenerationSettings(temperature=0.5)


def test_cache_survives_a_torn_line_and_checks_the_prompt_key(tmp_path):
    cache = PredictionCache(tmp_path, "h", {"x": 1})
    cache.append("PM", "test_ind", [("r1", "k1", Generation("yes", 2, True))])
    path = cache.path("PM", "test_ind")
    with path.open("a") as handle:
        handle.write('{"id": "r2", "key": "k2", "te')  # killed mid-write
    reopened = PredictionCache(tmp_path, "h", {"x": 1})
    assert reopened.lookup("PM", "test_ind", "r1", "k1")["text"] == "yes"
    assert reopened.lookup("PM", "test_ind", "r1", "other-prompt") is None  # data changed: regenerate
    assert reopened.lookup("PM", "test_ind", "r2", "k2") is None
    reopened.append("PM", "test_ind", [("r2", "k2", Generation("no", 2, True))])
    assert PredictionCache(tmp_path, "h", {}).lookup("PM", "test_ind", "r2", "k2")["text"] == "no"
    assert json.loads((tmp_path / "h" / "settings.json").read_text()) == {"x": 1}


def test_batches_sorted_longest_first_and_one_budget_each():
    jobs = [Job("PM", "test_ind", f"r{i}", "p", n, 100 if i % 2 else 50, "k") for i, n in enumerate([5, 9, 1, 7, 3])]
    batches = make_batches(jobs, 2)
    assert all(len({j.budget for j in b}) == 1 for b in batches)
    lengths = [[j.n_tokens for j in b] for b in batches]
    assert lengths == [[5, 3], [1], [9, 7]]


def test_answers_per_mode():
    prompt = "...### Input:\nx\n\n### Response:\n"
    raw = " yes\n\n### Response:\nno"
    assert answer(prompt, raw, "alpaca", "strict") == "yes"
    assert answer(prompt, raw, "alpaca", "reference") == "yes"
    assert answer(prompt, "yes ### Instruction: more", "alpaca", "strict") == "yes"
    assert answer(prompt, "yes ### Instruction: more", "alpaca", "reference") == "yes ### Instruction: more"
    one_shot = "...### Response:\nexample answer\n\n### Input:\ny\n\n### Response:\n"
    assert answer(one_shot, "no", "alpaca", "reference") == "no"
    mistral = "[INST] ... [/INST] ### Response:\n"
    assert answer(mistral, "no [/INST] ### Response: x", "mistral", "reference") == "no"


def spec(name: str, **kw) -> ModelSpec:
    return ModelSpec(name=name, kind=kw.pop("kind", "hub"), path=kw.pop("path", name), **kw)


@pytest.mark.parametrize(("name", "expected"), [
    ("NingLab/eCeLLM-M", "mistral"),
    ("mistralai/Mistral-7B-Instruct-v0.2", "mistral"),
    ("NingLab/eCeLLM-L", "alpaca"),
    ("microsoft/phi-2", "alpaca"),
])
def test_default_prompt_format(name, expected):
    assert default_prompt_format(spec(name))[0] == expected


def test_prompt_format_from_summary_and_user():
    trained = spec("runs/x", kind="adapter", base="mistralai/Mistral-7B-Instruct-v0.2",
                   summary={"prompt_format": "chat"})
    assert default_prompt_format(trained) == ("chat", "training_summary.json")
    assert choose_prompt_format(trained, "alpaca") == ("alpaca", "chosen by the user")
    with pytest.raises(EvaluationError, match="unknown prompt format 'llama'"):
        choose_prompt_format(trained, "llama")


def test_model_kinds(tmp_path):
    adapter = tmp_path / "run"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "org/from-config"}))
    assert describe_model(adapter).base == "org/from-config"
    (adapter / "training_summary.json").write_text(json.dumps({"base_model": "org/from-summary",
                                                               "prompt_format": "mistral"}))
    described = describe_model(adapter)
    assert (described.kind, described.base, described.base_path) == ("adapter", "org/from-summary", "org/from-summary")
    merged = adapter / "merged"
    merged.mkdir()
    (merged / "config.json").write_text("{}")
    assert describe_model(merged).kind == "merged"
    assert default_prompt_format(describe_model(merged))[0] == "mistral"
    assert describe_model("org/some-model").kind == "hub"
    with pytest.raises(EvaluationError, match=r"neither config\.json"):
        describe_model(tmp_path)
    with pytest.raises(EvaluationError, match="no such file or folder"):
        describe_model(str(tmp_path / "missing"))


def test_published_package_numbers():
    published = load_published()
    assert published.value("eCeLLM-M", "AVE", "test_ind") == 0.662
    assert published.value("eCeLLM-L", "SR", "test_ood") == 0.273
    assert set(published.table("default", "test_ood")["eCeLLM-S"]) == {"AVE", "PRP", "SA", "SR", "AP", "AG"}
    assert published.table("unseen_instruction", "test_ind")["eCeLLM-S (diverse)"]["PSI"] == 0.381
    assert published.table("ave", "test_ind") == published.table("default", "test_ind")


def test_published_loader_accepts_the_paper_results_file(shared_dir):
    paper = load_published(shared_dir / "reference" / "paper_results.json")
    ours = load_published()
    for split in ("test_ind", "test_ood"):
        for model, values in ours.table("default", split).items():
            assert paper.table("default", split)[model] == values  # the package file matches the paper's
    assert paper.table("unseen_instruction", "test_ind") == ours.table("unseen_instruction", "test_ind")
    assert "Mistral-7B Instruct-v0.2" in paper.table("default", "test_ind")  # baselines come along


def test_published_bad_file(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"rows": []}')
    with pytest.raises(EvaluationError, match="unknown published-results layout"):
        load_published(bad)
    with pytest.raises(EvaluationError, match="cannot read"):
        load_published(tmp_path / "missing.json")
