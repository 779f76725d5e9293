"""``Predictor``: apply a model to new data, task by task, and get typed answers back.

A row of user fields becomes an ECInstruct row (the task's own serialisation, ``ecinstruct.tasks.fields``)
with the task's seed instruction, rendered in the model's prompt format (the one its training summary
records, as the evaluation picks it). Generation goes through the evaluation's backends, and the answer
reads through the task's answer reader (``ecinstruct.tasks.results``) into a typed result.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from ecellm.evaluation.backends import batch_seed, check_backend
from ecellm.evaluation.engines import model_context_length, open_backend, open_tokenizer
from ecellm.evaluation.errors import EvaluationError
from ecellm.evaluation.formats import adds_special_tokens, choose_prompt_format, render_prompt
from ecellm.evaluation.generation_settings import GenerationSettings
from ecellm.evaluation.models import describe_model, pick_device, pick_dtype
from ecellm.evaluation.scoring import read_answers
from ecellm.inference.config import PredictMethod, PredictorOptions
from ecellm.options import check_fields
from ecinstruct.errors import ECInstructError, RowFormatError
from ecinstruct.prompts import clean_generation
from ecinstruct.tasks import Task, get_task

logger = logging.getLogger(__name__)

# "auto": constrained decoding where the task has a closed answer set, free generation elsewhere.
METHODS = get_args(PredictMethod)
CONSTRAINED_JSON_BUDGET = 256  # a JSON answer written inside its schema needs more room than 100 tokens


class InputTooLongError(ECInstructError):
    """A prompt that, with the answer budget, does not fit the model's context."""


@dataclass(frozen=True)
class Prediction:
    """One answer: the typed ``result`` (``None`` when the answer cannot be read), whether the answer was
    ``valid`` for the task, the model's ``raw`` new text and the ``answer`` read from it."""

    task: str
    result: Any
    valid: bool
    raw: str
    answer: str
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "result": self.result, "valid": self.valid, "raw": self.raw,
                "answer": self.answer, "method": self.method}


@dataclass(frozen=True)
class Prepared:
    """A validated item, ready for the engine: its ECInstruct ``row``, prompt and decoding method."""

    task: Task
    values: dict[str, Any]
    row: dict[str, Any]
    prompt: str
    n_tokens: int
    method: str


def validate_predictor_options(options: PredictorOptions) -> PredictorOptions:
    """Check every option before the model loads: each field's own check (the one its flag runs: choices of
    method and backend, counts, device, dtype) and which methods the backend can run. One line per error."""
    check_fields(options, EvaluationError)
    check_method(options.method, options.backend)
    if options.method == "constrained" and not _constrained_available(options.backend):
        raise EvaluationError("method 'constrained' needs the xgrammar package: pip install xgrammar")
    return options


def check_method(method: str, backend: str = "transformers") -> str:
    """A known decoding method the backend can run (one clear error otherwise)."""
    if method not in METHODS:
        raise EvaluationError(f"unknown method {method!r}; expected one of: {', '.join(METHODS)}")
    if backend == "vllm" and method in ("constrained", "loglik"):
        raise EvaluationError(f"method {method!r} runs on the transformers backend; with --backend vllm use "
                              "'generate' (or 'auto', which generates there)")
    return method


def _constrained_available(backend: str) -> bool:
    import importlib.util

    return backend == "transformers" and importlib.util.find_spec("xgrammar") is not None


