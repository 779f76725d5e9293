"""Precision and recall of the flexible reading on the hand-written case tables.

    python benchmarks/flexible_precision.py [TABLE.jsonl ...]

Each table line is ``{"task", "text", "expected"}`` (``expected`` null: the text commits to no answer, the reading
must return None); ``tests/data/flexible_context.json`` gives the per-task options and labels a reading needs.
precision = answers read right / answers read (any non-None reading); recall = answers read right / committed
answers. By default both tables of ``tests/data/``: the tuning table and the held-out one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
TABLES = (DATA / "flexible_cases.jsonl", DATA / "flexible_heldout.jsonl")


def load_cases(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_case(case: dict, context: dict) -> str | None:
    """The flexible reading of one case, with its task's options / labels from the context file."""
    from ecinstruct.tasks import get_task

    extra = context.get(case["task"], {})
    return get_task(case["task"]).scorer.extract(case["text"], options=extra.get("options"),
                                                  option_labels=extra.get("option_labels"))


def same(found: str | None, expected: str | None) -> bool:
    """Whether a reading is the expected one: JSON answers (AVE) as values, not spacing; others as text."""
    if found is None or expected is None:
        return found is expected
    try:
        return json.loads(found) == json.loads(expected)
    except ValueError:
        return found == expected


def measure(cases: list[dict], context: dict) -> dict:
    read = right = committed = 0
    for case in cases:
        found = read_case(case, context)
        read += found is not None
        committed += case["expected"] is not None
        right += found is not None and same(found, case["expected"])
    return {"cases": len(cases), "non_answers": len(cases) - committed, "committed": committed, "read": read,
            "read_right": right, "precision": right / read if read else None,
            "recall": right / committed if committed else None}


def main(paths: list[str]) -> int:
    context = json.loads((DATA / "flexible_context.json").read_text(encoding="utf-8"))
    for path in [Path(p) for p in paths] or TABLES:
        m = measure(load_cases(path), context)
        print(f"{path.name}: {m['cases']} cases ({m['non_answers']} non-answers, {m['committed']} committed); "
              f"read {m['read']}, right {m['read_right']}; precision {m['precision']:.3f}, recall {m['recall']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
