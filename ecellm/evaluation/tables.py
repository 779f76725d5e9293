"""Markdown tables: the paper's overall layout (Tables 2–3: one row per model, one column per task's
headline metric) with published numbers beside ours, and a detail table with CIs and sub-metrics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ecellm.engines.methods import Method
from ecellm.evaluation.paper_scores import Published
from ecinstruct.tasks import TASKS, get_task

# Every split `ecellm eval --splits` accepts, in report order (validation: choosing settings, never the test).
SPLIT_TITLES = {"test_ind": "In-domain (IND)", "test_ood": "Out-of-domain (OOD)", "validation": "Validation"}


def fmt(value: Any, digits: int = 3) -> str:
    """3 decimals like the paper; a dash for a missing or undefined value."""
    return "–" if value is None else f"{value:.{digits}f}"


def row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def header(columns: list[str]) -> list[str]:
    return [row(columns), row(["---"] * len(columns))]


def task_columns(codes: Iterable[str]) -> list[str]:
    """Codes in paper order."""
    wanted = set(codes)
    return [t.code for t in TASKS if t.code in wanted]


def overall_table(entries: list[dict], split: str, label: str, published: Published | None, config: str,
                  modes: Iterable[str]) -> str:
    """One split in the paper's overall layout: published model rows, then ours per scoring mode."""
    ours = [e for e in entries if e["split"] == split]
    codes = task_columns(e["task"] for e in ours)
    if not codes:
        return ""
    lines = header(["model", *(f"{c} {get_task(c).headline_metric}" for c in codes)])
    for model, values in (published.table(config, split) if published else {}).items():
        lines.append(row([f"{model} (published)", *(fmt(values.get(c)) for c in codes)]))
    methods = list(dict.fromkeys(e.get("method", "generate") for e in ours))
    for method in methods:
        for mode in modes:
            by_task = {e["task"]: e for e in ours if e["mode"] == mode and e.get("method", "generate") == method}
            if not by_task:
                continue
            name = f"{mode}" if methods == [Method.GENERATE] else f"{method}, {mode}"
            lines.append(row([f"**{label}** ({name})", *(fmt(by_task.get(c, {}).get("score")) for c in codes)]))
    return "\n".join(lines)


def detail_table(entries: list[dict]) -> str:
    """Every task × split × mode: headline with CI, invalid rate, sub-metrics."""
    lines = header(["task", "split", "method", "reading", "metric", "score", "95% CI", "n", "invalid", "sub-metrics"])
    order = {t.code: i for i, t in enumerate(TASKS)}
    for e in sorted(entries, key=lambda e: (e["split"], order[e["task"]], e.get("method", ""), e["mode"])):
        subs = ", ".join(f"{k} {fmt(v)}" for k, v in e["metrics"].items() if k != e["metric_key"])
        ci = f"[{fmt(e['ci_low'])}, {fmt(e['ci_high'])}]"
        rate = e["invalid_rate"]
        invalid = f"{e['invalid']} ({'–' if rate is None else f'{rate:.1%}'})"
        lines.append(row([e["task"], e["split"], e.get("method", "generate"), e["mode"], e["metric"], fmt(e["score"]),
                          ci, str(e["n"]), invalid, subs]))
    return "\n".join(lines)


def results_markdown(meta: dict[str, Any], entries: list[dict], published: Published | None) -> str:
    """The whole report: header, overall tables per split, details."""
    label = meta["model"]["name"]
    config = meta["data"]["config"]
    modes = meta["scoring"]["modes"]
    parts = [f"# ECInstruct evaluation: {label}", "",
             *(_predictions_header(meta) if "predictions" in meta else _eval_header(meta)),
             f"- AG encoder: {meta['scoring']['bertscore_encoder']['label']}",
             f"- method: `{meta.get('method', 'generate')}`; readings: {', '.join(modes)} (reference: the paper's "
             "evaluator; strict: exact answer format, invalid = wrong; flexible: the answer found in a chatty output)"]
    if published is not None:
        parts.append(f"- published numbers: {published.source}")
    for split in SPLIT_TITLES:
        table = overall_table(entries, split, label, published, config, modes)
        if table:
            parts += ["", f"## {SPLIT_TITLES[split]} — headline metric per task ({config})", "", table]
    parts += ["", "## Details (bootstrap 95% CI; invalid = unparseable answers)", "", detail_table(entries), ""]
    return "\n".join(parts)


def _eval_header(meta: dict[str, Any]) -> list[str]:
    """Where an `ecellm eval` run's answers came from: the model, its prompt format, the data, the decoding."""
    label, config, gen = meta["model"]["name"], meta["data"]["config"], meta["generation"]
    decoding = "greedy" if not gen["do_sample"] else f"sampling T={gen['temperature']} top-p={gen['top_p']}"
    return [
        f"- model: `{label}` ({meta['model']['kind']}" + (f", base {base}" if (base := meta["model"]["base"]) else "")
        + ")",
        f"- prompt format: `{meta['prompt_format']}` ({meta['prompt_format_source']})",
        f"- data: `{meta['data']['source']}`, config `{config}`"
        + (f", first {meta['data']['max_samples']} rows per task and split" if meta["data"]["max_samples"] else ""),
        f"- generation: {decoding}, max new tokens {gen['max_new_tokens'] or 'task budget (100)'}, "
        f"backend {meta['backend']}, {meta['dtype']}; settings hash `{meta['settings_hash']}`",
    ]


def _predictions_header(meta: dict[str, Any]) -> list[str]:
    """Where an `ecellm score` run's answers came from: a predictions file (no model was run)."""
    data = meta["data"]
    references = "in the file" if data["source"] == meta["predictions"]["file"] else \
        f"`{data['source']}`, config `{data['config']}`"
    return [f"- predictions: `{meta['predictions']['file']}` ({meta['predictions']['rows']} rows, scored by "
            "`ecellm score`; no model was run)",
            f"- references: {references}; prompt format `{meta['prompt_format']}` (cuts a repeated response marker)"]
