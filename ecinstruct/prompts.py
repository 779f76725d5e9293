"""Prompt formats: a row → (prompt, completion).

``alpaca`` and ``mistral`` reproduce the reference's text templates byte for byte (the released
eCeLLM models were trained on them); the ``### Options:`` block appears iff the row has options.
``chat`` builds conversational prompt/completion messages for the tokenizer's own chat template,
which is what TRL's SFTTrainer expects.

1-shot rows (``few_shot_example`` set): the reference never used that column, so the 1-shot prompt
is our choice, not reference-exact: the solved example is inserted as a completed
``### Input / ### Options / ### Response`` block before the test block, inside the same template.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from ecinstruct.errors import ECInstructError, UnknownNameError
from ecinstruct.tasks import Task, get_task
from ecinstruct.text import parse_options

PromptFormat = Literal["alpaca", "mistral", "chat"]

_PREAMBLE = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request."
)


@dataclass(frozen=True)
class TextTemplate:
    """A plain-text prompt template: ``prefix`` + body + ``suffix``; the answer follows ``suffix``."""

    name: str
    prefix: str
    suffix: str
    response_split: str

    def render(self, instruction: str, blocks: list[tuple[str, str | None, str | None]]) -> str:
        """``blocks`` = [(input, options, solved answer or None)]; the last block is the query."""
        body = f"{self.prefix}{_PREAMBLE}\n\n### Instruction:\n{instruction}\n\n"
        for input_text, options, answer in blocks[:-1]:
            body += _block(input_text, options) + f"### Response:\n{answer}\n\n"
        input_text, options, _ = blocks[-1]
        return body + _block(input_text, options) + self.suffix


def _block(input_text: str, options: str | None) -> str:
    text = f"### Input:\n{input_text}\n\n"
    if options:  # the reference tests truthiness: null and "" both mean "no options block"
        text += f"### Options:\n{options}\n\n"
    return text


TEMPLATES: dict[str, TextTemplate] = {
    "alpaca": TextTemplate("alpaca", prefix="", suffix="### Response:\n", response_split="### Response:"),
    "mistral": TextTemplate(
        "mistral", prefix="[INST] ", suffix=" [/INST] ### Response:\n", response_split="[/INST] ### Response:"
    ),
}
PROMPT_FORMATS: tuple[str, ...] = ("alpaca", "mistral", "chat")


def get_template(name: str) -> TextTemplate:
    if name not in TEMPLATES:
        raise UnknownNameError("text prompt format", name, TEMPLATES)
    return TEMPLATES[name]


def _options_text(task: Task, options: object) -> str | None:
    if options is None or isinstance(options, str):
        return options
    return task.serialize_options(list(options))


def _few_shot(row: dict, task: Task) -> tuple[str, str | None, str] | None:
    raw = row.get("few_shot_example")
    if not raw:
        return None
    try:
        example = json.loads(raw) if isinstance(raw, str) else raw
        return (_as_text(example["input"]), _options_text(task, example.get("options")), _as_text(example["output"]))
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ECInstructError(
            f"row {row.get('id')}: few_shot_example must be a JSON object with input, output (and options "
            f"for option tasks); got {str(raw)[:80]!r}"
        ) from None


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def build_prompt(row: dict, prompt_format: str = "alpaca") -> str:
    """The text prompt of a row (normalised or published) in ``alpaca`` or ``mistral`` format."""
    task = get_task(row["task"])
    blocks = [(row["input"], _options_text(task, row.get("options")), None)]
    example = _few_shot(row, task)
    if example:
        blocks.insert(0, example)
    return get_template(prompt_format).render(row["instruction"], blocks)


def chat_messages(row: dict) -> list[dict[str, str]]:
    """The user turn of a row for a chat template: instruction, input, options one per line."""
    task = get_task(row["task"])
    example = _few_shot(row, task)
    parts = [row["instruction"]]
    if example:
        ex_input, ex_options, ex_answer = example
        parts.append(_chat_block("Example input", ex_input, ex_options) + f"\n\nExample answer:\n{ex_answer}")
    options = row.get("options")
    if isinstance(options, str):
        options = parse_options(options)
    parts.append(_chat_block("Input", row["input"], "\n".join(options) if options else None))
    return [{"role": "user", "content": "\n\n".join(parts)}]


def _chat_block(title: str, input_text: str, options: str | None) -> str:
    text = f"{title}:\n{input_text}"
    if options:
        text += f"\n\nOptions:\n{options}"
    return text


def to_prompt_completion(row: dict, prompt_format: str = "alpaca") -> dict:
    """A training/eval example: ``{"prompt", "completion"}`` as text, or as messages for ``chat``."""
    if prompt_format == "chat":
        return {"prompt": chat_messages(row), "completion": [{"role": "assistant", "content": row["output"]}]}
    return {"prompt": build_prompt(row, prompt_format), "completion": row["output"]}


def extract_response(text: str, prompt_format: str = "alpaca") -> str:
    """The reference's answer extraction from prompt + generation: after the first response marker,
    before a repeated one, stripped. For ``chat`` (or text without a marker) the text is just cut at a
    repeated alpaca marker and stripped."""
    marker = TEMPLATES[prompt_format].response_split if prompt_format in TEMPLATES else None
    if marker and marker in text:
        text = text.split(marker, 1)[1]
    return text.split(marker or "### Response:", 1)[0].strip()


def response_marker(prompt_format: str = "alpaca") -> str:
    """The marker whose repetition ends an answer in both extraction modes (``### Response:`` for chat).

    Generation may stop once the new text contains it: neither mode reads past it."""
    return TEMPLATES[prompt_format].response_split if prompt_format in TEMPLATES else "### Response:"


def clean_generation(text: str, prompt_format: str = "alpaca") -> str:
    """Strict-mode extraction from the *new* tokens only: cut at a repeated marker, strip."""
    marker = response_marker(prompt_format)
    for cut in {marker, "### Response:", "### Instruction:"}:
        text = text.split(cut, 1)[0]
    return text.strip()
