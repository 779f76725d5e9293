"""Generation settings and the hash that keys the prediction cache.

Greedy decoding is the default (deterministic, and what the reference's merged-model path does);
:meth:`GenerationSettings.reference_sampling` gives the LoRA-adapter path's sampling (T=0.15, top-p 0.95).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from typing import Any

from ecellm.evaluation.errors import EvaluationError

REFERENCE_TEMPERATURE = 0.15
REFERENCE_TOP_P = 0.95


@dataclass(frozen=True)
class GenerationSettings:
    """How answers are generated. ``max_new_tokens=None`` means each task's own budget (100 for all).

    ``stop_at_marker``: a row stops once its new text repeats the prompt format's response marker
    (:func:`ecinstruct.prompts.response_marker`). Both scoring modes cut the answer there, so scores are
    unchanged; only the raw text after the marker is not generated. The reference runs to EOS or budget.
    """

    max_new_tokens: int | None = None
    do_sample: bool = False
    temperature: float | None = None
    top_p: float | None = None
    seed: int = 0
    stop_at_marker: bool = True

    def __post_init__(self) -> None:
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            raise EvaluationError(f"max_new_tokens must be >= 1 (or None for the task budget), "
                                  f"got {self.max_new_tokens}")
        if not self.do_sample and (self.temperature is not None or self.top_p is not None):
            raise EvaluationError("temperature/top_p only apply to sampling; pass do_sample=True "
                                  "(or use GenerationSettings.reference_sampling())")

    @classmethod
    def reference_sampling(cls, **overrides: Any) -> GenerationSettings:
        """The reference's LoRA-path sampling: temperature 0.15, top-p 0.95, one beam."""
        return cls(**{"do_sample": True, "temperature": REFERENCE_TEMPERATURE, "top_p": REFERENCE_TOP_P,
                      **overrides})

    def stop_strings(self, prompt_format: str) -> tuple[str, ...]:
        """Strings that end a row early under these settings."""
        from ecinstruct.prompts import response_marker

        return (response_marker(prompt_format),) if self.stop_at_marker else ()

    def budget(self, task_budget: int) -> int:
        """New-token budget for a task."""
        return self.max_new_tokens or task_budget

    def with_overrides(self, **changes: Any) -> GenerationSettings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def cache_key(self) -> dict[str, Any]:
        """What changes the generated text; the seed matters only when sampling."""
        key = self.as_dict()
        if not self.do_sample:
            key.pop("seed")
        return key


def settings_hash(**parts: Any) -> str:
    """A short stable hash of JSON-serialisable parts (model fingerprint, prompt format, settings, ...)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def text_key(*parts: object) -> str:
    """Short hash of a prompt (and its budget): guards cached rows against changed data."""
    return hashlib.sha1("\x00".join(map(str, parts)).encode("utf-8")).hexdigest()[:16]
