"""Continuous batching over a transformers KV cache, for CPUs and small GPUs without vLLM.

``model.generate`` keeps every row of a batch running until the last one stops and pads a whole batch to
its longest prompt. Here prompts are prefilled in groups of similar length, decode one token per step
together, and a row that emits EOS, reaches its budget or writes a stop string leaves at once
(``DynamicCache.batch_select_indices``); queued prompts are prefilled and merged into the running batch
(their cache left-padded to the running width). transformers' own ``generate_batch`` (paged continuous
batching) was measured slower on CPU: 105.7 s for the benchmark's 32 SmolLM2 prompts, where ``generate`` on
length-sorted batches took 82 s (0.39 prompts/s) and this loop takes 45 s. Greedy picks are the tokens
``generate`` picks; sampling uses transformers' temperature / top-p warpers with a seeded generator.
"""

from __future__ import annotations

import functools
import inspect
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

Picker = Callable[[torch.Tensor], torch.Tensor]
SIMILAR = 0.75  # prompts prefilled together are at least this fraction of the longest


@dataclass
class RowState:
    """The new tokens of one row and why it stopped."""

    tokens: list[int] = field(default_factory=list)
    hit_eos: bool = False
    hit_stop: bool = False


def stop_on_strings(tokenizer, stop_strings: Sequence[str]) -> Callable[[list[int]], bool] | None:
    """A check that the newest tokens completed one of ``stop_strings`` (only the tail is decoded: the
    check runs every step, so a string is caught on the step that completes it)."""
    if not stop_strings:
        return None
    window = max(len(s) for s in stop_strings) + 1  # every token decodes to at least one character

    def should_stop(tokens: list[int]) -> bool:
        tail = tokenizer.decode(tokens[-window:], skip_special_tokens=False)
        return any(s in tail for s in stop_strings)

    return should_stop


def greedy_picker() -> Picker:
    return lambda logits: logits.argmax(dim=-1)


def sampling_picker(temperature: float | None, top_p: float | None, seed: int) -> Picker:
    """Temperature + nucleus sampling with transformers' warpers, reproducible from ``seed``."""
    from transformers.generation.logits_process import TemperatureLogitsWarper, TopPLogitsWarper

    warpers = []
    if temperature is not None and temperature != 1.0:
        warpers.append(TemperatureLogitsWarper(temperature))
    if top_p is not None and top_p < 1.0:
        warpers.append(TopPLogitsWarper(top_p))
    generator = torch.Generator().manual_seed(seed)

    def pick(logits: torch.Tensor) -> torch.Tensor:
        scores = logits.float()
        for warp in warpers:
            scores = warp(None, scores)
        probs = torch.softmax(scores, dim=-1)
        return torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1).to(logits.device)

    return pick


