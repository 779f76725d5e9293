"""``--backend openai``: a model behind an OpenAI-compatible server (OpenAI, vLLM, SGLang, TGI, ...).

The official ``openai`` client does the HTTP work: timeouts, and retries with exponential backoff on
connection errors, 408/409/429 and 5xx (it also honours ``Retry-After``). Prompts go out ``concurrency``
at a time from a thread pool, answers come back in prompt order. The API key is read from an
environment variable (``OPENAI_API_KEY`` by default) and never logged or written to results.

Two APIs:

- ``completions``: the prompt text as rendered for the chosen prompt format (what a local engine gets).
- ``chat``: the prompt text is sent as one user turn; with ``--prompt-format chat`` that turn is the row's
  instruction and input, and the server applies the model's own chat template.

Constrained decoding and log-likelihood scoring use vLLM-server extensions (``structured_outputs`` and
``echo`` with ``logprobs``); a server without them answers with an error, reported as one clear line.
"""

from __future__ import annotations

import logging
import os
import threading
import typing
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import MISSING, asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ecellm.engines.base import Engine, Generation
from ecellm.engines.generation_settings import GenerationSettings, settings_hash
from ecellm.engines.model_loader import ModelSpec
from ecellm.evaluation.checks import check_at_least_one, check_at_least_zero, check_positive
from ecellm.evaluation.errors import EvaluationError
from ecellm.options import check_fields, option
from ecinstruct.answers.constraint import Constraint, LogLik

logger = logging.getLogger(__name__)

OpenAIAPI = Literal["completions", "chat"]
APIS: tuple[str, ...] = typing.get_args(OpenAIAPI)


MAX_CONCURRENCY = 256  # threads waiting on the server; more would only cost memory


