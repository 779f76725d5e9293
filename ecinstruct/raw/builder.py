"""`ECInstructRaw`: a `datasets` builder that builds ECInstruct proper from the raw sources.

Loading scripts are gone since datasets 4, so the builder is instantiated directly::

    builder = ECInstructRaw(config_name="sa", raw_dir="data/raw", seed=1,
                            sizes="train=10000,validation=1000,test=1000", cache_dir=...)
    builder.download_and_prepare()
    ds = builder.as_dataset()          # splits train / validation / test_ind (/ test_ood)

Configs: ``default`` (every task whose source is under ``raw_dir``) and one per task (``ave``, …).
Rows are the diverse-instruction rows (ECInstruct proper), normalised like the published data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import datasets

from ecinstruct.builder import CITATION
from ecinstruct.errors import SourceError
from ecinstruct.instructions import load_instructions
from ecinstruct.published import normalize_records
from ecinstruct.raw.base import Sizes
from ecinstruct.raw.pipeline import build_examples
from ecinstruct.schema import FEATURES
from ecinstruct.settings import SPLITS
from ecinstruct.tasks import TASKS


@dataclass
class ECInstructRawConfig(datasets.BuilderConfig):
    """A config of :class:`ECInstructRaw`.

    Args:
        raw_dir: the folder of raw sources (layout: :mod:`ecinstruct.raw.pipeline`).
        sizes: ``"train=10000,validation=1000,test=1000,ood=1000"`` (any subset; paper defaults).
        seed: fixes every random choice; same inputs + seed → identical rows.
        instructions: an instruction file of your own (default: the package's).
        tasks: task codes built by this config (``None``: every task whose source is present).
        num_proc: worker processes for per-record QC (the rows do not depend on it).
        language_detector: ``"lingua"``, ``"heuristic"`` or ``None`` (lingua when installed).
    """

    raw_dir: str | None = None
    sizes: str | None = None
    seed: int = 1
    instructions: str | None = None
    tasks: tuple[str, ...] | None = None
    num_proc: int = 1
    language_detector: str | None = None


class ECInstructRaw(datasets.GeneratorBasedBuilder):
    """ECInstruct proper (IND/OOD diverse-instruction rows) built from the raw sources."""

    BUILDER_CONFIG_CLASS = ECInstructRawConfig
    BUILDER_CONFIGS = [
        ECInstructRawConfig(name="default", description="Every task whose raw source is present."),
        *(ECInstructRawConfig(name=t.config_name, tasks=(t.code,),
                              description=f"{t.code} ({t.name}) from its raw source.") for t in TASKS),
    ]
    DEFAULT_CONFIG_NAME = "default"
    VERSION = datasets.Version("1.0.0")

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description="ECInstruct rebuilt from the raw sources with the paper's construction and QC.",
            features=FEATURES, citation=CITATION)

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        if not self.config.raw_dir:
            raise SourceError("ECInstructRaw needs raw_dir=<folder of raw sources>; see ecinstruct.raw.pipeline "
                              "for the layout")
        build = build_examples(self.config.raw_dir, self.config.tasks, Sizes.parse(self.config.sizes), self.config.seed,
                              num_proc=self.config.num_proc, language_detector=self.config.language_detector)
        instructions = load_instructions(self.config.instructions)
        by_split: dict[str, list[dict]] = defaultdict(list)
        for row, _, setting in normalize_records(enumerate(build.rows(instructions), start=1)):
            if setting.group == "default":
                by_split[setting.split_name(row["split"])].append(row)
        return [datasets.SplitGenerator(name=s, gen_kwargs={"rows": by_split[s]}) for s in SPLITS if by_split[s]]

    def _generate_examples(self, rows: list[dict]):
        for row in rows:
            yield row["id"], row
