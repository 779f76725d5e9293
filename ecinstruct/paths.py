"""Tell a local path from a Hub id (``org/name``) before anything reaches for the network."""

from __future__ import annotations

from pathlib import Path

FILE_SUFFIXES = (".json", ".jsonl", ".gz", ".parquet", ".yaml", ".yml", ".csv", ".tsv", ".txt", ".safetensors",
                 ".bin")


def missing_local_path(name: str) -> str | None:
    """Why ``name`` can only mean a local path that does not exist; None when it exists or may be a Hub id.

    ``data/NOPE`` has the shape of a Hub id, but when ``data/`` is a folder here the user meant that folder.
    """
    text = str(name)
    path = Path(text).expanduser()
    if not text or path.exists():
        return None
    if text.startswith((".", "/", "~")) or "\\" in text:
        return f"{text}: no such file or folder"
    if text.count("/") != 1 or text.lower().endswith(FILE_SUFFIXES):
        return f"{text}: no such file or folder (and not a Hub id of the form org/name)"
    first = Path(text.split("/", 1)[0])
    if first.is_dir():
        return f"{text}: no such file or folder (the folder {first}/ exists here, so this is not read as a Hub id)"
    return None
