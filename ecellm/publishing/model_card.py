"""The model card of an eCeLLM model: rendered through ``huggingface_hub.ModelCard`` from ``model_card.md``.

The card says what the model is (base, adapter or merged), how to prompt it (format, a rendered example and
ready-to-run code), how it was trained (the recipe), and how it scored: a per-task, per-split table beside the
published eCeLLM numbers, and the same scores as ``model-index`` metadata (``ModelCardData.eval_results``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from huggingface_hub import ModelCard, ModelCardData

from ecellm.evaluation.paper_scores import load_published
from ecellm.publishing.scores import SPLIT_LABELS, Score, eval_results
from ecinstruct.card_checks import template_path

PROMPT_FORMAT_TEXT = {
    "alpaca": ("The reference's plain-text *alpaca* template (no chat template, no system prompt): a fixed preamble, "
               "`### Instruction:`, `### Input:`, an `### Options:` block only for tasks with options (PRP, SA, SR, "
               "MPC), and `### Response:` followed by a newline; the answer comes after it."),
    "mistral": ("The reference's *mistral* template: the alpaca body wrapped as `[INST] ... [/INST] ### Response:` "
                "(no chat template); the answer comes after `### Response:` and a newline."),
    "chat": ("The tokenizer's own chat template, one user turn: the instruction, the input, and the options one per "
             "line; the answer is the assistant turn."),
}
EXAMPLE_TASK = "PSI"  # a short yes/no prompt reads well in a card


@dataclass
class ModelCardInputs:
    """What a model card says. ``scores``/``baseline`` come from ``ecellm eval`` results files."""

    repo_id: str
    base_model: str
    kind: Literal["adapter", "merged"] = "adapter"
    prompt_format: str = "alpaca"
    scores: list[Score] = field(default_factory=list)
    baseline: list[Score] = field(default_factory=list)
    baseline_name: str | None = None
    recipe: dict[str, Any] = field(default_factory=dict)
    dataset_id: str | None = "NingLab/ECInstruct"  # a Hub dataset id, or None when trained on local data
    dataset_label: str = "ECInstruct"
    training_text: str = ""
    results_source: str = "the ECInstruct test splits"
    small_eval: bool = False
    small_model_note: str | None = None
    license: str = "cc-by-4.0"
    tags: list[str] = field(default_factory=list)


def render_model_card(inputs: ModelCardInputs) -> str:
    """The README.md of a model repository (YAML metadata with ``model-index`` + the card body)."""

    card = ModelCard.from_template(
        _card_data(inputs),
        template_path=template_path("ecellm.publishing", "model_card.md"),
        model_name=_model_name(inputs.repo_id),
        repo_id=inputs.repo_id,
        kind=inputs.kind,
        base_model_link=_base_link(inputs.base_model),
        training={"dataset": f"`{inputs.dataset_id}`" if inputs.dataset_id else inputs.dataset_label,
                  "description": "ten e-commerce tasks, instruction-formatted", "text": inputs.training_text
                  or _default_training_text(inputs)},
        usage_code=usage_code(inputs),
        predictor_code=predictor_code(inputs.repo_id),
        cli_code=cli_code(inputs.repo_id),
        prompt_format=inputs.prompt_format,
        prompt_format_text=PROMPT_FORMAT_TEXT.get(inputs.prompt_format, inputs.prompt_format),
        example=example_prompt(inputs.prompt_format),
        results=bool(inputs.scores),
        results_source=inputs.results_source,
        results_n=_n_text(inputs.scores),
        baseline=bool(inputs.baseline),
        baseline_name=inputs.baseline_name or f"`{inputs.base_model}`",
        table=_table(inputs),
        published_names=published_models(),
        published_source=published_source(),
        small_eval=inputs.small_eval,
        recipe={k: _fmt(v) for k, v in inputs.recipe.items()},
        small_model_note=inputs.small_model_note,
    )
    return str(card).rstrip() + "\n"


def _card_data(inputs: ModelCardInputs) -> ModelCardData:
    adapter = inputs.kind == "adapter"
    dataset_type = inputs.dataset_id or inputs.dataset_label
    return ModelCardData(
        base_model=inputs.base_model,
        datasets=[inputs.dataset_id] if inputs.dataset_id else None,
        language=["en"],
        license=inputs.license,
        library_name="peft" if adapter else "transformers",
        pipeline_tag="text-generation",
        tags=["e-commerce", "ecellm", "ecinstruct", *(["lora", "peft"] if adapter else ["lora-merged"]), *inputs.tags],
        model_name=_model_name(inputs.repo_id),
        eval_results=eval_results(inputs.scores, dataset_id=dataset_type) or None,
    )


def _model_name(repo_id: str) -> str:
    return repo_id.split("/")[-1]


def _base_link(base: str) -> str:
    return f"[`{base}`](https://huggingface.co/{base})" if base.count("/") == 1 else f"`{base}`"


def _n_text(scores: list[Score]) -> str:
    sizes = sorted({s.n for s in scores if s.n})
    if not sizes:
        return ""
    span = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}"
    return f"{span} rows per task and split"


def _table(inputs: ModelCardInputs) -> list[dict[str, Any]]:
    before = {(s.task, s.split): s.value for s in inputs.baseline}
    rows = []
    for s in inputs.scores:
        published = [published_score(name, s.split, s.task) for name in published_models()]
        rows.append({"task": s.task, "metric": s.metric, "split": SPLIT_LABELS[s.split], "value": f"{s.value:.3f}",
                     "before": _num(before.get((s.task, s.split))), "published": [_num(p) for p in published]})
    return rows


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _fmt(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(f"`{v}`" for v in value)
    return str(value)


def example_prompt(prompt_format: str) -> dict[str, str]:
    """A rendered test prompt of the embedded sample (task ``EXAMPLE_TASK``) and its gold answer."""
    from ecinstruct.prompts import build_prompt, chat_messages
    from ecinstruct.sample import load_sample
    from ecinstruct.tasks import get_task

    name = get_task(EXAMPLE_TASK).name
    row = next(r for r in load_sample() if r["task"] == name and r["split"] == "test"
               and r["setting"] == "IND_Diverse_Instruction")
    prompt = chat_messages(row)[0]["content"] if prompt_format == "chat" else build_prompt(row, prompt_format)
    return {"task": EXAMPLE_TASK, "prompt": prompt, "answer": row["output"]}


def usage_code(inputs: ModelCardInputs) -> str:
    """Ready-to-run Python: load (adapter on its base, or the merged model), prompt, generate, cut the answer."""
    example = example_prompt(inputs.prompt_format)
    repo, base = inputs.repo_id, inputs.base_model
    lines = ["from transformers import AutoModelForCausalLM, AutoTokenizer"]
    if inputs.kind == "adapter":
        lines += ["from peft import PeftModel", "",
                  f'tokenizer = AutoTokenizer.from_pretrained("{repo}")',
                  f'model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("{base}"), "{repo}")']
    else:
        lines += ["", f'tokenizer = AutoTokenizer.from_pretrained("{repo}")',
                  f'model = AutoModelForCausalLM.from_pretrained("{repo}")']
    if inputs.prompt_format == "chat":
        lines += ["", f"messages = [{{\"role\": \"user\", \"content\": {json.dumps(example['prompt'])}}}]",
                  "inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors=\"pt\","
                  " return_dict=True)"]
    else:
        lines += ["", f"prompt = {json.dumps(example['prompt'])}",
                  "inputs = tokenizer(prompt, return_tensors=\"pt\")"]
    lines += ["output = model.generate(**inputs, max_new_tokens=100, do_sample=False)",
              "answer = tokenizer.decode(output[0, inputs[\"input_ids\"].shape[1]:], skip_special_tokens=True)",
              "print(answer.split(\"### Response:\")[0].strip())  # expected: " + example["answer"]]
    return "\n".join(lines)


def predictor_code(repo_id: str) -> str:
    """Ready-to-run Python with ``ecellm.Predictor`` on the tasks' own worked examples."""
    from ecinstruct.tasks import get_task

    psi = get_task("PSI").inputs.example
    return "\n".join([
        "from ecellm import Predictor",
        "",
        f'predictor = Predictor("{repo_id}")',
        f"match = predictor.predict(\"PSI\", query={json.dumps(psi['query'])}, product={json.dumps(psi['product'])})",
        "print(match.result, match.valid)  # is the product a substitute for the query? (True/False), well-formed?",
        "",
        'reviews = [{"review": "Fits my 15 inch laptop, charger too."}, {"review": "Broke after two days."}]',
        'for answer in predictor.predict_batch("SA", reviews):  # also a pandas DataFrame or a datasets.Dataset',
        "    print(answer.result, answer.raw)  # the label (\"very positive\" ... \"very negative\"), the raw text",
    ])


