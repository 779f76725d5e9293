"""The engine loops: only rows the cache lacks, longest prompts first, in checkpointed chunks, with progress.

:func:`run_jobs` generates (freely, or inside each job's constraint); :func:`run_loglik_jobs` scores each job's
candidate answers by log-likelihood and stores the best one (raw and length-normalised).

Sorting by prompt length puts similar lengths in one chunk, so left padding wastes little; longest
first makes an out-of-memory batch fail at once and keeps the ETA pessimistic rather than optimistic.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ecellm.engines.base import Engine, batch_seed
from ecellm.evaluation.cache import PredictionCache
from ecinstruct.answers.constraint import Constraint

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One prompt to generate."""

    task: str
    split: str
    row_id: str
    prompt: str
    n_tokens: int
    budget: int
    key: str
    constraint: Constraint | None = None  # constrained decoding: what the answer may be
    candidates: tuple[str, ...] | None = None  # log-likelihood: the closed answer set


@dataclass
class GenerationStats:
    prompts: int = 0
    new_tokens: int = 0
    seconds: float = 0.0

    def plus(self, other: GenerationStats) -> GenerationStats:
        return GenerationStats(self.prompts + other.prompts, self.new_tokens + other.new_tokens,
                               self.seconds + other.seconds)

    def as_dict(self) -> dict[str, float]:
        rate = self.seconds or float("nan")
        return {"generated_prompts": self.prompts, "new_tokens": self.new_tokens, "seconds": round(self.seconds, 3),
                "prompts_per_s": self.prompts / rate if self.prompts else None,
                "tokens_per_s": self.new_tokens / rate if self.prompts else None}


def merge_stats(parts: list[GenerationStats]) -> GenerationStats:
    """One process's view of a multi-process run: prompts and tokens summed, the slowest rank's time."""
    return GenerationStats(prompts=sum(p.prompts for p in parts), new_tokens=sum(p.new_tokens for p in parts),
                           seconds=max((p.seconds for p in parts), default=0.0))


def make_batches(jobs: list[Job], batch_size: int) -> list[list[Job]]:
    """Batches of one budget each, longest prompts first."""
    by_budget: dict[int, list[Job]] = defaultdict(list)
    for job in jobs:
        by_budget[job.budget].append(job)
    batches = []
    for budget in sorted(by_budget):
        ordered = sorted(by_budget[budget], key=lambda j: (-j.n_tokens, j.task, j.split, j.row_id))
        batches += [ordered[i:i + batch_size] for i in range(0, len(ordered), batch_size)]
    return batches


def run_jobs(backend: Engine, jobs: list[Job], cache: PredictionCache, *, chunk_size: int, seed: int = 0,
             progress: bool = True) -> GenerationStats:
    """Generate every job, ``chunk_size`` prompts per backend call, appending each chunk to the cache as soon
    as it is done (the unit a killed run can lose; the backend batches inside a chunk)."""
    from tqdm.auto import tqdm

    stats = GenerationStats()
    if not jobs:
        return stats
    logger.info("generating %d prompt(s) with %s, %d per checkpoint", len(jobs), backend.name, chunk_size)
    start = time.perf_counter()
    with tqdm(total=len(jobs), unit="prompt", desc="generating", disable=not progress, dynamic_ncols=True) as bar:
        for batch in make_batches(jobs, chunk_size):
            constraints = [j.constraint for j in batch]
            outputs = backend.generate([j.prompt for j in batch], batch[0].budget,
                                       batch_seed(seed, [j.row_id for j in batch]),
                                       **({"constraints": constraints} if any(constraints) else {}))
            _store(cache, batch, outputs)
            stats.prompts += len(batch)
            stats.new_tokens += sum(o.new_tokens for o in outputs)
            stats.seconds = time.perf_counter() - start
            bar.update(len(batch))
            bar.set_postfix(tok_s=f"{stats.new_tokens / max(stats.seconds, 1e-9):.1f}")
    return stats


Chooser = Callable[[str, Sequence[str], Sequence[float]], str]


def run_loglik_jobs(backend: Engine, jobs: list[Job], cache: PredictionCache, *, chunk_size: int, choose: Chooser,
                    progress: bool = True) -> GenerationStats:
    """Score every job's candidates and cache ``text`` (best by summed log-probability) and ``text_norm`` (best
    by log-probability per byte of the candidate, lm-eval's ``acc_norm``), with the scores themselves.
    ``choose(task, candidates, scores)`` turns scores into an answer (QPR: a ranking of all candidates)."""
    from tqdm.auto import tqdm

    stats = GenerationStats()
    if not jobs:
        return stats
    logger.info("scoring the candidates of %d prompt(s) with %s, %d per checkpoint", len(jobs), backend.name,
                chunk_size)
    start = time.perf_counter()
    ordered = sorted(jobs, key=lambda j: (-j.n_tokens, j.task, j.split, j.row_id))
    with tqdm(total=len(jobs), unit="prompt", desc="log-likelihood", disable=not progress, dynamic_ncols=True) as bar:
        for first in range(0, len(ordered), chunk_size):
            batch = ordered[first : first + chunk_size]
            scored = backend.loglik([j.prompt for j in batch], [list(j.candidates or ()) for j in batch])
            records = [_loglik_record(job, results, choose) for job, results in zip(batch, scored, strict=True)]
            _store_records(cache, batch, records)
            stats.prompts += len(batch)
            stats.seconds = time.perf_counter() - start
            bar.update(len(batch))
    return stats


def _loglik_record(job: Job, results: list, choose: Chooser) -> dict:
    candidates = list(job.candidates or ())
    logprobs = [r.logprob for r in results]
    per_byte = [r.logprob / max(1, len(c.encode("utf-8"))) for r, c in zip(results, candidates, strict=True)]
    return {"text": choose(job.task, candidates, logprobs), "text_norm": choose(job.task, candidates, per_byte),
            "candidates": candidates, "logprobs": logprobs, "n_tokens": [r.n_tokens for r in results],
            "is_greedy": [r.is_greedy for r in results]}


def _store_records(cache: PredictionCache, batch: list[Job], records: list[dict]) -> None:
    grouped: dict[tuple[str, str], list] = defaultdict(list)
    for job, record in zip(batch, records, strict=True):
        grouped[(job.task, job.split)].append({"id": job.row_id, "key": job.key, **record})
    for (task, split), items in grouped.items():
        cache.append_records(task, split, items)


def _store(cache: PredictionCache, batch: list[Job], outputs: list) -> None:
    grouped: dict[tuple[str, str], list] = defaultdict(list)
    for job, output in zip(batch, outputs, strict=True):
        grouped[(job.task, job.split)].append((job.row_id, job.key, output))
    for (task, split), items in grouped.items():
        cache.append(task, split, items)
