"""Reading a user's table row by row (CSV, JSON lines, Parquet) and writing answers resumably.

Input is streamed: CSV and JSON lines line by line (so a bad row is reported by its line number),
Parquet by record batch. Output goes to ``<out>.partial`` first, one JSON line per input row, appended and
synced chunk by chunk; a rerun with the same options skips the rows already there. When every row is done
the partial file is moved onto ``<out>`` in one step, so ``<out>`` is never half written.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecinstruct.atomic import check_output_file, first_line_json
from ecinstruct.errors import ECInstructError
from ecinstruct.tasks import Task

FORMATS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
PARQUET_BATCH = 1024
CSV_CELL_LIMIT = 16 * 1024 * 1024  # larger cells are refused with a clear line (csv's own default is 128 KiB)


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
        with self._reading():
            if self.format == "csv":
                with self._open_text() as handle:
                    return next(csv.reader(handle, delimiter=self.delimiter()), [])
            if self.format == "parquet":
                import pyarrow.parquet as pq

                return list(pq.ParquetFile(self.path).schema_arrow.names)
            for row in self.rows():
                if row.columns is not None:
                    return list(row.columns)
            return []

    def check(self) -> int:
        """Read the whole file once before any model loads: its number of data rows, or one clear error
        (empty, not UTF-8, a damaged Parquet file, a CSV cell too large ...)."""
        if self.path.stat().st_size == 0:
            raise PredictInputError(f"input {self.path}: the file is empty; expected a header line and one row per "
                                    "line (CSV), one JSON object per line (JSONL) or a Parquet table")
        count = self.count()
        if count == 0:
            raise PredictInputError(f"input {self.path}: no data rows (only a header, or blank lines); nothing to "
                                    "answer")
        return count

    def count(self) -> int:
        """Number of data rows (one cheap pass; for the progress bar)."""
        if self.format == "parquet":
            import pyarrow.parquet as pq

            with self._reading():
                return pq.ParquetFile(self.path).metadata.num_rows
        return sum(1 for _ in self.rows())

    def fingerprint(self) -> str:
        """SHA-256 of the file's bytes: a resumed run must read the very same input."""
        digest = hashlib.sha256()
        with self.path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def rows(self) -> Iterator[SourceRow]:
        if self.format == "csv":
            rows = self._csv()
        elif self.format == "parquet":
            rows = self._parquet()
        else:
            rows = self._jsonl()
        with self._reading():
            yield from rows

    def delimiter(self) -> str:
        """``\t`` for .tsv files and for a .csv file whose header has tabs and no comma, else ``,``."""
        if self.path.suffix.lower() == ".tsv":
            return "\t"
        with self._reading(), self._open_text() as handle:
            header = handle.readline(1 << 20)
        return "\t" if "\t" in header and "," not in header else ","

    def _open_text(self):
        return self.path.open(newline="" if self.format == "csv" else None, encoding="utf-8-sig")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn what a damaged or mis-encoded file raises into one clear :class:`PredictInputError`."""
        try:
            yield
        except UnicodeDecodeError as err:
            raise PredictInputError(f"input {self.path}: not UTF-8 text (it holds byte 0x{err.object[err.start]:02x}, "
                                    "which UTF-8 does not allow there); save the file as UTF-8, e.g. "
                                    f"`iconv -f latin1 -t utf-8 {self.path.name} > fixed{self.path.suffix}`") from None
        except csv.Error as err:
            raise PredictInputError(f"input {self.path}: not readable as CSV ({err}); cells are limited to "
                                    f"{CSV_CELL_LIMIT // (1024 * 1024)} MiB and quotes must be closed") from None
        except PredictInputError:
            raise
        except Exception as err:
            if self.format != "parquet" or type(err).__module__.split(".")[0] != "pyarrow":
                raise
            raise PredictInputError(f"input {self.path}: not a readable Parquet file ({type(err).__name__}: "
                                    f"{str(err).splitlines()[0] if str(err) else 'damaged'}); write it again, e.g. "
                                    "with pandas.DataFrame.to_parquet") from None

    def _csv(self) -> Iterator[SourceRow]:
        csv.field_size_limit(CSV_CELL_LIMIT)
        delimiter = self.delimiter()
        with self._open_text() as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            previous_end = 1  # the header line
            for row, record in enumerate(reader):
                error = None
                if None in record or None in record.values():  # more / fewer cells than the header
                    error = f"has a different number of cells than the header ({len(reader.fieldnames or [])})"
                yield SourceRow(row, previous_end + 1, None if error else record, error)
                previous_end = reader.line_num  # quoted cells may span lines

    def _jsonl(self) -> Iterator[SourceRow]:
        with self._open_text() as handle:
            row = 0
            for line, text in enumerate(handle, 1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                    error = None if isinstance(record, dict) else f"is a JSON {type(record).__name__}, not an object"
                except json.JSONDecodeError as err:
                    record, error = None, f"is not valid JSON ({err.msg} at column {err.colno})"
                except RecursionError:
                    record, error = None, "is JSON nested too deeply"
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


INPUT_KEY = "input_sha256"


def partial_of(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


def is_predict_output(path: Path) -> bool:
    """An earlier output of ``ecellm predict``: empty, or JSON lines that start with a row record."""
    return first_line_json(path, ("row",))


def check_predict_out(out: str | Path, inputs: list[str | Path | None], overwrite: bool) -> None:
    """The output guard of ``ecellm predict`` (before anything is read or loaded): ``--out`` is never an input,
    never a file predict did not write, and an earlier output is replaced only with ``--overwrite`` (an
    unfinished run in ``<out>.partial`` is resumed instead)."""
    out = Path(out)
    resuming = partial_of(out).is_file()
    check_output_file(out, inputs=inputs, overwrite=overwrite or resuming, writer="`ecellm predict`",
                      ours=is_predict_output)
    check_output_file(partial_of(out), inputs=inputs, overwrite=True, option="--out (its .partial file)",
                      writer="`ecellm predict`")


class ResumableOutput:
    """``<out>.partial``: a header line with the run's options, then one JSON line per finished row."""

    def __init__(self, out: str | Path, options: dict[str, Any]) -> None:
        """``out`` must have passed :func:`check_predict_out`; ``options`` (with the input's fingerprint) must
        match those of an unfinished run found in ``<out>.partial`` to resume it."""
        self.out = Path(out)
        self.partial = partial_of(self.out)
        self.options = options
        self.done: set[int] = set()
        self.started = self.partial.is_file()  # a new run writes nothing before its first answers
        if self.started:
            self._resume()

    def _start(self) -> None:
        if not self.started:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self._write_lines([{"_options": self.options}], mode="w")
            self.started = True

    def _resume(self) -> None:
        with self.partial.open("rb") as handle:
            data = handle.read()
        lines = data.split(b"\n")
        complete, torn = lines[:-1], lines[-1]
        try:
            header = json.loads(complete[0])["_options"] if complete else None
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
            header = None
        if not isinstance(header, dict):
            raise PredictInputError(f"{self.partial}: not an unfinished run of `ecellm predict` (no options header); "
                                    "delete that file to start over")
        if header.get(INPUT_KEY) != self.options.get(INPUT_KEY) and header.get("input") == self.options.get("input"):
            raise PredictInputError(f"input {self.options.get('input')} changed since the unfinished run in "
                                    f"{self.partial} (its content differs: rows inserted, removed or edited), so the "
                                    "answers already there could belong to other rows; restore the input to resume, "
                                    "or delete that file to start over")
        if header != self.options:
            changed = sorted(k for k in set(self.options) | set(header)
                             if header.get(k) != self.options.get(k))
            raise PredictInputError(f"{self.partial} holds an unfinished run with other options ({', '.join(changed)} "
                                    "differ); rerun with the same options to resume it, or delete that file to start "
                                    "over")
        try:
            self.done = {json.loads(line)["row"] for line in complete[1:]}
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
            raise PredictInputError(f"{self.partial}: a damaged line (not written by `ecellm predict`); delete that "
                                    "file to start over") from None
        if torn:  # a kill during a write leaves a partial last line: drop it, its row is redone
            with self.partial.open("r+b") as handle:
                handle.truncate(len(data) - len(torn))

    def append(self, records: list[dict[str, Any]]) -> None:
        self._start()
        self._write_lines(records, mode="a")
        self.done.update(r["row"] for r in records)

    def _write_lines(self, records: list[dict[str, Any]], mode: str) -> None:
        with self.partial.open(mode, encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
            handle.flush()
            os.fsync(handle.fileno())

    def finish(self) -> int:
        """Move the finished rows onto ``<out>`` in one step (rows are in input order); returns the count."""
        self._start()
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
