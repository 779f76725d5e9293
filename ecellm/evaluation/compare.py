"""Compare result folders: per task × split, the headline delta with a paired-bootstrap p-value.

``compare(a, b)``: ``b`` may be several result folders merged by (task, split), which is how a set of
task-specific models (one folder each) is compared with one generalist (the paper's Table 5). Items
are paired by row id; only ids both sides answered are compared.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ecellm.evaluation.errors import EvaluationError
from ecellm.evaluation.results import Results
from ecellm.evaluation.scoring import Encoder, MemoPairScorer, ScoringOptions, compare_rows
from ecellm.evaluation.tables import fmt, header, row
from ecinstruct.tasks import TASKS, get_task

logger = logging.getLogger(__name__)
TABLE_START = "Paired bootstrap ("  # how the table begins: how `compare --out` recognises its own earlier file


def _as_results(item: Results | str | Path) -> Results:
    return item if isinstance(item, Results) else Results.load(item)


def merge_samples(results: Sequence[Results]) -> dict[tuple[str, str], dict[str, dict]]:
    """``{(task, split): {row id: sample}}`` over several results (later ones win on overlaps)."""
    merged: dict[tuple[str, str], dict[str, dict]] = {}
    for result in results:
        for pair, samples in result.samples.items():
            merged.setdefault(pair, {}).update({s["id"]: s for s in samples})
    return merged


def compare(a: Results | str | Path, b: Results | str | Path | Sequence[Results | str | Path], *,
            mode: str = "strict", n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0,
            progress: bool = False, method: str | None = None) -> list[dict[str, Any]]:
    """Rows ``{task, split, metric, n, score_a, score_b, delta, low, high, p_value}`` (delta = B − A).

    ``method`` picks the answers of one method (``generate``, ``constrained``, ``loglik``, ``loglik_norm``) where a
    run holds several; by default each run's own."""
    first = _as_results(a)
    others = [_as_results(x) for x in (b if isinstance(b, list | tuple) else [b])]
    samples_a, samples_b = merge_samples([first]), merge_samples(others)
    if not any(samples_a.values()):
        raise EvaluationError(f"{first.out_dir}: no per-sample logs (samples/); compare needs folders written by "
                              "`ecellm eval --out DIR`")
    options = ScoringOptions(n_resamples, confidence, seed, pair_scorer(first, progress))
    rows = []
    order = {t.code: i for i, t in enumerate(TASKS)}
    for task_code, split in sorted(set(samples_a) & set(samples_b), key=lambda p: (p[1], order[p[0]])):
        found = _compare_pair(task_code, split, samples_a[(task_code, split)], samples_b[(task_code, split)], mode,
                              options, method)
        if found:
            rows.append(found)
    if not rows:
        raise EvaluationError("the results share no task × split with common row ids; compare results of the same "
                              "data (same --data, --config, --splits)")
    return rows


def pair_scorer(results: Results, progress: bool = False) -> MemoPairScorer | None:
    """The BERTScore pair scorer a run was scored with (its recorded encoder), or ``None`` when it used none:
    a comparison must score both sides with the same encoder."""
    encoder = results.meta.get("scoring", {}).get("bertscore_encoder", {})
    if not encoder.get("model_type"):
        return None
    return MemoPairScorer(Encoder(encoder["model_type"], encoder.get("num_layers"), encoder["label"]), progress)


def _compare_pair(task_code: str, split: str, a: dict[str, dict], b: dict[str, dict], mode: str,
                  options: ScoringOptions, method: str | None = None) -> dict[str, Any] | None:
    ids = [i for i in a if i in b]
    if not ids:
        return None
    try:
        answers_a = [_verdict(a[i], mode, method)["answer"] for i in ids]
        answers_b = [_verdict(b[i], mode, method)["answer"] for i in ids]
    except KeyError:
        if method is not None:
            return None  # this task was not run with that method (AVE/AG in a log-likelihood run)
        raise EvaluationError(f"mode {mode!r} was not scored in both results; rerun eval with --modes {mode}") from None
    return compare_rows(get_task(task_code), split, mode, answers_a, answers_b, [a[i] for i in ids], options)


def _verdict(sample: dict, mode: str, method: str | None) -> dict:
    return sample[mode] if method is None else sample["methods"][method][mode]


def compare_markdown(rows: list[dict[str, Any]], labels: tuple[str, str] = ("A", "B"), mode: str = "strict") -> str:
    """One table: per task × split, A, B, B − A with its CI, and the paired-bootstrap p-value."""
    a, b = labels
    lines = [f"{TABLE_START}{mode} mode): delta = {b} − {a}; * p < 0.05", "",
             *header(["task", "split", "metric", "n", a, b, "delta", "95% CI", "p"])]
    for r in rows:
        star = "*" if r["p_value"] is not None and r["p_value"] < 0.05 else ""
        lines.append(row([r["task"], r["split"], r["metric"], str(r["n"]), fmt(r["score_a"]), fmt(r["score_b"]),
                           f"{r['delta']:+.3f}" if r["delta"] is not None else "–",
                           f"[{fmt(r['low'])}, {fmt(r['high'])}]", f"{fmt(r['p_value'])}{star}"]))
    return "\n".join(lines) + "\n"
