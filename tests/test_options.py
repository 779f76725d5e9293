"""Each option is declared once: the flags of `ecellm eval`, `predict` and `serve` are generated from their config
dataclasses (and `ecellm eval`'s engine groups from each engine's options dataclass, `VllmOptions` and
`OpenAIOptions`), so every field has exactly one flag with the field's help and default, and the checks a flag
runs are the checks the Python API runs (same one-line message)."""

from __future__ import annotations

import argparse
import dataclasses
import typing

import pytest

from ecellm.cli import build_parser, main
from ecellm.engines.openai_engine import OpenAIOptions
from ecellm.engines.registry import _ENGINES
from ecellm.engines.vllm_engine import VllmOptions
from ecellm.evaluation.config import Backend, EvalConfig, EvalMethod, PromptFormat
from ecellm.evaluation.errors import EvaluationError
from ecellm.evaluation.score_cli import ScoreCommand
from ecellm.evaluation.score_file import MadeWith
from ecellm.inference.config import PredictConfig, PredictMethod, ServeConfig
from ecellm.options import check_fields, flags, whole_number, whole_numbers

COMMANDS = [("eval", EvalConfig), ("predict", PredictConfig), ("serve", ServeConfig), ("score", ScoreCommand)]
ENGINE_OPTIONS = [("eval", VllmOptions), ("eval", OpenAIOptions)]  # ecellm eval's engine groups
PYTHON_ONLY = {OpenAIOptions: {"extra_body"}}  # fields declared cli=False: no flag on purpose


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices[name]


@pytest.mark.parametrize(("command", "cls"), COMMANDS + ENGINE_OPTIONS,
                         ids=[c for c, _ in COMMANDS] + [f"eval-{c.__name__}" for _, c in ENGINE_OPTIONS])
def test_every_field_has_one_flag_with_its_help_and_default(command, cls):
    parser = _subparser(command)
    flagged = {spec.name for spec in flags(cls)}
    assert {f.name for f in dataclasses.fields(cls)} - flagged == PYTHON_ONLY.get(cls, set())
    for spec in flags(cls):
        actions = [a for a in parser._actions if a.dest == spec.name]
        assert len(actions) == 1, f"{cls.__name__}.{spec.name}: {len(actions)} flags"
        (action,) = actions
        assert spec.flag in action.option_strings or (not action.option_strings and spec.flag == action.dest)
        assert action.help == spec.field.metadata["help"], spec.name
        if action.option_strings:  # a positional is required: no default
            assert action.default == spec.default, spec.name
        if spec.choices is not None:
            assert tuple(action.choices) == spec.choices, spec.name


