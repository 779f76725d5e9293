"""A PNG bar chart: per task, our headline score (strict mode) beside the published models'."""

from __future__ import annotations

import io
from pathlib import Path

from ecellm.evaluation.published import Published
from ecellm.evaluation.tables import SPLIT_TITLES, task_columns
from ecinstruct.atomic import atomic_write_bytes


def plot_results(entries: list[dict], path: str | Path, *, label: str, published: Published | None, config: str,
                 mode: str = "strict") -> Path:
    """One panel per split present; bars: ours (``mode``) first, then each published model."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never a display
    import matplotlib.pyplot as plt

    splits = [s for s in SPLIT_TITLES if any(e["split"] == s for e in entries)]
    fig, axes = plt.subplots(len(splits), 1, figsize=(11, 3.6 * len(splits)), squeeze=False)
    for ax, split in zip(axes[:, 0], splits, strict=True):
        _panel(ax, [e for e in entries if e["split"] == split and e["mode"] == mode
                       and e.get("method") != "loglik_norm"], split, label,
               published.table(config, split) if published else {})
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def _ci_bars(heights: list[float], detail: list[dict]) -> list[list[float]]:
    pairs = list(zip(heights, detail, strict=True))
    low = [max(h - (d["ci_low"] if d["ci_low"] is not None else h), 0.0) for h, d in pairs]
    high = [max((d["ci_high"] if d["ci_high"] is not None else h) - h, 0.0) for h, d in pairs]
    return [low, high]


def _panel(ax, entries: list[dict], split: str, label: str, published: dict[str, dict[str, float]]) -> None:
    codes = task_columns(e["task"] for e in entries)
    ours = {e["task"]: e for e in entries}
    series = [(f"{label} (ours)", [ours[c]["score"] for c in codes], [ours[c] for c in codes])]
    series += [(model, [values.get(c) for c in codes], None) for model, values in published.items()]
    width = 0.8 / len(series)
    for i, (name, values, detail) in enumerate(series):
        xs = [k + (i - (len(series) - 1) / 2) * width for k in range(len(codes))]
        heights = [v if v is not None else 0.0 for v in values]
        errors = _ci_bars(heights, detail) if detail is not None else None  # bootstrap CI on our bars
        ax.bar(xs, heights, width, label=name, yerr=errors, capsize=2)
    ax.set_xticks(range(len(codes)), codes)
    ax.set_ylim(0, 1.25)  # headroom above 1.0 for the legend
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("headline metric")
    ax.set_title(SPLIT_TITLES[split])
    ax.legend(fontsize=8, ncols=min(len(series), 4), loc="upper center")
