"""Reading a user's table row by row (CSV, JSON lines, Parquet) and writing answers resumably.

Input is streamed: CSV and JSON lines line by line (so a bad row is reported by its line number),
Parquet by record batch. Output goes to ``<out>.partial`` first, one JSON line per input row, appended and
synced chunk by chunk; a rerun with the same options skips the rows already there. When every row is done
the partial file is moved onto ``<out>`` in one step, so ``<out>`` is never half written.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecinstruct.errors import ECInstructError
from ecinstruct.tasks import Task

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
PARQUET_BATCH = 1024


class PredictInputError(ECInstructError):
    """A bad ``ecellm predict`` option or input file (found before any model is loaded)."""


@dataclass
class SourceRow:
    """One input row: its 0-based ``row`` number, the file ``line`` it starts on (CSV/JSONL), its columns,
    or the ``error`` that made it unreadable."""

    row: int
    line: int | None
    columns: dict[str, Any] | None
    error: str | None = None

    @property
    def where(self) -> str:
        return f"line {self.line}" if self.line is not None else f"row {self.row}"


class Source:
    """A CSV / JSON lines / Parquet file read one row at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise PredictInputError(f"input {self.path}: no such file; pass a .csv, .jsonl or .parquet file")
        self.format = FORMATS.get(self.path.suffix.lower())
        if self.format is None:
            raise PredictInputError(f"input {self.path}: unknown file type {self.path.suffix!r}; expected one of: "
                                    f"{', '.join(FORMATS)}")

    def columns(self) -> list[str]:
        """Column names: the CSV header, the Parquet schema, or the keys of the first JSON line."""
        if self.format == "csv":
            with self.path.open(newline="", encoding="utf-8") as handle:
                return next(csv.reader(handle), [])
        if self.format == "parquet":
            import pyarrow.parquet as pq

            return list(pq.ParquetFile(self.path).schema_arrow.names)
        for row in self.rows():
            if row.columns is not None:
                return list(row.columns)
        return []

    def count(self) -> int:
        """Number of data rows (one cheap pass; for the progress bar)."""
        if self.format == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(self.path).metadata.num_rows
        return sum(1 for _ in self.rows())

    def rows(self) -> Iterator[SourceRow]:
        if self.format == "csv":
            return self._csv()
        if self.format == "parquet":
            return self._parquet()
        return self._jsonl()

    def _csv(self) -> Iterator[SourceRow]:
        with self.path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            previous_end = 1  # the header line
            for row, record in enumerate(reader):
                error = None
                if None in record or None in record.values():  # more / fewer cells than the header
                    error = f"has a different number of cells than the header ({len(reader.fieldnames or [])})"
                yield SourceRow(row, previous_end + 1, None if error else record, error)
                previous_end = reader.line_num  # quoted cells may span lines

    def _jsonl(self) -> Iterator[SourceRow]:
        with self.path.open(encoding="utf-8") as handle:
            row = 0
            for line, text in enumerate(handle, 1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                    error = None if isinstance(record, dict) else f"is a JSON {type(record).__name__}, not an object"
                except json.JSONDecodeError as err:
                    record, error = None, f"is not valid JSON ({err.msg} at column {err.colno})"
                yield SourceRow(row, line, record if error is None else None, error)
                row += 1

    def _parquet(self) -> Iterator[SourceRow]:
        import pyarrow.parquet as pq

        row = 0
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=PARQUET_BATCH):
            for record in batch.to_pylist():
                yield SourceRow(row, None, record)
                row += 1


