"""Waiting lines of one pool and stage, ordered by a priority policy.

A queue holds mention refs: `push(ref)` adds one, `popleft()` takes the next (only when `items`
is not empty). FIFO is a deque whose own methods are those two, so the commonest queue costs no
Python call; every other order is a heap on a key drawn with the mention (a column of the
mention table, `sim.engine.table`), with the joining sequence as tie-breaker so equal keys are
served first come, first served.
"""
from __future__ import annotations

import heapq
from collections import deque

from .table import Renumbering


class FifoQueue:
    __slots__ = ("items", "push", "popleft")

    def __init__(self) -> None:
        self.items: deque[int] = deque()
        self.push = self.items.append
        self.popleft = self.items.popleft

    def __len__(self) -> int:
        return len(self.items)

    def renumber(self, renumbering: Renumbering) -> None:
        """Refs renumbered by a table compaction; forgotten (settled) mentions leave the line."""
        kept = renumbering.kept(self.items)
        self.items.clear()               # in place: `push` and `popleft` are its own methods
        self.items.extend(kept)


class KeyedQueue:
    """Smallest key first; the key of mention `ref` is `table.<column>[ref - table.lo]`."""

    __slots__ = ("items", "seq", "model", "column")

    def __init__(self, model, column: str) -> None:
        self.items: list[tuple[float, int, int]] = []
        self.seq = 0
        self.model, self.column = model, column

    def push(self, ref: int) -> None:
        table = self.model.table
        self.seq += 1
        heapq.heappush(self.items, (getattr(table, self.column)[ref - table.lo], self.seq, ref))

    def popleft(self) -> int:
        return heapq.heappop(self.items)[2]

    def renumber(self, renumbering: Renumbering) -> None:
        """As `FifoQueue.renumber`; keys and joining sequence keep the order."""
        self.items = renumbering.heap(self.items)

    def __len__(self) -> int:
        return len(self.items)
