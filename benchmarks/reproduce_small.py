"""A small reproduction of the paper's main claim on real data, run the way a researcher would run it.

From the real raw subsets (AVE implicit values, PM Amazon-Google pairs, SA Amazon 2018 Fashion reviews, SR Amazon
2018 Industrial & Scientific sequences, AG question/answer pairs): build ECInstruct with `ecinstruct build-raw`,
evaluate SmolLM2-135M-Instruct zero-shot, fine-tune one generalist model with the `XS` recipe on the train
split of all five tasks, evaluate it on the same held-out test rows with every answer method (free generation,
constrained generation, log-likelihood choice) and every reading, and compare with paired-bootstrap CIs and
p-values. Also one task-specific SA model against the generalist on SA (the paper's generalist vs
task-specific question). Every step is a command of the package (printed as it runs) and resumes: a finished
step is skipped, training continues from its last complete checkpoint, evaluations from their caches.

    .venv/bin/python benchmarks/reproduce_small.py --out runs/reproduce                 # about an hour here
    .venv/bin/python benchmarks/reproduce_small.py --out runs/r --tiny                  # seconds: the test's flow
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

logger = logging.getLogger("reproduce_small")
REPO = Path(__file__).resolve().parents[1]
TASKS = "AVE,PM,SA,SR,AG"
CLOSED = "PM,SA,SR"  # the real-data tasks with a closed answer set (log-likelihood method)
METHODS = ("generate", "constrained", "loglik")


def sh(*args: str) -> None:
    """Run one package command, echoing it (the exact commands of the reproduction)."""
    logger.info("$ %s", " ".join(args))
    subprocess.run(list(args), check=True, cwd=REPO)


def ecellm(*args: str) -> None:
    sh(str(Path(sys.executable).with_name("ecellm")), *args)


def build(raw: Path, data: Path, sizes: str) -> None:
    if (data / "README.md").is_file():
        return
    sh(str(Path(sys.executable).with_name("ecinstruct")), "build-raw", "--raw-dir", str(raw), "--out", str(data),
       "--tasks", TASKS, "--sizes", sizes, "--seed", "1")


def train(name: str, out: Path, data: Path, base: str, extra: list[str]) -> Path:
    folder = out / "models" / name
    if (folder / "training_summary.json").is_file():
        return folder
    resume = ["--resume_from_checkpoint", "last"] if folder.is_dir() else []
    ecellm("train", "--recipe", "XS", "--model_name_or_path", base, "--dataset_name", str(data),
           "--output_dir", str(folder), "--save_strategy", "steps", "--save_steps", "10", *resume, *extra)
    return folder


def evaluate(model: str, name: str, out: Path, data: Path, tasks: str, method: str, rows: int,
             extra: list[str]) -> list[Path]:
    """One evaluation per test split that holds any of ``tasks`` (the real subsets have OOD rows for AVE only)."""
    from ecinstruct.export import read_counts

    present = {(code, split) for (_, code, split), n in read_counts(data).items() if n}
    paths = []
    for split in ("test_ind", "test_ood"):
        chosen = [t for t in tasks.split(",") if (t, split) in present]
        if not chosen:
            continue
        folder = out / "eval" / f"{name}_{method}_{split}"
        ecellm("eval", "--model", model, "--data", str(data), "--tasks", ",".join(chosen), "--splits", split,
               "--method", method, "--max-samples", str(rows), "--prompt-format", "alpaca", "--out", str(folder),
               "--no-progress", "--bertscore-model", "offline", *extra)
        paths.append(folder / "results.json")
    return paths


def model_card(out: Path, generalist: Path, runs: dict, base: str) -> Path:
    """The generalist's model card with its measured scores against the zero-shot base, staged as
    `ecellm publish --dry-run` stages it for the Hub (nothing is uploaded)."""
    card = out / "card"
    if not (card / "README.md").is_file():
        ecellm("publish", "model", str(generalist), "--results", str(runs["generalist"]["generate"][0]),
               "--baseline", str(runs["zero_shot"]["generate"][0]), "--base-model", base,
               "--repo", "local/eCeLLM-XS-reproduce-small", "--dry-run", "--out", str(card))
    return card / "README.md"


def report(out: Path, runs: dict[str, dict[str, list[Path]]], seconds: float, args: argparse.Namespace) -> Path:
    from ecellm.demo_report import paired_changes, plot_before_after, table_markdown
    from ecellm.evaluation.compare import compare
    from ecinstruct.atomic import atomic_write_bytes

    methods = [m for m in METHODS if m in runs["zero_shot"]]
    before = tuple(p for m in methods for p in runs["zero_shot"][m])
    after = tuple(p for m in methods for p in runs["generalist"][m])
    rows = paired_changes(before, after, ("strict", "flexible"), cells=_cells(methods))
    plot_before_after(rows, out / "zero_shot_vs_fine_tuned.png", "SmolLM2-135M + XS (real data)")
    parts = ["# Small reproduction on real data: zero-shot vs fine-tuned", "",
             f"- command: `python benchmarks/reproduce_small.py {' '.join(sys.argv[1:])}`",
             f"- wall time of this invocation: {seconds / 60:.1f} min (a resumed run counts only its own part)",
             f"- data: `{args.raw_dir}` via `ecinstruct build-raw` "
             f"(sizes {args.sizes}); test rows per task and split: {args.test_rows}", ""]
    for (method, reading) in _cells(methods):
        part = [r for r in rows if (r["method"], r["reading"]) == (method, reading)]
        if part:
            parts += [f"## {method}, {reading} reading (paired bootstrap; * p < 0.05)", "", table_markdown(part), ""]
    if "sa_only" in runs:
        specific = compare(runs["generalist"]["generate"][0].parent,
                           [p.parent for p in runs["sa_only"]["generate"]], mode="strict", method="generate")
        sa = [r for r in specific if r["task"] == "SA"]
        parts += ["## Generalist vs task-specific (SA only), free generation, strict reading", "",
                  "| split | n | generalist | SA-only | change | 95% CI | p |", "|---|---|---|---|---|---|---|",
                  *(f"| {r['split']} | {r['n']} | {r['score_a']:.3f} | {r['score_b']:.3f} | {r['delta']:+.3f} | "
                    f"[{r['low']:+.3f}, {r['high']:+.3f}] | {r['p_value']:.3f} |" for r in sa), ""]
    parts += _curve_section(runs.get("curve", {}))
    parts.append("The generalist's model card (as `ecellm publish` would upload it): `card/README.md`.")
    parts.append("![zero-shot vs fine-tuned](zero_shot_vs_fine_tuned.png)")
    path = atomic_write_bytes(out / "report.md", ("\n".join(parts) + "\n").encode("utf-8"))
    atomic_write_bytes(out / "changes.json", json.dumps(rows, indent=2).encode("utf-8"))
    return path


def _curve_section(curve: dict[int, Path]) -> list[str]:
    """The data-size curve: SA-only models trained on growing shares of the SA train rows, scored on the same
    SA test rows (free generation), with each score's bootstrap CI."""
    from ecellm.evaluation.results import Results

    if not curve:
        return []
    lines = ["## Data-size curve: SA-only models, free generation", "",
             "| train rows | reading | n | headline score | 95% CI | invalid |", "|---|---|---|---|---|---|"]
    for rows, path in sorted(curve.items()):
        results = Results.load(path.parent, samples=False)
        for reading in ("strict", "flexible"):
            e = results.get("SA", "test_ind", reading, "generate")
            ci = f"[{e['ci_low']:.3f}, {e['ci_high']:.3f}]"
            lines.append(f"| {rows} | {reading} | {e['n']} | {e['score']:.3f} | {ci} | {e['invalid']} |")
    return [*lines, ""]


