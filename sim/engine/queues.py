"""Waiting lines of one pool and stage, ordered by a priority policy.

A queue holds mention indices. FIFO is a deque; every other order is a heap keyed by the
policy, with the arrival sequence as tie-breaker so equal keys are served first come, first served.
"""
from __future__ import annotations

import heapq
from collections import deque
from typing import Callable


class FifoQueue:
    __slots__ = ("items", "push", "popleft")

    def __init__(self) -> None:
        self.items: deque[int] = deque()
        self.push = self.items.append
        self.popleft = self.items.popleft

    def pop(self) -> int:
        return self.popleft() if self.items else -1

    def __len__(self) -> int:
        return len(self.items)



class KeyedQueue:
    """Smallest key first; `key(index)` must not change while the mention waits."""

    __slots__ = ("items", "key", "seq")

    def __init__(self, key: Callable[[int], float]) -> None:
        self.items: list[tuple[float, int, int]] = []
        self.key = key
        self.seq = 0

    def push(self, index: int) -> None:
        self.seq += 1
        heapq.heappush(self.items, (self.key(index), self.seq, index))

    def pop(self) -> int:
        return heapq.heappop(self.items)[2] if self.items else -1

    def __len__(self) -> int:
        return len(self.items)