def check_base_url(flag: str, value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise EvaluationError(f"{flag} {value!r} is not an http(s) URL; expected e.g. http://127.0.0.1:8000/v1")
    return value


@dataclass(frozen=True)
class OpenAIOptions:
    """How to reach the server. Prices are USD per million tokens (both or neither) for the cost line. Each field
    but ``extra_body`` is also its ``ecellm eval`` flag."""

    base_url: str = option(MISSING, "Server URL, e.g. http://127.0.0.1:8000/v1 or https://api.openai.com/v1.",
                           check=check_base_url)
    api: OpenAIAPI = option("completions", "Text completions (the rendered prompt) or chat (the prompt as one user "
                                           "turn).", flag="--openai-api")
    concurrency: int = option(8, "Requests in flight at once.", check=check_at_least_one)
    timeout_s: float = option(120.0, "Seconds per request.", flag="--request-timeout", check=check_positive)
    max_retries: int = option(5, "Retries (exponential backoff) on 429/5xx/errors.", check=check_at_least_zero)
    api_key_env: str = option("OPENAI_API_KEY", "Environment variable holding the API key.")
    price_input_per_m: float | None = option(None, "USD per million prompt tokens (adds a cost line).",
                                             flag="--price-input")
    price_output_per_m: float | None = option(None, "USD per million completion tokens.", flag="--price-output")
    extra_body: dict[str, Any] = option({}, "Extra fields of every request body (server extensions); Python API "
                                            "only.", cli=False)

    def __post_init__(self) -> None:
        if not self.base_url:  # the flag was not given
            raise EvaluationError("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        if self.api not in APIS:
            raise EvaluationError(f"unknown OpenAI API {self.api!r}; expected one of: {', '.join(APIS)}")
        check_fields(self, EvaluationError)
        if self.concurrency > MAX_CONCURRENCY:
            logger.warning("--concurrency %d: at most %d requests are kept in flight (one thread each)",
                           self.concurrency, MAX_CONCURRENCY)
            object.__setattr__(self, "concurrency", MAX_CONCURRENCY)  # a frozen dataclass
        if (self.price_input_per_m is None) != (self.price_output_per_m is None):
            raise EvaluationError("give both --price-input and --price-output (USD per million tokens), or neither")

    def public(self) -> dict[str, Any]:
        """What goes into results.json (no key: only the name of its variable)."""
        return asdict(self)


@dataclass
class Usage:
    """Token counts the server reported, summed over this run's requests."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, usage: Any) -> None:
        with self._lock:
            self.requests += 1
            if usage is not None:
                self.prompt_tokens += usage.prompt_tokens or 0
                self.completion_tokens += getattr(usage, "completion_tokens", 0) or 0

    def as_dict(self, options: OpenAIOptions) -> dict[str, Any]:
        out: dict[str, Any] = {"requests": self.requests, "prompt_tokens": self.prompt_tokens,
                               "completion_tokens": self.completion_tokens}
        if options.price_input_per_m is not None and options.price_output_per_m is not None:
            out["cost_usd"] = round((self.prompt_tokens * options.price_input_per_m
                                     + self.completion_tokens * options.price_output_per_m) / 1e6, 6)
        return out


class OpenAIEngine(Engine):
    """Generation and log-likelihoods through an OpenAI-compatible HTTP API. The model is the server's: ``model``
    is the name the server knows it by, its identity in the cache is the server URL and that name."""

    name = "openai"
    is_server = True
    options_class = OpenAIOptions
    options_title = "OpenAI-compatible server (--backend openai; --model is the server's name)"

    def __init__(self, model: str, options: OpenAIOptions, settings: GenerationSettings,
                 stop_strings: tuple[str, ...] = ()) -> None:
        try:
            from openai import OpenAI
        except ImportError:
            raise EvaluationError("backend 'openai' needs the openai package: pip install 'ecellm[openai]'") from None
        self.model, self.options, self.settings = model, options, settings
        self.stop_strings = list(stop_strings)
        self.usage = Usage()
        # A local server needs no key; the client insists on one, so a placeholder stands in.
        self.client = OpenAI(base_url=options.base_url, api_key=os.environ.get(options.api_key_env) or "EMPTY",
                             timeout=options.timeout_s, max_retries=options.max_retries)

    # -- before the first request ---------------------------------------------------------------------

    @classmethod
    def check_options(cls, options: Any) -> OpenAIOptions:
        """A server needs its URL."""
        if not isinstance(options, OpenAIOptions):
            raise EvaluationError("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1); --model is "
                                  "the name the server knows the model by")
        return options

    @classmethod
    def model_spec(cls, model: str | Path, *, revision: str | None = None, options: Any = None,
                   tokenizer: str | None = None) -> ModelSpec:
        """A model behind a server: identified by its name and the server's URL (the cache key)."""
        return ModelSpec(name=str(model), kind="server", path=cls.check_options(options).base_url, base=tokenizer)

    @classmethod
    def open_tokenizer(cls, spec: ModelSpec) -> Any:
        """The tokenizer given with ``--tokenizer`` (context checks, chat templates), or None."""
        if spec.base is None:
            return None
        from ecellm.engines.model_loader import describe_model, load_tokenizer

        try:
            return load_tokenizer(describe_model(spec.base))
        except EvaluationError:
            raise
        except Exception as err:
            raise EvaluationError(f"cannot load --tokenizer {spec.base!r}: {type(err).__name__}: {err}") from None

    @classmethod
    def fingerprint(cls, spec: ModelSpec) -> str:
        return settings_hash(server=spec.path, model=spec.name)

    @classmethod
    def context_length(cls, spec: ModelSpec) -> int | None:
        return None  # the server checks its own context

    @classmethod
    def sends_user_turn(cls, options: Any, prompt_format: str) -> bool:
        """The chat API with the chat format: the prompt is the user turn; the server applies the template."""
        return isinstance(options, OpenAIOptions) and options.api == "chat" and prompt_format == "chat"

    @classmethod
    def open(cls, spec: ModelSpec, settings: GenerationSettings, prompt_format: str, tokenizer: Any, *, device: str,
             dtype: str, batch_size: int, options: Any = None, needed_len: int | None = None) -> OpenAIEngine:
        return cls(spec.name, options, settings, stop_strings=settings.stop_strings(prompt_format))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, **self.options.public(),
                "usage": self.usage.as_dict(self.options)}

    # -- generation ---------------------------------------------------------------------------------------

    def generate(self, prompts: list[str], max_new_tokens: int, seed: int,
                 constraints: Sequence[Constraint | None] | None = None) -> list[Generation]:
        constraints = list(constraints) if constraints is not None else [None] * len(prompts)
        if len(constraints) != len(prompts):
            raise ValueError(f"{len(constraints)} constraints for {len(prompts)} prompts")
        calls = [(p, c) for p, c in zip(prompts, constraints, strict=True)]
        return self._map(lambda call: self._one(call[0], call[1], max_new_tokens, seed), calls)

    def _sampling(self, seed: int) -> dict[str, Any]:
        if self.settings.do_sample:
            return {"temperature": self.settings.temperature, "top_p": self.settings.top_p, "seed": seed}
        return {"temperature": 0.0}

    def _one(self, prompt: str, constraint: Constraint | None, max_new_tokens: int, seed: int) -> Generation:
        body = {**self.options.extra_body, **structured_body(constraint)}
        common = {"model": self.model, "stop": self.stop_strings or None, **self._sampling(seed),
                  "extra_body": body or None}
        response = self._call(self._create, prompt, max_new_tokens, common)
        self.usage.add(response.usage)
        choice = response.choices[0]
        text = choice.message.content or "" if self.options.api == "chat" else choice.text
        # vLLM says which stop string ended the text; keep it, as the local engines do (scores ignore it).
        stop_reason = getattr(choice, "stop_reason", None)
        if isinstance(stop_reason, str) and not text.endswith(stop_reason):
            text += stop_reason
        new_tokens = response.usage.completion_tokens if response.usage is not None else 0
        return Generation(text=text, new_tokens=new_tokens, finished=choice.finish_reason == "stop")

    def _create(self, prompt: str, max_new_tokens: int, common: dict[str, Any]) -> Any:
        if self.options.api == "chat":
            return self.client.chat.completions.create(
                messages=[{"role": "user", "content": prompt}], max_completion_tokens=max_new_tokens, **common)
        return self.client.completions.create(prompt=prompt, max_tokens=max_new_tokens, **common)

    # -- log-likelihoods ----------------------------------------------------------------------------------

    def loglik(self, prompts: list[str], continuations: list[list[str]]) -> list[list[LogLik]]:
        """Summed log-probabilities of each continuation after its prompt, from the server's prompt log-probs
        (completions API, ``echo`` + ``logprobs``, no new tokens). The prompt/continuation boundary is found
        from the character offsets of the echoed tokens."""
        if self.options.api != "completions":
            raise EvaluationError("log-likelihood scoring needs --openai-api completions (the chat API does not "
                                  "return prompt log-probabilities)")
        pairs = [(p, c) for p, conts in zip(prompts, continuations, strict=True) for c in conts]
        scored = self._map(lambda pair: self._loglik_one(*pair), pairs)
        out, i = [], 0
        for conts in continuations:
            out.append(scored[i:i + len(conts)])
            i += len(conts)
        return out

    def _loglik_one(self, prompt: str, continuation: str) -> LogLik:
        common = {"model": self.model, "temperature": 0.0, "echo": True, "logprobs": 1,
                  "extra_body": self.options.extra_body or None}
        # max_tokens=0 with echo: the prompt's log-probs only (vLLM's echo-without-generation).
        response = self._call(lambda text, n, kw: self.client.completions.create(prompt=text, max_tokens=n, **kw),
                              prompt + continuation, 0, common)
        self.usage.add(response.usage)
        logprobs = response.choices[0].logprobs
        if logprobs is None or not logprobs.token_logprobs:
            raise EvaluationError(f"server {self.options.base_url} returned no prompt log-probabilities (echo + "
                                  "logprobs); log-likelihood scoring needs a server that does (e.g. vLLM)")
        return loglik_from_echo(logprobs.text_offset, logprobs.token_logprobs, logprobs.top_logprobs,
                                len(prompt), len(prompt) + len(continuation))

    # -- plumbing -----------------------------------------------------------------------------------------

    def _map(self, fn, items: list) -> list:
        if len(items) <= 1 or self.options.concurrency == 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.options.concurrency, len(items))) as pool:
            return list(pool.map(fn, items))

    def _call(self, create, prompt: str, max_new_tokens: int, common: dict[str, Any]) -> Any:
        import openai

        try:
            return create(prompt, max_new_tokens, common)
        except openai.APIStatusError as err:
            raise EvaluationError(f"server {self.options.base_url} answered HTTP {err.status_code} for model "
                                  f"{self.model!r} (after {self.options.max_retries} retries where retryable): "
                                  f"{_short(err.message)}") from None
        except openai.APIConnectionError as err:
            raise EvaluationError(f"cannot reach {self.options.base_url} ({type(err).__name__} after "
                                  f"{self.options.max_retries} retries): check --base-url and that the server "
                                  "is running") from None


