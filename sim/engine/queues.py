"""Waiting lines of one pool and stage, ordered by a priority policy.

A queue holds mention refs. FIFO is a deque; every other order is a heap on a key fixed when the
mention joins (drawn with it, `sim.engine.table`), with the joining sequence as tie-breaker so
equal keys are served first come, first served. `items` is empty exactly when the queue is.
"""
from __future__ import annotations

import heapq
from collections import deque


class FifoQueue:
    __slots__ = ("items", "_append", "_popleft")

    def __init__(self) -> None:
        self.items: deque[int] = deque()
        self._append = self.items.append
        self._popleft = self.items.popleft

    def push(self, ref: int, key=None) -> None:
        self._append(ref)

    def pop(self) -> int:
        return self._popleft() if self.items else -1

    def __len__(self) -> int:
        return len(self.items)


class KeyedQueue:
    """Smallest key first."""

    __slots__ = ("items", "seq")

    def __init__(self) -> None:
        self.items: list[tuple[float, int, int]] = []
        self.seq = 0

    def push(self, ref: int, key) -> None:
        self.seq += 1
        heapq.heappush(self.items, (key, self.seq, ref))

    def pop(self) -> int:
        return heapq.heappop(self.items)[2] if self.items else -1

    def __len__(self) -> int:
        return len(self.items)
