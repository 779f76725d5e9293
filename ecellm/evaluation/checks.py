"""The value checks of single options (``check_*(flag, value)``): declared on the options' dataclass fields
(``option(..., check=...)``), so a flag runs the same check at parse time and :func:`ecellm.options.check_fields`
on a config built in Python. Beneath the configs; :mod:`ecellm.evaluation.validate` adds the checks that need
more than one value (the run folder and its lock, the encoder, the published numbers)."""

from __future__ import annotations

from pathlib import Path

from ecellm.evaluation.errors import EvaluationError

DTYPES = ("auto", "float32", "float16", "bfloat16")


def check_at_least_one(name: str, value: int | None) -> int | None:
    """``value`` when it is None or >= 1 (a count: rows, threads, resamples, batch size)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise EvaluationError(f"{name} must be a whole number >= 1, got {value!r}")
    return value


def check_at_least_zero(name: str, value: int | None) -> int | None:
    """``value`` when it is None or >= 0 (retries)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise EvaluationError(f"{name} must be a whole number >= 0, got {value!r}")
    return value


def check_positive(flag: str, value: float | None) -> float | None:
    """``value`` when it is None or > 0 (a size, a timeout)."""
    if value is not None and not value > 0:  # `not >` also rejects NaN
        raise EvaluationError(f"{flag} must be > 0, got {value!r}")
    return value


def check_temperature(flag: str, value: float | None) -> float | None:
    if value is not None and not value > 0:  # `not >` also rejects NaN
        raise EvaluationError(f"{flag} must be > 0 (sampling; the reference uses 0.15), got {value!r}; "
                              "for greedy decoding leave out --sample/--temperature/--top-p")
    return value


def check_top_p(flag: str, value: float | None) -> float | None:
    if value is not None and not 0 < value <= 1:
        raise EvaluationError(f"{flag} must be in (0, 1] (the reference uses 0.95), got {value!r}")
    return value


def check_dtype(flag: str, value: str | None) -> str | None:
    if value is not None and value not in DTYPES:
        raise EvaluationError(f"{flag} {value!r}: expected one of {', '.join(DTYPES)}")
    return value


def check_device(flag: str, value: str | None) -> str | None:
    """cpu, cuda, cuda:N (N must exist here) or mps; None/auto = choose."""
    if value in (None, "auto", "cpu"):
        return value
    kind, _, index = value.partition(":")
    if kind not in ("cuda", "mps") or (index and not index.isdigit()) or (kind == "mps" and index):
        raise EvaluationError(f"{flag} {value!r}: expected cpu, cuda, cuda:N or mps")
    import torch

    if kind == "mps" and not torch.backends.mps.is_available():
        raise EvaluationError(f"{flag} mps: this machine has no MPS device; use {flag} cpu")
    if kind == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise EvaluationError(f"{flag} {value}: this machine has no CUDA GPU; use {flag} cpu (or leave "
                                  f"{flag} out to choose automatically)")
        if index and int(index) >= count:
            raise EvaluationError(f"{flag} {value}: this machine has {count} GPU(s), cuda:0 to cuda:{count - 1}")
    return value


def check_confidence(flag: str, value: float) -> float:
    if not 0 < value < 1:
        raise EvaluationError(f"{flag} must be in (0, 1), e.g. 0.95, got {value!r}")
    return value


def check_folder(flag: str, value: str | Path | None) -> str | Path | None:
    """An output location must be a folder (or not exist yet), never a file."""
    check_out(value, flag)
    return value


def check_out(out: str | Path | None, option: str = "--out") -> None:
    """An output location must be a folder (or not exist yet), never a file."""
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise EvaluationError(f"{option} {out} is a file; expected a folder (it will hold results.json, "
                              "results.md, samples/ and cache/)")
