"""The engine registry and the answer methods: every backend is found by name and says what it can do; an
unknown name is one clear line; no backend or method name is compared as a string outside ``ecellm/engines``."""

from __future__ import annotations

import argparse
import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ecellm.engines.base import Engine
from ecellm.engines.methods import Method
from ecellm.engines.registry import engine_names, get_engine, register
from ecellm.evaluation.checks import check_at_least_one
from ecellm.evaluation.errors import EvaluationError
from ecellm.options import option

ROOT = Path(__file__).resolve().parents[1]
NAMES = {"transformers", "vllm", "openai", "generate", "constrained", "loglik"}


def test_every_backend_is_found_by_name_and_the_default_comes_first():
    assert engine_names() == ("transformers", "vllm", "openai")
    for name in engine_names():
        engine = get_engine(name)
        assert issubclass(engine, Engine) and engine.name == name
        assert engine.methods <= set(Method) and engine.predictor_methods <= engine.methods
    assert [n for n in engine_names() if get_engine(n).is_server] == ["openai"]
    assert get_engine("transformers").predictor_methods == set(Method)
    assert get_engine("vllm").predictor_methods == {Method.GENERATE}


def test_an_unknown_backend_is_one_clear_line():
    with pytest.raises(EvaluationError) as err:
        get_engine("onnx")
    assert str(err.value) == "unknown backend 'onnx'; expected one of: transformers, vllm, openai"
    assert "\n" not in str(err.value)


def test_an_unknown_method_is_one_clear_line_and_a_method_is_its_name():
    with pytest.raises(EvaluationError) as err:
        Method.parse("beam")
    assert str(err.value) == "unknown method 'beam'; expected one of: generate, constrained, loglik"
    assert Method.parse("loglik") is Method.LOGLIK and Method.LOGLIK == "loglik"
    assert f"{Method.CONSTRAINED}" == str(Method.CONSTRAINED) == "constrained"
    assert Method.LOGLIK.ranks_candidates and not Method.LOGLIK.constrains and Method.CONSTRAINED.constrains
    assert "loglik" in {Method.LOGLIK} and json.dumps({"method": Method.LOGLIK}) == '{"method": "loglik"}'


def test_options_of_another_backend_are_refused():
    from ecellm.engines.openai_engine import OpenAIOptions
    from ecellm.engines.vllm_engine import VllmOptions

    assert get_engine("transformers").check_options(None) is None
    assert get_engine("vllm").check_options(None) == VllmOptions()
    with pytest.raises(EvaluationError, match="do not apply to --backend transformers"):
        get_engine("transformers").check_options(VllmOptions())
    with pytest.raises(EvaluationError, match="only apply to --backend openai"):
        get_engine("vllm").check_options(OpenAIOptions(base_url="http://h/v1"))
    with pytest.raises(EvaluationError, match="needs --base-url"):
        get_engine("openai").check_options(None)


class StandInEngine(Engine):
    """A backend that answers nothing: what a new backend's class must define, and no more (registered as
    ``echo`` by the tests below, each of which adds the one capability it is about)."""

    name = "echo"

    @classmethod
    def open(cls, spec, settings, prompt_format, tokenizer, **kwargs):
        return cls()

    def generate(self, prompts, max_new_tokens, seed, constraints=None):
        return []

    def loglik(self, prompts, continuations):
        return []


def test_a_new_backend_is_one_class_and_its_registration():
    from ecellm.engines import registry

    class EchoEngine(StandInEngine):
        methods = frozenset({Method.GENERATE})

    try:
        register(EchoEngine)
        assert get_engine("echo") is EchoEngine and engine_names()[-1] == "echo"
        parser = argparse.ArgumentParser()
        parser.add_argument("--backend")
        registry.add_engine_arguments(parser)  # the new backend adds no flags of its own
        assert registry.engine_from_args(parser.parse_args(["--backend", "echo"])) is None
        from ecellm.evaluation.run import evaluate

        message = r"^--method loglik does not run on --backend echo; it runs generate$"
        with pytest.raises(EvaluationError, match=message):
            evaluate("some/model", "some/data", backend="echo", method="loglik")
    finally:
        registry._ENGINES.pop("echo", None)
    with pytest.raises(TypeError):
        register(object)


def test_a_new_backend_with_options_writes_only_its_options_dataclass():
    """Its flags (help group, default, check, tri-state bool, repeatable KEY=VALUE) and the options read back from
    them come from the dataclass; the base class checks that options given in Python are its own."""
    from ecellm.engines import registry

    @dataclass(frozen=True)
    class EchoOptions:
        repeats: int = option(1, "Times each prompt is echoed.", check=check_at_least_one)
        shout: bool | None = option(None, "Upper-case the echo (default: as the prompt).")
        extra: dict[str, Any] = option({}, "Anything else (repeatable).", flag="--echo-extra")

    class EchoEngine(StandInEngine):
        options_class = EchoOptions

    try:
        register(EchoEngine)
        parser = argparse.ArgumentParser()
        parser.add_argument("--backend")
        registry.add_engine_arguments(parser)
        (group,) = [g for g in parser._action_groups if g.title == "echo engine (--backend echo)"]
        assert [a.option_strings[0] for a in group._group_actions] == ["--repeats", "--shout", "--echo-extra"]
        assert registry.engine_from_args(parser.parse_args(["--backend", "echo"])) == EchoOptions()
        options = registry.engine_from_args(parser.parse_args(["--backend", "echo", "--repeats", "3", "--no-shout",
                                                               "--echo-extra", "a=1", "--echo-extra", "b=x"]))
        assert options == EchoOptions(repeats=3, shout=False, extra={"a": 1, "b": "x"})
        with pytest.raises(SystemExit):
            parser.parse_args(["--backend", "echo", "--repeats", "0"])
        assert EchoEngine.check_options(None) == EchoOptions() and EchoEngine.check_options(options) is options
        with pytest.raises(EvaluationError, match="do not apply to --backend echo"):
            EchoEngine.check_options(object())
    finally:
        registry._ENGINES.pop("echo", None)


def _compared_names(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, literal)`` of every comparison against a backend or method name (``==``, ``!=``, ``in (...)``)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        for operand in [node.left, *node.comparators]:
            values = operand.elts if isinstance(operand, ast.Tuple | ast.List | ast.Set) else [operand]
            found += [(node.lineno, v.value) for v in values
                      if isinstance(v, ast.Constant) and isinstance(v.value, str) and v.value in NAMES]
    return found


def test_no_backend_or_method_name_is_compared_outside_the_engines():
    found = []
    for path in sorted((ROOT / "ecellm").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("ecellm/engines/"):
            continue
        found += [f"{relative}:{line}: {value!r}" for line, value in _compared_names(ast.parse(path.read_text()))]
    assert not found, "ask the engine class or Method instead (ecellm.engines): " + "; ".join(found)


def test_the_scan_sees_each_kind_of_comparison():
    source = 'a == "vllm"\nb != "loglik"\nc in ("constrained", "x")\nd == "other"\n"openai" == e\n'
    assert _compared_names(ast.parse(source)) == [(1, "vllm"), (2, "loglik"), (3, "constrained"), (5, "openai")]


def test_the_literal_types_name_the_same_methods():
    from typing import get_args

    from ecellm.engines.methods import MethodName, names
    from ecellm.inference.config import PredictMethod
    from ecellm.inference.predictor import AUTO, METHODS

    assert get_args(MethodName) == names() == tuple(m.value for m in Method)
    assert get_args(PredictMethod) == METHODS == (AUTO, *names())
