"""Fair scores for every model: the flexible reading, log-likelihood choice, constrained decoding, chat default,
and inputs checked before any model work."""

from __future__ import annotations

import json

import pytest
import torch

from ecellm.evaluation import evaluate
from ecellm.evaluation.errors import EvaluationError
from ecellm.metrics import score
from ecinstruct.tasks import TASKS, get_task

FAST = {"max_new_tokens": 6, "n_resamples": 50, "bertscore_model": "offline", "progress": False, "batch_size": 8,
        "published": False, "chart": False}
SA_OPTIONS = list(get_task("SA").options)
SR_OPTIONS = ["A: Drifton Sleeping Bag. Sports & Outdoors. Camping. Drifton.",
              "B: Cozmina Coffee Tamper. Home & Kitchen. Kitchen. Cozmina.",
              "C: Ovenry Replacement HEPA Filter. Home & Kitchen. Air Quality. Ovenry."]
AVE_GOLD = '[{"attribute": "color", "value": "lavender", "source": "product title"}]'

# (task, chatty output, what the flexible reading must find; None = must stay invalid)
CHATTY = [
    ("SA", 'The answer is "E: very negative".', "E"),
    ("SA", "I would say this review is very positive overall.", "A"),
    ("SA", "Sentiment: positive", "B"),
    ("SA", "(C) neutral", "C"),
    ("SA", "**D**", "D"),
    ("SA", "A good camera, the reviewer liked it.", None),  # an article, not an option
    ("SA", "I cannot tell.", None),
    ("PRP", "Option B: users who view product 1 may also view product 2.", "B"),
    ("PRP", "The correct answer is C.", "C"),
    ("PRP", "These two products are related.", None),
    ("MPC", "Answer: A", "A"),
    ("PM", "No, these two product records do not refer to the same item.", "no"),
    ("PM", "Yes. Both records describe the same product.", "yes"),
    ("PM", "These are different products.", "no"),
    ("PM", "They refer to the same product.", "yes"),
    ("PSI", "Nope", "no"),
    ("AP", "The reviews do not answer it.", "no"),
    ("AP", "Hmm.", None),
    ("QPR", "The ranking is: 1. B 2. A 3. C", "B,A,C"),
    ("QPR", "B > C > A", "B,C,A"),
    ("QPR", "[C, A]", "C,A"),
    ("QPR", "I think none of them fit.", None),
    ("SR", "The user will probably buy the Cozmina Coffee Tamper next.", "B"),
    ("SR", "Answer: C", "C"),
    ("SR", "Something else entirely.", None),
    ("AVE", f"Sure! Here it is:\n```json\n{AVE_GOLD}\n```", AVE_GOLD),
    ("AVE", 'Extracted: {"attribute": "color", "value": "lavender", "source": "product title"} done', AVE_GOLD),
    ("AVE", "The color is lavender.", None),
]


@pytest.mark.parametrize(("task", "output", "expected"), CHATTY)
def test_flexible_reading_finds_the_answer(task, output, expected):
    scorer = get_task(task).scorer
    options = SR_OPTIONS if task == "SR" else None
    labels = ["E", "S", "C"] if task == "QPR" else None
    found = scorer.extract(output, options=options, option_labels=labels)
    if expected is None:
        assert found is None
    else:
        assert json.loads(found) == json.loads(expected) if task == "AVE" else found == expected


def test_flexible_scores_right_and_wrong_chatty_answers_and_keeps_strict_unchanged():
    predictions = ['The answer is "E: very negative".', "I think it is positive.", "no idea"]
    golds = ["E: very negative", "A: very positive", "C: neutral"]
    flexible = score("SA", predictions, golds, mode="flexible")
    strict = score("SA", predictions, golds, mode="strict")
    assert (flexible["accuracy"], flexible["invalid"]) == (pytest.approx(1 / 3), 1)  # E right, B wrong, 1 invalid
    assert (strict["accuracy"], strict["invalid"]) == (0.0, 3)
    # Chatty text must never change the other readings.
    assert score("SA", predictions, golds, mode="reference")["invalid"] == 3  # "T", "I", "n": none is A-E


@pytest.mark.parametrize("task", [t.code for t in TASKS])
def test_flexible_is_idempotent_on_gold_answers(task, sample_rows):
    scorer = get_task(task).scorer
    rows = [r for r in sample_rows if r["task"] == get_task(task).name][:8]
    labels = [r.get("option_labels") for r in rows] if scorer.needs_option_labels else None
    options = [r.get("options") for r in rows]
    golds = [r["output"] for r in rows]
    if scorer.needs_encoder:  # free text: the reading only cleans it up
        assert [scorer.extract(g) for g in golds] == [g.strip() for g in golds]
        return
    flexible = score(task, golds, golds, mode="flexible", option_labels=labels, options=options)
    assert flexible["invalid"] == 0
    assert flexible.get("accuracy", flexible["score"]) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ecellm.offline_models import build_tiny_model

    path = build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    return path, model, AutoTokenizer.from_pretrained(path)


