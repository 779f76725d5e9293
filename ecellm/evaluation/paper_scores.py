"""Published numbers to print beside ours: the package's eCeLLM file, or any file the user points at.

Two layouts are accepted: ours (``{"tables": {config: {split: {model: {task: value}}}}}``, see
``published_ecellm.json``) and a paper-results transcription with ``overall_IND`` / ``overall_OOD``
(``{"rows": [{"model", "values"}]}``) and ``unseen_instruction`` (``{"results": [{"model",
"training_instructions", "scores"}]}``) sections.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecellm.evaluation.errors import EvaluationError

logger = logging.getLogger(__name__)

PACKAGE_FILE = Path(__file__).with_name("published_ecellm.json")
Table = dict[str, dict[str, float]]  # model -> task code -> headline value


@dataclass(frozen=True)
class Published:
    """Published headline numbers: ``tables[config][split][model][task]``."""

    source: str
    tables: dict[str, dict[str, Table]] = field(default_factory=dict)

    def table(self, config: str, split: str) -> Table:
        """Rows for a dataset config and split; per-task configs (``ave``) use ``default``'s numbers."""
        group = config if config in self.tables else "default"
        return self.tables.get(group, {}).get(split, {})

    def value(self, model: str, task: str, split: str, config: str = "default") -> float | None:
        return self.table(config, split).get(model, {}).get(task)


def load_published(path: str | Path | None = None) -> Published:
    """Load published numbers (``None``: the eCeLLM numbers shipped with the package)."""
    path = Path(path) if path else PACKAGE_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise EvaluationError(f"cannot read published results {path}: {err}. Pass a JSON file in the layout of "
                              f"{PACKAGE_FILE.name} (or omit it to use the package's eCeLLM numbers)") from None
    if "tables" in doc:
        return Published(source=str(doc.get("source", path)), tables=_numbers(doc["tables"]))
    if "overall_IND" in doc:
        return Published(source=str(path), tables=_from_paper_layout(doc))
    raise EvaluationError(f"{path}: unknown published-results layout; expected a 'tables' key (like "
                          f"{PACKAGE_FILE.name}) or 'overall_IND'/'overall_OOD' sections")


def _numbers(tables: dict[str, Any]) -> dict[str, dict[str, Table]]:
    return {config: {split: {model: {task: float(v) for task, v in values.items() if v is not None}
                             for model, values in models.items()}
                     for split, models in splits.items()}
            for config, splits in tables.items()}


def _from_paper_layout(doc: dict[str, Any]) -> dict[str, dict[str, Table]]:
    default = {split: {row["model"]: row["values"] for row in doc.get(key, {}).get("rows", [])}
               for split, key in (("test_ind", "overall_IND"), ("test_ood", "overall_OOD"))}
    tables = {"default": default}
    unseen = doc.get("unseen_instruction") or {}
    if unseen.get("available", True) and unseen.get("results"):
        tables["unseen_instruction"] = {"test_ind": {
            f"{r['model']} ({r['training_instructions']})": r["scores"] for r in unseen["results"]}}
    return _numbers(tables)
