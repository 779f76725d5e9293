"""Generation backends. Same contract: a batch of prompt strings in, one :class:`Generation` per prompt out.

``transformers`` (default, what the tests use): left-padded batches through ``model.generate``, stopping
on EOS. ``vllm`` (optional extra ``ecellm[vllm]``, GPU): imported only when chosen.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from typing import Any, Protocol

from ecellm.evaluation.errors import EvaluationError
from ecellm.evaluation.models import LoadedModel, ModelSpec
from ecellm.evaluation.settings import GenerationSettings

logger = logging.getLogger(__name__)

BACKENDS = ("transformers", "vllm")


@dataclass(frozen=True)
class Generation:
    """The new text of one prompt (special tokens skipped), its token count, and whether it hit EOS."""

    text: str
    new_tokens: int
    finished: bool


class Backend(Protocol):
    name: str

    def generate(self, prompts: list[str], max_new_tokens: int, seed: int) -> list[Generation]: ...


class TransformersBackend:
    """``model.generate`` on left-padded batches; greedy unless the settings sample."""

    name = "transformers"

    def __init__(self, loaded: LoadedModel, settings: GenerationSettings, add_special_tokens: bool = True) -> None:
        self.loaded, self.settings, self.add_special_tokens = loaded, settings, add_special_tokens
        tokenizer = loaded.tokenizer
        self.pad_id = tokenizer.pad_token_id
        eos = loaded.model.generation_config.eos_token_id
        eos = eos if eos is not None else tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos])

    def _options(self, max_new_tokens: int) -> dict[str, Any]:
        options: dict[str, Any] = {"max_new_tokens": max_new_tokens, "num_beams": 1, "pad_token_id": self.pad_id,
                                   "do_sample": self.settings.do_sample}
        if self.settings.do_sample:
            options.update(temperature=self.settings.temperature, top_p=self.settings.top_p, top_k=None)
        else:  # neutralise sampling defaults a checkpoint's generation_config may carry (Llama-2-chat does)
            options.update(temperature=None, top_p=None, top_k=None)
        return options

    def generate(self, prompts: list[str], max_new_tokens: int, seed: int) -> list[Generation]:
        import torch

        tokenizer, model = self.loaded.tokenizer, self.loaded.model
        batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=self.add_special_tokens)
        batch = batch.to(self.loaded.device)
        if self.settings.do_sample:
            torch.manual_seed(seed)  # the batch's own seed: a rerun of the same batch samples the same text
        with torch.inference_mode():
            output = model.generate(**batch, **self._options(max_new_tokens))
        new = output[:, batch["input_ids"].shape[1]:].tolist()
        return [self._decode(ids) for ids in new]

    def _decode(self, ids: list[int]) -> Generation:
        end = next((i for i, token in enumerate(ids) if token in self.eos_ids), None)
        kept = ids if end is None else ids[:end]
        text = self.loaded.tokenizer.decode(kept, skip_special_tokens=True)
        return Generation(text=text, new_tokens=len(kept) + (end is not None), finished=end is not None)


class VllmBackend:
    """vLLM's offline ``LLM.generate`` (GPU). Adapters are served with ``enable_lora``."""

    name = "vllm"

    def __init__(self, spec: ModelSpec, settings: GenerationSettings, dtype: str) -> None:
        try:
            from vllm import LLM
        except ImportError:
            raise EvaluationError("backend 'vllm' needs the vllm package: pip install 'ecellm[vllm]' "
                                  "(GPU only); or use --backend transformers") from None
        adapter = spec.kind == "adapter"
        self.settings = settings
        self.llm = LLM(model=spec.base_path if adapter else spec.path, tokenizer=spec.path, dtype=dtype,
                       seed=settings.seed, enable_lora=adapter, revision=spec.revision)
        self.lora = None
        if adapter:
            from vllm.lora.request import LoRARequest

            self.lora = LoRARequest("ecellm-adapter", 1, spec.path)

    def generate(self, prompts: list[str], max_new_tokens: int, seed: int) -> list[Generation]:
        from vllm import SamplingParams

        sampling = self.settings.do_sample
        params = SamplingParams(max_tokens=max_new_tokens, temperature=self.settings.temperature if sampling else 0.0,
                                top_p=self.settings.top_p if sampling else 1.0, seed=seed if sampling else None)
        outputs = self.llm.generate(prompts, params, lora_request=self.lora, use_tqdm=False)
        return [Generation(text=o.outputs[0].text, new_tokens=len(o.outputs[0].token_ids),
                           finished=o.outputs[0].finish_reason == "stop") for o in outputs]


def batch_seed(seed: int, ids: list[str]) -> int:
    """A sampling seed fixed by the run seed and the batch's row ids (stable across processes)."""
    return (seed * 1_000_003 + zlib.crc32("\x00".join(ids).encode("utf-8"))) % (2**31)


def check_backend(name: str) -> str:
    if name not in BACKENDS:
        raise EvaluationError(f"unknown backend {name!r}; expected one of: {', '.join(BACKENDS)}")
    return name
