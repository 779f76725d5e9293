"""Deprecations our own calls trigger fail the suite (pyproject `filterwarnings` + tests/conftest.py), and the KV
cache goes to models under the keyword their forward takes."""

from __future__ import annotations

import warnings

import pytest
import torch

from ecellm.engines.decode import cache_kwargs


class _Warns(torch.nn.Module):
    """Warns like transformers' ``deprecate_kwarg``: attributed to torch's ``Module.__call__`` machinery."""

    def forward(self, x):
        warnings.warn("`old` is deprecated. Use `new` instead.", FutureWarning, stacklevel=2)
        return x


def _call_from(module_name: str) -> None:
    exec(compile("model(1)", f"<{module_name}>", "exec"), {"__name__": module_name, "model": _Warns()})


def test_a_deprecation_caused_by_our_call_through_a_torch_module_fails():
    with pytest.raises(FutureWarning, match="deprecated"):
        _call_from("ecellm.evaluation.probe")


def test_the_same_deprecation_from_someone_else_only_warns():
    with pytest.warns(FutureWarning):
        _call_from("somelib.probe")


def test_the_cache_keyword_follows_the_forward_signature():
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2)
    model = LlamaForCausalLM(config)
    expected = "cache" if "cache" in _parameters(LlamaForCausalLM.forward) else "past_key_values"
    assert set(cache_kwargs(model, "C")) == {expected, "use_cache"}

    class Old(torch.nn.Module):
        def forward(self, input_ids, past_key_values=None, use_cache=None):
            return input_ids

    assert cache_kwargs(Old(), "C") == {"past_key_values": "C", "use_cache": True}


def _parameters(function) -> set[str]:
    import inspect

    return set(inspect.signature(function).parameters)
