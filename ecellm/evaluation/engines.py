"""Opening a model for evaluation and prediction, in one place: its tokenizer and context length, the engine
options checked up front (vLLM, an OpenAI-compatible server), the model description of a server model, the
tokenizer (optional for a server), the prompt text a server's chat API gets, and starting the backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecellm.evaluation.backends_openai import OpenAIOptions
from ecellm.evaluation.backends_vllm import VllmOptions
from ecellm.evaluation.errors import EvaluationError
from ecellm.evaluation.formats import adds_special_tokens
from ecellm.evaluation.generation_settings import GenerationSettings
from ecellm.evaluation.models import ModelSpec, context_length, load_tokenizer

EngineOptions = VllmOptions | OpenAIOptions


def check_engine(backend: str, engine: EngineOptions | None) -> EngineOptions | None:
    """The options a backend runs with (defaults for vLLM); a server needs its URL."""
    if backend == "openai":
        if not isinstance(engine, OpenAIOptions):
            raise EvaluationError("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1); --model is "
                                  "the name the server knows the model by")
        return engine
    if backend == "vllm":
        if engine is not None and not isinstance(engine, VllmOptions):
            raise EvaluationError("--base-url and the other server options only apply to --backend openai")
        return engine or VllmOptions()
    if engine is not None:
        raise EvaluationError(f"engine options ({type(engine).__name__}) do not apply to --backend {backend}")
    return None


def server_spec(model: str | Path, options: OpenAIOptions, tokenizer: str | None) -> ModelSpec:
    """A model behind a server: identified by its name and the server's URL (the cache key)."""
    return ModelSpec(name=str(model), kind="server", path=options.base_url, base=tokenizer)


def server_fingerprint(spec: ModelSpec) -> str:
    from ecellm.evaluation.generation_settings import settings_hash

    return settings_hash(server=spec.path, model=spec.name)


def server_tokenizer(spec: ModelSpec) -> Any:
    """The tokenizer given with ``--tokenizer`` (context checks, chat templates), or None."""
    if spec.base is None:
        return None
    from ecellm.evaluation.models import describe_model, load_tokenizer

    try:
        return load_tokenizer(describe_model(spec.base))
    except EvaluationError:
        raise
    except Exception as err:
        raise EvaluationError(f"cannot load --tokenizer {spec.base!r}: {type(err).__name__}: {err}") from None


def sends_user_turn(backend: str, engine: EngineOptions | None, prompt_format: str) -> bool:
    """A server's chat API with the chat format: the prompt is the user turn; the server applies the template."""
    return backend == "openai" and isinstance(engine, OpenAIOptions) and engine.api == "chat" \
        and prompt_format == "chat"


def user_turn(row: dict) -> str:
    from ecinstruct.prompts import chat_messages

    (message,) = chat_messages(row)
    return message["content"]


def start_backend(name: str, spec: ModelSpec, settings: GenerationSettings, *, stop_strings: tuple[str, ...],
                  device: str, dtype: str, batch_size: int, engine: EngineOptions | None, needed_len: int | None,
                  add_special_tokens: bool) -> Any:
    if name == "openai":
        from ecellm.evaluation.backends_openai import OpenAIBackend

        return OpenAIBackend(spec.name, engine, settings, stop_strings=stop_strings)
    from ecellm.evaluation.backends_vllm import VllmBackend

    return VllmBackend(spec, settings, device=device, dtype=dtype, stop_strings=stop_strings, options=engine,
                       batch_size=batch_size, needed_len=needed_len, add_special_tokens=add_special_tokens)


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def open_tokenizer(spec: ModelSpec) -> Any:
    """The model's tokenizer, or one clear error naming the model."""
    folder = Path(spec.path) if spec.kind in ("full", "merged") else None
    if folder is not None and folder.is_dir() and not any((folder / f).is_file() for f in TOKENIZER_FILES):
        raise EvaluationError(f"model folder {folder} has no tokenizer files ({', '.join(TOKENIZER_FILES[:2])}, ...); "
                              f"save the tokenizer next to the weights with tokenizer.save_pretrained('{folder}')")
    try:
        return load_tokenizer(spec)
    except Exception as err:
        raise EvaluationError(f"cannot load the tokenizer of model {spec.name!r} ({spec.kind}: {spec.path}): "
                              f"{type(err).__name__}: {err}. Expected a Hub id reachable from this machine, or a "
                              "folder with the tokenizer files") from None


