"""ECInstruct rows → the prompt/completion datasets SFTTrainer trains and evaluates on.

TRL does the rest the reference did by hand: it tokenizes prompt and prompt + completion,
appends EOS to text completions, masks the prompt (completion-only loss) and truncates at ``max_length``.
What is added here: the data source, the task filter, and fitting over-long rows by shortening their
*input*, so that the answer and EOS are never cut and no row ends up with every label masked.
"""

from __future__ import annotations

import logging
from collections import Counter
from importlib import resources
from pathlib import Path

import datasets

from ecellm.errors import TrainingError
from ecellm.training.config import ECeLLMArguments

logger = logging.getLogger(__name__)

SAMPLE_SOURCE = "sample"  # dataset_name alias: the embedded ECInstruct sample shipped with ecinstruct
_EOS_AND_MARGIN = 1 + 4  # the EOS TRL appends, plus slack for re-tokenization after cutting the input


def resolve_source(dataset_name: str | None) -> str:
    """``dataset_name`` as ``ecinstruct.load`` takes it; ``sample`` means the package's embedded sample."""
    if not dataset_name:
        raise TrainingError("the recipe has no dataset_name: give a Hub id (NingLab/ECInstruct), a published "
                         "dataset.json, a folder written by `ecinstruct build`, or `sample`")
    if dataset_name == SAMPLE_SOURCE and not Path(dataset_name).exists():
        return str(resources.files("ecinstruct").joinpath("data/sample/dataset.jsonl"))
    return dataset_name


def load_rows(dataset_name: str | None, config: str | None, splits: tuple[str, ...],
              args: ECeLLMArguments) -> datasets.DatasetDict:
    """The requested splits of an ECInstruct config, filtered to ``args.tasks``."""
    import ecinstruct
    from ecinstruct.tasks import resolve_tasks

    loaded = ecinstruct.load(resolve_source(dataset_name), config or "default")
    missing = [s for s in splits if s not in loaded]
    if missing:
        raise TrainingError(f"{dataset_name} (config {config or 'default'!r}) has no split(s) {missing}; it has "
                         f"{list(loaded)}. Set dataset_train_split / dataset_test_split accordingly.")
    out = datasets.DatasetDict({s: loaded[s] for s in splits})
    if args.tasks:
        codes = {t.code for t in resolve_tasks(args.tasks)}
        present = {s: sorted(set(d["task_code"])) for s, d in out.items()}
        out = out.filter(lambda row: row["task_code"] in codes)
        logger.info("task-specific training on %s: %s", sorted(codes), {s: len(d) for s, d in out.items()})
        empty = [s for s, d in out.items() if len(d) == 0]
        if empty:
            raise TrainingError(f"{dataset_name} has no rows of task(s) {', '.join(sorted(codes))} in split "
                                f"{empty[0]}; it has tasks {', '.join(present[empty[0]]) or 'none'}. Choose --tasks "
                                "among those, or a dataset that holds the task")
    return out


def to_prompt_completion(rows: datasets.Dataset, prompt_format: str, tokenizer=None,
                         max_length: int | None = None) -> datasets.Dataset:
    """Rows → ``{"prompt", "completion"}`` in ``prompt_format``; rows too long for ``max_length`` get their input
    shortened (when a tokenizer is given), rows that cannot fit even with an empty input are dropped."""
    from ecinstruct.prompts import to_prompt_completion as convert

    def fn(row: dict) -> dict:
        example = convert(row, prompt_format)
        status = "ok"
        if tokenizer is not None and max_length and _length(example, tokenizer) > max_length:
            example, status = _fit(row, prompt_format, tokenizer, max_length)
        return {**example, "fit": status}

    converted = rows.map(fn, remove_columns=rows.column_names, desc="Formatting prompts")
    counts = Counter(converted["fit"])
    if counts["trimmed"] or counts["dropped"]:
        logger.warning("%d row(s) longer than max_length=%s had their input shortened; %d could not fit and were "
                       "dropped", counts["trimmed"], max_length, counts["dropped"])
    return converted.filter(lambda r: r["fit"] != "dropped").remove_columns("fit")


