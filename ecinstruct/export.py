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
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from ecinstruct.atomic import replace_folder
from ecinstruct.errors import SourceError
from ecinstruct.published import normalize_records
from ecinstruct.schema import COLUMNS, FEATURES, RowReport
from ecinstruct.settings import CONFIGS, GROUPS, SPLITS, Setting
from ecinstruct.tasks import TASKS, Task

logger = logging.getLogger(__name__)

FLUSH_ROWS = 1000  # rows buffered per file before a row group is written (bounds memory)
_SCHEMA = FEATURES.arrow_schema.with_metadata(
    {"huggingface": json.dumps({"info": {"features": FEATURES.to_dict()}})}
)

FileKey = tuple[str, str, str]  # (group, task code, split)


@dataclass
class BuildReport:
    """What a build wrote: rows per (group, task, split) file, and what was skipped."""

    out_dir: Path
    counts: dict[FileKey, int] = field(default_factory=dict)
    rows: RowReport = field(default_factory=RowReport)

    def config_counts(self, config: str) -> dict[str, dict[str, int]]:
        """``{task code: {split: rows}}`` of one config."""
        spec = CONFIGS[config]
        table: dict[str, dict[str, int]] = {}
        for (group, code, split), n in self.counts.items():
            if group == spec.group and code in {t.code for t in spec.tasks}:
                table.setdefault(code, {})[split] = n
        return table


def file_path(group: str, task: Task, split: str) -> str:
    """Repository-relative path of one data file."""
    return f"data/{group}/{task.config_name}-{split}.parquet"


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
    from ecinstruct.dataset_card import render_dataset_card

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
        report.counts = dict(sorted(writers.close().items(), key=_order))
        if not report.counts:
            raise SourceError(f"no rows were written: {source_name} holds no valid ECInstruct rows "
                              f"({report.rows.summary()}). Check that it is the published ECInstruct data")
        card = render_dataset_card(report, file_path, source_name=source_name, license=license,
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


def _order(item: tuple[FileKey, int]) -> tuple[int, int, int]:
    (group, code, split), _ = item
    return GROUPS.index(group), [t.code for t in TASKS].index(code), SPLITS.index(split)


def read_counts(folder: str | Path) -> dict[FileKey, int]:
    """Rows per (group, task, split) of a Hub-layout folder, read from parquet metadata only."""
    counts = {}
    codes = {t.code for t in TASKS}
    for path in sorted(Path(folder).glob("data/*/*.parquet")):
        code, _, split = path.stem.partition("-")
        key = (path.parent.name, code.upper(), split)
        if key[0] not in GROUPS or key[1] not in codes or split not in SPLITS:
            logger.warning("%s: not a file of the ECInstruct layout (data/<group>/<task>-<split>.parquet); ignored",
                           path)
            continue
        try:
            counts[key] = pq.ParquetFile(path).metadata.num_rows
        except (pa.ArrowException, OSError) as err:
            raise SourceError(f"{path}: not a readable parquet file ({type(err).__name__}); rebuild the folder "
                              "with `ecinstruct build`") from None
    return dict(sorted(counts.items(), key=_order))
