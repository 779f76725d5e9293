"""What the lm-evaluation-harness task pack calls (``ecinstruct export-lm-eval``): prompts, choices and scores.

The pack's ``utils.py`` only re-exports these functions, so lm-eval and ``ecellm eval`` / ``ecellm score`` share
one prompt renderer (:func:`ecinstruct.prompts.build_prompt`, the alpaca template), one reading of an answer
(:func:`ecellm.evaluation.scoring.answer`) and one scoring path (:func:`ecellm.evaluation.scoring.score_rows`).

- ``generate_until`` tasks: :func:`process_results` returns, per metric, the row's item (id, split, gold, options,
  labels, generated text); the aggregation functions score a whole subtask at once in the strict or the flexible
  reading (corpus-level metrics such as macro-F1 are not means of per-row values).
- ``multiple_choice`` tasks: :func:`doc_to_choice` is the task scorer's closed answer set
  (``task.scorer.candidates(row)``), :func:`doc_to_choice_target` the index of the gold answer in it.

AG is scored with BERTScore; its encoder is chosen as ``ecellm score`` chooses it (``auto``), or set with the
environment variable ``ECELLM_BERTSCORE_MODEL`` (``paper``, ``offline`` or a model path).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ecinstruct.lm_eval_pack import metric_names
from ecinstruct.prompts import build_prompt
from ecinstruct.settings import get_setting
from ecinstruct.tasks import Task, get_task

PROMPT_FORMAT = "alpaca"  # the format `ecellm eval --prompt-format alpaca` renders
ENCODER_ENV = "ECELLM_BERTSCORE_MODEL"

_pair_scorers: dict[str, Any] = {}  # one loaded BERTScore encoder per spec, memoising pairs across readings


# -- prompts, targets, choices ---------------------------------------------------------------------------------


def doc_to_text(doc: dict) -> str:
    """The prompt of a row, byte for byte what ``ecellm eval --prompt-format alpaca`` sends."""
    return build_prompt(doc, PROMPT_FORMAT)


def doc_to_target(doc: dict) -> str:
    """The row's reference answer."""
    return doc["output"]


def doc_to_choice(doc: dict) -> list[str]:
    """The closed answer set of a row, as the log-likelihood method of ``ecellm eval`` scores it."""
    choices = _task(doc).scorer.candidates(doc)
    if not choices:
        raise ValueError(f"task {_task(doc).code} has no closed answer set; it has no multiple-choice variant")
    return list(choices)


def doc_to_choice_target(doc: dict) -> int:
    """The index of the row's gold answer among :func:`doc_to_choice` (compared as the scorer parses answers)."""
    scorer = _task(doc).scorer
    gold = scorer.parse_gold(doc["output"])
    parsed = [scorer.parse_gold(choice) for choice in doc_to_choice(doc)]
    if gold not in parsed:
        raise ValueError(f"row {doc.get('id')}: gold answer {doc['output']!r} is none of {parsed}")
    return parsed.index(gold)


# -- generate_until: per-row items, aggregated by our scorer ----------------------------------------------------


def process_results(doc: dict, results: list[str]) -> dict[str, dict]:
    """Every metric's per-row item: what the aggregation needs to score the row with the task's scorer."""
    task = _task(doc)
    item = {"id": doc["id"], "task": task.code, "split": split_of(doc), "text": results[0],
            "output": doc["output"], "options": doc.get("options"), "option_labels": doc.get("option_labels")}
    return {name: item for name in metric_names(task)}


def split_of(doc: dict) -> str:
    """The row's split (``test_ind``, ``test_ood``, ...) from its published setting and split."""
    return get_setting(doc["setting"]).split_name(doc["split"])


def score_items(items: list[dict], reading: str) -> dict[str, Any]:
    """The entry of ``ecellm eval``/``ecellm score`` (no bootstrap) for one subtask's items in one reading."""
    from ecellm.evaluation.scoring import ScoringOptions, answer, score_rows

    task = get_task(items[0]["task"])
    split = items[0]["split"]
    answers = [answer("", item["text"], PROMPT_FORMAT, reading) for item in items]
    rows = [{"id": item["id"], "output": item["output"], "options": item["options"],
             "option_labels": item["option_labels"]} for item in items]
    options = ScoringOptions(n_resamples=0, pair_scorer=_pair_scorer() if task.scorer.needs_encoder else None)
    entry, _ = score_rows(task, split, reading, answers, rows, options)
    return entry


def strict_score(items: list[dict]) -> float:
    """The task's headline metric, strict reading."""
    return score_items(items, "strict")["score"]


def flexible_score(items: list[dict]) -> float:
    """The task's headline metric, flexible reading."""
    return score_items(items, "flexible")["score"]


def strict_invalid(items: list[dict]) -> float:
    """Share of answers the strict reading finds invalid."""
    return score_items(items, "strict")["invalid_rate"]


def flexible_invalid(items: list[dict]) -> float:
    """Share of answers in which the flexible reading finds no answer."""
    return score_items(items, "flexible")["invalid_rate"]


def predictions_from_samples(samples: Iterable[dict]) -> list[dict]:
    """``ecellm score`` input records from lm-eval's logged samples of the generation subtasks (``log_samples``;
    the ``samples_<task>_*.jsonl`` files of ``--log_samples --output_path``); log-likelihood samples are skipped.
    Scoring them with ``ecellm score`` gives lm-eval's numbers, with bootstrap intervals and per-row verdicts."""
    records = []
    for sample in samples:
        text = (sample.get("filtered_resps") or [None])[0]
        if not isinstance(text, str):  # a multiple-choice sample: one (loglik, is_greedy) per choice
            continue
        doc = sample["doc"]
        records.append({"id": doc["id"], "task": _task(doc).code, "split": split_of(doc), "prediction": text,
                        "reference": doc["output"], "options": doc.get("options"),
                        "option_labels": doc.get("option_labels")})
    return records


def _pair_scorer() -> Any:
    from ecellm.evaluation.scoring import MemoPairScorer, resolve_encoder

    spec = os.environ.get(ENCODER_ENV, "auto")
    if spec not in _pair_scorers:
        _pair_scorers[spec] = MemoPairScorer(resolve_encoder(spec))
    return _pair_scorers[spec]


def _task(doc: dict) -> Task:
    return get_task(doc.get("task_code") or doc["task"])
