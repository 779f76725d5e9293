"""The continuous-batching decode loop: same tokens as ``model.generate``, rows that leave and refill."""

from __future__ import annotations

import pytest
import torch

from ecellm.engines.decode import decode, greedy_picker, sampling_picker, stop_on_strings
from ecellm.evaluation.scoring import answer
from ecinstruct.prompts import response_marker


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ecellm.offline_models import build_tiny_model

    path = build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(path)


PROMPTS = ["Below is an instruction.\n\n### Input:\nred shoes, size 9\n\n### Response:\n",
           "Hi", "Classify the sentiment of this review: the kettle broke after two days of use and the seller "
           "never answered my messages", "A: yes B: no", "Which product is cheaper?", "x " * 40, "Title: lamp",
           "Query: phone case. Product: silicone cover for phones. Relevant?"]


def generate_alone(model, tokenizer, prompt: str, max_new_tokens: int, eos: int) -> list[int]:
    """The reference answer: ``model.generate`` on the prompt alone (no padding), cut before EOS."""
    ids = tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=eos,
                             pad_token_id=tokenizer.pad_token_id, temperature=None, top_p=None, top_k=None)
    new = out[0, ids["input_ids"].shape[1]:].tolist()
    return new[:new.index(eos)] if eos in new else new


def run(model, tokenizer, eos_ids: set[int], max_rows: int, max_new_tokens: int = 12, **kw):
    ids = tokenizer(PROMPTS)["input_ids"]
    return decode(model, ids, max_new_tokens=max_new_tokens, pad_id=tokenizer.pad_token_id, eos_ids=eos_ids,
                  pick=kw.pop("pick", greedy_picker()), max_rows=max_rows, **kw)


@pytest.mark.parametrize("max_rows", [1, 3, 16])
def test_greedy_tokens_match_generate_on_each_prompt_alone(tiny, max_rows):
    model, tokenizer = tiny
    # An EOS the random model actually emits, so rows finish at different steps and places get refilled.
    free_run = run(model, tokenizer, set(), max_rows=16)
    eos = free_run[0].tokens[3]
    states = run(model, tokenizer, {eos}, max_rows=max_rows)
    expected = [generate_alone(model, tokenizer, p, 12, eos) for p in PROMPTS]
    assert [s.tokens for s in states] == expected
    assert [s.hit_eos for s in states] == [len(e) < 12 for e in expected]
    assert states[0].hit_eos and len(states[0].tokens) <= 3  # row 0 left early ...
    assert sum(len(s.tokens) == 12 for s in states) >= 1  # ... while others ran the whole budget


def test_stop_string_ends_a_row_on_the_token_that_completes_it(tiny):
    _, tokenizer = tiny
    marker = response_marker("alpaca")
    tokens = tokenizer("yes\n\n### Response:\nno more")["input_ids"]
    check = stop_on_strings(tokenizer, [marker])
    first = next(n for n in range(1, len(tokens) + 1) if check(tokens[:n]))
    assert marker in tokenizer.decode(tokens[:first]) and marker not in tokenizer.decode(tokens[:first - 1])
    assert stop_on_strings(tokenizer, []) is None


def test_stop_string_rows_are_finished_and_cut(tiny):
    model, tokenizer = tiny
    free_run = run(model, tokenizer, set(), max_rows=4)
    word = tokenizer.decode(free_run[2].tokens[4:6])
    states = run(model, tokenizer, set(), max_rows=4, should_stop=stop_on_strings(tokenizer, [word]))
    assert states[2].hit_stop and word in tokenizer.decode(states[2].tokens)
    assert len(states[2].tokens) <= 6 and states[2].tokens == free_run[2].tokens[:len(states[2].tokens)]


@pytest.mark.parametrize("fmt", ["alpaca", "mistral", "chat"])
@pytest.mark.parametrize("mode", ["strict", "reference"])
def test_stopping_at_the_marker_never_changes_an_answer(fmt, mode):
    marker = response_marker(fmt)
    prompt = {"alpaca": "### Input:\nx\n\n### Response:\n", "mistral": "[INST] x [/INST] ### Response:\n",
              "chat": "<|user|>x<|assistant|>"}[fmt]
    bodies = ["yes", " B: no\n", "yes ### Instruction: again", "### Response: x", "a\n\n### Input:\nb"]
    for body in bodies:
        for tail in ["", "\nmore text", " ### Response: z", "[/INST] ### Response: w"]:
            full = body + marker + tail
            stopped = full[:full.index(marker) + len(marker)]  # what generation keeps once the marker is written
            assert answer(prompt, stopped, fmt, mode) == answer(prompt, full, fmt, mode), (body, tail)


def test_sampling_is_reproducible_from_the_seed(tiny):
    model, tokenizer = tiny
    first = run(model, tokenizer, set(), max_rows=3, pick=sampling_picker(0.7, 0.9, seed=5))
    again = run(model, tokenizer, set(), max_rows=3, pick=sampling_picker(0.7, 0.9, seed=5))
    other = run(model, tokenizer, set(), max_rows=3, pick=sampling_picker(0.7, 0.9, seed=6))
    assert [s.tokens for s in first] == [s.tokens for s in again]
    assert [s.tokens for s in first] != [s.tokens for s in other]