def cli_code(repo_id: str) -> str:
    """``ecellm predict`` on a product table whose columns differ from the task's fields, then ``ecellm serve``."""
    return "\n".join([
        "# products.csv has the columns product_name, details, wanted (e.g. \"Color\")",
        f"ecellm predict --model {repo_id} --task AVE --input products.csv --out attributes.jsonl \\",
        "    --map title=product_name --map description=details --map attributes=wanted",
        f"ecellm serve --model {repo_id}   # http://127.0.0.1:8000: a page to try each task, its docs page for the API",
    ])


def _default_training_text(inputs: ModelCardInputs) -> str:
    where = f"the Hub dataset `{inputs.dataset_id}`" if inputs.dataset_id else inputs.dataset_label
    return (f"Training rows come from {where}: the `train` split of the `default` config (the diverse-instruction "
            "IND rows of all ten tasks), formatted with the prompt format above; the loss covers the answer "
            "tokens and the end-of-sequence token only. The `validation` split gives the evaluation loss.")


# The published eCeLLM headline scores for the card's comparison columns: the numbers the evaluation ships.
@lru_cache(maxsize=1)
def _published() -> Any:
    return load_published()


def published_models(split: str = "test_ind") -> list[str]:
    """The published models with numbers for ``split`` of the ``default`` config (eCeLLM-L, -M, -S)."""
    return list(_published().table("default", split))


def published_score(model: str, split: str, task_code: str) -> float | None:
    """The published headline score, or None where the paper has none (e.g. PM has no OOD test)."""
    return _published().value(model, task_code, split)


def published_source() -> str:
    return _published().source
