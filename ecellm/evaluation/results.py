"""The evaluation's results: numbers per task × split × mode, metadata, and the files written from them.

``<out>/results.json`` (machines), ``<out>/results.md`` (paper-style tables), ``<out>/results.png``
(chart), ``<out>/samples/<TASK>.<split>.jsonl`` (prompt, raw output, answer and verdict per mode),
``<out>/cache/`` (resumable predictions). Every file is written atomically.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecellm.evaluation.errors import EvaluationError
from ecellm.evaluation.paper_scores import Published
from ecinstruct.atomic import atomic_write_text

logger = logging.getLogger(__name__)

SCHEMA = "ecellm-eval/1"
RESULTS_JSON, RESULTS_MD, RESULTS_PNG, SAMPLES_DIR = "results.json", "results.md", "results.png", "samples"


@dataclass
class Results:
    """What :func:`ecellm.evaluate` returns."""

    meta: dict[str, Any]
    entries: list[dict[str, Any]]
    samples: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    published: Published | None = field(default=None, repr=False)
    out_dir: Path | None = None

    def get(self, task: str, split: str = "test_ind", mode: str = "strict",
            method: str | None = None) -> dict[str, Any]:
        """The entry of one task × split × mode × ``method``. Without ``method``: the run's own, or ``generate`` for
        a task the run generated freely because its method needs a closed answer set (AVE/AG in a log-likelihood
        or constrained run)."""
        wanted = method or self.meta.get("method", "generate")
        accepted = (wanted,) if method is not None else (wanted, "generate")
        matches = {e.get("method", "generate"): e for e in reversed(self.entries)
                   if (e["task"], e["split"], e["mode"]) == (task, split, mode)}
        for name in accepted:
            if name in matches:
                return matches[name]
        raise KeyError(f"no result for {task} / {split} / {mode} / {wanted}; have: "
                       f"{sorted({(e['task'], e['split'], e.get('method', 'generate')) for e in self.entries})}")

    def score(self, task: str, split: str = "test_ind", mode: str = "strict",
              method: str | None = None) -> float | None:
        return self.get(task, split, mode, method)["score"]

    @property
    def methods(self) -> list[str]:
        """Answer methods present, in entry order (``generate``, ``constrained``, ``loglik``, ``loglik_norm``)."""
        return list(dict.fromkeys(e.get("method", "generate") for e in self.entries))

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """(task, split) pairs evaluated, in entry order."""
        return list(dict.fromkeys((e["task"], e["split"]) for e in self.entries))

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, **self.meta, "results": self.entries}

    def markdown(self) -> str:
        from ecellm.evaluation.tables import results_markdown

        return results_markdown(self.meta, self.entries, self.published)

    def save(self, out_dir: str | Path, *, chart: bool = True) -> Path:
        """Write results.json, results.md, results.png and the per-sample logs under ``out_dir``."""
        out = Path(out_dir)
        for (task, split), records in self.samples.items():
            lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
            atomic_write_text(out / SAMPLES_DIR / f"{task}.{split}.jsonl", lines)
        atomic_write_text(out / RESULTS_JSON, json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")
        atomic_write_text(out / RESULTS_MD, self.markdown())
        if chart and self.entries:
            from ecellm.evaluation.chart import plot_results

            plot_results(self.entries, out / RESULTS_PNG, label=self.meta["model"]["name"], published=self.published,
                         config=self.meta["data"]["config"])
        self.out_dir = out
        logger.info("results written to %s", out)
        return out

    @classmethod
    def load(cls, path: str | Path, *, samples: bool = True) -> Results:
        """Read a results folder (or its results.json), with the per-sample logs when present."""
        path = Path(path)
        folder, file = (path, path / RESULTS_JSON) if path.is_dir() else (path.parent, path)
        doc = read_results_json(file)
        if doc.get("schema") != SCHEMA:
            raise EvaluationError(f"{file} is not an ecellm eval results file (schema {doc.get('schema')!r})")
        entries = doc.pop("results")
        doc.pop("schema")
        loaded = cls(meta=doc, entries=entries, out_dir=folder)
        if samples:
            loaded.samples = {pair: _read_samples(folder / SAMPLES_DIR / f"{pair[0]}.{pair[1]}.jsonl")
                              for pair in loaded.pairs}
        return loaded


class ResultsFormatError(EvaluationError, ValueError):
    """A results file that cannot be read."""


def read_results_json(path: str | Path) -> dict[str, Any]:
    """The JSON of a results file (``results.json`` of ``ecellm eval``, or a folder holding one): the one reader of
    the format; one clear error when it is missing or not JSON."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_JSON
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsFormatError(f"{path}: no such results file (write one with `ecellm eval ... --out DIR`)") from None
    except (OSError, json.JSONDecodeError) as err:
        raise ResultsFormatError(f"{path}: not a JSON results file ({err})") from None
    if not isinstance(doc, dict):
        raise ResultsFormatError(f"{path}: not an ecellm eval results file (a JSON object is expected)")
    return doc


def _read_samples(path: Path) -> list[dict[str, Any]]:
    """The per-sample log of one task × split; one clear error naming the first damaged line."""
    if not path.is_file():
        return []
    samples = []
    for number, line in enumerate(path.read_bytes().split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            sample = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError) as err:  # ValueError: bad JSON or UTF-8 cut inside a character
            raise ResultsFormatError(f"{path} line {number}: damaged ({type(err).__name__}; a line cut by a kill or "
                                     "an edit); rerun `ecellm eval` with the same --out to rewrite it") from None
        if not isinstance(sample, dict) or "id" not in sample:
            raise ResultsFormatError(f"{path} line {number}: not a sample of `ecellm eval` (a JSON object with an "
                                     "\"id\" is expected); rerun `ecellm eval` with the same --out to rewrite it")
        samples.append(sample)
    return samples
