"""One lever at a time: what each choice of the `XS` recipe does to a small generalist, on validation rows.

Every variant trains the same generalist as `benchmarks/reproduce_small.py` (recipe `XS`, the same rows per task
drawn with the same seed) with exactly one setting changed, and is scored on the *validation* split (never the
test rows: this table is what settings are chosen on). The closed-answer tasks are scored by log-likelihood
choice, the open ones by free generation. Each variant is compared with the shipped `XS` on the same rows by a
paired bootstrap (95% CI, percentile p-value). With ``--seeds``, every variant and `XS` are trained once per seed
and each variant meets the `XS` of its own seed: the paired bootstrap covers which validation rows were drawn, the
seeds how the training run went, so a lever counts only if its delta has one sign on every seed. Every step is a
package command; a finished variant is skipped on a rerun, so an interrupted ablation resumes, and a rerun may add
variants or seeds but refuses other data, tasks or row counts (``run_options.json``).

    .venv/bin/python benchmarks/ablate_levers.py --data runs/reproduce/data --out runs/ablation   # ~35 min here
    .venv/bin/python benchmarks/ablate_levers.py --data D --out runs/a --tiny                         # the test's flow
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reproduce_small import CLOSED, SMOLLM2, ecellm, train
from resume_guard import check_same_options

from ecellm.options import whole_numbers

logger = logging.getLogger("ablate_levers")

# The levers, as recipe overrides of `XS` (recipes are data: each variant is one changed field or pair).
VARIANTS: dict[str, tuple[list[str], str]] = {
    "XS": ([], "the shipped recipe: balanced answers, rows weighted by sqrt(answer length), lr 1e-3 constant, "
               "2 epochs, LoRA r 16"),
    "no_balance": (["--balance_answers", "false"], "rows drawn as they come (SA 60% 'very positive')"),
    "token_mean_loss": (["--loss_length_power", "1"], "TRL's mean over answer tokens (long answers weigh more)"),
    "row_mean_loss": (["--loss_length_power", "0"], "every row alike, however long its answer (XS before 2026-12-06)"),
    "quarter_length_loss": (["--loss_length_power", "0.25"], "rows weighted by their answer tokens to the power 0.25"),
    "sa_four_passes": (["--repeat_rare_answers", "true", "--train_samples_by_task", "SA=400"],
                       "equal answer shares and 400 SA rows (its 215 rows, rare answers repeated): with 100 rows of "
                       "the others, SA is passed over four times as often"),
    # Not levers but the yardstick for them: XS with another seed draws other rows and trains in another order.
    "seed_1": (["--seed", "1"], "XS with seed 1 instead of 42: other rows drawn, another LoRA init and order"),
    "seed_2": (["--seed", "2"], "XS with seed 2 instead of 42: other rows drawn, another LoRA init and order"),
    "paper_lr": (["--learning_rate", "1e-4", "--lr_scheduler_type", "cosine"], "the paper's 1e-4, cosine to 0"),
    "one_epoch": (["--num_train_epochs", "1"], "half the optimizer steps"),
    "lora_r64": (["--lora_r", "64", "--lora_alpha", "64"], "4x the adapter rank"),
    "full_ft": (["--use_peft", "false", "--learning_rate", "1e-4"],
                "no adapter: every weight of the 135M model trained, at the paper's lr 1e-4 (1e-3 was not tried)"),
}


def evaluate_validation(model: Path, name: str, out: Path, data: Path, tasks: list[str], rows: int,
                        max_new_tokens: int) -> list[Path]:
    """The variant's answers on the validation rows: log-likelihood choice for closed tasks, generation else."""
    closed = [t for t in tasks if t in CLOSED.split(",")]
    open_ = [t for t in tasks if t not in closed]
    folders = []
    for method, chosen in (("loglik", closed), ("generate", open_)):
        if not chosen:
            continue
        folder = out / "eval" / f"{name}_{method}"
        ecellm("eval", "--model", str(model), "--data", str(data), "--tasks", ",".join(chosen), "--splits",
               "validation", "--method", method, "--max-samples", str(rows), "--prompt-format", "alpaca",
               "--out", str(folder), "--no-progress", "--bertscore-model", "offline",
               "--max-new-tokens", str(max_new_tokens))
        folders.append(folder)
    return folders