def model_context_length(spec: ModelSpec) -> int | None:
    """Most tokens (prompt + answer) the model takes, from its config (an adapter's: its base's)."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(spec.base_path if spec.kind == "adapter" else spec.path,
                                            revision=spec.revision)
    except Exception as err:
        raise EvaluationError(f"cannot load the config of model {spec.name!r}: {type(err).__name__}: {err}. "
                              "Expected a Hub id reachable from this machine, or a folder with config.json") from None
    return context_length(config)


def open_backend(name: str, spec: ModelSpec, settings: GenerationSettings, fmt: str, tokenizer: Any, device: str,
                 dtype: str, batch_size: int, engine: EngineOptions | None = None,
                 needed_len: int | None = None) -> Any:
    """The generation backend ``name`` with the model loaded, decoding as ``settings`` and the format say."""
    if name in ("vllm", "openai"):
        return start_backend(name, spec, settings, stop_strings=settings.stop_strings(fmt), device=device,
                             dtype=dtype, batch_size=batch_size, engine=engine, needed_len=needed_len,
                             add_special_tokens=adds_special_tokens(fmt))
    from ecellm.evaluation.backends import TransformersBackend
    from ecellm.evaluation.models import load_model

    loaded = load_model(spec, device=device, dtype=dtype)
    loaded.tokenizer = tokenizer
    return TransformersBackend(loaded, settings, add_special_tokens=adds_special_tokens(fmt),
                               stop_strings=settings.stop_strings(fmt), max_rows=batch_size)


def add_engine_arguments(parser: Any) -> None:
    """``ecellm eval``'s vLLM and server options, in their own help groups."""
    import argparse

    vllm = parser.add_argument_group("vLLM engine (--backend vllm)")
    vllm.add_argument("--tensor-parallel-size", type=int, default=1, help="GPUs one model copy is split over.")
    vllm.add_argument("--data-parallel-size", type=int, default=1, help="Model copies vLLM runs side by side.")
    vllm.add_argument("--max-model-len", type=int,
                      help="Context the engine reserves (default: the longest prompt + its budget).")
    vllm.add_argument("--enforce-eager", action=argparse.BooleanOptionalAction, default=None,
                      help="Run without graph capture/compilation (default: eager on CPU, compiled on GPU).")
    vllm.add_argument("--kv-cache-gb", type=float,
                      help="KV-cache size in GiB (default: 1 on CPU; on GPU vLLM's share of free memory).")
    vllm.add_argument("--engine-arg", action="append", default=[], metavar="KEY=VALUE",
                      help="Any other vllm.LLM argument, JSON value (repeatable), e.g. max_num_seqs=64.")
    server = parser.add_argument_group("OpenAI-compatible server (--backend openai; --model is the server's name)")
    server.add_argument("--base-url", help="Server URL, e.g. http://127.0.0.1:8000/v1 or https://api.openai.com/v1.")
    server.add_argument("--openai-api", default="completions", choices=["completions", "chat"],
                        help="Text completions (the rendered prompt) or chat (the prompt as one user turn).")
    server.add_argument("--concurrency", type=int, default=8, help="Requests in flight at once.")
    server.add_argument("--request-timeout", type=float, default=120.0, help="Seconds per request.")
    server.add_argument("--max-retries", type=int, default=5, help="Retries (exponential backoff) on 429/5xx/errors.")
    server.add_argument("--api-key-env", default="OPENAI_API_KEY", help="Environment variable holding the API key.")
    server.add_argument("--price-input", type=float, help="USD per million prompt tokens (adds a cost line).")
    server.add_argument("--price-output", type=float, help="USD per million completion tokens.")
    server.add_argument("--tokenizer", help="Tokenizer of the served model (context checks, chat format with the "
                                            "completions API); optional.")


def engine_from_args(args: Any) -> EngineOptions | None:
    """Engine options from parsed ``ecellm eval`` arguments (checked before anything is loaded)."""
    if args.backend == "openai" or args.base_url:
        if not args.base_url:
            raise EvaluationError("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        return OpenAIOptions(base_url=args.base_url, api=args.openai_api, concurrency=args.concurrency,
                             timeout_s=args.request_timeout, max_retries=args.max_retries,
                             api_key_env=args.api_key_env, price_input_per_m=args.price_input,
                             price_output_per_m=args.price_output)
    if args.backend == "vllm":
        from ecellm.evaluation.backends_vllm import parse_engine_args

        return VllmOptions(tensor_parallel_size=args.tensor_parallel_size,
                           data_parallel_size=args.data_parallel_size, max_model_len=args.max_model_len,
                           enforce_eager=args.enforce_eager, kv_cache_gb=args.kv_cache_gb,
                           engine_args=parse_engine_args(args.engine_arg))
    return None