@pytest.mark.parametrize(("command", "cls"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_no_flag_without_a_field(command, cls):
    """Every flag of the command is a field of its config, but the few declared elsewhere on purpose."""
    elsewhere = {"help", "func", "parser", "eval_config"}
    if command == "eval":  # the engine groups: one flag per field of each engine's options (ecellm.engines.registry)
        elsewhere |= {spec.name for _, options in ENGINE_OPTIONS for spec in flags(options)}
    names = {f.name for f in dataclasses.fields(cls)}
    dests = {a.dest for a in _subparser(command)._actions}
    assert dests - names <= elsewhere, dests - names - elsewhere


def test_engine_options_are_their_own_flags_in_their_engines_group():
    """No engine field shares a name (and so a destination) with an `ecellm eval` option or another engine's;
    each engine's flags are in its own help group; the registry's engines with options are the ones tested."""
    assert {e.options_class for e in _ENGINES.values() if e.options_class} == {c for _, c in ENGINE_OPTIONS}
    parser = _subparser("eval")
    seen = {f.name for f in dataclasses.fields(EvalConfig)}
    for engine in (e for e in _ENGINES.values() if e.options_class):
        names = {spec.name for spec in flags(engine.options_class)}
        assert not names & seen, names & seen
        seen |= names
        (group,) = [g for g in parser._action_groups if g.title == engine.options_title]
        assert {a.dest for a in group._group_actions} == names


def test_engine_flags_parse_as_before():
    args = _subparser("eval").parse_args(["--model", "m"])
    assert (args.enforce_eager, args.engine_args, args.base_url, args.tokenizer) == (None, {}, None, None)
    args = _subparser("eval").parse_args(["--model", "m", "--backend", "vllm", "--enforce-eager", "--engine-arg",
                                          "max_num_seqs=64", "--engine-arg", "quantization=fp8", "--engine-arg",
                                          "max_num_seqs=8", "--tokenizer", "t"])
    assert args.enforce_eager is True and args.tokenizer == "t"
    assert args.engine_args == {"max_num_seqs": 8, "quantization": "fp8"}  # repeatable; a later KEY wins
    assert _subparser("eval").parse_args(["--model", "m", "--no-enforce-eager"]).enforce_eager is False
    args = _subparser("eval").parse_args(["--model", "m", "--backend", "openai", "--base-url", "http://h/v1",
                                          "--openai-api", "chat", "--request-timeout", "30", "--max-retries", "0",
                                          "--api-key-env", "K", "--price-input", "1", "--price-output", "2"])
    assert (args.api, args.timeout_s, args.max_retries, args.api_key_env) == ("chat", 30.0, 0, "K")
    assert (args.price_input_per_m, args.price_output_per_m) == (1.0, 2.0)


@pytest.mark.parametrize(("cls", "field", "value", "flag", "says"), [
    (VllmOptions, "tensor_parallel_size", 0, "--tensor-parallel-size", "--tensor-parallel-size must be a whole "
                                                                      "number >= 1"),
    (VllmOptions, "max_model_len", 1, "--max-model-len", "--max-model-len must be >= 2"),
    (VllmOptions, "kv_cache_gb", 0.0, "--kv-cache-gb", "--kv-cache-gb must be > 0"),
    (OpenAIOptions, "base_url", "localhost:8000", "--base-url", "is not an http(s) URL"),
    (OpenAIOptions, "concurrency", 0, "--concurrency", "--concurrency must be a whole number >= 1"),
    (OpenAIOptions, "timeout_s", 0.0, "--request-timeout", "--request-timeout must be > 0"),
    (OpenAIOptions, "max_retries", -1, "--max-retries", "--max-retries must be a whole number >= 0"),
])
def test_an_engine_option_and_its_flag_run_the_same_check(cls, field, value, flag, says, capsys):
    values = {"base_url": "http://h/v1"} if cls is OpenAIOptions else {}
    with pytest.raises(EvaluationError) as err:
        cls(**{**values, field: value})
    assert says in str(err.value)
    assert main(["eval", "--model", "m", "--backend", "vllm" if cls is VllmOptions else "openai",
                 *(["--base-url", "http://h/v1"] if flag != "--base-url" and values else []), flag, str(value)]) == 2
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and says in line


def test_a_bad_engine_arg_is_one_usage_line(capsys):
    assert main(["eval", "--model", "m", "--backend", "vllm", "--engine-arg", "max_num_seqs"]) == 2
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and "--engine-arg 'max_num_seqs': expected KEY=VALUE" in line


def test_the_choices_are_the_registries():
    from ecellm.engines import engine_names
    from ecinstruct.prompts import PROMPT_FORMATS

    assert set(typing.get_args(Backend)) == set(engine_names())
    assert typing.get_args(PromptFormat) == ("auto", *PROMPT_FORMATS)
    assert typing.get_args(MadeWith) == PROMPT_FORMATS
    assert set(typing.get_args(EvalMethod)) < set(typing.get_args(PredictMethod))


def test_existing_command_lines_parse_as_before():
    args = _subparser("eval").parse_args(["--model", "m", "--tasks", "AVE,PM", "--max-samples", "3", "--no-published",
                                          "--no-chart", "--no-progress", "--no-stop-at-marker", "--prompt-format",
                                          "auto", "--tokenizer", "t", "--backend", "vllm", "--sample"])
    config = EvalConfig.from_args(args)
    assert (config.tasks, config.max_samples, config.prompt_format, config.tokenizer) == ("AVE,PM", 3, None, "t")
    assert not (config.show_published or config.chart or config.progress or config.stop_at_marker)
    assert config.sample and config.backend == "vllm"
    predict = _subparser("predict").parse_args(["--model", "m", "--task", "SA", "--input", "i.csv", "--out", "o",
                                                "--map", "a=b", "--map", "c=d", "--no-progress"])
    assert predict.map == ["a=b", "c=d"] and predict.progress is False and predict.method == "auto"
    score = _subparser("score").parse_args(["p.jsonl", "--modes", "strict,flexible", "--no-published", "--no-chart",
                                            "--prompt-format", "mistral", "--out", "o", "--overwrite"])
    assert (score.predictions, score.modes, score.prompt_format) == ("p.jsonl", "strict,flexible", "mistral")
    assert not (score.show_published or score.chart) and score.overwrite


@pytest.mark.parametrize(("field", "value", "flag", "says"), [
    ("batch_size", 0, "--batch-size", "--batch-size must be a whole number >= 1"),
    ("temperature", -1.0, "--temperature", "--temperature must be > 0"),
    ("top_p", 2.0, "--top-p", "--top-p must be in (0, 1]"),
    ("dtype", "float13", "--dtype", "--dtype 'float13': expected one of"),
    ("confidence", 1.5, "--confidence", "--confidence must be in (0, 1)"),
    ("method", "beam", "--method", "unknown method 'beam'; expected one of: generate, constrained, loglik"),
])
def test_the_api_and_the_flag_run_the_same_check(field, value, flag, says, capsys):
    config = EvalConfig(model="m", **{field: value})
    with pytest.raises(EvaluationError) as err:
        check_fields(config, EvaluationError)
    assert says in str(err.value)
    assert main(["eval", "--model", "m", flag, str(value)]) == 2
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and flag in line


def test_eval_config_file_names_unknown_keys_and_reads_lists(tmp_path):
    (tmp_path / "bad.yaml").write_text("epochs: 3\n")
    with pytest.raises(EvaluationError, match=r"unknown option.*epochs.*Expected the names"):
        EvalConfig.from_yaml(tmp_path / "bad.yaml")
    (tmp_path / "ok.yaml").write_text("model: m\ntasks: [AVE, PM]\nmax_samples: 2\n")
    config = EvalConfig.from_yaml(tmp_path / "ok.yaml")
    assert (config.tasks, config.max_samples) == ("AVE,PM", 2)


def test_predictor_options_are_checked_from_python():
    from ecellm.inference.config import PredictorOptions
    from ecellm.inference.predictor import validate_predictor_options

    with pytest.raises(EvaluationError, match="--threads must be a whole number >= 1"):
        validate_predictor_options(PredictorOptions(model="m", threads=0))
    with pytest.raises(EvaluationError, match="unknown backend 'openai'; expected one of: transformers, vllm"):
        validate_predictor_options(PredictorOptions(model="m", backend="openai"))
    with pytest.raises(EvaluationError, match="unknown predictor option"):
        PredictorOptions.from_kwargs("m", beams=4)


@pytest.mark.parametrize(("parse", "text", "says"), [
    (whole_number("--rows", 1), "0", "--rows must be a whole number >= 1, got 0"),
    (whole_number("--rows"), "-2", "--rows must be a whole number >= 0, got -2"),
    (whole_number("--rows"), "2.5", "'2.5' is not a whole number"),
    (whole_numbers("--seeds"), "42,42", "--seeds '42,42': expected distinct whole numbers"),
    (whole_numbers("--seeds"), ",", "--seeds ',': expected distinct whole numbers"),
    (whole_numbers("--seeds"), "42,x", "'x' is not a whole number"),
    (whole_numbers("--seeds"), "42,-1", "--seeds must be a whole number >= 0, got -1"),
])
def test_scripts_whole_number_flags_refuse_in_one_line(parse, text, says):
    """The number types of the scripts' own flags (demo, benchmarks) give argparse one line that says why."""
    with pytest.raises(argparse.ArgumentTypeError) as err:
        parse(text)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_scripts_whole_number_flags_read_good_values():
    assert whole_number("--rows", 1)("3") == 3
    assert whole_numbers("--seeds")("42, 1,2") == [42, 1, 2]
