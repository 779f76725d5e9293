"""The generation loop: only rows the cache lacks, longest prompts first, in checkpointed chunks, with progress.

Sorting by prompt length puts similar lengths in one chunk, so left padding wastes little; longest
first makes an out-of-memory batch fail at once and keeps the ETA pessimistic rather than optimistic.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from ecellm.evaluation.backends import Backend, batch_seed
from ecellm.evaluation.cache import PredictionCache

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


@dataclass
class GenerationStats:
    prompts: int = 0
    new_tokens: int = 0
    seconds: float = 0.0

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


def run_jobs(backend: Backend, jobs: list[Job], cache: PredictionCache, *, chunk_size: int, seed: int = 0,
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
            outputs = backend.generate([j.prompt for j in batch], batch[0].budget,
                                       batch_seed(seed, [j.row_id for j in batch]))
            _store(cache, batch, outputs)
            stats.prompts += len(batch)
            stats.new_tokens += sum(o.new_tokens for o in outputs)
            stats.seconds = time.perf_counter() - start
            bar.update(len(batch))
            bar.set_postfix(tok_s=f"{stats.new_tokens / max(stats.seconds, 1e-9):.1f}")
    return stats


def _store(cache: PredictionCache, batch: list[Job], outputs: list) -> None:
    grouped: dict[tuple[str, str], list] = defaultdict(list)
    for job, output in zip(batch, outputs, strict=True):
        grouped[(job.task, job.split)].append((job.row_id, job.key, output))
    for (task, split), items in grouped.items():
        cache.append(task, split, items)
