"""Constant-memory helpers for streaming a raw source: stable hashes, a count-min sketch, bottom-k samples.

* :func:`stable_hash` — 64-bit hashes of strings that are the same in every process and run
  (Python's ``hash`` of a ``str`` is salted per process), computed a batch at a time.
* :class:`CountMinSketch` — approximate counts in a fixed table: an estimate is never below the true
  count, so "count < k" is certain and can safely discard keys before an exact second pass.
* :class:`BottomK` — the ``k`` items of smallest priority seen in a stream (a deterministic
  reservoir sample when priorities are hashes of a seed and the item's id); memory is ``O(k)``.
* :func:`mix64` — a seeded 64-bit hash of rows of uint64 columns, vectorised (priorities of
  composite keys, e.g. a pair of title hashes, without a Python call per row).
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")
_KEYS = ("ecinstruct-raw-01", "ecinstruct-raw-02")  # pandas wants 16 bytes: trimmed below


def stable_hash(values: Sequence[str], key: int = 0) -> np.ndarray:
    """uint64 hashes of ``values`` (SipHash via pandas, fixed key ``key``)."""
    from pandas.util import hash_array

    return hash_array(np.asarray(values, dtype=object), hash_key=_KEYS[key][:16], categorize=False)


def priority(seed: int, purpose: str, item_id: str) -> int:
    """A uniform 64-bit priority of an item for a seed and purpose (its rank in a seeded shuffle)."""
    digest = hashlib.blake2b(f"{seed}:{purpose}:{item_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def mix64(*columns: np.ndarray, salt: int) -> np.ndarray:
    """uint64 hashes of the rows of equally long uint64 ``columns`` (splitmix64 rounds, seeded by ``salt``)."""
    state = np.full(len(columns[0]), salt & _MASK64, dtype=np.uint64)
    for column in columns:
        state = _splitmix64(state ^ np.asarray(column, dtype=np.uint64))
    return state


_MASK64 = (1 << 64) - 1


def _splitmix64(x: np.ndarray) -> np.ndarray:
    # uint64 array arithmetic wraps modulo 2**64, as the algorithm expects.
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class CountMinSketch:
    """Counts of string keys in ``depth`` × ``width`` uint32 cells (2 × 2**23: 64 MiB)."""

    def __init__(self, width: int = 1 << 23, depth: int = 2) -> None:
        if depth > len(_KEYS):
            raise ValueError(f"depth ≤ {len(_KEYS)}")
        self.width, self.depth = width, depth
        self.table = np.zeros((depth, width), dtype=np.uint32)

    def _cells(self, keys: Sequence[str]) -> list[np.ndarray]:
        return [(stable_hash(keys, row) % np.uint64(self.width)).astype(np.int64) for row in range(self.depth)]

    def add(self, keys: Sequence[str]) -> None:
        if len(keys):
            for row, cells in enumerate(self._cells(keys)):
                np.add.at(self.table[row], cells, 1)

    def estimate(self, keys: Sequence[str]) -> np.ndarray:
        """Upper bounds of the keys' counts (exact when no other key shares their cells)."""
        if not len(keys):
            return np.zeros(0, dtype=np.uint32)
        return np.min([self.table[row][cells] for row, cells in enumerate(self._cells(keys))], axis=0)


def batched(items: Iterable[T], size: int) -> Iterable[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class BottomK(Generic[T]):
    """The ``k`` items with the smallest priorities, in priority order (ties: first offered wins).

    Offering an item whose priority is above the current ``k``-th smallest costs nothing, so a
    stream of any length is sampled in ``O(k)`` memory. ``full`` says whether items were turned away.
    """

    def __init__(self, k: int) -> None:
        self.k = k
        self._heap: list[tuple[int, int, T]] = []  # (-priority, -arrival, item): a max-heap
        self._arrivals = 0
        self.full = False

    def offer(self, priority: int, item: T) -> None:
        self._arrivals += 1
        entry = (-priority, -self._arrivals, item)
        if len(self._heap) < self.k:
            heapq.heappush(self._heap, entry)
            return
        self.full = True
        if self.k and entry[:2] > self._heap[0][:2]:
            heapq.heapreplace(self._heap, entry)

    def items(self) -> list[T]:
        return [item for _, _, item in sorted(self._heap, key=lambda e: (-e[0], -e[1]))]

    def __len__(self) -> int:
        return len(self._heap)
