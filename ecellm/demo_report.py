"""The demo's report: the before/after table per task and split, the chart, and ``report.md``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ecellm.publishing.scores import SPLIT_LABELS


@dataclass
class DemoRun:
    """Everything the report names: folders, scores before and after, timings, the Hub-ready folders."""

    out: Path
    recipe: str
    base_model: str
    data: str
    rows_per_task: int | None
    train_summary: dict
    folders: dict[str, Path]
    timings: dict[str, float] = field(default_factory=dict)
    publish_commands: list[str] = field(default_factory=list)
    loglik_rows_per_task: int | None = None


# The cells of the report: (method, reading). Log-likelihood answers are always well-formed, so their readings
# agree; the strict one stands for them.
CELLS = (("generate", "strict"), ("generate", "flexible"), ("loglik", "strict"), ("loglik_norm", "strict"))
METHOD_TITLES = {"generate": "free generation", "constrained": "constrained generation",
                 "loglik": "log-likelihood (acc)", "loglik_norm": "log-likelihood, length-normalised (acc_norm)"}


def paired_changes(before_runs: tuple[Path, ...], after_runs: tuple[Path, ...], readings: tuple[str, ...],
                   n_resamples: int = 1000, alpha: float = 0.05,
                   cells: tuple[tuple[str, str], ...] = CELLS) -> list[dict]:
    """Zero-shot vs fine-tuned per task × split for every (method, reading) cell, with the paired-bootstrap CI
    of the change and its p-value (the same rows, the same resamples for both models)."""
    from ecellm.evaluation.compare import compare
    from ecellm.evaluation.errors import EvaluationError

    rows = []
    for before, after in zip(before_runs, after_runs, strict=True):
        for method, reading in cells:
            if reading not in readings:
                continue
            try:
                found = compare(before.parent, after.parent, mode=reading, method=method, n_resamples=n_resamples)
            except EvaluationError:
                continue  # this run has no such method
            rows += [{**r, "method": method, "reading": reading, "split": SPLIT_LABELS[r["split"]],
                      "significant": r["p_value"] is not None and r["p_value"] < alpha} for r in found]
    # A constrained or log-likelihood run generates its open tasks freely: count each cell once.
    unique = {(r["task"], r["split"], r["method"], r["reading"]): r for r in reversed(rows)}
    return [r for r in rows if unique[(r["task"], r["split"], r["method"], r["reading"])] is r]


def table_markdown(rows: list[dict]) -> str:
    def f(v: float | None, sign: bool = False) -> str:
        return "–" if v is None else (f"{v:+.3f}" if sign else f"{v:.3f}")

    lines = ["| task | split | metric | n | zero-shot | fine-tuned | change | 95% CI of change | p |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['task']} | {r['split']} | {r['metric']} | {r['n']} | {f(r['score_a'])} | "
              f"**{f(r['score_b'])}** | {f(r['delta'], sign=True)}{' *' if r['significant'] else ''} | "
              f"[{f(r['low'], sign=True)}, {f(r['high'], sign=True)}] | {f(r['p_value'])} |" for r in rows]
    return "\n".join(lines)


def plot_before_after(rows: list[dict], path: Path, title: str) -> Path:
    """Grouped bars per task × split, one panel per (method, reading): zero-shot vs fine-tuned headline score;
    a star marks a change with p < 0.05 (paired bootstrap)."""
    from ecellm.evaluation.chart import Series, grouped_bars, save_panels

    cells = list(dict.fromkeys((r["method"], r["reading"]) for r in rows))

    def draw(ax, i: int) -> None:
        if i >= len(cells):  # no rows: one empty panel
            return
        method, reading = cells[i]
        part = [r for r in rows if (r["method"], r["reading"]) == (method, reading)]
        grouped_bars(ax, [f"{r['task']}\n{r['split']}" for r in part],
                     [Series("zero-shot", [r["score_a"] for r in part], color="#bbbbbb"),
                      Series("fine-tuned", [r["score_b"] for r in part], color="#2b7bba")],
                     ylim=1.12, tick_fontsize=7, legend={"loc": "upper right", "fontsize": 7})
        for x, r in enumerate(part):
            if r["significant"]:
                ax.text(x, max(r["score_a"] or 0.0, r["score_b"] or 0.0) + 0.03, "*", ha="center", fontsize=13)
        ax.set_title(f"{title}: {METHOD_TITLES.get(method, method)}, {reading} reading (* p < 0.05)", fontsize=9)

    return save_panels(max(1, len(cells)), 3.2, draw, path, dpi=100)


def trained_tasks(summary: dict) -> str:
    """The tasks a training summary names: a list of codes, or ``"all"`` when the recipe's ``tasks`` was empty."""
    tasks = summary.get("tasks")
    return ", ".join(tasks) if isinstance(tasks, list) and tasks else "every task"


