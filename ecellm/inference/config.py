"""The options of ``ecellm predict`` and ``ecellm serve``, each declared once as a dataclass field.

:class:`PredictorOptions` is what a :class:`~ecellm.inference.predictor.Predictor` takes: the options shared with
``ecellm eval`` (:class:`~ecellm.evaluation.config.ModelOptions`: model, prompt format, budget, batch, device ...)
plus its own decoding method and backend. :class:`PredictConfig` and :class:`ServeConfig` add each command's own
options. The commands' flags are generated from these fields (:func:`ecellm.options.add_flags`), and
:func:`~ecellm.inference.predictor.validate_predictor_options` runs the same checks on options built in Python.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from ecellm.evaluation.checks import check_at_least_one
from ecellm.evaluation.config import ModelOptions
from ecellm.evaluation.errors import EvaluationError
from ecellm.options import option
from ecinstruct.tasks import TASKS

# "auto": constrained decoding where the task has a closed answer set, free generation elsewhere.
PredictMethod = Literal["auto", "generate", "constrained", "loglik"]
PredictBackend = Literal["transformers", "vllm"]
OnError = Literal["skip", "fail"]


def check_port(flag: str, value: int) -> int:
    if not 1 <= value <= 65535:
        raise EvaluationError(f"{flag} {value}: a TCP port is 1 to 65535 (default 8000)")
    return value


def parse_port(text: str) -> int:
    """``--port``'s argparse type (its message names the flag: ``--port 'http' is not a whole number``)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--port {text!r} is not a whole number") from None
    try:
        return check_port("--port", port)
    except EvaluationError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def check_window(flag: str, value: float) -> float:
    if not 0 <= value <= 60_000:  # also rejects NaN
        raise EvaluationError(f"{flag} must be 0 to 60000 (milliseconds), got {value}")
    return value


@dataclass
class PredictorOptions(ModelOptions):
    """What a ``Predictor`` is built with (``ecellm predict`` and ``ecellm serve`` share these flags)."""

    method: PredictMethod = option("auto", "auto (constrained decoding for closed-answer tasks, free generation for "
                                           "AVE and AG), generate, constrained or loglik.")
    backend: PredictBackend = option("transformers", "Engine: transformers, or vllm (its own venv; GPU or CPU).")

    def predictor_kwargs(self) -> dict[str, Any]:
        """The ``Predictor`` keywords (every option but the model)."""
        return {f.name: getattr(self, f.name) for f in fields(PredictorOptions) if f.name != "model"}

    @classmethod
    def from_kwargs(cls, model: Any = None, **options: Any) -> PredictorOptions:
        """Options from ``Predictor``/``predict_file``/``serve`` keywords (only this class's fields)."""
        names = {f.name for f in fields(PredictorOptions)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise EvaluationError(f"unknown predictor option(s) {', '.join(unknown)}; expected some of: "
                                  f"{', '.join(sorted(names - {'model'}))}")
        return PredictorOptions(model=None if model is None else str(model), **options)


@dataclass
class PredictConfig(PredictorOptions):
    """The options of one ``ecellm predict`` run."""

    task: str | None = option(None, "Task code: " + ", ".join(t.code for t in TASKS) + ".", required=True)
    input: str | None = option(None, "Input table: .csv (or .tsv; UTF-8), .jsonl or .parquet.", required=True)
    out: str | None = option(None, "Output JSON lines file (never the input or a file of yours).", required=True)
    map: list[str] | None = option(None, "Read a task field from a differently named column (repeatable, or "
                                         "comma-separated).", metavar="FIELD=COLUMN")
    on_error: OnError = option("skip", "A bad row: write it as an error line and go on (skip), or stop the run "
                                       "(fail).")
    chunk_size: int = option(64, "Rows per checkpoint (what a kill may lose).", check=check_at_least_one)
    overwrite: bool = option(False, "Replace an earlier --out of `ecellm predict`.")
    progress: bool = option(True, "Show a progress bar; --no-progress hides it.", flag="--no-progress")

    def file_kwargs(self) -> dict[str, Any]:
        """``predict_file``'s own keywords."""
        return {"mapping": self.map, "on_error": self.on_error, "chunk_size": self.chunk_size,
                "overwrite": self.overwrite, "progress": self.progress}


@dataclass
class ServeConfig(PredictorOptions):
    """The options of ``ecellm serve``."""

    host: str = option("127.0.0.1", "Address to bind (default: localhost only).")
    port: int = option(8000, "TCP port, 1 to 65535 (default 8000).", check=check_port, parse=parse_port)
    max_batch: int = option(16, "Most requests answered in one engine call.", check=check_at_least_one)
    batch_window_ms: float = option(10.0, "How long the first waiting request waits for others to batch with (0: no "
                                          "waiting).", check=check_window)
    max_body_kb: int = option(256, "Largest request body accepted (413 above).", check=check_at_least_one)

    def server_kwargs(self) -> dict[str, Any]:
        """``serve``'s own keywords."""
        own = {f.name for f in fields(ServeConfig)} - {f.name for f in fields(PredictorOptions)}
        return {k: v for k, v in asdict(self).items() if k in own}