def test_loglik_equals_a_brute_force_forward_per_candidate(tiny):
    from ecellm.engines.loglik import score_continuations

    _, model, tokenizer = tiny
    prompt = tokenizer("Below is an instruction.\n\n### Input:\nred shoes\n\n### Response:\n")["input_ids"]
    texts = ["yes", "no", *SA_OPTIONS, "A,B,C"]
    continuations = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    got = score_continuations(model, prompt, continuations, tokenizer.pad_token_id)
    with torch.inference_mode():
        for cont, result in zip(continuations, got, strict=True):
            logprobs = torch.log_softmax(model(torch.tensor([prompt + cont])).logits[0].float(), dim=-1)
            steps = [logprobs[len(prompt) - 1 + j] for j in range(len(cont))]
            expected = sum(float(step[token]) for step, token in zip(steps, cont, strict=True))
            assert result.logprob == pytest.approx(expected, abs=1e-4)
            assert result.n_tokens == len(cont)
            assert result.is_greedy == all(int(s.argmax()) == t for s, t in zip(steps, cont, strict=True))


def test_loglik_run_has_no_invalid_answer_and_generates_open_tasks(tiny, built_folder, tmp_path):
    path, _, _ = tiny
    result = evaluate(str(path), str(built_folder), out=tmp_path / "ll", method="loglik", **FAST)
    methods = {(e["task"], e["method"]) for e in result.entries}
    for task in TASKS:
        expected = {"generate"} if task.code in ("AVE", "AG") else {"loglik", "loglik_norm"}
        assert {m for t, m in methods if t == task.code} == expected
    for entry in result.entries:
        if entry["method"].startswith("loglik"):
            assert entry["invalid"] == 0, entry
    sample = json.loads((tmp_path / "ll" / "samples" / "SA.test_ind.jsonl").read_text().splitlines()[0])
    assert sample["raw"] in SA_OPTIONS and len(sample["loglik"]["logprobs"]) == 5
    best = max(range(5), key=lambda i: sample["loglik"]["logprobs"][i])
    assert sample["raw"] == sample["loglik"]["candidates"][best]
    # Resumable like generation: a second run reuses every cached row.
    again = evaluate(str(path), str(built_folder), out=tmp_path / "ll", method="loglik", **FAST)
    assert again.meta["timing"]["generated_prompts"] == 0


def test_constrained_generation_never_yields_an_invalid_answer(tiny, built_folder, tmp_path):
    path, _, _ = tiny
    result = evaluate(str(path), str(built_folder), out=tmp_path / "cg", method="constrained",
                      modes=("strict",), **{**FAST, "max_new_tokens": None})
    constrained = [e for e in result.entries if e["method"] == "constrained"]
    assert {e["task"] for e in constrained} == {t.code for t in TASKS} - {"AG"}
    assert all(e["invalid"] == 0 for e in constrained), [(e["task"], e["invalid"]) for e in constrained]


def test_chat_is_the_default_for_a_chat_model_without_summary_and_takes_a_system_prompt(tiny, built_folder):
    path, _, _ = tiny
    result = evaluate(str(path), str(built_folder), tasks="PM", splits="test_ind", max_samples=1,
                      system_prompt="You are a careful e-commerce analyst.", **FAST)
    assert result.meta["prompt_format"] == "chat" and "chat template" in result.meta["prompt_format_source"]
    prompt = result.samples[("PM", "test_ind")][0]["prompt"]
    assert prompt.startswith("<|im_start|>system\nYou are a careful e-commerce analyst.")
    with pytest.raises(EvaluationError, match="chat prompt format"):
        evaluate(str(path), str(built_folder), tasks="PM", prompt_format="alpaca", system_prompt="x", **FAST)


def test_qpr_without_labels_fails_before_the_model_is_touched(built_folder, tmp_path):
    import datasets

    import ecinstruct

    data = ecinstruct.load(str(built_folder), "qpr")
    unlabeled = datasets.DatasetDict({s: d.remove_columns("option_labels") for s, d in data.items()})
    with pytest.raises(EvaluationError, match="--qpr-labels"):
        evaluate(str(tmp_path / "no-such-model"), unlabeled, tasks="QPR", splits="test_ind", **FAST)


def test_unknown_method_and_bad_resamples_are_refused(built_folder, tmp_path):
    with pytest.raises(EvaluationError, match="unknown method"):
        evaluate(str(tmp_path), str(built_folder), method="beam", **FAST)
    with pytest.raises(EvaluationError, match=r"n[-_]resamples"):
        evaluate(str(tmp_path), str(built_folder), **{**FAST, "n_resamples": 0})


def test_build_warns_when_qpr_test_rows_have_no_labels(sample_rows, tmp_path, caplog):
    from ecinstruct.export import write_hub_layout

    rows = [{k: v for k, v in r.items() if k != "option_labels"} for r in sample_rows]
    with caplog.at_level("WARNING", logger="ecinstruct.export"):
        write_hub_layout(rows, tmp_path / "hub")
    assert any("QPR test row(s) have no option labels" in m and "--qpr-labels" in m for m in caplog.messages)
    caplog.clear()
    with caplog.at_level("WARNING", logger="ecinstruct.export"):
        write_hub_layout(sample_rows, tmp_path / "hub2")
    assert not any("no option labels" in m for m in caplog.messages)
