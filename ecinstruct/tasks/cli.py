"""``ecinstruct tasks``: list the registered tasks, where each one's folder is and what it provides."""

from __future__ import annotations

import argparse

from ecinstruct.tasks import TASK_PATH_ENV, TASKS, task_folder, task_part


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tasks`` to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "tasks", help="list the tasks (the package's and those of ECINSTRUCT_TASK_PATH) and their folders",
        description=f"List every registered task: code, published name, headline metric, which builders its folder "
                    f"has (raw.py: build-raw; sample.py: the embedded sample) and the folder. Add tasks of your own "
                    f"with {TASK_PATH_ENV}=FOLDER (a task folder, or a folder of them).")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print("code\tname\tmetric\tbuilders\tfolder")
    for task in TASKS:
        builders = ",".join(part for part in ("raw", "sample") if task_part(task, part) is not None) or "-"
        print(f"{task.code}\t{task.name}\t{task.headline_metric}\t{builders}\t{task_folder(task)}")
    return 0
