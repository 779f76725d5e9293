"""Readers for the raw sources' file formats: JSON lines (plain or gzip), JSON, CSV/TSV, parquet.

Every reader raises :class:`~ecinstruct.errors.SourceError` naming the file and the line when a
record cannot be read, instead of a bare parser exception.
"""

from __future__ import annotations

import ast
import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path

from tqdm.auto import tqdm

from ecinstruct.errors import SourceError

# CSVs of the Leipzig benchmarks are Latin-1; try UTF-8 first.
_CSV_ENCODINGS = ("utf-8", "latin-1")


def open_text(path: str | Path, encoding: str = "utf-8") -> io.TextIOBase:
    """Open a text file, transparently gunzipping ``*.gz``."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def iter_jsonl(path: str | Path, *, limit: int | None = None, desc: str | None = None) -> Iterator[dict]:
    """Records of a JSON-lines file (``.gz`` too). Lines that are Python literals (the Amazon 2014
    dumps were written that way) are accepted; blank lines are skipped."""
    with open_text(path) as handle:
        lines = tqdm(handle, desc=desc or Path(path).name, unit=" lines", mininterval=2, disable=None)
        n = 0
        for number, line in enumerate(lines, start=1):
            if limit is not None and n >= limit:
                break
            if not line.strip():
                continue
            yield _parse_line(line, path, number)
            n += 1


def _parse_line(line: str, path: str | Path, number: int) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        try:
            record = ast.literal_eval(line.strip())
        except (ValueError, SyntaxError):
            raise SourceError(f"{path}, line {number}: neither JSON nor a Python literal: {line[:80]!r}") from None
    if not isinstance(record, dict):
        raise SourceError(f"{path}, line {number}: expected one JSON object per line, got {type(record).__name__}")
    return record


def read_json(path: str | Path) -> object:
    """A whole JSON document."""
    with open_text(path) as handle:
        try:
            return json.load(handle)
        except json.JSONDecodeError as err:
            raise SourceError(f"{path}: not valid JSON ({err})") from None


def read_csv(path: str | Path, *, delimiter: str = ",", header: bool = True,
             fieldnames: list[str] | None = None) -> list[dict[str, str]]:
    """Rows of a CSV/TSV file as dicts (header row, or ``fieldnames`` for header-less files)."""
    for encoding in _CSV_ENCODINGS:
        try:
            with open_text(path, encoding=encoding) as handle:
                reader = csv.DictReader(handle, delimiter=delimiter,
                                        fieldnames=None if header else fieldnames)
                return [dict(row) for row in reader]
        except UnicodeDecodeError:
            continue
    raise SourceError(f"{path}: neither UTF-8 nor Latin-1 text")


def require_columns(rows: list[dict], columns: tuple[str, ...], path: str | Path) -> None:
    """Fail clearly when a table lacks the columns its source format defines."""
    if not rows:
        return
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise SourceError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(rows[0])}. "
                          "Is this the file as distributed by its authors?")


def read_parquet(path: str | Path, columns: list[str] | None = None) -> list[dict]:
    """Rows of a parquet file as dicts (only ``columns`` when given)."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=columns)
    except Exception as err:  # pyarrow raises several types; all mean "not this file format"
        raise SourceError(f"{path}: cannot read as parquet ({err})") from None
    return table.to_pylist()
