"""A PNG bar chart: per task, our headline score (strict mode) beside the published models'."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecellm.evaluation.paper_scores import Published
from ecellm.evaluation.tables import SPLIT_TITLES, task_columns
from ecinstruct.atomic import atomic_write_bytes


@dataclass(frozen=True)
class Series:
    """One bar per tick: ``values`` (None draws nothing: a zero bar), optional ``[low, high]`` error lengths."""

    name: str
    values: list[float | None]
    errors: list[list[float]] | None = None
    color: str | None = None


def grouped_bars(ax: Any, ticks: list[str], series: list[Series], *, ylim: float, tick_fontsize: float | None = None,
                 legend: dict[str, Any] | None = None) -> None:
    """The project's one bar chart: the series side by side at each tick (0.8 of the space per tick)."""
    width = 0.8 / len(series)
    for i, bars in enumerate(series):
        xs = [k + (i - (len(series) - 1) / 2) * width for k in range(len(ticks))]
        ax.bar(xs, [v if v is not None else 0.0 for v in bars.values], width, label=bars.name, yerr=bars.errors,
               capsize=2, color=bars.color)
    ax.set_xticks(range(len(ticks)), ticks, fontsize=tick_fontsize)
    ax.set_ylim(0, ylim)
    ax.legend(**(legend or {}))


def save_panels(n_panels: int, panel_height: float, draw: Callable[[Any, int], None], path: str | Path,
                dpi: int) -> Path:
    """A PNG of ``n_panels`` stacked panels, each drawn by ``draw(ax, index)``; written atomically."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never a display
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(n_panels, 1, figsize=(11, panel_height * n_panels), squeeze=False)
    for i, ax in enumerate(axes[:, 0]):
        draw(ax, i)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def plot_results(entries: list[dict], path: str | Path, *, label: str, published: Published | None, config: str,
                 mode: str = "strict") -> Path:
    """One panel per split present; bars: ours (``mode``) first, then each published model."""
    splits = [s for s in SPLIT_TITLES if any(e["split"] == s for e in entries)]

    def draw(ax: Any, i: int) -> None:
        split = splits[i]
        _panel(ax, [e for e in entries if e["split"] == split and e["mode"] == mode
                    and e.get("method") != "loglik_norm"], split, label,
               published.table(config, split) if published else {})

    return save_panels(len(splits), 3.6, draw, path, dpi=110)


def _ci_bars(heights: list[float], detail: list[dict]) -> list[list[float]]:
    pairs = list(zip(heights, detail, strict=True))
    low = [max(h - (d["ci_low"] if d["ci_low"] is not None else h), 0.0) for h, d in pairs]
    high = [max((d["ci_high"] if d["ci_high"] is not None else h) - h, 0.0) for h, d in pairs]
    return [low, high]


def _panel(ax, entries: list[dict], split: str, label: str, published: dict[str, dict[str, float]]) -> None:
    codes = task_columns(e["task"] for e in entries)
    ours = [{**e, "score": e["score"] if e["score"] is not None else 0.0} for e in (
        {e["task"]: e for e in entries}[c] for c in codes)]
    heights = [e["score"] for e in ours]
    series = [Series(f"{label} (ours)", heights, _ci_bars(heights, ours))]  # bootstrap CI on our bars
    series += [Series(model, [values.get(c) for c in codes]) for model, values in published.items()]
    grouped_bars(ax, codes, series, ylim=1.25,  # headroom above 1.0 for the legend
                 legend={"fontsize": 8, "ncols": min(len(series), 4), "loc": "upper center"})
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("headline metric")
    ax.set_title(SPLIT_TITLES[split])
