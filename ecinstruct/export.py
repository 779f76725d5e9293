"""Write ECInstruct rows as a Hub dataset repository: parquet per config and split + a dataset card.

Layout (what `datasets.load_dataset(folder, config)` reads with no code of ours)::

    README.md                          card; its YAML declares every config, split and count
    data/<group>/<task>-<split>.parquet

``group`` is ``default`` (ECInstruct proper), ``single_instruction``, ``unseen_instruction`` or
``one_shot``. Per-task configs (``ave``, ``prp``, ...) point at their task's files of ``default``,
so nothing is stored twice. The folder is written to a temporary sibling and moved into place at
the end: an interrupted build never leaves a half-written repository.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from ecinstruct.atomic import replace_folder
from ecinstruct.dataset_card import render_dataset_card
from ecinstruct.errors import SourceError
from ecinstruct.hub_layout import BuildReport, FileKey, file_path, order_key, read_counts
from ecinstruct.published import normalize_records
from ecinstruct.schema import COLUMNS, FEATURES
from ecinstruct.settings import Setting
from ecinstruct.tasks import TASKS, Task

logger = logging.getLogger(__name__)

FLUSH_ROWS = 1000  # rows buffered per file before a row group is written (bounds memory)
_SCHEMA = FEATURES.arrow_schema.with_metadata(
    {"huggingface": json.dumps({"info": {"features": FEATURES.to_dict()}})}
)

class _FileWriters:
    """Lazily opened parquet writers, one per (group, task, split), fed in bounded batches."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.buffers: dict[FileKey, list[dict]] = defaultdict(list)
        self.writers: dict[FileKey, pq.ParquetWriter] = {}
        self.counts: dict[FileKey, int] = defaultdict(int)

    def add(self, key: FileKey, row: dict) -> None:
        self.buffers[key].append(row)
        self.counts[key] += 1
        if len(self.buffers[key]) >= FLUSH_ROWS:
            self._flush(key)

    def _flush(self, key: FileKey) -> None:
        rows = self.buffers.pop(key, [])
        if not rows:
            return
        if key not in self.writers:
            group, code, split = key
            path = self.root / file_path(group, _task(code), split)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.writers[key] = pq.ParquetWriter(path, _SCHEMA, compression="zstd")
        columns = {c: [r[c] for r in rows] for c in COLUMNS}
        self.writers[key].write_table(pa.table(columns, schema=_SCHEMA))

    def close(self) -> dict[FileKey, int]:
        for key in list(self.buffers):
            self._flush(key)
        for writer in self.writers.values():
            writer.close()
        return dict(self.counts)


def _task(code: str) -> Task:
    return next(t for t in TASKS if t.code == code)


def _file_key(row: dict, task: Task, setting: Setting) -> FileKey:
    return (setting.group, task.code, setting.split_name(row["split"]))


def write_hub_layout(
    rows: Iterable[dict] | Iterable[tuple[int, dict]],
    out_dir: str | Path,
    *,
    strict: bool = True,
    card_sections: dict[str, str] | None = None,
    source_name: str = "the published ECInstruct data (NingLab/ECInstruct)",
    license: str = "cc-by-4.0",
    qpr_labels: list[list[str]] | None = None,
    numbered: bool = False,
    total: int | None = None,
    overwrite: bool = False,
    inputs: Iterable[str | Path | None] = (),
) -> BuildReport:
    """Write published-format rows (8 columns, optional ``option_labels``) as a Hub dataset folder.

    ``rows`` are plain records, or ``(row_number, record)`` pairs when ``numbered=True`` (so errors can
    name the line of the source file). Rows are validated like :func:`ecinstruct.load` does; with
    ``strict=False`` bad rows are skipped and counted in the report and on the card.
    ``card_sections`` adds Markdown sections (title → text) to the dataset card. ``out_dir`` must be new,
    empty or an earlier output of ours, and may not hold ``inputs`` (:func:`ecinstruct.atomic.replace_folder`;
    ``overwrite=True`` moves a folder of other files aside).
    """
    out_dir = Path(out_dir)
    report = BuildReport(out_dir)

    unlabeled: dict[str, int] = {}

    def write(staging: Path) -> None:
        numbered_rows = rows if numbered else enumerate(rows, start=1)
        writers = _FileWriters(staging)
        normalized = normalize_records(numbered_rows, strict=strict, report=report.rows, qpr_labels=qpr_labels)
        for row, task, setting in tqdm(normalized, desc="rows", unit=" rows", total=total, mininterval=2):
            key = _file_key(row, task, setting)
            if task.scorer.needs_option_labels and key[2].startswith("test") and not row.get("option_labels"):
                unlabeled[task.code] = unlabeled.get(task.code, 0) + 1
            writers.add(key, row)
        _warn_unlabeled(unlabeled)
        report.counts = dict(sorted(writers.close().items(), key=order_key))
        if not report.counts:
            raise SourceError(f"no rows were written: {source_name} holds no valid ECInstruct rows "
                              f"({report.rows.summary()}). Check that it is the published ECInstruct data")
        card = render_dataset_card(report, source_name=source_name, license=license,
                                   sections=card_sections or {})
        (staging / "README.md").write_text(card, encoding="utf-8")

    replace_folder(out_dir, write, overwrite=overwrite, inputs=inputs, writer="ecinstruct build")
    logger.info("wrote %d rows to %s (%s)", sum(report.counts.values()), out_dir, report.rows.summary())
    return report


def _warn_unlabeled(unlabeled: dict[str, int]) -> None:
    for code, count in unlabeled.items():
        logger.warning("%d %s test row(s) have no option labels: `ecellm eval` cannot score %s without them. Rebuild "
                       "with --qpr-labels FILE (the official label file), or evaluate with --qpr-labels FILE",
                       count, code, code)


__all__ = ["BuildReport", "FileKey", "file_path", "read_counts", "write_hub_layout"]
