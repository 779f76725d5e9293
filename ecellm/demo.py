"""``ecellm demo``: the whole pipeline in one command, offline by default.

On the package's embedded ECInstruct sample (all 10 tasks, IND and OOD) it evaluates the recipe's base model
zero-shot, fine-tunes it with the recipe (XS: SmolLM2-135M-Instruct + LoRA, minutes on a CPU; every task but SR,
whose long prompts would dominate a CPU's training time), evaluates the adapter the same way, and writes a report
folder: the before/after table per task and split, a chart, the model card, and the Hub-ready dataset and model
folders (exactly what ``ecellm publish`` would upload).
``ecellm demo --recipe S --data NingLab/ECInstruct --train-tasks all`` is the real thing on a GPU machine.
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ecellm.artifacts import TrainingSummary
from ecellm.demo_report import DemoRun, plot_before_after, report_markdown
from ecellm.options import whole_number
from ecinstruct.atomic import atomic_write_bytes, check_run_folder

logger = logging.getLogger(__name__)

STAGES = ("data", "zero-shot evaluation", "fine-tuning", "fine-tuned evaluation", "report")
READINGS = ("strict", "flexible", "reference")
# Closed-answer tasks are also scored by log-likelihood: one prefill per row, no invalid answers, so the demo can
# afford enough rows per cell for a change to be significant. Only those the demo trains: an untrained SR's
# 20-candidate prompts held 43% of this stage's prompt text, for a before/after that can only move by chance.
LOGLIK_TASKS = ("PRP", "SA", "PM", "SR", "MPC", "PSI", "QPR", "AP")
# SR's prompts (a purchase history and 20 candidates) hold 30% of the sample's training tokens, and a packed row
# attends over its whole pack on a CPU; the real-data reproduction leaves SR out of training for the same reason.
NOT_TRAINED = ("SR",)
HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def run_demo(
    recipe: str = "XS",
    data: str | None = None,
    out: str | Path = "runs/demo",
    *,
    rows_per_task: int | None = 4,
    loglik_rows_per_task: int | None = 12,
    max_new_tokens: int | None = 32,
    batch_size: int = 8,
    org: str = "your-org",
    base_model: str | None = None,
    recipe_args: list[str] | None = None,
    train_tasks: str | None = "default",
) -> Path:
    """Run the demo and return the path of ``report.md``. ``recipe_args`` override recipe keys
    (``["--max_steps", "2"]``); ``rows_per_task``/``max_new_tokens`` bound the two evaluations (None = all/100);
    ``train_tasks`` (comma-separated codes) are the tasks fine-tuned on: ``"default"`` = every task but
    ``NOT_TRAINED``, None = the recipe's own ``tasks``."""
    from ecellm.training import load_recipe

    out = Path(out)
    check_run_folder(out, inputs=[data], writer="ecellm demo", own_marks=("model", "eval"),
                     writes=("report.md", "model_card.md", "before_after.png"))
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    stages = tqdm(total=len(STAGES), desc="demo", unit="stage", position=0, leave=True)

    def stage(name: str, step: Callable[[], Any]) -> Any:
        stages.set_postfix_str(name)
        logger.info("demo: %s", name)
        started = time.perf_counter()
        value = step()
        timings[name] = time.perf_counter() - started
        stages.update(1)
        return value

    source, data_label, built = stage(STAGES[0], lambda: _prepare_data(data, out))
    overrides = {"output_dir": str(out / "model"), "dataset_name": str(source)}
    if train_tasks:
        overrides["tasks"] = (default_train_tasks() if train_tasks == "default" else train_tasks).split(",")
    loaded = load_recipe(recipe, overrides, recipe_args)
    base = loaded.model.model_name_or_path
    prompt_format = loaded.ecellm.prompt_format
    eval_kwargs = {"data": str(source), "max_samples": rows_per_task, "max_new_tokens": max_new_tokens,
                   "batch_size": batch_size, "prompt_format": prompt_format}
    loglik_kwargs = {**eval_kwargs, "max_samples": loglik_rows_per_task, "method": "loglik",
                     "tasks": loglik_tasks(loaded.ecellm.tasks)}

    def both(model: str, name: str) -> tuple[Path, Path]:
        return (_evaluate(model, out / "eval" / name, **eval_kwargs),
                _evaluate(model, out / "eval" / f"{name}_loglik", **loglik_kwargs))

    before = stage(STAGES[1], lambda: both(base, "zero_shot"))
    trained = stage(STAGES[2], lambda: _train(loaded))
    after = stage(STAGES[3], lambda: both(str(trained.adapter_dir), "fine_tuned"))

    def report() -> Path:
        return _report(out, recipe, base, base_model, data_label, (rows_per_task, loglik_rows_per_task), built,
                       before, after, trained, org, timings)

    path = stage(STAGES[4], report)
    stages.close()
    return path