def structured_body(constraint: Constraint | None) -> dict[str, Any]:
    """vLLM server's structured-output request field for a constraint (empty without one)."""
    if constraint is None:
        return {}
    import json

    value: Any
    if constraint.kind == "choices":
        value = list(constraint.choices or ())
    elif constraint.kind == "regex":
        value = constraint.regex
    else:
        value = json.loads(constraint.json_schema or "{}")
    return {"structured_outputs": {{"choices": "choice", "regex": "regex", "json_schema": "json"}[constraint.kind]:
                                   value}}


def loglik_from_echo(offsets: list[int], logprobs: list[float | None], top: list[dict[str, float] | None] | None,
                     start: int, end: int) -> LogLik:
    """Sum the echoed tokens that start inside ``[start, end)`` (the continuation's characters).

    The first token of a text has no log-probability (None); a continuation never starts there because
    the prompt is never empty. The token after ``end`` (the one generated) is left out.
    """
    total, n, greedy = 0.0, 0, True
    for i, (offset, lp) in enumerate(zip(offsets, logprobs, strict=False)):
        if offset < start or offset >= end:
            continue
        if lp is None:
            raise EvaluationError("the server gave no log-probability for a continuation token")
        total += lp
        n += 1
        if top and top[i]:
            best = max(top[i].values())
            greedy = greedy and lp >= best - 1e-6
    if n == 0:
        raise EvaluationError("the continuation has no tokens of its own after the prompt (the server's "
                              "tokenizer merged it into the prompt's last token)")
    return LogLik(logprob=total, n_tokens=n, is_greedy=greedy)


def _short(message: str, limit: int = 300) -> str:
    message = " ".join(str(message).split())
    return message if len(message) <= limit else message[:limit] + " ..."
