"""What the dataset card (:mod:`ecinstruct.dataset_card`) and the model card (:mod:`ecellm.publishing.model_card`)
share: where a card template lives, and offline checks of card metadata (what the Hub needs to show a dataset's
configs or a model's scores).

The Hub validates a README's YAML when it is pushed (``RepoCard.validate`` asks it); these checks run with no
network, so ``ecellm publish`` fails before uploading anything and the tests can assert on every card we write.
Each function returns the list of problems (empty = valid); :func:`check` raises one error listing them.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from huggingface_hub import DatasetCard, ModelCard

from ecinstruct.errors import ECError

# Hub identifiers we write (subsets of the Hub's own lists; extend when a card needs another value).
LICENSES = {"apache-2.0", "mit", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "llama2", "other", "unknown"}
TASK_CATEGORIES = {"text-generation", "text-classification", "question-answering", "token-classification",
                   "summarization", "zero-shot-classification", "sentence-similarity"}
SIZE_CATEGORIES = {"n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M"}
SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")
REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


class CardValidationError(ECError, ValueError):
    """A card whose metadata the Hub would reject or misread."""


def template_path(package: str, name: str) -> str:
    """Absolute path of a card template shipped beside the code that renders it (``package``'s folder)."""
    return str(resources.files(package).joinpath(name))


def size_category(n: int) -> str:
    """The Hub's size bucket of ``n`` rows."""
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"


def check(problems: list[str], what: str) -> None:
    if problems:
        raise CardValidationError(f"{what}: invalid card metadata:\n- " + "\n- ".join(problems))


def dataset_card_problems(text: str, folder: str | Path | None = None) -> list[str]:
    """Problems of a dataset card; with ``folder``, also that every ``data_files`` path exists there."""
    try:
        data = DatasetCard(text).data.to_dict()
    except Exception as err:  # the Hub parser's own error, whatever its type
        return [f"the YAML header does not parse: {err}"]
    problems = _common(data)
    problems += [f"unknown task category {c!r}" for c in data.get("task_categories") or [] if c not in TASK_CATEGORIES]
    if not data.get("task_categories"):
        problems.append("task_categories is missing")
    problems += [f"unknown size category {c!r}" for c in data.get("size_categories") or [] if c not in SIZE_CATEGORIES]
    configs = data.get("configs")
    if not isinstance(configs, list) or not configs:
        return [*problems, "configs is missing: load_dataset would not know the configs and splits"]
    names = [c.get("config_name") for c in configs]
    if len(set(names)) != len(names):
        problems.append(f"duplicate config names in {names}")
    if sum(bool(c.get("default")) for c in configs) > 1:
        problems.append("more than one config is marked default")
    for config in configs:
        problems += _config_problems(config, Path(folder) if folder else None)
    problems += _info_problems(data.get("dataset_info"), set(names))
    return problems


def _config_problems(config: dict, folder: Path | None) -> list[str]:
    name = config.get("config_name")
    files = config.get("data_files")
    if not name or not isinstance(files, list) or not files:
        return [f"config {name!r} needs config_name and a data_files list"]
    problems = []
    for entry in files:
        split, paths = entry.get("split"), entry.get("path")
        if not split or not SPLIT_NAME.match(str(split)):
            problems.append(f"config {name!r}: bad split name {split!r}")
        paths = paths if isinstance(paths, list) else [paths]
        for path in paths:
            if not isinstance(path, str) or not path:
                problems.append(f"config {name!r} split {split!r}: bad path {path!r}")
            elif folder is not None and not any(folder.glob(path)):
                problems.append(f"config {name!r} split {split!r}: {path} is not in {folder}")
    return problems


def _info_problems(infos: object, names: set[str]) -> list[str]:
    if infos is None:
        return []
    infos = infos if isinstance(infos, list) else [infos]
    problems = []
    for info in infos:
        if info.get("config_name") not in names:
            problems.append(f"dataset_info for unknown config {info.get('config_name')!r}")
        for split in info.get("splits") or []:
            if not isinstance(split.get("num_examples"), int) or split["num_examples"] < 0:
                problems.append(f"dataset_info {info.get('config_name')!r}: bad num_examples in {split}")
    return problems


def model_card_problems(text: str) -> list[str]:
    """Problems of a model card: base model, library, pipeline tag, license, and a parseable ``model-index``."""
    try:
        card = ModelCard(text)  # parses model-index into EvalResult objects; raises when it is malformed
    except Exception as err:
        return [f"the YAML header or model-index does not parse: {err}"]
    data = card.data.to_dict()
    problems = _common(data)
    base = data.get("base_model")
    if base is not None and not all(REPO_ID.match(b) for b in (base if isinstance(base, list) else [base])):
        problems.append(f"base_model {base!r} is not a Hub model id (org/name)")
    if data.get("library_name") not in ("peft", "transformers"):
        problems.append(f"library_name {data.get('library_name')!r}: expected peft (adapter) or transformers")
    if data.get("pipeline_tag") != "text-generation":
        problems.append(f"pipeline_tag {data.get('pipeline_tag')!r}: expected text-generation")
    for result in card.data.eval_results or []:
        label = f"model-index result {result.task_name or result.task_type} / {result.dataset_split}"
        if not isinstance(result.metric_value, int | float):
            problems.append(f"{label}: metric value {result.metric_value!r} is not a number")
        if not result.dataset_type or not result.dataset_name or not result.metric_type:
            problems.append(f"{label}: dataset type/name and metric type are required")
    return problems


def _common(data: dict) -> list[str]:
    problems = []
    if data.get("license") not in LICENSES:
        problems.append(f"license {data.get('license')!r} is not one of {sorted(LICENSES)}")
    language = data.get("language")
    if not language:
        problems.append("language is missing")
    return problems
