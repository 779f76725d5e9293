"""The resumable prediction cache: one append-only JSONL file per (task, split) under a settings hash.

Layout: ``<root>/<hash>/<TASK>.<split>.jsonl`` plus ``<root>/<hash>/settings.json`` (what the hash
covers: model fingerprint, prompt format, generation settings, backend, dtype). A record is
``{"id", "key", "text", "new_tokens", "finished"}``; ``key`` hashes the prompt and its token budget, so a
row whose data changed is regenerated. Each batch is appended, flushed and fsynced: a killed run loses
at most the batch in flight, and a torn last line is skipped on reading.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from ecellm.evaluation.backends import Generation

logger = logging.getLogger(__name__)


class PredictionCache:
    """Predictions of one settings hash; in memory only when ``root`` is None."""

    def __init__(self, root: str | Path | None, settings_hash: str, settings: dict[str, Any]) -> None:
        self.hash = settings_hash
        self.folder = Path(root) / settings_hash if root is not None else None
        self._memory: dict[tuple[str, str], dict[str, dict]] = {}
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / "settings.json"
            if not target.is_file():
                atomic_write_text(target, json.dumps(settings, indent=2, sort_keys=True, default=str))

    def path(self, task: str, split: str) -> Path | None:
        return self.folder / f"{task}.{split}.jsonl" if self.folder is not None else None

    def load(self, task: str, split: str) -> dict[str, dict]:
        """Cached records by row id (the last record of an id wins)."""
        if (task, split) not in self._memory:
            self._memory[(task, split)] = _read(self.path(task, split))
        return self._memory[(task, split)]

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
        path = self.path(task, split)
        if path is None:
            return
        with path.open("a", encoding="utf-8") as handle:
            if not _ends_with_newline(path):  # a torn last line must not swallow the next record
                handle.write("\n")
            handle.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
            handle.flush()
            os.fsync(handle.fileno())


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


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to a temporary sibling and rename it over ``path`` (readers never see half a file)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path
