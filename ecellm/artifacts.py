"""What ``ecellm train`` leaves in a model folder, in one place: the training summary and how an adapter folder
is told from a full model.

A PEFT adapter folder holds ``adapter_config.json``; a full (or merged) model holds ``config.json``.
``training_summary.json`` sits next to the adapter; a ``<out>/merged`` folder finds it one level up.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ecinstruct.atomic import atomic_write_text

logger = logging.getLogger(__name__)

SUMMARY_FILE = "training_summary.json"
ADAPTER_CONFIG = "adapter_config.json"


def is_adapter(folder: str | Path) -> bool:
    """A PEFT adapter folder (it holds ``adapter_config.json``)."""
    return (Path(folder) / ADAPTER_CONFIG).is_file()


def read_adapter_config(folder: str | Path) -> dict[str, Any]:
    return json.loads((Path(folder) / ADAPTER_CONFIG).read_text(encoding="utf-8"))


@dataclass
class TrainingSummary:
    """The record of one training run (``training_summary.json``): what was trained on what, how, and how it
    ended. ``extra`` keeps keys this version does not know, so a summary round-trips unchanged."""

    base_model: str | None = None
    base_model_path: str | None = None
    prompt_format: str | None = None
    recipe: str | None = None
    dataset_name: str | None = None
    dataset_config: str | None = None
    tasks: Any = None
    train_rows: int | None = None
    eval_rows: int | None = None
    lora: dict[str, Any] | None = None
    max_length: int | None = None
    packing: bool | None = None
    padding_free: bool | None = None
    precision: str | None = None
    world_size: int | None = None
    effective_batch_size: int | None = None
    global_step: int | None = None
    best_checkpoint: str | None = None
    best_step: int | None = None  # the step of best_checkpoint (the Trainer's best_global_step)
    best_metric: float | None = None
    metrics: dict[str, Any] | None = None
    ecellm_arguments: dict[str, Any] | None = None
    versions: dict[str, str] | None = None
    log_history: list[dict[str, Any]] | None = None  # the Trainer's logs: losses and evaluations by step
    extra: dict[str, Any] = field(default_factory=dict)
    _keys: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> TrainingSummary:
        known = {f.name for f in fields(cls)} - {"extra", "_keys"}
        return cls(**{k: v for k, v in doc.items() if k in known},
                   extra={k: v for k, v in doc.items() if k not in known}, _keys=tuple(doc))

    def to_dict(self) -> dict[str, Any]:
        """The JSON document: the keys a loaded summary had, in its order; a new one has every field."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("extra", "_keys")}
        values.update(self.extra)
        keys = self._keys if self._keys is not None else tuple(values)
        return {k: values[k] for k in keys if k in values}

    @classmethod
    def load(cls, path: str | Path) -> TrainingSummary:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def find(cls, folder: str | Path, *, strict: bool = False) -> TrainingSummary | None:
        """The summary of a model folder, or of its parent for ``<out>/merged``; None when there is none (an
        unreadable one is skipped with a warning, or raises with ``strict``)."""
        folder = Path(folder)
        for candidate in (folder / SUMMARY_FILE, folder.parent / SUMMARY_FILE):
            if candidate.is_file():
                try:
                    return cls.load(candidate)
                except json.JSONDecodeError:
                    if strict:
                        raise
                    logger.warning("ignoring unreadable %s", candidate)
        return None

    def save(self, folder: str | Path) -> Path:
        return atomic_write_text(Path(folder) / SUMMARY_FILE, json.dumps(self.to_dict(), indent=2, default=str) + "\n")