def parse_map(pairs: list[str] | None, task: Task) -> dict[str, str]:
    """``["title=product_name", ...]`` → ``{field: column}``; fields must be the task's."""
    mapping: dict[str, str] = {}
    for item in pairs or []:
        for pair in item.split(","):
            field, sep, column = pair.partition("=")
            field, column = field.strip(), column.strip()
            if not sep or not field or not column:
                raise PredictInputError(f"--map {pair!r}: expected FIELD=COLUMN, e.g. --map title=product_name")
            if field not in task.inputs.columns():
                raise PredictInputError(f"--map {pair!r}: task {task.code} has no field {field!r}; its fields: "
                                        f"{', '.join(task.inputs.columns())}")
            mapping[field] = column
    return mapping


def check_columns(task: Task, mapping: dict[str, str], columns: list[str], source: Path) -> None:
    """Every mapped column exists, and every required field has a column (or ``field.key`` columns)."""
    missing = [column for column in mapping.values() if column not in columns]
    if missing:
        raise PredictInputError(f"input {source}: no column {missing[0]!r} (from --map); its columns: "
                                f"{', '.join(columns) or 'none'}")
    available = {field for field in task.inputs.columns() if mapping.get(field, field) in columns}
    for field in task.inputs.fields:
        flat_first_key = f"{field.name}.{field.keys[0]}" if field.keys else None
        if field.required and field.name not in available and flat_first_key not in available:
            raise PredictInputError(f"input {source}: no column for the required field {field.name!r} ({field.help});"
                                    f" its columns: {', '.join(columns) or 'none'}. Add --map {field.name}=<column>")


def row_values(task: Task, mapping: dict[str, str], columns: dict[str, Any]) -> dict[str, Any]:
    """The task's fields of one input row (other columns are ignored)."""
    values = {}
    for field in task.inputs.columns():
        column = mapping.get(field, field)
        if column in columns:
            values[field] = columns[column]
    return values


class ResumableOutput:
    """``<out>.partial``: a header line with the run's options, then one JSON line per finished row."""

    def __init__(self, out: str | Path, options: dict[str, Any], overwrite: bool = False) -> None:
        self.out = Path(out)
        self.partial = self.out.with_name(self.out.name + ".partial")
        self.options = options
        self.done: set[int] = set()
        if self.partial.is_file():
            self._resume()
        elif self.out.exists() and not overwrite:
            raise PredictInputError(f"output {self.out} already exists; pass --overwrite to replace it, or "
                                    "choose another --out")
        else:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self._write_lines([{"_options": options}], mode="w")

    def _resume(self) -> None:
        with self.partial.open("rb") as handle:
            data = handle.read()
        lines = data.split(b"\n")
        complete, torn = lines[:-1], lines[-1]
        try:
            header = json.loads(complete[0])["_options"] if complete else None
        except (json.JSONDecodeError, KeyError, TypeError):
            header = None
        if header != self.options:
            changed = sorted(k for k in set(self.options) | set(header or {})
                             if (header or {}).get(k) != self.options.get(k))
            raise PredictInputError(f"{self.partial} holds an unfinished run with other options ({', '.join(changed)} "
                                    "differ); rerun with the same options to resume it, or delete that file to start "
                                    "over")
        self.done = {json.loads(line)["row"] for line in complete[1:]}
        if torn:  # a kill during a write leaves a partial last line: drop it, its row is redone
            with self.partial.open("r+b") as handle:
                handle.truncate(len(data) - len(torn))

    def append(self, records: list[dict[str, Any]]) -> None:
        self._write_lines(records, mode="a")
        self.done.update(r["row"] for r in records)

    def _write_lines(self, records: list[dict[str, Any]], mode: str) -> None:
        with self.partial.open(mode, encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
            handle.flush()
            os.fsync(handle.fileno())

    def finish(self) -> int:
        """Move the finished rows onto ``<out>`` in one step (rows are in input order); returns the count."""
        tmp = self.out.with_name(f".{self.out.name}.tmp")
        count = 0
        with self.partial.open(encoding="utf-8") as src, tmp.open("w", encoding="utf-8") as dst:
            next(src)  # the options header
            for line in src:
                dst.write(line)
                count += 1
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, self.out)
        self.partial.unlink()
        return count
