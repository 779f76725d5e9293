"""Which prompt format a model gets, and the prompt text of a row in that format.

Default, in order: the format recorded in ``training_summary.json`` (what the adapter was trained on);
``mistral`` for ``NingLab/eCeLLM-M`` and Mistral-family models (the paper's template for Mistral);
``alpaca`` for the other released eCeLLM models (the paper's template for eCeLLM-S/L); ``chat`` for any
other model whose tokenizer has a chat template (an instruction-tuned baseline understands its own
template, not ours); ``alpaca`` otherwise. The choice and its reason are recorded in the results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ecellm.artifacts import SUMMARY_FILE
from ecellm.engines.model_loader import ModelSpec
from ecellm.evaluation.errors import EvaluationError
from ecinstruct.prompts import PROMPT_FORMATS, build_prompt, chat_messages


def default_prompt_format(spec: ModelSpec, tokenizer: Any = None) -> tuple[str, str]:
    """``(format, reason)`` for a model when the user did not choose one."""
    recorded = spec.summary.get("prompt_format")
    if recorded in PROMPT_FORMATS:
        return recorded, SUMMARY_FILE
    names = [spec.name, spec.base or "", _model_type(spec)]
    if spec.name == "NingLab/eCeLLM-M" or any("mistral" in n.lower() for n in names):
        return "mistral", "Mistral-family model: the paper's mistral template"
    if any(n.startswith("NingLab/eCeLLM") for n in names):
        return "alpaca", "released eCeLLM model: the paper's alpaca template"
    if getattr(tokenizer, "chat_template", None):
        return "chat", "no training summary, tokenizer has a chat template: the model's own chat format"
    return "alpaca", "default: the paper's alpaca template"


def _model_type(spec: ModelSpec) -> str:
    config = Path(spec.base_path or spec.path) / "config.json"
    try:
        return str(json.loads(config.read_text(encoding="utf-8")).get("model_type", ""))
    except (OSError, json.JSONDecodeError):
        return ""


def choose_prompt_format(spec: ModelSpec, requested: str | None, tokenizer: Any = None) -> tuple[str, str]:
    """The format to use: ``requested`` (validated) or the model's default."""
    if requested is None or requested == "auto":
        return default_prompt_format(spec, tokenizer)
    if requested not in PROMPT_FORMATS:
        raise EvaluationError(f"unknown prompt format {requested!r}; expected one of: auto, "
                              f"{', '.join(PROMPT_FORMATS)}")
    return requested, "chosen by the user"


def render_prompt(row: dict, prompt_format: str, tokenizer: Any, system_prompt: str | None = None) -> str:
    """The exact text sent to the model (chat: the tokenizer's template with the generation prompt, after an
    optional system message)."""
    if prompt_format != "chat":
        return build_prompt(row, prompt_format)
    if not getattr(tokenizer, "chat_template", None):
        raise EvaluationError("prompt format 'chat' needs a tokenizer with a chat template; this one has none. "
                              "Use --prompt-format alpaca or mistral")
    messages = chat_messages(row)
    if system_prompt:
        messages = [{"role": "system", "content": system_prompt}, *messages]
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def adds_special_tokens(prompt_format: str) -> bool:
    """Chat templates write BOS themselves; text templates get the tokenizer's default (BOS for Llama)."""
    return prompt_format != "chat"


def user_turn(row: dict) -> str:
    """The row's instruction and input as the one user turn of a chat (a server's chat API applies the template)."""
    (message,) = chat_messages(row)
    return message["content"]
