"""``Predictor``: apply a model to new data, task by task, and get typed answers back.

A row of user fields becomes an ECInstruct row (the task's own serialisation, ``ecinstruct.tasks.fields``)
with the task's seed instruction, rendered in the model's prompt format (the one its training summary
records, as the evaluation picks it). Generation goes through the engines (:mod:`ecellm.engines`, the
evaluation's own), and the answer reads through the task's answer reader (``ecinstruct.tasks.typed_results``) into a
typed result.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from ecellm.engines.base import batch_seed
from ecellm.engines.generation_settings import GenerationSettings
from ecellm.engines.methods import Method, MethodName
from ecellm.engines.model_loader import pick_device, pick_dtype
from ecellm.engines.prompt_formats import adds_special_tokens, choose_prompt_format, render_prompt
from ecellm.engines.registry import engine_names, get_engine
from ecellm.evaluation.errors import EvaluationError
from ecellm.evaluation.scoring import read_answers
from ecellm.inference.config import PredictMethod, PredictorOptions
from ecellm.options import check_fields
from ecinstruct.errors import ECInstructError, RowFormatError
from ecinstruct.prompts import clean_generation
from ecinstruct.tasks import Task, get_task

logger = logging.getLogger(__name__)

# "auto": constrained decoding where the task has a closed answer set, free generation elsewhere.
AUTO = "auto"
METHODS = get_args(PredictMethod)  # auto, then every method of ecellm.engines.methods
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
    method: MethodName

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
    method: Method


def validate_predictor_options(options: PredictorOptions) -> PredictorOptions:
    """Check every option before the model loads: each field's own check (the one its flag runs: choices of
    method and backend, counts, device, dtype) and which methods the backend can run. One line per error."""
    check_fields(options, EvaluationError)
    check_method(options.method, options.backend)
    engine = get_engine(options.backend)
    if options.method != AUTO and Method(options.method).constrains and not engine.constrained_ready():
        raise EvaluationError("method 'constrained' needs the xgrammar package: pip install xgrammar")
    return options


def check_method(method: str, backend: str = "transformers") -> str:
    """A known decoding method the backend can run in a predictor (one clear error otherwise): ``auto`` or one
    of :class:`~ecellm.engines.methods.Method` in the engine's ``predictor_methods``."""
    if method not in METHODS:
        raise EvaluationError(f"unknown method {method!r}; expected one of: {', '.join(METHODS)}")
    engine = get_engine(backend)
    if method != AUTO and Method(method) not in engine.predictor_methods:
        hosts = [name for name in engine_names() if Method(method) in get_engine(name).predictor_methods]
        raise EvaluationError(f"method {method!r} runs on the {', '.join(hosts)} backend; with --backend "
                              f"{engine.name} use 'generate' (or 'auto', which generates there)")
    return method


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

    def __init__(self, model: str | Path, *, backend: str = "transformers", method: PredictMethod = "auto",
                 prompt_format: str | None = None, batch_size: int = 16, max_new_tokens: int | None = None,
                 device: str | None = None, dtype: str | None = None, revision: str | None = None,
                 threads: int | None = None) -> None:
        from ecinstruct.instructions import load_instructions

        options = validate_predictor_options(PredictorOptions(
            model=str(model), backend=backend, method=method, prompt_format=prompt_format, batch_size=batch_size,
            max_new_tokens=max_new_tokens, device=device, dtype=dtype, revision=revision, threads=threads))
        engine = get_engine(options.backend)
        self.backend_name = engine.name
        self.method = options.method
        self._fixed = None if self.method == AUTO else Method(self.method)  # None: chosen per item
        self.can_constrain = Method.CONSTRAINED in engine.predictor_methods and engine.constrained_ready()
        options = engine.check_options(None)  # the engine's defaults
        if self._fixed is None and not self.can_constrain:
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
        self.spec = engine.model_spec(model, revision=revision, options=options)
        self.tokenizer = engine.open_tokenizer(self.spec)
        # The format `ecellm eval` would pick: the training summary's, else by model family / chat template.
        self.prompt_format, self.prompt_format_source = choose_prompt_format(self.spec, prompt_format, self.tokenizer)
        self.instructions = {code: entry.seed for code, entry in load_instructions().items()}
        self.context = engine.context_length(self.spec)
        if max_new_tokens is not None and self.context is not None and max_new_tokens >= self.context:
            raise EvaluationError(f"--max-new-tokens {max_new_tokens} is beyond the model's context of {self.context} "
                                  "tokens (prompt + answer together); pass a smaller budget, e.g. --max-new-tokens "
                                  f"{min(100, self.context // 2)}")
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        # The evaluation's own model loading and engine: same weights, same decoding as `ecellm eval`.
        self.engine = engine.open(self.spec, self.settings, self.prompt_format, self.tokenizer, device=self.device,
                                  dtype=self.dtype, batch_size=batch_size, options=options)
        logger.info("predictor ready: %s (%s), prompt format %s (%s), method %s, backend %s", self.spec.name,
                    self.spec.kind, self.prompt_format, self.prompt_format_source, self.method, self.backend_name)

    def describe(self) -> dict[str, Any]:
        """What answers: the model, its prompt format, the method and the backend."""
        return {"model": self.spec.as_dict(), "prompt_format": self.prompt_format,
                "prompt_format_source": self.prompt_format_source, "method": self.method,
                "backend": self.backend_name, "device": self.device, "dtype": self.dtype}

    def method_for(self, task: Task, row: dict[str, Any]) -> Method:
        """The method an item gets: log-likelihood and ``auto``'s constrained decoding need a closed answer set
        (AVE and AG are generated; an explicit ``constrained`` also holds AVE to its JSON schema)."""
        closed = task.scorer.candidates(row) is not None
        if self._fixed is None:
            return Method.CONSTRAINED if closed and self.can_constrain else Method.GENERATE
        if self._fixed.ranks_candidates:
            return self._fixed if closed else Method.GENERATE
        if self._fixed.constrains:
            return self._fixed if task.scorer.constraint(row) is not None else Method.GENERATE
        return Method.GENERATE

    def budget(self, item: Prepared | Task) -> int:
        task = item.task if isinstance(item, Prepared) else item
        budget = self.settings.budget(task.max_new_tokens)
        if isinstance(item, Prepared) and item.method.constrains and task.scorer.constraint(item.row).kind \
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
        groups: dict[tuple[Method, int], list[int]] = defaultdict(list)
        for index, item in enumerate(items):
            groups[(item.method, self.budget(item))].append(index)
        raws: list[str] = [""] * len(items)
        for (method, budget), indices in groups.items():
            group = [items[i] for i in indices]
            for i, text in zip(indices, self._answer(method, budget, group, seed), strict=True):
                raws[i] = text
        return [self._read(item, raw) for item, raw in zip(items, raws, strict=True)]

    def _answer(self, method: Method, budget: int, items: list[Prepared], seed: int) -> list[str]:
        """The model's text per item: generated (inside each item's constraint), or the candidate ranked best."""
        prompts = [item.prompt for item in items]
        if method.ranks_candidates:
            candidates = [list(item.task.scorer.candidates(item.row)) for item in items]
            scored = self.engine.loglik(prompts, candidates)
            return [item.task.scorer.answer_from_scores(c, [r.logprob for r in results])
                    for item, c, results in zip(items, candidates, scored, strict=True)]
        constraints = [item.task.scorer.constraint(item.row) for item in items] if method.constrains else None
        outputs = self.engine.generate(prompts, budget, batch_seed(seed, prompts), constraints=constraints) \
            if constraints else self.engine.generate(prompts, budget, batch_seed(seed, prompts))
        return [output.text for output in outputs]

    def _read(self, item: Prepared, raw: str) -> Prediction:
        """The flexible reading finds the answer in the text (in the task's strict form), the result reader
        types it; text with no answer in it is invalid."""
        cleaned = clean_generation(raw, self.prompt_format)
        (found,) = read_answers(item.task, "flexible", [cleaned], [item.row])
        result, valid = item.task.result.read(item.task, found, item.values) if found is not None else (None, False)
        return Prediction(item.task.code, result, valid, raw, cleaned if found is None else found, item.method.value)


def iter_rows(rows: Any) -> Iterable[Mapping[str, Any]]:
    """Rows as mappings from a list/iterable of dicts, a pandas DataFrame or a ``datasets.Dataset``."""
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # pandas DataFrame
        return rows.to_dict("records")
    if isinstance(rows, Mapping):
        raise ECInstructError("predict_batch takes many rows (a list of dicts, a DataFrame or a Dataset); "
                              "for one item use predict(task, **fields)")
    return rows  # list of dicts, datasets.Dataset (iterates as dicts), any iterable of mappings
