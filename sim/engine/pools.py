"""Agent pools: staffing over time, queues, and agents as small callback-driven state machines.

An agent never waits on an event of its own: when it finishes a conversation it takes the next
one at once, and when none is waiting it parks on the pool's idle list, from which new work
starts it synchronously. So a mention costs one SimPy event per arrival and one per stage served.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
from simpy.events import Timeout

from ..scenario.models import Pool

if TYPE_CHECKING:
    from .model import CareModel

WEEK = 7 * 1440.0


def staffing_changes(pool: Pool, week_offset: float, end: float) -> list[tuple[float, int]]:
    """(time, agents on duty) at every change of the pool's staffing in [0, end]."""
    if pool.schedule is None:
        return [(0.0, pool.agents or 0)]
    edges: list[tuple[float, int]] = []
    for block in pool.schedule:
        for a, b in block.intervals():
            edges.append((a, block.agents))
            edges.append((b, 0))
    # Minute-of-week staffing as a step function (blocks never overlap; validated).
    points = sorted({t % WEEK for t, _ in edges} | {0.0})

    def level(m: float) -> int:
        for block in pool.schedule:
            for a, b in block.intervals():
                if a <= m < b or a <= m + WEEK < b:
                    return block.agents
        return 0

    week_levels = [(p, level(p)) for p in points]
    changes: list[tuple[float, int]] = []
    first_week = -((week_offset // WEEK) + 1) * WEEK
    base = first_week - week_offset
    while base < end:
        for p, n in week_levels:
            t = base + p
            if t >= end:
                break
            if t <= 0.0:
                changes = [(0.0, n)]
            elif not changes or changes[-1][1] != n:
                changes.append((t, n))
        base += WEEK
    return changes


def scheduled_agent_minutes(changes: list[tuple[float, int]], edges: np.ndarray) -> np.ndarray:
    """Agent-minutes on duty by schedule in each interval [edges[k], edges[k+1])."""
    t = np.array([c[0] for c in changes])
    n = np.array([c[1] for c in changes], dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(n[:-1] * np.diff(t))])   # agent-minutes up to t[k]
    j = np.maximum(np.searchsorted(t, edges, side="right") - 1, 0)
    at_edges = cum[j] + n[j] * (edges - t[j])
    return np.diff(at_edges)


class PoolState:
    """Runtime state of one pool: queues, idle agents, agents on duty, overtime."""

    def __init__(self, index: int, name: str, spec: Pool, make_queue: Callable, model: "CareModel"):
        self.index, self.name, self.spec = index, name, spec
        self.ack_q = make_queue("acknowledge")
        self.res_q = make_queue("resolve")
        self.pending: list[int] = []          # batched acknowledgement: waiting for the next sweep
        self.idle: list[Agent] = []
        self.on_duty = 0
        self.slowdown = 1.0 + model.concurrency_penalty * (spec.concurrency - 1)
        size = max((n for _, n in staffing_changes(spec, model.week_offset, model.end)), default=0)
        self.left_at = [0.0] * size           # when each agent's shift last ended
        self.agents = [Agent(self, k, model) for k in range(size) for _ in range(spec.concurrency)]
        self.overtime = 0.0                   # agent-minutes worked past shift ends, after warm-up

    def set_on_duty(self, n: int, now: float) -> None:
        old, self.on_duty = self.on_duty, n
        if n < old:
            self._idle_leave_first(old, n)
            for k in range(n, old):
                self.left_at[k] = now
            for agent in self.idle:
                if agent.k >= n:
                    agent.off = True
            self.idle = [a for a in self.idle if a.k < n]
        elif n > old:
            for agent in self.agents:
                if old <= agent.k < n and agent.off:
                    agent.off = False
                    agent.start()

    def _idle_leave_first(self, old: int, n: int) -> None:
        """Relabel agents 0..old-1 so that those in a conversation stay on duty and idle ones
        leave: nobody works overtime while a colleague of the same pool sits idle."""
        busy = [0] * old
        for agent in self.agents:
            if agent.k < old and agent.job >= 0:
                busy[agent.k] += 1
        order = sorted(range(old), key=lambda k: (busy[k] == 0, k))
        label = {k: new for new, k in enumerate(order)}
        for agent in self.agents:
            if agent.k < old:
                agent.k = label[agent.k]

    def wake(self) -> None:
        if self.idle:
            self.idle.pop().start()


class Agent:
    """One conversation slot of agent `k` (an agent with concurrency c has c slots)."""

    __slots__ = ("pool", "k", "model", "job", "stage", "off", "env", "take", "on_done", "slowdown")

    def __init__(self, pool: PoolState, k: int, model: "CareModel"):
        self.pool, self.k, self.model = pool, k, model
        self.job, self.stage, self.off = -1, 0, True
        # bound once: these run for every conversation
        self.env, self.take, self.on_done = model.env, model.take, self.done
        self.slowdown = pool.slowdown

    def start(self) -> None:
        job = self.take(self.pool)
        if job is None:
            self.pool.idle.append(self)
            return
        self.job, self.stage, work = job
        Timeout(self.env, work * self.slowdown).callbacks.append(self.on_done)

    def done(self, _event) -> None:
        model, pool = self.model, self.pool
        model.finish(self.job, self.stage, pool)
        self.job = -1
        if self.k >= pool.on_duty:
            now = model.env.now
            if now > model.warmup:
                pool.overtime += (now - max(pool.left_at[self.k], model.warmup)) / pool.spec.concurrency
            self.off = True
            return
        self.start()
