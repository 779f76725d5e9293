"""Readers for the raw sources' file formats: JSON lines (plain or gzip), JSON, CSV/TSV, parquet.

The ``iter_*`` readers stream: JSON lines line by line, CSV row by row through a buffered reader,
parquet by record batches; none holds more than one batch of a file, so files of many GB read in
constant memory. ``read_csv``/``read_parquet`` are the list-returning conveniences for small files.
Every reader raises :class:`~ecinstruct.errors.SourceError` naming the file and the line when a
record cannot be read, instead of a bare parser exception.
"""

from __future__ import annotations

import ast
import codecs
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


def text_encoding(path: str | Path) -> str:
    """UTF-8 if the whole file decodes as UTF-8, else Latin-1 (checked in 1 MiB chunks, constant memory)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open_binary(path) as handle:
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8"


def open_binary(path: str | Path) -> io.BufferedIOBase:
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def iter_csv(path: str | Path, *, delimiter: str = ",", header: bool = True, fieldnames: list[str] | None = None,
             desc: str | None = None) -> Iterator[dict[str, str]]:
    """Rows of a CSV/TSV file (``.gz`` too) as dicts, streamed (header row, or ``fieldnames``).

    The encoding (UTF-8, else Latin-1: the Leipzig benchmark CSVs) is decided by a first pass over the
    bytes, so that a late non-UTF-8 byte cannot turn up after rows were already handed out.
    """
    encoding = text_encoding(path)
    with open_text(path, encoding=encoding) as handle:
        reader = csv.DictReader(handle, delimiter=delimiter, fieldnames=None if header else fieldnames)
        rows = tqdm(reader, desc=desc or Path(path).name, unit=" rows", mininterval=2, disable=None)
        for row in rows:
            yield dict(row)


def read_csv(path: str | Path, *, delimiter: str = ",", header: bool = True,
             fieldnames: list[str] | None = None) -> list[dict[str, str]]:
    """Rows of a (small) CSV/TSV file as a list (see :func:`iter_csv`)."""
    return list(iter_csv(path, delimiter=delimiter, header=header, fieldnames=fieldnames))


def require_columns(rows: list[dict], columns: tuple[str, ...], path: str | Path) -> None:
    """Fail clearly when a table lacks the columns its source format defines."""
    if not rows:
        return
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise SourceError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(rows[0])}. "
                          "Is this the file as distributed by its authors?")


def iter_parquet(path: str | Path, columns: list[str] | None = None, *, batch_size: int = 8_192,
                 where: tuple[str, object] | None = None, desc: str | None = None) -> Iterator[dict]:
    """Rows of a parquet file as dicts, one record batch at a time (only ``columns`` when given;
    only rows whose column ``where[0]`` equals ``where[1]``, filtered batch-wise in Arrow)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not Path(path).is_file():
        raise SourceError(f"{path}: no such file")
    try:
        reader = pq.ParquetFile(path)
        wanted = list(columns) if columns else None
        if where is not None and wanted is not None and where[0] not in wanted:
            wanted.append(where[0])
        missing = [c for c in (wanted or []) if c not in reader.schema_arrow.names]
        if missing:
            raise SourceError(f"{path}: missing column(s) {', '.join(missing)}; found "
                              f"{', '.join(reader.schema_arrow.names)}. Is this the file as its authors distribute it?")
        batches = reader.iter_batches(batch_size=batch_size, columns=wanted)
        progress = tqdm(total=reader.metadata.num_rows, desc=desc or Path(path).name, unit=" rows",
                        mininterval=2, disable=None)
        with progress:
            for batch in batches:
                progress.update(batch.num_rows)
                if where is not None:
                    batch = batch.filter(pc.equal(batch.column(where[0]), where[1]))
                rows = batch.to_pylist()
                if columns and where is not None and where[0] not in columns:
                    rows = [{c: r[c] for c in columns} for r in rows]
                yield from rows
    except SourceError:
        raise
    except Exception as err:  # pyarrow raises several types; all mean "not this file / these columns"
        raise SourceError(f"{path}: cannot read as parquet with columns {columns or 'all'} ({err})") from None


def read_parquet(path: str | Path, columns: list[str] | None = None) -> list[dict]:
    """Rows of a (small) parquet file as a list (see :func:`iter_parquet`)."""
    return list(iter_parquet(path, columns))