@functools.cache
def recipe_seed() -> int:
    """XS's own seed (read from the recipe, so the two cannot drift): its folders keep the plain variant name."""
    from ecellm.training.recipes import load_recipe

    return load_recipe("XS").training.seed


def run_name(variant: str, seed: int) -> str:
    """Folder name of one variant trained with one seed."""
    return variant if seed == recipe_seed() else f"{variant}_seed{seed}"


def against_baseline(baseline: list[Path], variant: list[Path], name: str) -> list[dict]:
    """Paired bootstrap of the variant (B) against the shipped recipe (A), task by task, strict reading."""
    from ecellm.evaluation.compare import compare

    rows = []
    for a, b in zip(baseline, variant, strict=True):
        method = "loglik" if a.name.endswith("_loglik") else "generate"
        for r in compare(a, b, mode="strict", method=method, n_resamples=1000):
            rows.append({**r, "variant": name, "method": method})
    return rows


def _f(v: float | None, sign: bool = False) -> str:
    return "–" if v is None else (f"{v:+.3f}" if sign else f"{v:.3f}")


def _star(r: dict) -> str:
    return " *" if r["p_value"] is not None and r["p_value"] < 0.05 else ""


def across_seeds(rows: list[dict], seeds: list[int]) -> list[str]:
    """One line per variant and task: its delta against `XS` on each seed, their mean, and the verdict. A lever
    "holds" when its delta is significant with one sign on every seed, "leans" when it has one sign on every seed
    but is not significant on all of them, is "seed noise" when the signs differ, and "no change" when every delta
    is zero."""
    lines = ["## Across seeds", "",
             "| variant | task | " + " | ".join(f"seed {s}" for s in seeds) + " | mean delta | verdict |",
             "|---|---|" + "---|" * len(seeds) + "---|---|"]
    cells: dict[tuple[str, str], dict[int, dict]] = {}
    for r in rows:
        cells.setdefault((r["variant"], r["task"]), {})[r["seed"]] = r
    for (variant, task), by_seed in cells.items():
        if set(by_seed) != set(seeds):
            continue
        deltas = [by_seed[s]["delta"] for s in seeds]
        signs = {(d > 0) - (d < 0) for d in deltas}
        significant = all(by_seed[s]["p_value"] is not None and by_seed[s]["p_value"] < 0.05 for s in seeds)
        verdict = ("no change" if signs == {0} else "seed noise" if len(signs) > 1 else
                   ("holds: " if significant else "leans: ") + ("higher" if signs == {1} else "lower"))
        lines.append(f"| {variant} | {task} | " + " | ".join(f"{_f(by_seed[s]['delta'], True)}{_star(by_seed[s])}"
                                                        for s in seeds) +
                     f" | {_f(sum(deltas) / len(deltas), True)} | {verdict} |")
    return lines