def _length(example: dict, tokenizer) -> int:
    """Tokens of prompt + completion + EOS, as TRL will build them."""
    if isinstance(example["prompt"], list):  # conversational: the chat template adds its own end of turn
        ids = tokenizer.apply_chat_template(example["prompt"] + example["completion"], tokenize=True)
        ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
        return len(ids)
    return len(tokenizer(example["prompt"] + example["completion"])["input_ids"]) + _EOS_AND_MARGIN


def _fit(row: dict, prompt_format: str, tokenizer, max_length: int) -> tuple[dict, str]:
    from ecinstruct.prompts import to_prompt_completion as convert

    input_ids = tokenizer(row["input"], add_special_tokens=False)["input_ids"]
    keep = len(input_ids)
    for _ in range(4):  # re-tokenizing a cut text can shift a few tokens; a few rounds always settle it
        example = convert({**row, "input": row["input"] if keep == len(input_ids) else
                           tokenizer.decode(input_ids[:keep])}, prompt_format)
        excess = _length(example, tokenizer) - max_length
        if excess <= 0:
            return example, "trimmed"
        keep -= excess
        if keep <= 0:
            break
    return convert(row, prompt_format), "dropped"


def task_eval_rows(rows: datasets.Dataset, per_task: int) -> datasets.Dataset:
    """The first ``per_task`` rows of each task: the subset the in-training task evaluation generates on."""
    seen: Counter = Counter()
    keep = []
    for i, code in enumerate(rows["task_code"]):
        if seen[code] < per_task:
            seen[code] += 1
            keep.append(i)
    return rows.select(keep)


def select_train_rows(rows: datasets.Dataset, per_task: int | None, balance_answers: bool,
                      seed: int, repeat_rare: bool = False,
                      per_task_for: dict[str, int] | None = None) -> datasets.Dataset:
    """At most ``per_task`` rows of each task, drawn with ``seed``; with ``balance_answers``, a closed-answer
    task's rows are taken round-robin over its reference answers (each answer's rows in seeded order).
    With ``repeat_rare`` an answer that runs out starts its rows again, so every answer gets an equal share of
    ``per_task`` even when the task holds fewer rows of it (SA: 10 "negative" among 215). ``per_task_for`` gives
    some tasks their own number instead of ``per_task`` (``{"SA": 500}``).

    The result is shuffled, so a run that stops early has still seen every task.
    """
    import random

    if per_task is None and not balance_answers and not per_task_for:
        return rows
    rng = random.Random(seed)
    codes, outputs = rows["task_code"], rows["output"]
    by_task: dict[str, list[int]] = {}
    for i, code in enumerate(codes):
        by_task.setdefault(code, []).append(i)
    keep: list[int] = []
    for code, idx in sorted(by_task.items()):
        wanted = (per_task_for or {}).get(code, per_task)
        rng.shuffle(idx)
        if balance_answers and has_closed_answers(rows[idx[0]]):
            idx = _round_robin(idx, [outputs[i] for i in idx], repeat_until=wanted if repeat_rare else None)
        keep += idx[:wanted] if wanted is not None else idx
    rng.shuffle(keep)
    counts = Counter(codes[i] for i in keep)
    logger.info("training rows per task: %s%s", dict(sorted(counts.items())),
                " (answers balanced within closed-answer tasks)" if balance_answers else "")
    return rows.select(keep)


def has_closed_answers(row: dict) -> bool:
    """Whether the row's task answers from a fixed candidate set (yes/no, options) rather than free text."""
    from ecinstruct.tasks import get_task

    return get_task(row["task_code"]).scorer.candidates(row) is not None


def _round_robin(idx: list[int], answers: list[str], repeat_until: int | None = None) -> list[int]:
    """``idx`` reordered to cycle through the answers: a1, b1, c1, a2, b2, c2, ... until each runs out; with
    ``repeat_until``, an answer that runs out starts again (a1, b1, a2, b1, ...) until that many are taken."""
    groups: dict[str, list[int]] = {}
    for i, a in zip(idx, answers, strict=True):
        groups.setdefault(a, []).append(i)
    queues = [groups[a] for a in sorted(groups)]
    if repeat_until is not None:
        rounds = -(-repeat_until // len(queues))  # ceil: every answer gets the same number of rows
        return [q[k % len(q)] for k in range(rounds) for q in queues][:repeat_until]
    out: list[int] = []
    for k in range(max(len(q) for q in queues)):
        out += [q[k] for q in queues if k < len(q)]
    return out
