"""Stream the published ECInstruct file (``dataset.json``) row by row, never holding it whole.

The published file is one JSON document of ~264k rows (~529 MB). It may be JSON lines or a JSON
array of objects; both are streamed (JSON arrays through ``ijson``). Rows are validated and
normalised through :mod:`ecinstruct.schema`, and given stable ids.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import ijson

from ecinstruct.cli_support import one_line
from ecinstruct.errors import RowFormatError, SourceError
from ecinstruct.schema import RowReport, make_id, normalize_row
from ecinstruct.settings import Setting
from ecinstruct.tasks import Task

logger = logging.getLogger(__name__)

QPR_LABEL_ORDER = ("E", "S", "C", "I")


def _open_text(path: Path) -> io.TextIOBase:
    if path.is_dir():
        raise SourceError(f"{path} is a folder without {path.name}/dataset.json; pass the published dataset.json "
                          "itself, or a folder in the ECInstruct Hub layout (README.md + data/)")
    if not path.is_file():
        raise SourceError(f"{path}: no such file. Pass the published dataset.json (JSON lines or a JSON array "
                          "of rows), a folder in the ECInstruct Hub layout, or a Hub dataset id.")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


_ENCODING_FIX = "Save the file as UTF-8 text (JSON lines or one JSON array), e.g. with `iconv -t UTF-8`"


def iter_records(path: str | Path) -> Iterator[tuple[int, object]]:
    """Yield ``(row_number, record)`` from a JSON-lines file or a JSON array file (1-based numbers).

    Whatever the bytes, the only exceptions are :class:`SourceError` (the file as a whole cannot be read:
    not UTF-8, a damaged ``.gz``, a malformed array, no rows at all) and :class:`RowFormatError` (one line).
    """
    path = Path(path)
    seen = 0
    try:
        for seen, record in _records(path):
            yield seen, record
    except UnicodeDecodeError as err:
        raise SourceError(f"{path}: not UTF-8 text ({_encoding_hint(path, err)}). {_ENCODING_FIX}") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise SourceError(f"{path}: the gzip file is damaged or cut short ({type(err).__name__}: {err}). "
                          "Download or compress it again") from None
    except RecursionError:
        raise SourceError(f"{path}: JSON nested too deeply to be an ECInstruct row (after row {seen}). "
                          "Each row is a flat object of strings") from None
    if seen == 0:
        raise SourceError(f"{path}: the file holds no rows (it is empty or only whitespace). Expected the "
                          "published dataset.json: one JSON object per line, or one JSON array of objects")


def _encoding_hint(path: Path, err: UnicodeDecodeError) -> str:
    start = err.object[:4] if isinstance(err.object, bytes | bytearray) else b""
    if start.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in start:
        return "it looks like UTF-16"
    return f"byte {err.start} cannot be decoded"


def _records(path: Path) -> Iterator[tuple[int, object]]:
    with _open_text(path) as handle:
        first = _peek_char(handle)
        if first == "[":
            handle.seek(0)
            binary = handle.buffer if hasattr(handle, "buffer") else handle
            try:
                yield from enumerate(_array_items(binary, path), start=1)
            except (ijson.JSONError, ValueError) as err:  # ValueError: e.g. a number ijson cannot represent
                if isinstance(err, UnicodeDecodeError | SourceError):
                    raise
                raise SourceError(f"{path}: the JSON array is malformed ({one_line(err)}). Re-download the file.") \
                    from None
            return
        handle.seek(0)
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise RowFormatError(number, f"not valid JSON ({err.msg} at column {err.colno})",
                                     "The file must hold one JSON object per line, or be one JSON array.") from None
            except (RecursionError, ValueError) as err:  # ValueError: e.g. an integer too long to convert
                raise RowFormatError(number, f"not a usable JSON row ({type(err).__name__})",
                                     "Each line must be one flat JSON object of ECInstruct columns.") from None
            yield number, record


MAX_DEPTH = 32  # an ECInstruct row is a flat object; far deeper nesting is garbage, refused before it costs memory


def _array_items(binary, path: Path) -> Iterator[object]:
    """The items of a top-level JSON array, built from ijson's flat events so that nesting depth can be
    checked as it grows (``ijson.items`` on 50k nested brackets needs gigabytes before it fails)."""
    from ijson.common import ObjectBuilder

    depth, builder = 0, None
    for event, value in ijson.basic_parse(binary, use_float=True):
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
        if depth > MAX_DEPTH:
            raise SourceError(f"{path}: JSON nested more than {MAX_DEPTH} levels deep; an ECInstruct row is a flat "
                              "object of strings. Check that this is the published dataset.json")
        if depth == 0:  # the closing bracket of the array
            return
        if event == "start_array" and depth == 1:  # the opening bracket of the array
            continue
        builder = builder or ObjectBuilder()
        builder.event(event, value)
        if depth == 1:
            yield builder.value
            builder = None


def _peek_char(handle: io.TextIOBase) -> str:
    while True:
        char = handle.read(1)
        if not char or not char.isspace():
            return char


def iter_rows(
    path: str | Path,
    *,
    strict: bool = True,
    report: RowReport | None = None,
    qpr_labels: list[list[str]] | None = None,
) -> Iterator[tuple[dict, Task, Setting]]:
    """Normalised rows of a published file, with ids, in file order (see :func:`normalize_records`)."""
    yield from normalize_records(iter_records(path), strict=strict, report=report, qpr_labels=qpr_labels,
                                 source=str(path))


def normalize_records(
    records: Iterable[tuple[int | str, object]],
    *,
    strict: bool = True,
    report: RowReport | None = None,
    qpr_labels: list[list[str]] | None = None,
    source: str = "rows",
) -> Iterator[tuple[dict, Task, Setting]]:
    """Validate and normalise ``(row_number, record)`` pairs; each row gets its stable id.

    ``strict=True`` raises on the first bad row; ``strict=False`` skips bad rows and counts them in
    ``report``. ``qpr_labels`` (the official per-option ESCI label file: list *i* labels the options of
    QPR test row *i*) fills ``option_labels`` of QPR test rows and is checked against their outputs.
    """
    report = report if report is not None else RowReport()
    positions: Counter = Counter()
    for number, record in records:
        report.read += 1
        try:
            row, task, setting = normalize_row(record, number)
            key = (task.code, setting.name, row["split"])
            row["id"] = _make_id(row, task, setting, positions[key])
            if qpr_labels is not None and task.code == "QPR" and row["split"] == "test":
                row["option_labels"] = _qpr_labels_for(row, qpr_labels, positions[key], number)
        except RowFormatError as err:
            if strict:
                raise
            report.skip(err)
            continue
        positions[key] += 1
        report.kept += 1
        yield row, task, setting
    if report.n_skipped:
        logger.warning("%s: %s", source, report.summary())


def _make_id(row: dict, task: Task, setting: Setting, index: int) -> str:
    return make_id(task, setting, row["split"], index)


def _qpr_labels_for(row: dict, labels: list[list[str]], index: int, number: int) -> list[str]:
    if index >= len(labels):
        raise RowFormatError(number, f"QPR test row {index} has no entry in the label file ({len(labels)} entries)",
                             "Use the label file that belongs to this data, or load without qpr_labels.")
    item = list(labels[index])
    expected = qpr_output_from_labels(item)
    if row["output"].replace(" ", "") != expected:
        raise RowFormatError(number, f"QPR output {row['output']!r} disagrees with label-file entry {index} {item} "
                             f"(expects {expected!r})", "The label file and the data are not in the same row order.")
    return item


def qpr_output_from_labels(labels: list[str]) -> str:
    """The gold QPR output of an item from its per-option labels: letters ordered E, S, C, I."""
    letters = [chr(ord("A") + i) for i in range(len(labels))]
    ranked = sorted(zip(labels, letters, strict=True), key=lambda pair: QPR_LABEL_ORDER.index(pair[0]))
    return ",".join(letter for _, letter in ranked)


def read_qpr_labels(path: str | Path) -> list[list[str]]:
    """Read a QPR label file: a JSON list of per-item lists of E/S/C/I labels."""
    try:
        labels = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError, RecursionError) as err:  # ValueError covers bad JSON and bad UTF-8
        raise SourceError(f"{path}: cannot read the QPR label file ({type(err).__name__}: {one_line(err)}); "
                          "expected a JSON list of lists of E/S/C/I labels, one list per QPR test row.") from None
    valid = isinstance(labels, list) and all(
        isinstance(item, list) and item and all(label in QPR_LABEL_ORDER for label in item) for item in labels
    )
    if not valid:
        raise SourceError(f"{path}: expected a JSON list of non-empty lists of labels from E, S, C, I")
    return labels


