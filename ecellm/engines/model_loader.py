"""What ``model`` is (full model, merged model, PEFT adapter, Hub id), its fingerprint, and loading it.

A folder with ``adapter_config.json`` is a PEFT adapter: its base comes from ``training_summary.json``
(written by ``ecellm train``) or from the adapter config, and is resolved with
:func:`ecellm.offline_models.resolve_model_path` (so the offline SmolLM2 works). A folder with ``config.json``
is a full or merged model. Anything else is a Hub id, loaded by ``from_pretrained`` (which also
attaches Hub adapters when ``peft`` is installed).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecellm.artifacts import SUMMARY_FILE, TrainingSummary, is_adapter, read_adapter_config
from ecellm.evaluation.errors import EvaluationError
from ecinstruct.paths import missing_local_path

logger = logging.getLogger(__name__)

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")
_EDGE = 1 << 20  # bytes hashed at each end of a weight file: cheap, yet changes whenever the weights do


@dataclass(frozen=True)
class ModelSpec:
    """A resolved ``model`` argument (nothing loaded yet)."""

    name: str
    kind: str  # "adapter" | "full" | "merged" | "hub" | "server" (a model behind an OpenAI-compatible server)
    path: str  # folder (or Hub id) of the model; the adapter folder for adapters
    base: str | None = None  # adapters: the base id as recorded; else None
    base_path: str | None = None  # adapters: loadable location of the base
    summary: dict[str, Any] = field(default_factory=dict, compare=False)
    revision: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "path": self.path, "base": self.base,
                "base_path": self.base_path, "revision": self.revision}


def describe_model(model: str | Path, revision: str | None = None) -> ModelSpec:
    """Classify ``model`` without loading weights."""
    from ecellm.offline_models import resolve_model_path

    name = str(model)
    folder = Path(name).expanduser()
    if not folder.is_dir():
        resolved = resolve_model_path(name)  # offline SmolLM2 → cached folder; other ids stay ids
        if not Path(resolved).is_dir():
            if (problem := missing_local_path(name)) is not None:
                raise EvaluationError(f"model {problem}. Pass a Hub id (org/name) or a folder with config.json "
                                      "(full or merged model) or adapter_config.json (PEFT adapter)")
            return ModelSpec(name=name, kind="hub", path=name, revision=revision)
        folder = Path(resolved)
    summary = _summary(folder)
    if is_adapter(folder):
        config = read_adapter_config(folder)
        base = summary.get("base_model") or config.get("base_model_name_or_path")
        if not base:
            raise EvaluationError(f"adapter {folder}: no base model in {SUMMARY_FILE} or adapter_config.json "
                                  "(base_model_name_or_path); set it to the base model's id or folder")
        if (problem := missing_local_path(str(base))) is not None or (
                str(base).startswith(("/", "~", ".")) and not Path(str(base)).expanduser().is_dir()):
            raise EvaluationError(f"adapter {folder}: its base model {base} (base_model_name_or_path in "
                                  f"adapter_config.json or base_model in {SUMMARY_FILE}) cannot be found"
                                  f"{': ' + problem if problem else ': no such folder'}; set it to the base model's "
                                  "Hub id or its folder on this machine")
        return ModelSpec(name=name, kind="adapter", path=str(folder), base=base,
                         base_path=resolve_model_path(base), summary=summary)
    if (folder / "config.json").is_file():
        return ModelSpec(name=name, kind="merged" if summary else "full", path=str(folder), summary=summary)
    raise EvaluationError(f"model folder {folder} has neither config.json (full or merged model) nor "
                          "adapter_config.json (PEFT adapter); point --model at the training output folder, "
                          "its merged/ subfolder, or a saved model")


def _summary(folder: Path) -> dict[str, Any]:
    """The training summary of the folder (or of its parent for ``<out>/merged``) as a dict; empty when none."""
    found = TrainingSummary.find(folder)
    return found.to_dict() if found else {}


def fingerprint(spec: ModelSpec) -> str:
    """Identity of the weights: folder files' sizes and edge bytes (adapter + base), or Hub id + revision."""
    digest = hashlib.sha256()
    for location in (spec.path, spec.base_path):
        if location is None:
            continue
        folder = Path(location)
        if not folder.is_dir():
            digest.update(f"hub:{location}@{spec.revision}".encode())
            continue
        for file in sorted(folder.iterdir()):
            if file.is_file() and (file.suffix in WEIGHT_SUFFIXES or file.name.endswith("config.json")):
                digest.update(f"{file.name}:{file.stat().st_size}".encode())
                digest.update(_edges(file))
    return digest.hexdigest()[:16]


def _edges(file: Path) -> bytes:
    size = file.stat().st_size
    with file.open("rb") as handle:
        head = handle.read(_EDGE)
        handle.seek(max(size - _EDGE, 0))
        return head + handle.read(_EDGE)


@dataclass
class LoadedModel:
    """A model ready for generation, with its tokenizer (left padding, pad token set)."""

    spec: ModelSpec
    model: Any
    tokenizer: Any
    device: str
    dtype: str


def context_length(config: Any) -> int | None:
    """Most tokens (prompt + answer) a model takes, from its config; None when it does not say."""
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def pick_device(device: str | None) -> str:
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def pick_dtype(dtype: str | None, device: str) -> str:
    """fp32 on CPU (no fast bf16 there), bf16 on GPU (the reference's precision)."""
    if dtype in (None, "auto"):
        return "float32" if device == "cpu" else "bfloat16"
    return dtype


def load_tokenizer(spec: ModelSpec) -> Any:
    """The tokenizer (adapter folder first: training saves it there), left-padded with a pad token."""
    from transformers import AutoTokenizer

    location = spec.path
    if spec.kind == "adapter" and not any((Path(spec.path) / f).is_file()
                                          for f in ("tokenizer.json", "tokenizer_config.json")):
        location = spec.base_path or spec.base
    tokenizer = AutoTokenizer.from_pretrained(location, revision=spec.revision)
    tokenizer.padding_side = "left"  # generation continues the prompt: pad on the left
    if tokenizer.pad_token is None:  # the reference sets pad = EOS
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(spec: ModelSpec, *, device: str | None = None, dtype: str | None = None) -> LoadedModel:
    """Load weights and tokenizer; one clear error if that fails."""
    import torch
    from transformers import AutoModelForCausalLM

    device = pick_device(device)
    dtype = pick_dtype(dtype, device)
    try:
        tokenizer = load_tokenizer(spec)
        source = spec.base_path if spec.kind == "adapter" else spec.path
        model = AutoModelForCausalLM.from_pretrained(source, dtype=getattr(torch, dtype), revision=spec.revision)
        if spec.kind == "adapter":
            from peft import PeftModel

            # Merging once makes every generation step as fast as a plain model's.
            model = PeftModel.from_pretrained(model, spec.path).merge_and_unload()
    except EvaluationError:
        raise
    except Exception as err:
        raise EvaluationError(f"cannot load model {spec.name!r} ({spec.kind}: {spec.base_path or spec.path}): "
                              f"{type(err).__name__}: {err}. Expected a Hub id reachable from this machine, or a "
                              "folder with config.json or adapter_config.json") from None
    model.to(device).eval()
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return LoadedModel(spec=spec, model=model, tokenizer=tokenizer, device=device, dtype=dtype)


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
