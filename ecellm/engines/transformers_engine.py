"""``--backend transformers`` (the default): the model loaded in this process with transformers.

Left-padded batches decoded by :func:`ecellm.engines.decode.decode` (finished rows leave the batch), stopping on
EOS or the format's stop marker; constrained decoding through xgrammar
(:mod:`ecellm.engines.constrained_decoding`); log-likelihoods with one prefill per prompt
(:mod:`ecellm.engines.loglik`).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from typing import Any

from ecellm.engines.base import Engine, Generation
from ecellm.engines.generation_settings import GenerationSettings
from ecellm.engines.methods import Method
from ecellm.engines.model_loader import LoadedModel, ModelSpec
from ecinstruct.answers.constraint import Constraint, LogLik

logger = logging.getLogger(__name__)


class TransformersEngine(Engine):
    """Continuous batching through :func:`ecellm.engines.decode.decode`: at most ``max_rows`` rows decode
    together, a finished row leaves at once and a queued prompt takes its place; greedy unless the settings
    sample; rows also stop on ``stop_strings`` when given.

    Built from a :class:`~ecellm.engines.model_loader.LoadedModel`, so the training callback hands it the model
    being trained; :meth:`open` loads one from a :class:`~ecellm.engines.model_loader.ModelSpec`."""

    name = "transformers"
    predictor_methods = frozenset(Method)

    def __init__(self, loaded: LoadedModel, settings: GenerationSettings, add_special_tokens: bool = True,
                 stop_strings: tuple[str, ...] = (), max_rows: int = 16) -> None:
        from ecellm.engines.decode import stop_on_strings

        self.loaded, self.settings, self.add_special_tokens = loaded, settings, add_special_tokens
        tokenizer = loaded.tokenizer
        self.pad_id = tokenizer.pad_token_id
        eos = loaded.model.generation_config.eos_token_id
        eos = eos if eos is not None else tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos])
        self.should_stop = stop_on_strings(tokenizer, stop_strings)
        self.max_rows = max_rows

    @classmethod
    def constrained_ready(cls) -> bool:
        return importlib.util.find_spec("xgrammar") is not None

    @classmethod
    def open(cls, spec: ModelSpec, settings: GenerationSettings, prompt_format: str, tokenizer: Any, *, device: str,
             dtype: str, batch_size: int, options: Any = None, needed_len: int | None = None) -> TransformersEngine:
        from ecellm.engines.model_loader import load_model
        from ecellm.engines.prompt_formats import adds_special_tokens

        loaded = load_model(spec, device=device, dtype=dtype)
        loaded.tokenizer = tokenizer
        return cls(loaded, settings, add_special_tokens=adds_special_tokens(prompt_format),
                   stop_strings=settings.stop_strings(prompt_format), max_rows=batch_size)

    def _picker(self, seed: int):
        from ecellm.engines.decode import greedy_picker, sampling_picker

        if self.settings.do_sample:  # the batch's own seed: a rerun of the same batch samples the same text
            return sampling_picker(self.settings.temperature, self.settings.top_p, seed)
        return greedy_picker()

    def generate(self, prompts: list[str], max_new_tokens: int, seed: int,
                 constraints: Sequence[Constraint | None] | None = None) -> list[Generation]:
        from ecellm.engines.decode import decode

        tokenizer = self.loaded.tokenizer
        ids = tokenizer(prompts, add_special_tokens=self.add_special_tokens)["input_ids"]
        guide = None
        if constraints is not None and any(c is not None for c in constraints):
            from ecellm.engines.constrained_decoding import GrammarGuide

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
        from ecellm.engines.loglik import score_continuations

        tokenizer = self.loaded.tokenizer
        prompt_ids = tokenizer(prompts, add_special_tokens=self.add_special_tokens)["input_ids"]
        out = []
        for ids, conts in zip(prompt_ids, continuations, strict=True):
            cont_ids = [tokenizer(c, add_special_tokens=False)["input_ids"] for c in conts]
            out.append(score_continuations(self.loaded.model, ids, cont_ids, self.pad_id))
        return out