class Predictor:
    """A model ready to answer any ECInstruct task on new data.

    Args:
        model: Hub id or folder: full model, merged model or PEFT adapter (as ``ecellm eval`` takes it).
        backend: ``transformers`` (default) or ``vllm`` (GPU).
        method: ``auto`` (constrained decoding for closed-answer tasks, free generation for AVE and AG),
            ``generate``, ``constrained`` (the decoder only writes answers of the task's form) or ``loglik``
            (the task's candidate answers ranked by log-likelihood; QPR: all products by score).
        prompt_format: ``alpaca``, ``mistral`` or ``chat``; ``None`` = the model's own (training summary).
        batch_size: rows decoding together.
        max_new_tokens: answer budget (default: the task's, 100).

    >>> predictor = Predictor("runs/xs")                                     # doctest: +SKIP
    >>> predictor.predict("SA", review="Broke after two days.").result       # doctest: +SKIP
    'very negative'
    """

    def __init__(self, model: str | Path, *, backend: str = "transformers", method: str = "auto",
                 prompt_format: str | None = None, batch_size: int = 16, max_new_tokens: int | None = None,
                 device: str | None = None, dtype: str | None = None, revision: str | None = None,
                 threads: int | None = None) -> None:
        from ecinstruct.instructions import load_instructions

        options = validate_predictor_options(PredictorOptions(
            model=str(model), backend=backend, method=method, prompt_format=prompt_format, batch_size=batch_size,
            max_new_tokens=max_new_tokens, device=device, dtype=dtype, revision=revision, threads=threads))
        self.backend_name = check_backend(options.backend)
        self.method = options.method
        self.can_constrain = _constrained_available(self.backend_name)
        if self.method == "auto" and not self.can_constrain:
            logger.warning("xgrammar is not installed (or the backend is vLLM): method auto generates freely "
                           "for every task")
        if threads is not None:
            import torch

            from ecinstruct.machine import bound_workers

            try:
                torch.set_num_threads(bound_workers(threads, "--threads"))
            except ValueError as err:
                raise EvaluationError(f"{err} (CPU threads for torch; leave it out for torch's choice)") from None
        self.settings = GenerationSettings(max_new_tokens=max_new_tokens)
        self.spec = describe_model(model, revision=revision)
        self.tokenizer = open_tokenizer(self.spec)
        # The format `ecellm eval` would pick: the training summary's, else by model family / chat template.
        self.prompt_format, self.prompt_format_source = choose_prompt_format(self.spec, prompt_format, self.tokenizer)
        self.instructions = {code: entry.seed for code, entry in load_instructions().items()}
        self.context = model_context_length(self.spec)
        if max_new_tokens is not None and self.context is not None and max_new_tokens >= self.context:
            raise EvaluationError(f"--max-new-tokens {max_new_tokens} is beyond the model's context of {self.context} "
                                  "tokens (prompt + answer together); pass a smaller budget, e.g. --max-new-tokens "
                                  f"{min(100, self.context // 2)}")
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        # The evaluation's own model loading and backend: same weights, same decoding as `ecellm eval`.
        self.engine = open_backend(self.backend_name, self.spec, self.settings, self.prompt_format, self.tokenizer,
                                   self.device, self.dtype, batch_size)
        logger.info("predictor ready: %s (%s), prompt format %s (%s), method %s, backend %s", self.spec.name,
                    self.spec.kind, self.prompt_format, self.prompt_format_source, self.method, self.backend_name)

    def describe(self) -> dict[str, Any]:
        """What answers: the model, its prompt format, the method and the backend."""
        return {"model": self.spec.as_dict(), "prompt_format": self.prompt_format,
                "prompt_format_source": self.prompt_format_source, "method": self.method,
                "backend": self.backend_name, "device": self.device, "dtype": self.dtype}

    def method_for(self, task: Task, row: dict[str, Any]) -> str:
        """The method an item gets: log-likelihood and ``auto``'s constrained decoding need a closed answer set
        (AVE and AG are generated; an explicit ``constrained`` also holds AVE to its JSON schema)."""
        closed = task.scorer.candidates(row) is not None
        if self.method == "auto":
            return "constrained" if closed and self.can_constrain else "generate"
        if self.method == "loglik":
            return "loglik" if closed else "generate"
        if self.method == "constrained":
            return "constrained" if task.scorer.constraint(row) is not None else "generate"
        return "generate"

    def budget(self, item: Prepared | Task) -> int:
        task = item.task if isinstance(item, Prepared) else item
        budget = self.settings.budget(task.max_new_tokens)
        if isinstance(item, Prepared) and item.method == "constrained" and task.scorer.constraint(item.row).kind \
                == "json_schema":
            budget = max(budget, CONSTRAINED_JSON_BUDGET)
        return budget

    def prepare(self, task: str | Task, values: Mapping[str, Any], *, allow_extra: bool = False) -> Prepared:
        """Validate one item's fields and build its prompt; :class:`~ecinstruct.tasks.fields.FieldError`
        names a bad field, :class:`InputTooLongError` a prompt the model cannot take."""
        task = get_task(task)
        cleaned = task.inputs.clean(values, allow_extra=allow_extra)
        row = {**task.input_row(cleaned), "instruction": self.instructions[task.code]}
        prompt = render_prompt(row, self.prompt_format, self.tokenizer)
        n_tokens = len(self.tokenizer(prompt, add_special_tokens=adds_special_tokens(self.prompt_format))
                       ["input_ids"])
        item = Prepared(task, cleaned, row, prompt, n_tokens, self.method_for(task, row))
        budget = self.budget(item)
        if self.context is not None and n_tokens + budget > self.context:
            raise InputTooLongError(f"the prompt has {n_tokens} tokens; with the {budget}-token answer budget it "
                                    f"exceeds the model's context of {self.context} tokens. Shorten the longest "
                                    "field (descriptions, documents, candidate lists)")
        return item

    def predict(self, task: str | Task, **fields: Any) -> Prediction:
        """Answer one item: ``predictor.predict("SA", review="...")``."""
        return self.run([self.prepare(task, fields)])[0]

    def predict_batch(self, task: str | Task, rows: Any) -> list[Prediction]:
        """Answer many items of one task: a list of dicts, a pandas DataFrame or a ``datasets.Dataset``
        (columns other than the task's fields are ignored). A bad row raises, naming its index and field."""
        prepared = []
        for index, row in enumerate(iter_rows(rows)):
            try:
                prepared.append(self.prepare(task, row, allow_extra=True))
            except ECInstructError as err:
                raise RowFormatError(index, str(err), "Fix or drop that row") from None
        return self.run(prepared)

    def run(self, items: Sequence[Prepared], seed: int = 0) -> list[Prediction]:
        """Answer prepared items (tasks and methods may be mixed) in engine calls per method and budget;
        predictions come back in the items' order."""
        groups: dict[tuple[str, int], list[int]] = defaultdict(list)
        for index, item in enumerate(items):
            groups[(item.method, self.budget(item))].append(index)
        raws: list[str] = [""] * len(items)
        for (method, budget), indices in groups.items():
            group = [items[i] for i in indices]
            for i, text in zip(indices, self._answer(method, budget, group, seed), strict=True):
                raws[i] = text
        return [self._read(item, raw) for item, raw in zip(items, raws, strict=True)]

    def _answer(self, method: str, budget: int, items: list[Prepared], seed: int) -> list[str]:
        """The model's text per item: generated (inside each item's constraint), or the candidate ranked best."""
        prompts = [item.prompt for item in items]
        if method == "loglik":
            candidates = [list(item.task.scorer.candidates(item.row)) for item in items]
            scored = self.engine.loglik(prompts, candidates)
            return [item.task.scorer.answer_from_scores(c, [r.logprob for r in results])
                    for item, c, results in zip(items, candidates, scored, strict=True)]
        constraints = [item.task.scorer.constraint(item.row) for item in items] if method == "constrained" else None
        outputs = self.engine.generate(prompts, budget, batch_seed(seed, prompts), constraints=constraints) \
            if constraints else self.engine.generate(prompts, budget, batch_seed(seed, prompts))
        return [output.text for output in outputs]

    def _read(self, item: Prepared, raw: str) -> Prediction:
        """The flexible reading finds the answer in the text (in the task's strict form), the result reader
        types it; text with no answer in it is invalid."""
        cleaned = clean_generation(raw, self.prompt_format)
        (found,) = read_answers(item.task, "flexible", [cleaned], [item.row])
        result, valid = item.task.result.read(item.task, found, item.values) if found is not None else (None, False)
        return Prediction(item.task.code, result, valid, raw, cleaned if found is None else found, item.method)


def iter_rows(rows: Any) -> Iterable[Mapping[str, Any]]:
    """Rows as mappings from a list/iterable of dicts, a pandas DataFrame or a ``datasets.Dataset``."""
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # pandas DataFrame
        return rows.to_dict("records")
    if isinstance(rows, Mapping):
        raise ECInstructError("predict_batch takes many rows (a list of dicts, a DataFrame or a Dataset); "
                              "for one item use predict(task, **fields)")
    return rows  # list of dicts, datasets.Dataset (iterates as dicts), any iterable of mappings
