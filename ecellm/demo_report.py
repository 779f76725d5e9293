"""The demo's report: the before/after table per task and split, the chart, and ``report.md``."""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hub_cards.results import SPLIT_LABELS, Score


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


def atomic_write(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary sibling and rename it: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def before_after_rows(before: list[Score], after: list[Score]) -> list[dict]:
    """One row per (task, split) of the fine-tuned results, with the zero-shot score beside it."""
    zero = {(s.task, s.split): s for s in before}
    rows = []
    for s in after:
        b = zero.get((s.task, s.split))
        rows.append({"task": s.task, "split": SPLIT_LABELS[s.split], "metric": s.metric, "n": s.n,
                     "before": None if b is None else b.value, "after": s.value,
                     "delta": None if b is None else s.value - b.value})
    return rows


def table_markdown(rows: list[dict]) -> str:
    def f(v: float | None, sign: bool = False) -> str:
        return "–" if v is None else (f"{v:+.3f}" if sign else f"{v:.3f}")

    lines = ["| task | split | metric | n | zero-shot | fine-tuned | change |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['task']} | {r['split']} | {r['metric']} | {r['n'] or '–'} | {f(r['before'])} | "
              f"**{f(r['after'])}** | {f(r['delta'], sign=True)} |" for r in rows]
    return "\n".join(lines)


def plot_before_after(rows: list[dict], path: Path, title: str) -> Path:
    """Grouped bars per task, one panel per split: zero-shot vs fine-tuned headline score."""
    import matplotlib

    matplotlib.use("Agg")  # files only
    import matplotlib.pyplot as plt

    splits = [s for s in ("IND", "OOD") if any(r["split"] == s for r in rows)]
    fig, axes = plt.subplots(len(splits), 1, figsize=(10, 3.4 * len(splits)), squeeze=False)
    for ax, split in zip(axes[:, 0], splits, strict=True):
        part = [r for r in rows if r["split"] == split]
        xs = range(len(part))
        ax.bar([x - 0.2 for x in xs], [r["before"] or 0.0 for r in part], 0.4, label="zero-shot", color="#bbbbbb")
        ax.bar([x + 0.2 for x in xs], [r["after"] for r in part], 0.4, label="fine-tuned", color="#2b7bba")
        ax.set_xticks(list(xs), [f"{r['task']}\n{r['metric']}" for r in part], fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(f"{title}: {split} test")
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return atomic_write(path, buffer.getvalue())


def report_markdown(run: DemoRun, rows: list[dict]) -> str:
    mean = _mean_change(rows)
    s = run.train_summary
    parts = [
        "# eCeLLM demo: zero-shot → fine-tune → evaluate",
        "",
        f"- base model: `{run.base_model}`; recipe `{run.recipe}` (LoRA, prompt format `{s.get('prompt_format')}`)",
        f"- data: {run.data}",
        f"- training: {s.get('train_rows')} rows, {s.get('global_step')} optimizer steps, final training loss "
        f"{_num((s.get('metrics') or {}).get('train_loss'))}",
        "- evaluation: greedy decoding, strict scoring, "
        + (f"first {run.rows_per_task} test rows per task and split" if run.rows_per_task else "all test rows"),
        f"- mean change of the headline metric over {len(rows)} task × split cells: {_num(mean, sign=True)}",
        "",
        "## Before and after, per task",
        "",
        table_markdown(rows),
        "",
        "![before/after](before_after.png)",
        "",
        "Scores on a few rows are noisy (one row moves a binary F1 a lot), and a demo-sized model trained for a "
        "handful of steps stays far below the paper's: the point is the pipeline, not the numbers. The evaluation "
        "folders hold the "
        "paper-style tables with the published eCeLLM numbers, confidence intervals and every generated answer.",
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


def _mean_change(rows: list[dict]) -> float | None:
    deltas = [r["delta"] for r in rows if r["delta"] is not None]
    return sum(deltas) / len(deltas) if deltas else None


def _num(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.3f}" if sign else f"{value:.3f}"


def _rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)
