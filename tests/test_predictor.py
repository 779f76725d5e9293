"""``ecellm.Predictor`` end to end on tiny models: every task, typed results, the valid flag, batches, errors.

Two tiny Llamas rewired to write a fixed answer (``scripted_model``) give valid answers through the real
tokenizer, prompt format and engine; the plain random one writes noise (the invalid path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scripted_model import HAS_XGRAMMAR, build_scripted_model

from ecellm import Predictor
from ecellm.evaluation.errors import EvaluationError
from ecinstruct.errors import RowFormatError
from ecinstruct.tasks import TASKS, get_task

# What the scripted models' answers read as, per task, on each task's own example.
EXPECTED = {
    "yes": {"PM": True, "PSI": True, "AP": True, "AG": "yes"},
    "A": {"PRP": "also bought", "SA": "very positive", "MPC": "exact", "AG": "A",
          "SR": {"index": 0, "item": get_task("SR").inputs.example["candidates"][0]}},
}


@pytest.fixture(scope="module")
def scripted(tmp_path_factory) -> dict[str, Predictor]:
    root = tmp_path_factory.mktemp("scripted")
    return {answer: Predictor(str(build_scripted_model(root / answer, answer)), method="generate", max_new_tokens=8)
            for answer in EXPECTED}


@pytest.fixture(scope="module")
def noisy(tmp_path_factory) -> Predictor:
    from ecellm.offline_models import build_tiny_model

    return Predictor(str(build_tiny_model(tmp_path_factory.mktemp("tiny") / "m")), method="generate", max_new_tokens=6)


@pytest.mark.parametrize("answer", sorted(EXPECTED))
def test_every_task_gives_a_typed_result(scripted, answer):
    predictor = scripted[answer]
    for task in TASKS:
        prediction = predictor.predict(task.code, **task.inputs.example)
        assert prediction.task == task.code and prediction.raw == answer and prediction.method == "generate"
        if task.code in EXPECTED[answer]:
            assert prediction.valid, task.code
            assert prediction.result == EXPECTED[answer][task.code], task.code
        elif task.code == "QPR" and answer == "A":  # a partial ranking: read, but not valid
            assert not prediction.valid and [r["index"] for r in prediction.result] == [0]
        else:  # e.g. "yes" for an option task: not an answer of that task
            assert not prediction.valid and prediction.result is None, task.code
        assert json.loads(json.dumps(prediction.to_dict()))["valid"] == prediction.valid


def test_noise_is_invalid_and_kept_raw(noisy):
    for task in TASKS:
        prediction = noisy.predict(task.code, **task.inputs.example)
        assert prediction.raw.strip()
        if task.code == "AG":
            assert prediction.valid and prediction.result == prediction.raw.strip()
        else:
            assert not prediction.valid and prediction.result is None, (task.code, prediction.raw)


RESULT_TYPES = {"PRP": str, "PM": bool, "SA": str, "SR": dict, "MPC": str, "PSI": bool, "QPR": list, "AP": bool}


@pytest.mark.parametrize("method", ["auto", "constrained", "loglik"])
def test_closed_answer_tasks_always_answer_with_constraints_or_loglik(noisy, method):
    """Noise from a random model still becomes a well-formed answer when the decoder may only write the task's
    answers (constrained) or picks among them (loglik); AVE/AG have no closed set and are generated (auto)."""
    if method != "loglik" and not HAS_XGRAMMAR:
        pytest.skip("constrained decoding needs xgrammar (pip install xgrammar)")
    predictor = Predictor(noisy.spec.path, method=method, max_new_tokens=12)
    predictions = predictor.run([predictor.prepare(t, t.inputs.example) for t in TASKS])  # mixed tasks, one call
    for task, prediction in zip(TASKS, predictions, strict=True):
        assert prediction.task == task.code
        if task.code in RESULT_TYPES:
            assert prediction.method == ("loglik" if method == "loglik" else "constrained"), task.code
            assert isinstance(prediction.result, RESULT_TYPES[task.code]), (task.code, prediction)
            if task.code in ("PRP", "SA", "MPC"):
                assert prediction.result in task.result.labels
            if method == "loglik" or task.code != "QPR":  # the QPR constraint may repeat a letter
                assert prediction.valid, (task.code, prediction)
        else:
            expected = "constrained" if method == "constrained" and task.code == "AVE" else "generate"
            assert prediction.method == expected, task.code
    if method == "loglik":  # every product ranked, by score
        ranked = predictions[[t.code for t in TASKS].index("QPR")].result
        assert sorted(r["index"] for r in ranked) == [0, 1, 2]


def test_flexible_reading_of_chatty_answers(tmp_path):
    model = build_scripted_model(tmp_path / "chatty", "No, these differ")
    prediction = Predictor(str(model), method="generate", max_new_tokens=8).predict(
        "PM", **get_task("PM").inputs.example)
    assert prediction.raw == "No, these differ" and prediction.answer == "no"
    assert prediction.valid and prediction.result is False


def test_prompt_uses_the_seed_instruction_and_the_models_format(scripted, tmp_path):
    from ecinstruct.instructions import load_instructions

    prepared = scripted["yes"].prepare("PSI", {"query": "usb c charger", "product": "Voltix 45W Charger"})
    seed = load_instructions()["PSI"].seed
    assert prepared.prompt.startswith("Below is an instruction") and f"### Instruction:\n{seed}\n" in prepared.prompt
    assert '### Input:\n{"query": "usb c charger", "product": "Voltix 45W Charger"}\n' in prepared.prompt
    model = build_scripted_model(tmp_path / "mistral", "yes", prompt_end="[/INST] ### Response:\n")
    (model / "training_summary.json").write_text(json.dumps({"prompt_format": "mistral"}))
    predictor = Predictor(str(model), method="generate", max_new_tokens=4)
    assert predictor.prompt_format == "mistral" and predictor.describe()["prompt_format_source"] == \
        "training_summary.json"
    prediction = predictor.predict("AP", **get_task("AP").inputs.example)
    assert prediction.valid and prediction.result is True


def test_batch_inputs_list_dataframe_dataset(scripted):
    import datasets
    import pandas as pd

    rows = [{"review": "Great value.", "stars": 5}, {"review": "Broke in a week.", "stars": 1}]
    predictor = scripted["A"]
    expected = [predictor.predict("SA", review=r["review"]).to_dict() for r in rows]
    for given in (rows, pd.DataFrame(rows), datasets.Dataset.from_list(rows)):
        assert [p.to_dict() for p in predictor.predict_batch("SA", given)] == expected
    with pytest.raises(RowFormatError, match=r"row 1: field 'review'.*required"):
        predictor.predict_batch("SA", [{"review": "fine"}, {"review": ""}])


def test_bad_options_fail_before_loading(tmp_path):
    with pytest.raises(EvaluationError, match="unknown method 'beam'"):
        Predictor(str(tmp_path / "nowhere"), method="beam")
    with pytest.raises(EvaluationError, match="unknown backend"):
        Predictor(str(tmp_path / "nowhere"), backend="onnx")
    with pytest.raises(EvaluationError, match="runs on the transformers backend"):
        Predictor(str(tmp_path / "nowhere"), backend="vllm", method="loglik")


def test_prompt_too_long_is_a_clear_error(tmp_path):
    from ecellm.inference.predictor import InputTooLongError
    from ecellm.offline_models import build_tiny_model

    predictor = Predictor(str(build_tiny_model(tmp_path / "short", max_position_embeddings=256)), max_new_tokens=4)
    with pytest.raises(InputTooLongError, match="context of 256 tokens"):
        predictor.predict("SA", review="word " * 400)
    assert predictor.predict("SA", review="ok").task == "SA"


def test_top_level_import_is_lazy():
    import subprocess
    import sys

    code = "import sys, ecellm, ecellm.inference; assert 'torch' not in sys.modules; print(ecellm.Predictor.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert out.stdout.strip() == "Predictor"