def _prepare_data(data: str | None, out: Path) -> tuple[str, str, Path | None]:
    """(source for training and evaluation, description, Hub-layout folder if we have one)."""
    from ecinstruct.export import write_hub_layout
    from ecinstruct.published import iter_records
    from ecinstruct.sample import default_sample_path

    if data and Path(data).is_dir():
        return data, f"the Hub-layout folder `{data}`", Path(data)
    if data and not Path(data).exists():
        if not HUB_ID.match(data):
            raise FileNotFoundError(f"--data {data!r}: no such file or folder, and not a Hub dataset id (org/name)")
        return data, f"the Hub dataset `{data}`", None
    path = Path(data) if data else default_sample_path()
    label = (f"`{path.name}`" if data else
             "the embedded ECInstruct sample (written by the project: all 10 tasks, IND and OOD)")
    folder = out / "data" / "ECInstruct"
    write_hub_layout(iter_records(path), folder, numbered=True, source_name=label)
    return str(folder), label, folder


def _evaluate(model: str, out: Path, **kwargs: Any) -> Path:
    """``ecellm.evaluate`` with the demo's bounds; returns the results.json path."""
    from ecellm.evaluation import evaluate

    results = evaluate(model, out=out, modes=READINGS, n_resamples=200, **kwargs)
    return Path(results.out_dir) / "results.json"


def _train(recipe) -> Any:
    from ecellm.training import run

    return run(recipe)


def _report(out: Path, recipe: str, base: str, base_model: str | None, data_label: str, rows: tuple,
            built: Path | None, before_runs: tuple[Path, Path], after_runs: tuple[Path, Path], trained, org: str,
            timings: dict[str, float]) -> Path:
    from ecellm.demo_report import paired_changes
    from ecellm.publish import stage_dataset, stage_model

    before, after = before_runs[0], after_runs[0]
    rows_per_task = rows[0]

    hub_base = base_model or (base if HUB_ID.match(base) and not Path(base).exists() else None)
    model_repo, data_repo = f"{org}/eCeLLM-{recipe}", f"{org}/ECInstruct-demo"
    folders: dict[str, Path] = {"fine-tuned adapter": trained.adapter_dir,
                                "zero-shot evaluation": before.parent, "fine-tuned evaluation": after.parent,
                                "zero-shot log-likelihood evaluation": before_runs[1].parent,
                                "fine-tuned log-likelihood evaluation": after_runs[1].parent}
    commands = []
    if built is not None:
        folders["Hub-ready dataset folder"] = stage_dataset(built, out / "hub" / "dataset", data_repo)
        commands.append(f"ecellm publish dataset {built} --repo {data_repo}")
    if hub_base is not None:
        overrides = {"results_source": data_label, "small_eval": rows_per_task is not None,
                     "baseline_name": f"`{base}` zero-shot", "dataset_id": data_repo if built is not None else None,
                     "small_model_note": "A demo-sized model: trained for a few steps on a few rows; its scores are "
                                         "far below the paper's models and noisy."}
        staged = stage_model(trained.adapter_dir, out / "hub" / "model", model_repo, results=after, baseline=before,
                             base_model=hub_base, card_overrides=overrides)
        shutil.copy2(staged / "README.md", out / "model_card.md")
        folders["Hub-ready model folder"] = staged
        folders["model card"] = out / "model_card.md"
        commands.append(f"ecellm publish model {trained.adapter_dir} --repo {model_repo} --results {after} "
                        f"--baseline {before}")
    else:
        logger.warning("the base model %s is not a Hub id: no Hub-ready model folder (pass --base-model ORG/NAME)",
                       base)
    changes = paired_changes(before_runs, after_runs, READINGS)
    plot_before_after(changes, out / "before_after.png", f"eCeLLM-{recipe}")
    folders["chart"] = out / "before_after.png"
    summary = TrainingSummary.find(trained.adapter_dir, strict=True).to_dict()
    run = DemoRun(out=out, recipe=recipe, base_model=base, data=data_label, rows_per_task=rows_per_task,
                  train_summary=summary, folders=folders, timings=dict(timings), publish_commands=commands,
                  loglik_rows_per_task=rows[1])
    return atomic_write_bytes(out / "report.md", report_markdown(run, changes).encode("utf-8"))


