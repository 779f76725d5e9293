"""One clear error per bad input: unknown task, missing split, unloadable model, prompt over the context."""

from __future__ import annotations

import pytest

from ecellm.evaluation import EvaluationError, evaluate

FAST = {"max_new_tokens": 4, "n_resamples": 50, "progress": False, "chart": False, "published": False}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from ecellm.offline_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


def test_unknown_task(tiny_model, built_folder):
    with pytest.raises(EvaluationError, match="unknown task 'XYZ'; expected one of: AVE"):
        evaluate(str(tiny_model), str(built_folder), tasks="PM,XYZ", **FAST)


def test_missing_split(tiny_model, built_folder):
    import ecinstruct

    only_ind = ecinstruct.load(str(built_folder))
    del only_ind["test_ood"]
    with pytest.raises(EvaluationError, match=r"split 'test_ood' is not in .* it has: .*test_ind"):
        evaluate(str(tiny_model), only_ind, **FAST)
    with pytest.raises(EvaluationError, match="unknown split"):
        evaluate(str(tiny_model), str(built_folder), splits="test", **FAST)


def test_task_without_rows_named_explicitly(tiny_model, built_folder):
    with pytest.raises(EvaluationError, match="task PM has no rows"):
        evaluate(str(tiny_model), str(built_folder), config="sa", tasks="PM", splits="test_ind", **FAST)


def test_model_that_cannot_be_loaded(built_folder, tmp_path):
    with pytest.raises(EvaluationError, match=r"neither config\.json"):
        evaluate(str(tmp_path), str(built_folder), tasks="PM", **FAST)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "no-such-architecture"}')
    with pytest.raises(EvaluationError, match=r"cannot load the tokenizer of model|has no tokenizer files"):
        evaluate(str(broken), str(built_folder), tasks="PM", **FAST)


def test_prompt_longer_than_the_context(built_folder, tmp_path):
    from ecellm.offline_models import build_tiny_model

    short = build_tiny_model(tmp_path / "short", max_position_embeddings=128)
    with pytest.raises(EvaluationError, match=r"do not fit the model's context of 128 tokens: .*new tokens\)"):
        evaluate(str(short), str(built_folder), tasks="AVE", splits="test_ind", **FAST)


def test_bad_options(tiny_model, built_folder):
    with pytest.raises(EvaluationError, match="unknown scoring mode"):
        evaluate(str(tiny_model), str(built_folder), modes=("strict", "lenient"), **FAST)
    with pytest.raises(EvaluationError, match="unknown backend"):
        evaluate(str(tiny_model), str(built_folder), backend="onnx", **FAST)
    with pytest.raises(EvaluationError, match="batch-size"):
        evaluate(str(tiny_model), str(built_folder), batch_size=0, **FAST)


def test_vllm_missing_is_a_clear_error():
    from ecellm.engines.generation_settings import GenerationSettings
    from ecellm.engines.model_loader import ModelSpec
    from ecellm.engines.vllm_engine import VllmEngine

    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(EvaluationError, match=r"pip install 'ecellm\[vllm\]'.*make vllm-env"):
            VllmEngine(ModelSpec("m", "full", "m"), GenerationSettings(), device="cuda", dtype="bfloat16")
    else:
        pytest.skip("vllm is installed")


def test_cli_reports_errors(tiny_model, built_folder, capsys):
    from ecellm.cli import main

    assert main(["eval", "--model", str(tiny_model), "--data", str(built_folder), "--tasks", "NOPE"]) == 2
    err = capsys.readouterr().err
    assert "unknown task 'NOPE'" in err and len(err.strip().splitlines()) == 1
