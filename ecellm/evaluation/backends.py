"""Generation backends. Same contract: a batch of prompt strings in, one :class:`Generation` per prompt out.

``transformers`` (default): left-padded batches decoded by our loop (finished rows leave the batch),
stopping on EOS or the format's stop marker. ``vllm`` (:mod:`ecellm.evaluation.backends_vllm`, GPU or CPU,
its own venv) and ``openai`` (:mod:`ecellm.evaluation.backends_openai`, any OpenAI-compatible server) are
imported only when chosen.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from typing import Protocol

from ecellm.evaluation.constraints import Constraint, LogLik
from ecellm.evaluation.errors import EvaluationError
from ecellm.evaluation.generation_settings import GenerationSettings
from ecellm.evaluation.models import LoadedModel

logger = logging.getLogger(__name__)

BACKENDS = ("transformers", "vllm", "openai")


@dataclass(frozen=True)
class Generation:
    """The new text of one prompt (special tokens skipped), its token count, and whether it hit EOS."""

    text: str
    new_tokens: int
    finished: bool


class Backend(Protocol):
    name: str

    def generate(self, prompts: list[str], max_new_tokens: int, seed: int,
                 constraints: list[Constraint | None] | None = None) -> list[Generation]: ...

    def loglik(self, prompts: list[str], continuations: list[list[str]]) -> list[list[LogLik]]: ...


class TransformersBackend:
    """Continuous batching through :func:`ecellm.evaluation.decode.decode`: at most ``max_rows`` rows decode
    together, a finished row leaves at once and a queued prompt takes its place; greedy unless the settings
    sample; rows also stop on ``stop_strings`` when given."""

    name = "transformers"

    def __init__(self, loaded: LoadedModel, settings: GenerationSettings, add_special_tokens: bool = True,
                 stop_strings: tuple[str, ...] = (), max_rows: int = 16) -> None:
        from ecellm.evaluation.decode import stop_on_strings

        self.loaded, self.settings, self.add_special_tokens = loaded, settings, add_special_tokens
        tokenizer = loaded.tokenizer
        self.pad_id = tokenizer.pad_token_id
        eos = loaded.model.generation_config.eos_token_id
        eos = eos if eos is not None else tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos])
        self.should_stop = stop_on_strings(tokenizer, stop_strings)
        self.max_rows = max_rows

    def _picker(self, seed: int):
        from ecellm.evaluation.decode import greedy_picker, sampling_picker

        if self.settings.do_sample:  # the batch's own seed: a rerun of the same batch samples the same text
            return sampling_picker(self.settings.temperature, self.settings.top_p, seed)
        return greedy_picker()

    def generate(self, prompts: list[str], max_new_tokens: int, seed: int,
                 constraints: list[Constraint | None] | None = None) -> list[Generation]:
        from ecellm.evaluation.decode import decode

        tokenizer = self.loaded.tokenizer
        ids = tokenizer(prompts, add_special_tokens=self.add_special_tokens)["input_ids"]
        guide = None
        if constraints is not None and any(c is not None for c in constraints):
            from ecellm.evaluation.constrained import GrammarGuide

            guide = GrammarGuide(tokenizer, self.loaded.model.config.get_text_config().vocab_size, self.eos_ids,
                                 constraints, memo=self.__dict__.setdefault("_grammar_memo", {}))
        states = decode(self.loaded.model, ids, max_new_tokens=max_new_tokens, pad_id=self.pad_id,
                        eos_ids=self.eos_ids, pick=self._picker(seed), should_stop=self.should_stop,
                        max_rows=self.max_rows, guide=guide)
        return [Generation(text=tokenizer.decode(s.tokens, skip_special_tokens=True),
                           new_tokens=len(s.tokens) + s.hit_eos, finished=s.hit_eos or s.hit_stop)
                for s in states]


    def loglik(self, prompts: list[str], continuations: list[list[str]]) -> list[list[LogLik]]:
        """Summed log-probabilities of each prompt's candidate continuations (one prefill per prompt)."""
        from ecellm.evaluation.loglik import score_continuations

        tokenizer = self.loaded.tokenizer
        prompt_ids = tokenizer(prompts, add_special_tokens=self.add_special_tokens)["input_ids"]
        out = []
        for ids, conts in zip(prompt_ids, continuations, strict=True):
            cont_ids = [tokenizer(c, add_special_tokens=False)["input_ids"] for c in conts]
            out.append(score_continuations(self.loaded.model, ids, cont_ids, self.pad_id))
        return out


def batch_seed(seed: int, ids: list[str]) -> int:
    """A sampling seed fixed by the run seed and the batch's row ids (stable across processes)."""
    return (seed * 1_000_003 + zlib.crc32("\x00".join(ids).encode("utf-8"))) % (2**31)


def check_backend(name: str) -> str:
    if name not in BACKENDS:
        raise EvaluationError(f"unknown backend {name!r}; expected one of: {', '.join(BACKENDS)}")
    return name
