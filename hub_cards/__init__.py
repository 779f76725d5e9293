"""Card templates (dataset and model cards) and their rendering through huggingface_hub.

Dataset cards: :func:`render_dataset_card` (written by ``ecinstruct build``), :func:`retarget_dataset_card`
(``ecellm publish dataset`` names the real repository). Model cards: :func:`render_model_card` with
:class:`ModelCardInputs` (``ecellm publish model``). Offline metadata checks: :mod:`hub_cards.validate`.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

import datasets
from huggingface_hub import DatasetCard, DatasetCardData

if TYPE_CHECKING:
    from ecinstruct.export import BuildReport

DEFAULT_REPO_ID = "<your-org>/ECInstruct"


def template_path(name: str) -> str:
    """Absolute path of a template shipped in this package (``dataset_card.md``, ...)."""
    return str(resources.files("hub_cards").joinpath(name))


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"


def _config_entries(report: BuildReport) -> tuple[list[dict], list[dict], list[dict]]:
    """YAML ``configs`` and ``dataset_info`` entries, and the per-config count tables of the card body."""
    from ecinstruct.export import file_path
    from ecinstruct.schema import FEATURES
    from ecinstruct.settings import CONFIGS, SPLITS

    configs, infos, tables = [], [], []
    for spec in CONFIGS.values():
        counts = report.config_counts(spec.name)
        splits = [s for s in SPLITS if any(s in c for c in counts.values())]
        if not splits:
            continue
        data_files = []
        for split in splits:
            paths = [file_path(spec.group, t, split) for t in spec.tasks if split in counts.get(t.code, {})]
            data_files.append({"split": split, "path": paths if len(paths) > 1 else paths[0]})
        entry = {"config_name": spec.name, "data_files": data_files}
        if spec.name == "default":
            entry["default"] = True
        configs.append(entry)
        info = datasets.DatasetInfo(features=FEATURES)
        info.splits = datasets.SplitDict()
        for split in splits:
            n = sum(c.get(split, 0) for c in counts.values())
            info.splits.add(datasets.SplitInfo(name=split, num_examples=n, num_bytes=0))
        infos.append({"config_name": spec.name, **info._to_yaml_dict()})
        rows = [{"code": t.code, "counts": [counts.get(t.code, {}).get(s, "—") for s in splits]}
                for t in spec.tasks if t.code in counts]
        tables.append({"name": spec.name, "description": spec.description, "splits": splits, "rows": rows})
    return configs, infos, tables


def _settings_rows() -> list[dict[str, str]]:
    from ecinstruct.settings import SETTINGS

    rows = []
    for s in SETTINGS:
        kind = {"diverse": "one of five instruction paraphrases per row", "single": "the seed instruction on every row",
                "unseen": "the held-out paraphrase (never seen in training)"}[s.instructions]
        rows.append({"name": s.name, "domain": s.domain, "instructions": kind + (", 1-shot" if s.one_shot else ""),
                     "config": s.group})
    return rows


def retarget_dataset_card(text: str, repo_id: str) -> str:
    """The card with its placeholder repository id (usage snippets) replaced by ``repo_id``."""
    return text.replace(DEFAULT_REPO_ID, repo_id)


def render_dataset_card(
    report: BuildReport,
    *,
    source_name: str,
    license: str = "cc-by-4.0",
    sections: dict[str, str] | None = None,
    repo_id: str = DEFAULT_REPO_ID,
) -> str:
    """The README.md of a Hub-layout folder: YAML metadata (configs, counts, license) + the card body."""
    from ecinstruct.tasks import TASKS

    configs, infos, tables = _config_entries(report)
    card_data = DatasetCardData(
        language=["en"],
        license=license,
        pretty_name="ECInstruct",
        size_categories=[_size_category(report.rows.kept)],
        task_categories=["text-generation", "text-classification", "question-answering"],
        tags=["e-commerce", "instruction-tuning", "ecellm"],
        configs=configs,
        dataset_info=infos,
    )
    card = DatasetCard.from_template(
        card_data,
        template_path=template_path("dataset_card.md"),
        pretty_name="ECInstruct",
        source_name=source_name,
        repo_id=repo_id,
        tasks=TASKS,
        settings=_settings_rows(),
        configs=tables,
        report=report.rows,
        sections=sections or {},
    )
    return str(card).rstrip() + "\n"


from hub_cards.model import ModelCardInputs, render_model_card  # noqa: E402  (model cards reuse template_path)
from hub_cards.results import Score, load_results, scores_from_results  # noqa: E402
from hub_cards.validate import CardValidationError, dataset_card_problems, model_card_problems  # noqa: E402

__all__ = [
    "DEFAULT_REPO_ID",
    "CardValidationError",
    "ModelCardInputs",
    "Score",
    "dataset_card_problems",
    "load_results",
    "model_card_problems",
    "render_dataset_card",
    "render_model_card",
    "retarget_dataset_card",
    "scores_from_results",
    "template_path",
]
