"""Per-record work (clean-up, language ID) on a pool of worker processes, in input order.

``Workers(n).map(fn, items)`` yields ``fn(item)`` for every item *in the order of the items*,
whatever ``n`` is: results are collected in order (``Pool.imap``), so the build's output does not
depend on the number of processes. ``n <= 1`` runs in this process, without a pool. ``fn`` must be
picklable (a module-level function or a :func:`functools.partial` of one).

The number of processes is bounded by the machine (:func:`ecinstruct.machine.bound_workers`: more than its
CPUs is clamped, with a warning), and every worker dies with the command (a ``kill -9`` of the command
leaves no worker behind: :func:`ecinstruct.machine.die_with_parent`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

from ecinstruct.machine import bound_workers, die_with_parent

T = TypeVar("T")
R = TypeVar("R")

# Rows per task sent to a worker: large enough that pickling, not the queue, dominates the overhead.
CHUNK = 512


class Workers:
    """A lazily started process pool (``forkserver``: safe with Arrow's and tqdm's threads)."""

    def __init__(self, num_proc: int = 1) -> None:
        self.num_proc = bound_workers(num_proc)
        self._pool = None

    def map(self, fn: Callable[[T], R], items: Iterable[T], *, desc: str = "", total: int | None = None) -> Iterator[R]:
        """``fn`` over ``items`` in order, with a progress bar (rows/s) on long inputs."""
        results = map(fn, items) if self.num_proc == 1 else self._get_pool().imap(fn, items, chunksize=CHUNK)
        yield from tqdm(results, desc=desc or None, total=total, unit=" rows", mininterval=2, disable=None,
                        leave=False)

    def _get_pool(self):
        if self._pool is None:
            self._pool = multiprocessing.get_context("forkserver").Pool(
                self.num_proc, initializer=die_with_parent, initargs=(os.getpid(),))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is not None and self._pool is not None:
            self._pool.terminate()
        self.close()


SERIAL = Workers(1)
