"""`ECInstruct`: a `datasets` builder over the published ECInstruct file.

Loading scripts are gone since datasets 4, so the builder is used directly::

    builder = ECInstruct(config_name="ave", data_files="dataset.json", cache_dir=...)
    builder.download_and_prepare()
    ds = builder.as_dataset()

(:func:`ecinstruct.load` does this for you.)
"""

from __future__ import annotations

from dataclasses import dataclass

import datasets

from ecinstruct.errors import SourceError
from ecinstruct.published import iter_rows, read_qpr_labels
from ecinstruct.schema import FEATURES
from ecinstruct.settings import CONFIGS, PUBLISHED_SPLITS, SPLITS, ConfigSpec, get_config

CITATION = """@inproceedings{peng2024ecellm,
  title = {eCeLLM: Generalizing Large Language Models for E-commerce from Large-scale, High-quality Instruction Data},
  author = {Peng, Bo and Ling, Xinyi and Chen, Ziru and Sun, Huan and Ning, Xia},
  booktitle = {Proceedings of the 41st International Conference on Machine Learning},
  year = {2024}
}"""


@dataclass
class ECInstructConfig(datasets.BuilderConfig):
    """A config of :class:`ECInstruct`.

    Args:
        strict: raise on the first malformed row (``True``) or skip and count malformed rows.
        qpr_labels: path of the QPR label file (per-option ESCI labels of the QPR test rows), which
            fills the ``option_labels`` column of those rows.
    """

    strict: bool = True
    qpr_labels: str | None = None


def possible_splits(spec: ConfigSpec) -> list[str]:
    """The splits a config can hold, from its settings (e.g. unseen-instruction configs have only tests)."""
    names = set()
    for setting in spec.settings:
        published = ("test",) if setting.domain == "OOD" or setting.instructions == "unseen" or setting.one_shot \
            else PUBLISHED_SPLITS
        if setting.domain == "OOD" and not any(t.has_ood for t in spec.tasks):
            continue
        names.update(setting.split_name(p) for p in published)
    return [s for s in SPLITS if s in names]


class ECInstruct(datasets.GeneratorBasedBuilder):
    """ECInstruct from the published single-file release, split into proper configs and splits."""

    BUILDER_CONFIG_CLASS = ECInstructConfig
    BUILDER_CONFIGS = [ECInstructConfig(name=name, description=spec.description) for name, spec in CONFIGS.items()]
    DEFAULT_CONFIG_NAME = "default"
    VERSION = datasets.Version("1.0.0")

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description="ECInstruct, the e-commerce instruction dataset of eCeLLM (ICML 2024).",
            features=FEATURES,
            citation=CITATION,
            license="cc-by-4.0",
        )

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        if not self.config.data_files:
            raise SourceError("ECInstruct needs data_files=<path of the published dataset.json>")
        files = [f for split_files in self.config.data_files.values() for f in split_files]
        splits = possible_splits(get_config(self.config.name))
        return [datasets.SplitGenerator(name=s, gen_kwargs={"files": files, "split": s}) for s in splits]

    def _generate_examples(self, files: list[str], split: str):
        spec = get_config(self.config.name)
        labels = read_qpr_labels(self.config.qpr_labels) if self.config.qpr_labels else None
        for path in files:
            for row, task, setting in iter_rows(path, strict=self.config.strict, qpr_labels=labels):
                if spec.contains(task, setting) and setting.split_name(row["split"]) == split:
                    yield row["id"], row