def report_markdown(run: DemoRun, rows: list[dict]) -> str:
    s = run.train_summary
    significant = [r for r in rows if r["significant"]]
    parts = [
        "# eCeLLM demo: zero-shot → fine-tune → evaluate",
        "",
        f"- base model: `{run.base_model}`; recipe `{run.recipe}` (LoRA, prompt format `{s.get('prompt_format')}`)",
        f"- data: {run.data}",
        f"- training: {s.get('train_rows')} rows of {trained_tasks(s)}, "
        f"{s.get('global_step')} optimizer steps, final training loss "
        f"{_num((s.get('metrics') or {}).get('train_loss'))}",
        "- evaluation: free generation (greedy) on "
        + (f"the first {run.rows_per_task} test rows per task and split" if run.rows_per_task else "all test rows")
        + "; log-likelihood choice on the closed-answer tasks, "
        + (f"first {run.loglik_rows_per_task} rows" if run.loglik_rows_per_task else "all rows")
        + " per task and split",
        f"- changes significant at p < 0.05 (paired bootstrap, 1,000 resamples): {len(significant)} of {len(rows)} "
        "task × split × method cells",
        "",
        "Readings: **strict** takes the answer only in the exact format the data uses (anything else is invalid "
        "and wrong); **flexible** finds the answer in a chatty output (an option named in a sentence, a yes/no "
        "paraphrase, JSON inside a code fence) and scores it the same way; the paper's own evaluator "
        "(**reference** reading) is in the evaluation folders. **Log-likelihood** scores every candidate answer "
        "after the prompt and takes the most likely one, so no answer is invalid; acc_norm divides by the "
        "candidate's length in bytes.",
    ]
    parts += moved_markdown(rows)
    for method, reading in CELLS:
        part = [r for r in rows if (r["method"], r["reading"]) == (method, reading)]
        if part:
            parts += ["", f"## {METHOD_TITLES[method].capitalize()}, {reading} reading", "", table_markdown(part)]
    parts += [
        "",
        "`*`: p < 0.05. ![before/after](before_after.png)",
        "",
        "A demo-sized model trained for a handful of steps stays far below the paper's, and a few rows per cell "
        "leave wide intervals: the point is the pipeline and an honest reading of its numbers. The evaluation "
        "folders hold the paper-style tables with the published eCeLLM numbers and every answer.",
        "",
        "## Files",
        "",
        *(f"- {name}: `{_rel(path, run.out)}`" for name, path in run.folders.items()),
        "",
        "## Publish",
        "",
        "The Hub-ready folders above are exactly what would be uploaded. To publish (token from `HF_TOKEN` or "
        "`hf auth login`):",
        "",
        "```bash",
        *run.publish_commands,
        "```",
        "",
        "## Timing",
        "",
        "| stage | seconds |",
        "|---|---|",
        *(f"| {stage} | {seconds:.0f} |" for stage, seconds in run.timings.items()),
        f"| total | {sum(run.timings.values()):.0f} |",
        "",
    ]
    return "\n".join(parts)


def moved_markdown(rows: list[dict]) -> list[str]:
    """What moved and what did not: the significant gains, then the significant losses, each with its CI, then
    how many cells did not change significantly (the tables below hold every cell)."""
    gains = [r for r in rows if r["significant"] and r["delta"] > 0]
    losses = [r for r in rows if r["significant"] and r["delta"] < 0]

    def line(r: dict) -> str:
        return (f"- {r['task']} {r['split']}, {METHOD_TITLES[r['method']]}, {r['reading']}: {_num(r['score_a'])} → "
                f"{_num(r['score_b'])} ({_num(r['delta'], True)}, 95% CI [{_num(r['low'], True)}, "
                f"{_num(r['high'], True)}], p {_num(r['p_value'])})")

    lines = ["", "## What moved", "", f"Significant gains ({len(gains)}):", ""]
    lines += [line(r) for r in gains] or ["- none"]
    lines += ["", f"Significant losses ({len(losses)}):", ""]
    lines += [line(r) for r in losses] or ["- none"]
    lines += ["", f"No significant change: {len(rows) - len(gains) - len(losses)} of {len(rows)} cells."]
    return lines


def _num(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.3f}" if sign else f"{value:.3f}"


def _rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)
