"""Every ``ecellm eval`` option checked before anything expensive (data, model, generation) starts.

:func:`validate_eval_options` takes the :class:`~ecellm.evaluation.config.EvalConfig` and is called once at the
start of :func:`ecellm.evaluation.evaluate`. The small ``check_*(flag, value)`` functions are declared on the
config's fields (``option(..., check=...)``), so the generated flag runs the same check at parse time (a usage
error before torch is imported) and :func:`ecellm.options.check_fields` runs it on a config built in Python.
:class:`OutputLock` keeps two runs off one ``--out``.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecellm.evaluation.checks import check_at_least_one, check_temperature, check_top_p
from ecellm.evaluation.errors import EvaluationBusyError, EvaluationError
from ecellm.options import check_fields

if TYPE_CHECKING:
    from ecellm.evaluation.config import EvalConfig

logger = logging.getLogger(__name__)

NAMED_ENCODERS = ("auto", "paper", "offline")
LOCK_FILE = ".ecellm-eval.lock"
_HELD: dict[Path, OutputLock] = {}  # locks of this process: a call that died keeps none of them from the next


def check_bertscore(model: str | None, layers: int | None) -> None:
    """The AG encoder can be resolved: a named one, or a folder / Hub id whose layer is known."""
    check_at_least_one("--bertscore-layers", layers)
    spec = model or "auto"
    if spec == "offline":
        from ecinstruct.scoring.generation import offline_encoder

        try:
            offline_encoder()
        except FileNotFoundError as err:
            raise EvaluationError(f"--bertscore-model offline: {err}") from None
        return
    if spec in NAMED_ENCODERS:
        return
    from ecinstruct.paths import missing_local_path

    if (problem := missing_local_path(spec)) is not None:
        raise EvaluationError(f"--bertscore-model {problem}; expected auto, paper, offline, a model folder or a Hub id")
    if layers is None and not _known_layers(spec):
        raise EvaluationError(f"--bertscore-model {spec}: BERTScore does not know which layer of this model to use; "
                              "pass --bertscore-layers N (e.g. the encoder's last layer)")


def _known_layers(spec: str) -> bool:
    from bert_score.utils import model2layers

    return spec in model2layers


def check_published(published: str | Path | bool | None) -> None:
    """A ``--published`` file is read now, not after generation."""
    if published in (None, True, False):
        return
    from ecellm.evaluation.paper_scores import load_published

    load_published(published)


def release_locks() -> None:
    """Release every ``--out`` lock this process holds (the end of a run, whether it finished or failed)."""
    for lock in list(_HELD.values()):
        lock.release()


@dataclass
class OutputLock:
    """An exclusive lock on ``<out>/.ecellm-eval.lock`` for the duration of a run (released by the kernel if the
    process dies, so a killed run never blocks the next one)."""

    path: Path
    handle: Any = None

    def acquire(self) -> OutputLock:
        import fcntl

        self.path = Path(os.path.abspath(self.path))
        if self.path in _HELD:
            _HELD.pop(self.path).release()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise EvaluationBusyError(f"--out {self.path.parent} is in use by another `ecellm eval` (pid {holder}); "
                                      "wait for it to finish (rerunning then reuses its predictions) or choose "
                                      "another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self.handle = handle
        _HELD[self.path] = self
        return self

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()  # closing the file drops the lock
            self.handle = None
            if _HELD.get(self.path) is self:
                del _HELD[self.path]


def validate_eval_options(config: EvalConfig, *, generation: Any = None, uses_ag: bool = True, lock: bool = True,
                          inputs: tuple[Any, ...] = ()) -> OutputLock | None:
    """Check every option of ``config`` before any data, model or generation: each field's own check (the one
    its flag runs: choices, counts, device, dtype, ...), the decoding settings actually used (``generation``,
    when they are not the config's), the output folder, the AG encoder (``uses_ag``) and the published numbers.
    Returns the lock held on ``config.out`` (None without ``out``, or with ``lock=False``: the other ranks of a
    multi-process run, whose rank 0 holds it). Raises EvaluationError, one line each."""
    check_fields(config, EvaluationError)
    if generation is not None:
        check_temperature("--temperature", generation.temperature)
        check_top_p("--top-p", generation.top_p)
    out = config.out
    if out is not None:
        from ecinstruct.atomic import check_run_folder

        check_run_folder(out, inputs=[i for i in inputs if isinstance(i, str | Path)], writer="ecellm eval",
                         writes=("results.json", "results.md", "results.png"), own_marks=("samples", "cache"))
    if uses_ag:
        check_bertscore(config.bertscore_model, config.bertscore_layers)
    check_published(config.published_source())
    return OutputLock(Path(out) / LOCK_FILE).acquire() if out is not None and lock else None


def arg(check: Callable[[Any], Any], convert: Callable[[str], Any] = str, name: str = "") -> Callable[[str], Any]:
    """An argparse ``type=`` from a ``check_*`` function: converts, checks, and reports a usage error."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            kind = {"int": "whole number", "float": "number"}.get(convert.__name__, convert.__name__)
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind}") from None
        try:
            return check(name, value) if name else check(value)
        except EvaluationError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = getattr(convert, "__name__", "value")
    return parse
