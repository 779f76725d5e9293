"""The ECInstruct dataset card (``dataset_card.md`` beside this file), rendered through huggingface_hub.

:func:`render_dataset_card` (written by ``ecinstruct build``), :func:`retarget_dataset_card` (``ecellm publish
dataset`` names the real repository). Offline metadata checks: :mod:`ecinstruct.card_checks`.
"""

from __future__ import annotations

import datasets
from huggingface_hub import DatasetCard, DatasetCardData

from ecinstruct.card_checks import size_category, template_path
from ecinstruct.hub_layout import BuildReport, file_path
from ecinstruct.schema import FEATURES
from ecinstruct.settings import CONFIGS, SETTINGS, SPLITS
from ecinstruct.tasks import TASKS

DEFAULT_REPO_ID = "<your-org>/ECInstruct"


def _config_entries(report: BuildReport) -> tuple[list[dict], list[dict], list[dict]]:
    """YAML ``configs`` and ``dataset_info`` entries, and the per-config count tables of the card body."""
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
    configs, infos, tables = _config_entries(report)
    card_data = DatasetCardData(
        language=["en"],
        license=license,
        pretty_name="ECInstruct",
        size_categories=[size_category(report.rows.kept)],
        task_categories=["text-generation", "text-classification", "question-answering"],
        tags=["e-commerce", "instruction-tuning", "ecellm"],
        configs=configs,
        dataset_info=infos,
    )
    card = DatasetCard.from_template(
        card_data,
        template_path=template_path("ecinstruct", "dataset_card.md"),
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

