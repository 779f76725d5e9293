"""Multi-process evaluation: ``accelerate launch -m ecellm.cli eval ...`` or ``torchrun -m ecellm.cli eval ...``.

Each process (rank) generates every ``world``-th prompt of the pending list, in length order so the ranks
get similar work, and appends to its own cache shard (``<TASK>.<split>.rank<r>.jsonl``: no two processes
write one file). After a barrier, rank 0 folds the shards into the main cache files and scores; the other
ranks return nothing. A killed multi-process run resumes with any number of processes: the cache reads
shards as well as main files. The launcher's environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``,
``MASTER_ADDR``/``PORT``) says whether this is one; the group uses gloo, which only carries barriers and
a few small objects here, on CPU and GPU alike.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Ranks:
    """This process's place in the run (``world == 1``: a plain single-process run)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def shard_name(self) -> str | None:
        """The cache shard suffix of this rank, or None in a single-process run."""
        return f"rank{self.rank}" if self.world > 1 else None

    def take(self, items: list[T]) -> list[T]:
        """This rank's share: every ``world``-th item."""
        return items[self.rank::self.world]

    def device(self, device: str) -> str:
        """One GPU per rank: plain ``cuda`` becomes ``cuda:<local rank>``."""
        return f"cuda:{self.local_rank}" if self.world > 1 and device == "cuda" else device

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value`` on rank 0 (others get an empty list)."""
        if self.world == 1:
            return [value]
        import torch.distributed as dist

        out = [None] * self.world if self.is_main else None
        dist.gather_object(value, out, dst=0)
        return out or []

    def close(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.barrier()  # no rank tears the group down while another still talks to it
                dist.destroy_process_group()


def launcher_ranks() -> Ranks:
    """The ranks the launcher's environment gives this process, without starting the process group (what the
    option checks need before any work); a plain run gets ``Ranks()``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks()
    return Ranks(rank=int(os.environ["RANK"]), world=world, local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def current_ranks() -> Ranks:
    """The launcher's ranks, with the process group started; a plain run gets ``Ranks()``."""
    ranks = launcher_ranks()
    if ranks.world == 1:
        return ranks
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo")
    logger.info("evaluation rank %d of %d", ranks.rank, ranks.world)
    return ranks