def left_pad(prompts: Sequence[Sequence[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """``input_ids``, ``attention_mask`` and ``position_ids`` of a left-padded batch."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        if prompt:
            ids[row, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
            mask[row, width - len(prompt):] = 1
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    return ids.to(device), mask.to(device), positions.to(device)


def cache_kwargs(model, cache) -> dict:
    """The keyword that hands ``cache`` to ``model``'s forward: ``cache`` in transformers 5.x (which deprecates
    ``past_key_values``), ``past_key_values`` where the forward has no ``cache`` parameter (older releases)."""
    return {_cache_keyword(type(_base_model(model))): cache, "use_cache": True}


def _base_model(model):
    """The transformers model under a PEFT wrapper (whose own forward takes ``**kwargs``)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


@functools.cache
def _cache_keyword(model_class: type) -> str:
    return "cache" if "cache" in inspect.signature(model_class.forward).parameters else "past_key_values"


@dataclass
class Rows:
    """Rows decoding together: their left-padded KV cache and attention mask, each row's last position,
    the logits of its next token, and which prompt each row is."""

    prompt_index: list[int]
    cache: object
    mask: torch.Tensor
    last_position: torch.Tensor
    logits: torch.Tensor


def prefill(model, prompts: Sequence[Sequence[int]], prompt_index: list[int], pad_id: int) -> Rows:
    from transformers import DynamicCache

    device = next(model.parameters()).device
    ids, mask, positions = left_pad(prompts, pad_id, device)
    cache = DynamicCache(config=model.config)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1,
                   **cache_kwargs(model, cache)).logits[:, -1]
    return Rows(prompt_index, cache, mask, positions[:, -1], logits)


def mergeable(cache) -> bool:
    """Only plain growing layers can be left-padded and stacked (sliding-window layers keep offsets)."""
    from transformers.cache_utils import DynamicLayer

    return all(isinstance(layer, DynamicLayer) and not layer.is_sliding and layer.is_initialized
               for layer in cache.layers)


def _pad_left(tensor: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    missing = width - tensor.shape[dim]
    if missing == 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = missing
    return torch.cat([tensor.new_zeros(shape), tensor], dim=dim)


def concat(a: Rows, b: Rows) -> Rows:
    """One batch of both: the shorter cache is left-padded (masked out) to the longer one's length."""
    width = max(a.mask.shape[1], b.mask.shape[1])
    for layer_a, layer_b in zip(a.cache.layers, b.cache.layers, strict=True):
        layer_a.keys = torch.cat([_pad_left(layer_a.keys, width, -2), _pad_left(layer_b.keys, width, -2)])
        layer_a.values = torch.cat([_pad_left(layer_a.values, width, -2), _pad_left(layer_b.values, width, -2)])
    return Rows(a.prompt_index + b.prompt_index, a.cache,
                torch.cat([_pad_left(a.mask, width, 1), _pad_left(b.mask, width, 1)]),
                torch.cat([a.last_position, b.last_position]), torch.cat([a.logits, b.logits]))


def keep_rows(rows: Rows, keep: list[int]) -> Rows:
    """Only the ``keep`` rows; columns that are padding in every remaining row are cut off the left."""
    index = torch.tensor(keep, device=rows.mask.device)
    rows.cache.batch_select_indices(index)
    mask = rows.mask[index]
    first = int(mask.any(dim=0).int().argmax())
    if first and mergeable(rows.cache):
        for layer in rows.cache.layers:
            layer.keys, layer.values = layer.keys[..., first:, :], layer.values[..., first:, :]
        mask = mask[:, first:]
    return Rows([rows.prompt_index[i] for i in keep], rows.cache, mask, rows.last_position[index], rows.logits[index])


def step(model, rows: Rows, tokens: list[int]) -> None:
    """Feed each row its newest token; leaves the next logits in ``rows``."""
    device = rows.mask.device
    rows.mask = torch.cat([rows.mask, rows.mask.new_ones((len(tokens), 1))], dim=1)
    rows.last_position = rows.last_position + 1
    rows.logits = model(input_ids=torch.tensor(tokens, device=device)[:, None], attention_mask=rows.mask,
                        position_ids=rows.last_position[:, None], **cache_kwargs(model, rows.cache)).logits[:, -1]


def next_group(queue: deque[int], prompts: Sequence[Sequence[int]], slots: int, prefill_tokens: int) -> list[int]:
    """Up to ``slots`` queued prompts (longest first) to prefill together: the padded batch stays within
    ``prefill_tokens`` and no prompt is shorter than ``SIMILAR`` times the first, so prefill pads little."""
    group = [queue.popleft()]
    width = len(prompts[group[0]])
    while (queue and len(group) < slots and (len(group) + 1) * width <= prefill_tokens
           and len(prompts[queue[0]]) >= SIMILAR * width):
        group.append(queue.popleft())
    return group


def admits(rows: Rows, max_rows: int) -> bool:
    """Merge queued prompts into the running rows once a quarter of the places is free: each merge copies
    the cache, so it should serve several rows. (Waiting for similar lengths instead was measured slower:
    the decode steps with few rows cost nearly as much as full ones.)"""
    return max_rows - len(rows.prompt_index) >= max(1, max_rows // 4) and mergeable(rows.cache)


@torch.inference_mode()
def decode(model, prompts: Sequence[Sequence[int]], *, max_new_tokens: int, pad_id: int, eos_ids: set[int],
           pick: Picker, should_stop: Callable[[list[int]], bool] | None = None, max_rows: int = 16,
           prefill_tokens: int = 4096, guide=None) -> list[RowState]:
    """New tokens for each prompt (EOS excluded), with continuous batching.

    Prompts are prefilled longest first in groups of similar length (little padding), at most ``max_rows``
    decode together, a row leaves as soon as it stops and queued prompts take the free places (once a
    quarter of them is free, so each merge serves several rows). ``guide`` (constrained decoding,
    :class:`ecellm.engines.constrained_decoding.GrammarGuide`) masks each step's logits per row and follows the picks.
    """
    states = [RowState() for _ in prompts]
    queue = deque(sorted(range(len(prompts)), key=lambda i: -len(prompts[i])))
    rows: Rows | None = None
    while queue or rows is not None:
        if queue and (rows is None or admits(rows, max_rows)):
            group = next_group(queue, prompts, max_rows - (len(rows.prompt_index) if rows else 0), prefill_tokens)
            new = prefill(model, [prompts[i] for i in group], group, pad_id)
            rows = new if rows is None else concat(rows, new)
        logits = rows.logits if guide is None else guide.mask(rows.logits, rows.prompt_index)
        picked = pick(logits).tolist()
        if guide is not None:
            for row, token in zip(rows.prompt_index, picked, strict=True):
                guide.accept(row, token)
        keep = [i for i, (row, token) in enumerate(zip(rows.prompt_index, picked, strict=True))
                if not _record(states[row], token, eos_ids, max_new_tokens, should_stop)]
        if not keep:
            rows = None
            continue
        if len(keep) < len(rows.prompt_index):
            rows = keep_rows(rows, keep)
        step(model, rows, [states[row].tokens[-1] for row in rows.prompt_index])
    return states


def _record(state: RowState, token: int, eos_ids: set[int], budget: int,
            should_stop: Callable[[list[int]], bool] | None) -> bool:
    """Add ``token`` to the row; True when the row is done."""
    if token in eos_ids:
        state.hit_eos = True
        return True
    state.tokens.append(token)
    state.hit_stop = should_stop is not None and should_stop(state.tokens)
    return state.hit_stop or len(state.tokens) >= budget
