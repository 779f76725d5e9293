"""The resumable prediction cache: one append-only JSONL file per (task, split) under a settings hash.

Layout: ``<root>/<hash>/<TASK>.<split>.jsonl`` plus ``<root>/<hash>/settings.json`` (what the hash
covers: model fingerprint, prompt format, generation settings, backend, dtype). A record is
``{"id", "key", "text", "new_tokens", "finished"}``; ``key`` hashes the prompt and its token budget, so a
row whose data changed is regenerated. Each batch is appended, flushed and fsynced: a killed run loses
at most the batch in flight, and a torn last line is skipped on reading.

In a multi-process run each rank appends to its own shard ``<TASK>.<split>.<shard>.jsonl``; reading takes
the main file and every shard, and :meth:`PredictionCache.merge_shards` folds the shards into the main file.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from ecellm.engines.base import Generation
from ecellm.evaluation.errors import EvaluationError
from ecinstruct.atomic import atomic_write_text

logger = logging.getLogger(__name__)


class PredictionCache:
    """Predictions of one settings hash; in memory only when ``root`` is None."""

    def __init__(self, root: str | Path | None, settings_hash: str, settings: dict[str, Any],
                 shard: str | None = None) -> None:
        self.hash, self.shard = settings_hash, shard
        self.folder = Path(root) / settings_hash if root is not None else None
        self._memory: dict[tuple[str, str], dict[str, dict]] = {}
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / "settings.json"
            if not target.is_file():
                atomic_write_text(target, json.dumps(settings, indent=2, sort_keys=True, default=str))
            elif settings:  # a reader that names no settings (merging shards, tools) takes the folder as it is
                _check_same_settings(target, settings)

    def path(self, task: str, split: str) -> Path | None:
        return self.folder / f"{task}.{split}.jsonl" if self.folder is not None else None

    def write_path(self, task: str, split: str) -> Path | None:
        """Where this process appends: the main file, or its own shard in a multi-process run."""
        if self.folder is None or self.shard is None:
            return self.path(task, split)
        return self.folder / f"{task}.{split}.{self.shard}.jsonl"

    def shard_paths(self, task: str, split: str) -> list[Path]:
        return sorted(self.folder.glob(f"{task}.{split}.rank*.jsonl")) if self.folder is not None else []

    def load(self, task: str, split: str) -> dict[str, dict]:
        """Cached records by row id, main file then shards (the last record of an id wins)."""
        if (task, split) not in self._memory:
            records = _read(self.path(task, split))
            for shard in self.shard_paths(task, split):
                records.update(_read(shard))
            self._memory[(task, split)] = records
        return self._memory[(task, split)]

    def merge_shards(self) -> int:
        """Fold every shard into its main file (one atomic rewrite each) and remove the shards; returns how
        many shard files were merged. Run by one process after all writers are done."""
        if self.folder is None:
            return 0
        merged = 0
        for task, split in sorted({tuple(p.name.split(".")[:2]) for p in self.folder.glob("*.rank*.jsonl")}):
            self._memory.pop((task, split), None)
            records = self.load(task, split)
            atomic_write_text(self.path(task, split),
                              "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records.values()))
            for path in self.shard_paths(task, split):
                path.unlink()
                merged += 1
        return merged

    def lookup(self, task: str, split: str, row_id: str, key: str) -> dict | None:
        record = self.load(task, split).get(row_id)
        return record if record is not None and record.get("key") == key else None

    def append(self, task: str, split: str, items: list[tuple[str, str, Generation]]) -> None:
        """Store ``(row id, prompt key, generation)`` items durably."""
        self.append_records(task, split, [{"id": row_id, "key": key, "text": g.text, "new_tokens": g.new_tokens,
                                           "finished": g.finished} for row_id, key, g in items])

    def append_records(self, task: str, split: str, records: list[dict]) -> None:
        """Store records (each with ``id``, ``key`` and ``text``) durably."""
        memory = self.load(task, split)
        memory.update({r["id"]: r for r in records})
        path = self.write_path(task, split)
        if path is None:
            return
        with path.open("a", encoding="utf-8") as handle:
            if not _ends_with_newline(path):  # a torn last line must not swallow the next record
                handle.write("\n")
            handle.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
            handle.flush()
            os.fsync(handle.fileno())


IDENTITY_FREE = ("model_spec",)  # descriptive: where the model was found, not what it is


def _check_same_settings(target: Path, settings: dict[str, Any]) -> None:
    """A cache folder is reused only for the very settings it was written with (its name is their hash)."""
    try:
        stored = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = None
    wanted = json.loads(json.dumps(settings, sort_keys=True, default=str))
    if not isinstance(stored, dict):
        raise EvaluationError(f"{target}: damaged (not the JSON settings of this cache folder); delete the folder "
                              f"{target.parent} to regenerate its predictions")
    differ = sorted(k for k in set(stored) | set(wanted) if k not in IDENTITY_FREE and stored.get(k) != wanted.get(k))
    if differ:
        raise EvaluationError(f"{target.parent}: the cached predictions were made with other settings "
                              f"({', '.join(differ)} differ) although the folder name says otherwise; delete that "
                              "folder to regenerate them")


def _ends_with_newline(path: Path) -> bool:
    size = path.stat().st_size
    if size == 0:
        return True
    with path.open("rb") as handle:
        handle.seek(size - 1)
        return handle.read(1) == b"\n"


def _read(path: Path | None) -> dict[str, dict]:
    if path is None or not path.is_file():
        return {}
    records: dict[str, dict] = {}
    torn = 0
    with path.open("rb") as handle:  # bytes: a kill can cut a line inside a multi-byte UTF-8 character
        for line in handle:
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8"))
                records[record["id"]] = record
            except (ValueError, KeyError, TypeError, RecursionError):  # ValueError: bad JSON or torn UTF-8
                torn += 1  # a line cut by a kill mid-write: that row is simply generated again
    if torn:
        logger.warning("%s: skipped %d unreadable line(s) (interrupted write); those rows are regenerated", path, torn)
    return records