# --------------------------------------------------------------------------------------------- command line
def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="zero-shot eval → fine-tune → eval → report, offline on the embedded sample",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Other --key value options override recipe keys, as in `ecellm train` (e.g. --max_steps 5).")
    parser.add_argument("--recipe", default="XS", help="shipped recipe (XS, S, M, L, ...) or a YAML path")
    parser.add_argument("--data", help="ECInstruct source (default: the embedded sample): a Hub id such as "
                                       "NingLab/ECInstruct, a published dataset.json, or a built folder")
    parser.add_argument("--out", default="runs/demo", help="report folder (default runs/demo)")
    parser.add_argument("--rows-per-task", type=whole_number("--rows-per-task"), default=4,
                        help="test rows per task and split in both evaluations (default 4; 0 = all)")
    parser.add_argument("--loglik-rows-per-task", type=whole_number("--loglik-rows-per-task"), default=12,
                        help="test rows per task and split scored by log-likelihood (closed-answer tasks; 0 = all)")
    parser.add_argument("--max-new-tokens", type=whole_number("--max-new-tokens"), default=32,
                        help="generation budget of both evaluations (default 32; 0 = the tasks' 100)")
    parser.add_argument("--batch-size", type=whole_number("--batch-size", 1), default=8,
                        help="prompts per generation batch")
    parser.add_argument("--train-tasks", type=_task_codes, default="default",
                        help=f"tasks fine-tuned on, comma-separated; 'all'; 'recipe' = the recipe's own tasks "
                             f"(default: every task but {', '.join(NOT_TRAINED)}, whose long prompts held 30%% of "
                             "the training tokens)")
    parser.add_argument("--org", default="your-org", help="Hub namespace named in the cards and publish commands")
    parser.add_argument("--base-model", help="Hub id of the base model, when the recipe's model is a local folder")
    parser.set_defaults(func=cmd_demo, accepts_extra=True)


def loglik_tasks(trained: list[str]) -> str:
    """The closed-answer tasks among those trained (``[]``: a generalist, all of them), comma-separated."""
    return ",".join(code for code in LOGLIK_TASKS if not trained or code in trained)


def default_train_tasks() -> str:
    """Every registered task but ``NOT_TRAINED``, comma-separated in registry order."""
    from ecinstruct.tasks import TASKS

    return ",".join(t.code for t in TASKS if t.code not in NOT_TRAINED)


def _task_codes(text: str) -> str | None:
    """argparse type of ``--train-tasks``: task codes, comma-separated, ``all``, or ``recipe``."""
    from ecinstruct.errors import UnknownNameError
    from ecinstruct.tasks import resolve_tasks

    if text in ("recipe", "default"):
        return None if text == "recipe" else text
    try:
        tasks = resolve_tasks(text)
    except UnknownNameError as err:
        raise argparse.ArgumentTypeError(f"{err} (comma-separated), 'all' or 'recipe'") from None
    if not tasks:
        raise argparse.ArgumentTypeError("empty: give task codes (e.g. PM,SA), 'all' or 'recipe'")
    return ",".join(t.code for t in tasks)


def cmd_demo(args: argparse.Namespace, rest: list[str] | None = None) -> int:
    started = time.perf_counter()
    report = run_demo(args.recipe, args.data, args.out, rows_per_task=args.rows_per_task or None,
                      loglik_rows_per_task=args.loglik_rows_per_task or None,
                      max_new_tokens=args.max_new_tokens or None, batch_size=args.batch_size, org=args.org,
                      base_model=args.base_model, recipe_args=list(rest or []), train_tasks=args.train_tasks)
    minutes = (time.perf_counter() - started) / 60
    print(f"\ndemo done in {minutes:.1f} min. Report: {report}\n(folder {report.parent}: before/after table, "
          "before_after.png, model_card.md, hub/ with the Hub-ready folders)")
    return 0
