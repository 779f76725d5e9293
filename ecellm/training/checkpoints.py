"""Which checkpoint a run resumes from: the newest *complete* one.

The Trainer writes a checkpoint file by file (weights, optimizer, scheduler, RNG state, then
``trainer_state.json``), so a kill during a save leaves a ``checkpoint-N`` folder that lacks some of them;
resuming from it fails on every retry. A checkpoint counts as complete when its trainer state parses
and every file resuming needs is there and not empty.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

logger = logging.getLogger(__name__)

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
STATE_FILE = "trainer_state.json"
WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin", "model.safetensors", "model.safetensors.index.json",
           "pytorch_model.bin", "pytorch_model.bin.index.json")
OPTIMIZER_FILES = ("optimizer.pt", "scheduler.pt")


def incomplete_reason(folder: str | Path, needs_optimizer: bool = True) -> str | None:
    """Why ``folder`` cannot be resumed from (None when it is complete)."""
    folder = Path(folder)
    if not folder.is_dir():
        return "no such folder"
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{STATE_FILE} is missing or unreadable"
    if not isinstance(state, dict) or "global_step" not in state:
        return f"{STATE_FILE} has no global_step"
    if not any(_present(folder / name) for name in WEIGHTS):
        return f"no weights file ({', '.join(WEIGHTS[:3])}, ...)"
    missing = [name for name in OPTIMIZER_FILES if needs_optimizer and not _present(folder / name)]
    if missing:
        return f"{', '.join(missing)} missing or empty"
    return None


def _present(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def checkpoints(output_dir: str | Path) -> list[Path]:
    """``checkpoint-N`` folders of ``output_dir``, newest (highest N) first."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if p.is_dir() and (m := CHECKPOINT.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def last_complete_checkpoint(output_dir: str | Path, needs_optimizer: bool = True) -> Path | None:
    """The newest complete checkpoint; incomplete newer ones are skipped with a warning (never deleted)."""
    for folder in checkpoints(output_dir):
        reason = incomplete_reason(folder, needs_optimizer)
        if reason is None:
            return folder
        logger.warning("skipping %s: incomplete (%s), probably interrupted while saving", folder, reason)
    return None
