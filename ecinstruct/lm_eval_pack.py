"""``ecinstruct export-lm-eval DIR``: ECInstruct as an lm-evaluation-harness task pack, generated from the tasks.

The folder holds one YAML per task × test split (and per multiple-choice variant), the groups, and a ``utils.py``
that re-exports :mod:`ecellm.evaluation.harness` (prompts, choices, scores: the code ``ecellm eval`` and
``ecellm score`` run). Use it with ``lm_eval --include_path DIR --tasks ecinstruct``::

    ecinstruct                      group: every task's generation variant
      ecinstruct_<code>             group: IND (and OOD) of one task
        ecinstruct_<code>_ind       generate_until on test_ind: headline metric strict and flexible, invalid rates
        ecinstruct_<code>_ood       the same on test_ood (tasks with an OOD split)
    ecinstruct_mc                   group: the log-likelihood variants of the closed-answer tasks
      ecinstruct_<code>_ind_mc      multiple_choice over task.scorer.candidates(row): acc
      ecinstruct_<code>_ood_mc

Data: ``dataset_path`` is a Hub-layout folder (``ecinstruct build``) or a Hub id of one, ``dataset_name`` the
task's config. A published ``dataset.json`` (or no ``--data``: the embedded sample) is built into ``DIR/data``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from ecinstruct.errors import SourceError
from ecinstruct.tasks import TASKS, Task

logger = logging.getLogger(__name__)

GROUP = "ecinstruct"
MC_GROUP = "ecinstruct_mc"
VERSION = 1.0
SPLIT_SUFFIX = {"test_ind": "ind", "test_ood": "ood"}
READINGS = ("strict", "flexible")
# (reading, entry key) → the aggregation function of utils.py (ecellm.evaluation.harness) that computes it
AGGREGATIONS = {("strict", "score"): "strict_score", ("flexible", "score"): "flexible_score",
                ("strict", "invalid_rate"): "strict_invalid", ("flexible", "invalid_rate"): "flexible_invalid"}
UTILS = '''"""Functions the ECInstruct task YAMLs call: re-exported from the installed ecellm package (one prompt
renderer, one reading, one scoring path with `ecellm eval` and `ecellm score`). Written by `ecinstruct
export-lm-eval`."""

from ecellm.evaluation.harness import (  # noqa: F401
    doc_to_choice,
    doc_to_choice_target,
    doc_to_target,
    doc_to_text,
    flexible_invalid,
    flexible_score,
    process_results,
    strict_invalid,
    strict_score,
)
'''


def metric_names(task: Task) -> dict[str, tuple[str, str]]:
    """``{lm-eval metric name: (reading, entry key)}`` of a task's generation variant: the headline metric in both
    readings (``f1_strict``, ``f1_flexible``; ``ndcg_...`` for QPR, ...), then the invalid rates."""
    names = {f"{task.scorer.headline}_{reading}": (reading, "score") for reading in READINGS}
    names.update({f"invalid_{reading}": (reading, "invalid_rate") for reading in READINGS})
    return names


def has_choices(task: Task) -> bool:
    """Whether a task gets a ``multiple_choice`` variant: a closed answer set whose gold is one of its members
    (QPR's answer is a ranking of every candidate, so it has none)."""
    from ecinstruct.scoring.base import Scorer

    scorer = task.scorer
    return type(scorer).candidates is not Scorer.candidates and hasattr(scorer, "parse_gold")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``export-lm-eval`` to the CLI's subparsers."""
    p = subparsers.add_parser("export-lm-eval", help="write ECInstruct as an lm-evaluation-harness task pack",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", metavar="DIR", help="folder to write (new, empty, or an earlier pack)")
    p.add_argument("--data", help="Hub-layout folder (ecinstruct build), Hub id of one, or a published dataset.json "
                                  "(built into DIR/data); default: the embedded sample, built into DIR/data")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a DIR holding other files (it is moved aside as DIR.replaced-<time>)")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    paths = write_lm_eval_pack(args.out, args.data, overwrite=args.overwrite)
    print(f"wrote {len(paths)} files to {args.out}\nrun: lm_eval --model hf --model_args pretrained=MODEL "
          f"--include_path {args.out} --tasks {GROUP}")
    return 0


def write_lm_eval_pack(out: str | Path, data: str | Path | None = None, *, overwrite: bool = False) -> list[str]:
    """Write the task pack to ``out``; returns the files written (relative to ``out``)."""
    from ecinstruct.atomic import replace_folder

    out = Path(out)
    final = out.expanduser().resolve()
    layout, build_from = _dataset_path(data, final)
    written: list[str] = []

    def write(staging: Path) -> None:
        if build_from is not None:
            _build_layout(build_from, staging / "data")
        for name, text in pack_files(layout).items():
            (staging / name).write_text(text, encoding="utf-8")
            written.append(name)

    inputs = [data] if data is not None and Path(data).expanduser().exists() else []
    replace_folder(out, write, overwrite=overwrite, inputs=inputs, writer="ecinstruct export-lm-eval")
    logger.info("wrote the lm-eval task pack to %s (data: %s)", out, layout)
    return sorted(written)


def _dataset_path(data: str | Path | None, final: Path) -> tuple[str, Path | None]:
    """(``dataset_path`` of the YAMLs, published file to build into ``DIR/data`` or ``None``)."""
    from ecinstruct.loading import _resolve
    from ecinstruct.paths import missing_local_path

    if data is None:
        from ecinstruct.sample import default_sample_path

        logger.warning("no --data: the pack reads the embedded sample (synthetic rows; its scores are not the "
                       "paper's). Pass --data with a folder written by `ecinstruct build` for ECInstruct itself")
        return str(final / "data"), default_sample_path()
    path = Path(data).expanduser()
    if not path.exists():  # a Hub id: lm-eval's datasets.load_dataset reads it; it must be in the Hub layout
        problem = missing_local_path(str(data))
        if problem is not None or str(data).count("/") != 1:
            raise SourceError(f"--data {problem or f'{data}: no such file or folder'}. Pass a folder written by "
                              "`ecinstruct build`, a Hub id of one, or a published dataset.json")
        return str(data), None
    kind, location = _resolve(path, None)
    if kind == "layout":
        return str(Path(location).resolve()), None
    return str(final / "data"), Path(location)


def _build_layout(published: Path, folder: Path) -> None:
    from ecinstruct.export import write_hub_layout
    from ecinstruct.published import iter_records

    write_hub_layout(iter_records(published), folder, numbered=True, source_name=f"`{published.name}`")


def pack_files(dataset_path: str) -> dict[str, str]:
    """``{file name: text}`` of the pack for data at ``dataset_path``."""
    files = {"utils.py": UTILS}
    generation_groups, mc_tasks = [], []
    for task in TASKS:
        members = []
        for split in _test_splits(task):
            name = f"{GROUP}_{task.config_name}_{SPLIT_SUFFIX[split]}"
            files[f"{name}.yaml"] = _generation_yaml(task, name, split, dataset_path)
            members.append(name)
            if has_choices(task):
                files[f"{name}_mc.yaml"] = _mc_yaml(task, f"{name}_mc", split, dataset_path)
                mc_tasks.append(f"{name}_mc")
        group = f"{GROUP}_{task.config_name}"
        files[f"_{group}.yaml"] = _group_yaml(group, members)
        generation_groups.append(group)
    files[f"_{GROUP}.yaml"] = _group_yaml(GROUP, generation_groups)
    files[f"_{MC_GROUP}.yaml"] = _group_yaml(MC_GROUP, mc_tasks)
    return files


def _test_splits(task: Task) -> list[str]:
    return ["test_ind", "test_ood"] if task.has_ood else ["test_ind"]


def _q(value: object) -> str:
    """A YAML scalar (JSON is YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _header(task: Task, name: str, split: str, dataset_path: str, output_type: str) -> list[str]:
    return [
        f"# {task.code} ({task.name}), {split}: written by `ecinstruct export-lm-eval`; prompts and scores come",
        "# from ecellm (utils.py), the alpaca prompt of `ecellm eval`.",
        f"task: {name}",
        f"dataset_path: {_q(dataset_path)}",
        f"dataset_name: {task.config_name}",
        f"output_type: {output_type}",
        f"test_split: {split}",
        "num_fewshot: 0",
        "doc_to_text: !function utils.doc_to_text",
    ]


def _generation_yaml(task: Task, name: str, split: str, dataset_path: str) -> str:
    from ecinstruct.prompts import response_marker

    lines = [
        *_header(task, name, split, dataset_path, "generate_until"),
        "doc_to_target: !function utils.doc_to_target",
        "generation_kwargs:",
        f"  until: [{_q(response_marker('alpaca'))}, {_q('### Instruction:')}]",
        "  do_sample: false",
        f"  max_gen_toks: {task.max_new_tokens}",
        "process_results: !function utils.process_results",
        "metric_list:",
    ]
    for metric, (reading, kind) in metric_names(task).items():
        lines += [f"  - metric: {_q(metric)}", f"    aggregation: !function utils.{AGGREGATIONS[(reading, kind)]}",
                  f"    higher_is_better: {'true' if kind == 'score' else 'false'}"]
    lines += ["metadata:", f"  version: {VERSION}"]
    return "\n".join(lines) + "\n"


def _mc_yaml(task: Task, name: str, split: str, dataset_path: str) -> str:
    lines = [
        *_header(task, name, split, dataset_path, "multiple_choice"),
        "doc_to_choice: !function utils.doc_to_choice",
        "doc_to_target: !function utils.doc_to_choice_target",
        'target_delimiter: ""  # the prompt ends with "### Response:\\n"; the answer follows it directly',
        "metric_list:",
        "  - metric: acc",
        "    aggregation: mean",
        "    higher_is_better: true",
        "metadata:",
        f"  version: {VERSION}",
    ]
    return "\n".join(lines) + "\n"


def _group_yaml(group: str, members: list[str]) -> str:
    if not members:
        raise SourceError(f"group {group} would have no tasks")
    return "\n".join([f"group: {group}", "task:", *(f"  - {m}" for m in members), "metadata:",
                      f"  version: {VERSION}"]) + "\n"
