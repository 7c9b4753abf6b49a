"""Care policies passed into the engine: how first replies are scheduled, and in which order
waiting work is taken. Adding a policy means adding a class here, not touching the engine.

Acknowledgement policies (`policy.acknowledge`):
- `realtime`: a new mention joins its pool's acknowledgement queue at once; an agent who comes
  free takes waiting acknowledgements before any resolution.
- `batched`: new mentions collect until the next sweep (`batch_times` each day or every
  `batch_every` from midnight of the start day); a sweep moves everything waiting at its start into
  the acknowledgement queue, agents clear it (after the conversation in hand), then go back to
  resolving. Mentions arriving during a sweep wait for the next one.
- `with_resolution`: no separate acknowledgement; one piece of work (the resolve handle time) by
  the resolving pool is both the first reply and the resolution.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from simpy.events import Timeout

from ..scenario.models import Scenario
from .queues import FifoQueue, KeyedQueue
from .table import ACK, BOTH

if TYPE_CHECKING:
    from .model import CareModel


class AckPolicy:
    """`realtime`: acknowledge as soon as an agent is free, before resolving."""

    stage_of_first_reply = ACK

    def __init__(self, scenario: Scenario, model: "CareModel"):
        self.scenario, self.model = scenario, model

    def start(self) -> None:
        """Schedule whatever the policy needs at time 0."""

    def admit(self, ref: int, pool) -> None:
        """A responded-to mention arrives for its first reply from `pool`."""
        pool.ack_q.push(ref)
        if pool.idle:
            pool.wake()


class WithResolution(AckPolicy):
    """`with_resolution`: one reply that acknowledges and resolves."""

    stage_of_first_reply = BOTH


class Batched(AckPolicy):
    """`batched`: acknowledgements only in sweeps."""

    def admit(self, ref: int, pool) -> None:
        pool.pending.append(ref)

    def sweep_times(self) -> list[float]:
        pol, model = self.scenario.policy, self.model
        midnight = -(model.week_offset % 1440.0)
        if pol.batch_times:
            times, clock = [], sorted(pol.batch_times)
            day = midnight
            while day < model.end:
                times += [day + c for c in clock if 0.0 <= day + c < model.end]
                day += 1440.0
            return times
        times, t = [], midnight
        while t < model.end:
            if t >= 0.0:
                times.append(t)
            t += pol.batch_every
        return times

    def start(self) -> None:
        self.times = self.sweep_times()
        self._next(0)

    def _next(self, k: int) -> None:
        if k >= len(self.times):
            return
        delay = self.times[k] - self.model.env.now
        Timeout(self.model.env, delay).callbacks.append(lambda _e: self._sweep(k))

    def _sweep(self, k: int) -> None:
        self.model.pull()                 # arrivals due by now join pending before the sweep
        table, now = self.model.table, self.model.env.now
        for pool in self.model.pools:
            if pool.pending:
                for ref in pool.pending:
                    # those who gave up meanwhile would only be skipped (and wake an agent for
                    # nothing), whether still in the table or compacted away: the exact negation
                    # of `Agent.start`'s lazy-abandonment skip, which must stay in step with it
                    if ref >= table.lo and table.gives_up[ref - table.lo] > now:
                        pool.ack_q.push(ref)
                pool.pending = []
                while pool.idle and len(pool.ack_q):
                    pool.wake()
        self._next(k + 1)


def make_ack_policy(scenario: Scenario, model: "CareModel") -> AckPolicy:
    kind = scenario.policy.acknowledge
    cls = {"realtime": AckPolicy, "batched": Batched, "with_resolution": WithResolution}[kind]
    return cls(scenario, model)


def queue_keys(scenario: Scenario):
    """(key of the acknowledgement queue, key of the resolution queue) for `policy.priority`,
    None for first come, first served; a key maps (followers, triaged_as, ack_due, res_due)
    arrays to keys."""
    priority = scenario.policy.priority
    if priority == "fifo":
        return None, None
    if priority == "followers":
        # largest reach first: the "25,000 vs 250 followers" double standard
        reach = lambda followers, triaged, ack_due, res_due: -followers
        return reach, reach
    if priority == "deadline":
        # earliest customer expectation first (of the stage being waited for)
        return (lambda followers, triaged, ack_due, res_due: ack_due,
                lambda followers, triaged, ack_due, res_due: res_due)
    order = list(scenario.policy.type_order or scenario.types)   # default: the order of `types`
    rank = np.array([order.index(t) if t in order else len(order) for t in scenario.types])  # unlisted: last, FIFO
    by_type = lambda followers, triaged, ack_due, res_due: rank[triaged]   # as triaged: what agents see
    return by_type, by_type


def queue_factory(keys, model: "CareModel"):
    """`make(stage)` -> an empty queue of that stage (0: acknowledge, 1: resolve)."""
    columns = ("key_ack", "key_res")
    return lambda stage: FifoQueue() if keys[stage] is None else KeyedQueue(model, columns[stage])
