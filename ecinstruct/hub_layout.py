"""The Hub layout of a built ECInstruct folder: where each (config group, task, split) file lives, and what a build
wrote (:class:`BuildReport`, rendered by :mod:`ecinstruct.dataset_card`, written by :mod:`ecinstruct.export`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ecinstruct.errors import SourceError
from ecinstruct.schema import RowReport
from ecinstruct.settings import CONFIGS, GROUPS, SPLITS
from ecinstruct.tasks import TASKS, Task

logger = logging.getLogger(__name__)

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


def order_key(item: tuple[FileKey, int]) -> tuple[int, int, int]:
    """Files in layout order: config group, task (registry order), split."""
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
    return dict(sorted(counts.items(), key=order_key))
