"""Offline smoke run of the data layer on the embedded sample (what `make demo` runs for now).

Builds the package's embedded ECInstruct sample into the Hub layout, loads every config back with
plain ``datasets.load_dataset``, and writes a small report (counts and one rendered prompt per
task). The full demo (zero-shot eval → fine-tune → eval → report) will replace this.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import datasets

from ecinstruct.export import write_hub_layout
from ecinstruct.prompts import build_prompt
from ecinstruct.published import iter_records
from ecinstruct.sample import default_sample_path
from ecinstruct.settings import CONFIGS
from ecinstruct.tasks import TASKS

logger = logging.getLogger(__name__)


def run(out: Path) -> Path:
    folder = out / "ECInstruct"
    write_hub_layout(iter_records(default_sample_path()), folder, numbered=True,
                     source_name="the ecellm embedded sample (synthetic, written by the project)")
    lines = ["# ECInstruct sample: smoke report", "", "| config | splits |", "|---|---|"]
    for name in CONFIGS:
        ds = datasets.load_dataset(str(folder), name, cache_dir=str(out / "cache"))
        lines.append(f"| {name} | " + ", ".join(f"{s} {len(d)}" for s, d in ds.items()) + " |")
    default = datasets.load_dataset(str(folder), "default", cache_dir=str(out / "cache"))["test_ind"]
    lines += ["", "## One prompt per task (alpaca format)", ""]
    for task in TASKS:
        row = next(r for r in default if r["task_code"] == task.code)
        lines += [f"### {task.code}", "", "```text", build_prompt(row, "alpaca") + row["output"], "```", ""]
    report = out / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("runs/demo"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    report = run(args.out)
    print(f"report: {report}\nHub-layout folder: {args.out / 'ECInstruct'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
