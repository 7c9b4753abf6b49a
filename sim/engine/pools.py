"""Agent pools: staffing over time, queues, and agents as small callback-driven state machines.

An agent never waits on an event of its own: when it finishes a conversation it takes the next
one at once, and when none is waiting it parks on the pool's idle list, from which new work
starts it synchronously. So a mention costs one SimPy event per stage served, plus one for its
arrival when an agent is idle to hear of it (`CareModel.arm`). Each conversation slot schedules
one reusable event (pushed straight onto SimPy's heap, as `Environment.schedule` would) rather
than building a `Timeout` per conversation.
"""
from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Callable

import numpy as np
from simpy.core import NORMAL
from simpy.events import Event

from ..arrivals.base import WEEK
from ..scenario.models import Pool
from .table import ACK, BOTH, RESOLVE, Renumbering

if TYPE_CHECKING:
    from .model import CareModel


def reusable_event(env) -> Event:
    """An event already triggered (ok, no value), to be put on the schedule again and again with
    `env.schedule(event, NORMAL, delay)` after setting its callbacks: SimPy is done with an event
    once its callbacks have run, so whoever has at most one pending at a time can reuse it
    instead of building a `Timeout` each time."""
    event = Event(env)
    event._ok, event._value = True, None
    return event


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
    """Runtime state of one pool: queues, idle conversation slots, agents on duty, overtime.

    Agents are numbered 0..size-1 and agents 0..on_duty-1 are on duty; an agent with
    concurrency c has c slots (`Agent` objects) sharing its number.
    """

    def __init__(self, index: int, name: str, spec: Pool, make_queue: Callable, model: "CareModel"):
        self.index, self.name, self.spec = index, name, spec
        self.ack_q = make_queue(0)
        self.res_q = make_queue(1)
        self.pending: list[int] = []          # batched acknowledgement: waiting for the next sweep
        self.idle: list[Agent] = []
        self.on_duty = 0
        self.concurrency = spec.concurrency
        self.penalty = model.concurrency_penalty
        self.warmup = model.warmup
        self.changes = staffing_changes(spec, model.week_offset, model.end)   # (time, agents on duty)
        size = max((n for _, n in self.changes), default=0)
        self.busy = [0] * size                # conversations in hand, per agent
        self.overtime_since: list[float | None] = [None] * size   # off duty but still working
        self.agents = [Agent(self, k, model) for k in range(size) for _ in range(spec.concurrency)]
        self.overtime = 0.0                   # agent-minutes worked past shift ends, after warm-up

    def set_on_duty(self, n: int, now: float) -> None:
        old, self.on_duty = self.on_duty, n
        if n < old:
            self._idle_leave_first(old, n)
            for k in range(n, old):
                if self.busy[k]:
                    self.overtime_since[k] = now
            for agent in self.idle:
                if agent.k >= n:
                    agent.off = True
            self.idle = [a for a in self.idle if a.k < n]
        elif n > old:
            for k in range(old, n):
                self.end_overtime(k, now)     # back on duty while still finishing earlier work
            for agent in self.agents:
                if old <= agent.k < n and agent.off:
                    agent.off = False
                    agent.start()

    def end_overtime(self, k: int, now: float) -> None:
        since = self.overtime_since[k]
        if since is not None:
            self.overtime += max(0.0, now - max(since, self.warmup))
            self.overtime_since[k] = None

    def _idle_leave_first(self, old: int, n: int) -> None:
        """Relabel agents 0..old-1 so that those in a conversation stay on duty and idle ones
        leave: nobody works overtime while a colleague of the same pool sits idle."""
        order = sorted(range(old), key=lambda k: (self.busy[k] == 0, k))
        label = {k: new for new, k in enumerate(order)}
        for agent in self.agents:
            if agent.k < old:
                agent.k = label[agent.k]
        for column in (self.busy, self.overtime_since):
            column[:old] = [column[k] for k in order]

    def renumber(self, renumbering: Renumbering) -> None:
        """Refs renumbered by a table compaction: in the queues, waiting for a sweep and in hand."""
        self.ack_q.renumber(renumbering)
        self.res_q.renumber(renumbering)
        self.pending = renumbering.kept(self.pending)
        for agent in self.agents:
            if agent.job >= 0:               # in hand, so not settled: kept
                agent.job = renumbering(agent.job)

    def wake(self) -> None:
        """Start an idle slot on new work: the slot of the least busy agent."""
        idle = self.idle
        if not idle:
            return
        if self.concurrency == 1:
            idle.pop().start()
            return
        busy = self.busy
        best = min(range(len(idle)), key=lambda j: busy[idle[j].k])
        idle.pop(best).start()


class Agent:
    """One conversation slot of agent `k` (an agent with concurrency c has c slots).

    A conversation started while the agent already holds j others takes (1 + penalty x j) times
    its work (attention divided across conversations); with concurrency 1, j is always 0.
    `start` and `done` run for every conversation: they read the mention table directly.
    """

    __slots__ = ("pool", "k", "model", "job", "stage", "off", "env", "event", "callbacks", "queue", "eid")

    def __init__(self, pool: PoolState, k: int, model: "CareModel"):
        self.pool, self.k, self.model = pool, k, model
        self.job, self.stage, self.off = -1, 0, True
        self.env = model.env
        self.event = reusable_event(self.env)   # a slot has one conversation in hand at a time
        self.callbacks = [self.done]
        # `Environment.schedule` inlined (its heap and event counter): one call less per conversation
        self.queue, self.eid = self.env._queue, self.env._eid

    def start(self) -> None:
        """Take the next piece of work (first replies before resolutions), or wait idle."""
        model, pool = self.model, self.pool
        now = self.env._now        # the clock, read directly on the hottest path
        if model.next_due <= now:
            model.pull()
        table = model.table
        lo = table.lo
        q = pool.ack_q
        ref = -1
        if q.items:
            gives_up = table.gives_up
            ref = q.popleft()
            # lazy abandonment: skip whoever gave up before now (or was settled as such); a
            # batched sweep queues only those this would not skip (`policies.Batched`): keep in step
            while ref < lo or gives_up[ref - lo] <= now:
                ref = q.popleft() if q.items else -1
                if ref < 0:
                    break
        if ref >= 0:
            j = ref - lo
            table.ack_start[j] = now           # under `both`, res_start is the same column
            self.stage = BOTH if model.both else ACK
            work = table.work1[j]
        elif pool.res_q.items:
            ref = pool.res_q.popleft()
            j = ref - lo
            table.res_start[j] = now
            self.stage = RESOLVE
            work = table.res_work[j]
        else:
            pool.idle.append(self)
            model.arm_now()               # an idle agent must hear of the next arrival
            return
        self.job = ref
        busy = pool.busy
        others = busy[self.k]
        busy[self.k] = others + 1
        if others:
            work *= 1.0 + pool.penalty * others
        event = self.event
        event.callbacks = self.callbacks
        heappush(self.queue, (now + work, NORMAL, next(self.eid), event))

    def done(self, _event) -> None:
        pool, model = self.pool, self.model
        stage = self.stage
        if stage == RESOLVE:
            table = model.table
            table.res_done[self.job - table.lo] = self.env._now
        elif stage == BOTH and model.reply_hook is None:   # the commonest case, inlined
            table = model.table
            table.ack_done[self.job - table.lo] = self.env._now   # and res_done: one column
        else:
            model.first_reply_done(self.job, stage)
        self.job = -1
        k = self.k
        pool.busy[k] -= 1
        if k >= pool.on_duty:
            self.off = True
            if not pool.busy[k]:
                pool.end_overtime(k, self.env._now)
            return
        self.start()
