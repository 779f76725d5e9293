"""A tiny Llama that, after any prompt ending like ``prompt_end``, greedily writes ``answer`` and stops.

The tiny random model writes noise, which only ever tests the invalid-answer path. Here the same random
model is rewired into a token chain: the attention and MLP outputs are zeroed (the residual stream is just
the current token's embedding), the chain's tokens get their own embedding directions, and the output
head maps each chain token to the next one, the last to EOS. Everything else (tokenizer, engine, decoding,
prompt formats) is the real thing, so typed, valid answers can be checked end to end. The folder records
its prompt format (``training_summary.json``: alpaca, or mistral for a mistral ``prompt_end``), as a model
trained with ``ecellm train`` does.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path

from ecellm.offline_models import build_tiny_model

GAIN = 50.0
# Constrained decoding (method auto's choice for closed-answer tasks) needs xgrammar; without it auto generates.
HAS_XGRAMMAR = importlib.util.find_spec("xgrammar") is not None


def build_scripted_model(out: Path, answer: str, prompt_end: str = "### Response:\n") -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = build_tiny_model(out)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    last = tokenizer(f"x\n\n{prompt_end}", add_special_tokens=False)["input_ids"][-1]
    chain = [last, *tokenizer(answer, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]
    if len(set(chain)) != len(chain):
        raise ValueError(f"the chain {chain} repeats a token; pick an answer whose tokens differ")
    hidden = model.config.hidden_size
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        embed, head = model.model.embed_tokens.weight, model.lm_head.weight
        dims = len(chain) - 1
        embed[:, :dims] = 0  # the chain's directions carry nothing for other tokens
        head[:, :dims] = 0
        for i, (token, following) in enumerate(itertools.pairwise(chain)):
            embed[token] = torch.zeros(hidden)
            embed[token, i] = 1.0
            head[following, i] = GAIN
    model.save_pretrained(folder)
    # As `ecellm train` records it: the prompt format the model answers in.
    fmt = "mistral" if prompt_end.startswith("[/INST]") else "alpaca"
    (folder / "training_summary.json").write_text(json.dumps({"prompt_format": fmt}))
    return folder
