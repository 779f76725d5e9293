"""The evaluate modules load offline from the package, declare their inputs, and their docstring
examples run; BERTScore runs offline on the MiniLM encoder (SPEC G1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from ecellm.metrics import item_stats, module_path
from ecinstruct.scoring import offline_encoder
from ecinstruct.tasks import TASKS, get_task

FAMILIES = {"yes_no_f1", "option_letter", "hit_rate_at_1", "qpr_ndcg", "ave_f1_star", "ag_bertscore"}

# Runs in a fresh interpreter with the Hub switched off and an empty modules cache.
OFFLINE_SCRIPT = textwrap.dedent("""
    import doctest, json, sys
    import evaluate
    from ecellm.metrics import load_module, module_path
    from ecinstruct.tasks import TASKS, get_task

    out = {}
    for task in TASKS:
        by_path = evaluate.load(module_path(task))  # plain evaluate.load of the folder
        module = load_module(task)
        info = module._info()
        test = doctest.DocTestParser().get_doctest(info.inputs_description, {}, task.code, None, 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test, out=sys.stderr.write)
        out[task.code] = {
            "class": type(by_path).__name__, "config": module.config_name, "features": str(info.features),
            "citation": info.citation, "description": info.description,
            "doctests": [runner.failures, runner.tries],
        }
    print(json.dumps(out))
""")


def test_every_task_has_a_module_folder():
    assert {os.path.basename(module_path(task)) for task in TASKS} == FAMILIES
    for task in TASKS:
        folder = module_path(task)
        name = os.path.basename(folder)
        assert os.path.isfile(os.path.join(folder, f"{name}.py"))
        assert os.path.isfile(os.path.join(folder, "README.md"))


def test_modules_load_offline_and_doctests_pass(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_EVALUATE_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"),
               HF_HOME=str(tmp_path / "hf"))
    done = subprocess.run([sys.executable, "-c", OFFLINE_SCRIPT], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result) == {task.code for task in TASKS}
    for code, info in result.items():
        assert info["config"] == code
        assert "2402.08831" in info["citation"] and "Peng" in info["citation"]
        assert "predictions" in info["features"] and "references" in info["features"]
        assert len(info["description"]) > 100
        assert info["doctests"][0] == 0, (code, done.stderr[-3000:])
    tried = {result[t.code]["class"]: result[t.code]["doctests"][1] for t in TASKS}
    assert all(tries >= 3 for tries in tried.values()), tried
    assert "List(" in result["QPR"]["features"] or "Sequence" in result["QPR"]["features"]  # label lists


def test_g1_identical_candidate_scores_one_with_the_offline_encoder():
    encoder, layers = offline_encoder()
    text = "Yes, the lid locks open and the mug keeps coffee hot for hours."
    predictions, gold = [text, "It is not dishwasher safe.", " "], [text, "Hand wash only.", "Yes."]
    meta: dict = {}
    stats = item_stats("AG", predictions, gold, model_type=encoder, num_layers=layers, progress=False,
                       batch_size=2, meta=meta)
    assert stats[0, :3] == pytest.approx([1.0, 1.0, 1.0], abs=5e-4)  # per-pair P, R, F of the identical pair
    assert 0 < stats[1, 2] < 1 and list(stats[2, :4]) == [0, 0, 0, 1]  # blank candidate: 0, counted empty
    result = get_task("AG").scorer.summarize(stats, "strict")
    assert result["f1"] == pytest.approx(stats[:, 2].mean()) and result["invalid"] == 1
    assert meta["model"] == encoder and "L6_no-idf" in meta["hashcode"]  # the configuration is recorded
