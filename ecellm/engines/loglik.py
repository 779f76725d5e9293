"""Log-likelihood of candidate answers after a prompt, with the prompt's KV cache shared by its candidates.

The prompt is prefilled once; its last logits score every candidate's first token. Candidates of two or more
tokens then run together as one right-padded batch over the prompt's cache repeated once per candidate, so a
prompt costs one prefill whatever the number of candidates (lm-eval's ``loglikelihood`` requests, batched
the way a KV cache allows).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ecellm.engines.decode import cache_kwargs
from ecinstruct.answers.constraint import LogLik


@torch.inference_mode()
def score_continuations(model, prompt: Sequence[int], continuations: Sequence[Sequence[int]],
                        pad_id: int) -> list[LogLik]:
    """Summed log-probability of each continuation's tokens after ``prompt`` (token ids, no padding)."""
    from transformers import DynamicCache

    if not prompt or any(not c for c in continuations):
        raise ValueError("prompt and every continuation need at least one token")
    device = next(model.parameters()).device
    cache = DynamicCache(config=model.config)
    ids = torch.tensor([list(prompt)], device=device)
    logits = model(input_ids=ids, logits_to_keep=1, **cache_kwargs(model, cache)).logits
    first = torch.log_softmax(logits[0, -1].float(), dim=-1)
    best = int(first.argmax())
    results = [[float(first[c[0]]), c[0] == best] for c in continuations]
    longer = [i for i, c in enumerate(continuations) if len(c) > 1]
    if longer:
        _extend(model, cache, len(prompt), [continuations[i] for i in longer], [results[i] for i in longer],
                pad_id, device)
    return [LogLik(logprob=lp, n_tokens=len(c), is_greedy=greedy)
            for (lp, greedy), c in zip(results, continuations, strict=True)]


def _extend(model, cache, prompt_len: int, continuations: list[Sequence[int]], results: list[list],
            pad_id: int, device: torch.device) -> None:
    """Add the log-probabilities of tokens 2..n of each continuation (one batch over the repeated cache)."""
    width = max(len(c) for c in continuations) - 1
    inputs = torch.full((len(continuations), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(continuations), prompt_len + width), dtype=torch.long)
    mask[:, :prompt_len] = 1
    for row, cont in enumerate(continuations):
        inputs[row, : len(cont) - 1] = torch.tensor(cont[:-1])
        mask[row, prompt_len : prompt_len + len(cont) - 1] = 1
    cache.batch_repeat_interleave(len(continuations))
    positions = torch.arange(prompt_len, prompt_len + width).expand(len(continuations), -1)
    logits = model(input_ids=inputs.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                   **cache_kwargs(model, cache)).logits.float()
    logprobs = torch.log_softmax(logits, dim=-1)
    for row, (cont, result) in enumerate(zip(continuations, results, strict=True)):
        targets = torch.tensor(cont[1:], device=logprobs.device)
        steps = logprobs[row, : len(cont) - 1]
        result[0] += float(steps.gather(1, targets[:, None]).sum())
        result[1] = result[1] and bool((steps.argmax(dim=-1) == targets).all())