def report(out: Path, rows: list[dict], minutes: dict[str, float], args: argparse.Namespace) -> Path:
    from ecinstruct.atomic import atomic_write_bytes

    lines = ["# Lever ablation of the XS generalist (validation rows)", "",
             f"- command: `python benchmarks/ablate_levers.py {' '.join(sys.argv[1:])}`",
             f"- training: {args.rows_per_task} rows of each of {args.tasks}, seeds {args.seeds} (each variant against "
             f"the `XS` of its own seed); validation: at most "
             f"{args.val_rows} rows of each of {args.eval_tasks} (closed tasks by log-likelihood choice, open ones by "
             "generation)", "- minutes: training and validation of the variant in this invocation (0 when resumed)",
             f"- `XS`: {VARIANTS['XS'][1]}",
             "- each row: the variant against the shipped `XS` on the same validation rows (paired bootstrap, "
             "1,000 resamples, strict reading; * p < 0.05)", "",
             "| variant | what changes | seed | task | method | n | XS | variant | delta [95% CI] | p | minutes |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {VARIANTS[r['variant']][1]} | {r['seed']} | {r['task']} | {r['method']} | "
                     f"{r['n']} | {_f(r['score_a'])} | {_f(r['score_b'])} | {_f(r['delta'], True)}{_star(r)} "
                     f"[{_f(r['low'], True)}, {_f(r['high'], True)}] | {_f(r['p_value'])} | "
                     f"{minutes.get(run_name(r['variant'], r['seed']), 0):.1f} |")
    if len(args.seeds) > 1:
        lines += ["", *across_seeds(rows, args.seeds)]
    path = atomic_write_bytes(out / "ablation.md", ("\n".join(lines) + "\n").encode("utf-8"))
    atomic_write_bytes(out / "ablation.json", json.dumps(rows, indent=2).encode("utf-8"))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a built ECInstruct folder (ecinstruct build-raw)")
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"))
    parser.add_argument("--tasks", default="PM,SA,AG", help="training tasks of the generalist")
    parser.add_argument("--eval-tasks", default="PM,SA",
                        help="tasks scored on validation rows (default the closed ones, by log-likelihood: cheap)")
    parser.add_argument("--rows-per-task", type=int, default=50)
    parser.add_argument("--val-rows", type=int, default=100, help="validation rows per task")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"any of {', '.join(VARIANTS)}")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--seeds", type=whole_numbers("--seeds"), default=None,
                        help="training seeds, comma-separated (default XS's own): every variant and XS once per seed")
    parser.add_argument("--tiny", action="store_true", help="tiny random model and 2 training steps (tests)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    names = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        parser.error(f"--variants: unknown {', '.join(unknown)}; expected some of {', '.join(VARIANTS)}")
    args.seeds = args.seeds or [recipe_seed()]
    if args.seeds != [recipe_seed()] and any(VARIANTS[n][0][:1] == ["--seed"] for n in names):
        parser.error("--variants seed_1/seed_2 are XS under another seed; with --seeds, leave them out")
    if "XS" not in names:
        names.insert(0, "XS")  # the yardstick every variant is compared with
    out, data = args.out.resolve(), args.data.resolve()
    args.data = data
    # More variants or seeds add to a folder; other rows, tasks or data would be compared with models made for them.
    if (problem := check_same_options(out, args, may_differ=("variants", "seeds"))) is not None:
        sys.exit(f"ablate_levers.py: error: {problem}")
    base, steps = SMOLLM2, ["--eval_strategy", "no"]
    if args.tiny:
        from ecellm.offline_models import build_tiny_model

        base = str(build_tiny_model(out / "tiny-base"))
        steps += ["--max_steps", "2"]
    tasks = args.eval_tasks.split(",")
    folders, minutes = {}, {}
    for seed in args.seeds:
        for name in names:
            started, run = time.perf_counter(), run_name(name, seed)
            model = train(run, out, data, base, args.tasks, args.rows_per_task,
                          [*steps, "--seed", str(seed), *VARIANTS[name][0]])
            folders[run] = evaluate_validation(model, run, out, data, tasks, args.val_rows,
                                               8 if args.tiny else args.max_new_tokens)
            minutes[run] = (time.perf_counter() - started) / 60
    rows = [{**r, "seed": seed} for seed in args.seeds for name in names[1:]
            for r in against_baseline(folders[run_name("XS", seed)], folders[run_name(name, seed)], name)]
    logger.info("report: %s", report(out, rows, minutes, args))


if __name__ == "__main__":
    main()