def _cells(methods: list[str]) -> tuple[tuple[str, str], ...]:
    cells = []
    for method in methods:
        if method == "loglik":
            cells += [("loglik", "strict"), ("loglik_norm", "strict")]
        else:
            cells += [(method, "strict"), (method, "flexible")]
    return tuple(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw-dir", type=Path, default=REPO.parent / "shared" / "data" / "raw")
    parser.add_argument("--out", type=Path, default=Path("runs/reproduce"))
    parser.add_argument("--sizes", default="train=160,validation=20,test=60,ood=60",
                        help="build-raw rows per split and task")
    parser.add_argument("--train-rows", type=int, default=800, help="rows the generalist trains on (all tasks)")
    parser.add_argument("--max-new-tokens", type=int, default=48,
                        help="generation budget; every answer of these tasks fits, and a zero-shot model that rambles "
                             "would otherwise spend most of the hour past its answer")
    parser.add_argument("--test-rows", type=int, default=40, help="test rows per task and split in every evaluation")
    parser.add_argument("--curve", type=lambda v: [int(x) for x in v.split(",") if x], default=[25, 50],
                        help="data-size curve: SA-only models on these percentages of the SA train rows ('' = none)")
    parser.add_argument("--generate-tasks", default="AVE,PM,SA,AG",
                        help="tasks scored by free and constrained generation (SR, whose 20-candidate prompts are "
                             "~1,600 tokens, is scored by log-likelihood only: the cheapest full method on a CPU)")
    parser.add_argument("--tiny", action="store_true", help="tiny random model and 2 training steps (tests)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.perf_counter()
    out = args.out.resolve()
    data = out / "data"
    build(args.raw_dir, data, args.sizes)
    base, steps = "HuggingFaceTB/SmolLM2-135M-Instruct", []
    if args.tiny:
        from ecellm.models import build_tiny_model

        base = str(build_tiny_model(out / "tiny-base"))
        steps = ["--max_steps", "2", "--eval_strategy", "no"]
    generalist = train("generalist", out, data, base, ["--max_train_samples", str(args.train_rows), *steps])
    sa_only = train("sa_only", out, data, base, ["--tasks", "SA", "--max_train_samples",
                                                 str(args.train_rows // 5), *steps])
    runs: dict = {"zero_shot": {}, "generalist": {}, "sa_only": {}, "curve": {}}
    extra = ["--max-new-tokens", "8" if args.tiny else str(args.max_new_tokens)]
    for name, model in (("zero_shot", base), ("generalist", str(generalist))):
        for method in METHODS:
            tasks = CLOSED if method == "loglik" else args.generate_tasks
            runs[name][method] = evaluate(model, name, out, data, tasks, method, args.test_rows, extra)
    runs["sa_only"]["generate"] = evaluate(str(sa_only), "sa_only", out, data, "SA", "generate", args.test_rows,
                                           extra)
    sa_rows = args.train_rows // 5
    runs["curve"][sa_rows] = runs["sa_only"]["generate"][0]
    for share in args.curve:
        rows = max(1, sa_rows * share // 100)
        model = train(f"sa_only_{share}pct", out, data, base,
                      ["--tasks", "SA", "--max_train_samples", str(rows), *steps])
        runs["curve"][rows] = evaluate(str(model), f"sa_only_{share}pct", out, data, "SA", "generate",
                                       args.test_rows, extra)[0]
    model_card(out, generalist, runs, "local/tiny-random-llama" if args.tiny else base)
    path = report(out, runs, time.perf_counter() - started, args)
    logger.info("report: %s", path)


if __name__ == "__main__":
    main()
