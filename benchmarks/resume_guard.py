"""The benchmarks' resume guard: a run folder resumes only under the options it was started with.

``reproduce_small.py`` and ``ablate_levers.py`` reuse what a folder already holds (built data, trained models,
evaluation caches). Started again with other options, they would report those results under the new options;
the guard records the first start's options and refuses, in one line, a rerun under others.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RUN_OPTIONS = "run_options.json"


def check_same_options(out: Path, args: argparse.Namespace, may_differ: tuple[str, ...] = ()) -> str | None:
    """Why ``out`` cannot resume under ``args`` (None if it can: a new folder, or one started with the same
    options). ``may_differ``: options a rerun may change because they add to the run (more variants or seeds)
    rather than redefine what is in it."""
    chosen = {key: str(value) if isinstance(value, Path) else value
              for key, value in sorted(vars(args).items()) if key not in ("out", *may_differ)}
    path = out / RUN_OPTIONS
    if not path.is_file():
        from ecinstruct.atomic import atomic_write_bytes

        out.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps(chosen, indent=2).encode("utf-8"))
        return None
    started = json.loads(path.read_text(encoding="utf-8"))
    changed = [key for key in sorted(set(started) | set(chosen)) if started.get(key) != chosen.get(key)]
    if not changed:
        return None
    what = "; ".join(f"--{key.replace('_', '-')} {started.get(key)!r}, now {chosen.get(key)!r}" for key in changed)
    return (f"--out {out} holds a run started with other options ({what}); it resumes only with the options in "
            f"{path}: rerun with those, or choose a new --out")
