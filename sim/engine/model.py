"""The SimPy model of one replication: mentions arrive, agents acknowledge and resolve them.

Per-mention state lives in plain Python lists indexed by mention (scalar access to NumPy arrays
is slow on the hot path). Abandonment is lazy: a customer whose patience ran out is dropped when
an agent reaches them, and the abandonment time is known exactly (arrival + patience), so no
event is spent on it. Everything the engine needs to decide is decided here; outcomes, breaches
and statistics are derived afterwards from the recorded times (`sim.engine.finalize`).
"""
from __future__ import annotations

import math

import numpy as np
import simpy
from simpy.events import Timeout

from ..scenario.models import Scenario
from .policies import AckPolicy, make_ack_policy, make_queue_factory
from .pools import PoolState, staffing_changes

NAN = math.nan
ACK, RESOLVE, BOTH = 0, 1, 2
# Capacity model of concurrency: a conversation worked alongside c-1 others takes
# (1 + penalty x (c-1)) times its single-conversation work; c = 1 is the plain queue.
CONCURRENCY_PENALTY = 0.5


class CareModel:
    """Builds the pools and agents of a scenario and runs mentions through them."""

    def __init__(self, scenario: Scenario, mentions: dict[str, np.ndarray], week_offset: float,
                 cascade_hook=None):
        self.scenario = scenario
        self.env = simpy.Environment()
        self.warmup, self.end = scenario.warmup, scenario.end
        self.week_offset = week_offset
        self.concurrency_penalty = CONCURRENCY_PENALTY
        pol = scenario.policy
        types = scenario.types
        respond = set(pol.respond_to or types)
        self.respond = [t in respond for t in types]
        self.policy: AckPolicy = make_ack_policy(scenario, self)
        make_queue = make_queue_factory(scenario, self)
        self.pools = [PoolState(i, name, spec, make_queue, self) for i, (name, spec) in enumerate(scenario.pools.items())]
        self._route(scenario)
        move = scenario.routing.move_channel
        self.move_share = move.share if move else 0.0
        self.move_delay = move.delay if move else 0.0
        self.follow_through = move.follow_through if move else 1.0
        self.cascade_hook = cascade_hook
        self._load(mentions)

    # ---------------------------------------------------------------- set-up
    def _route(self, sc: Scenario) -> None:
        """First reply: the first pool (file order) serving the channel and stage; resolution:
        `routing.resolve` for the type, else the acknowledging pool, else the first that can."""
        names = list(sc.pools)
        specs = list(sc.pools.values())

        def serving(stage: str, channel: str) -> list[int]:
            return [i for i, p in enumerate(specs) if stage in p.stages and (p.channels is None or channel in p.channels)]

        self.ack_pool_of, self.res_pool_of = [], []
        for ch in sc.channels:
            res_candidates = serving("resolve", ch)
            ack = serving("acknowledge", ch)
            ack_i = ack[0] if ack and self.policy.stage_of_first_reply == ACK else -1
            self.ack_pool_of.append(ack_i)
            row = []
            for ty in sc.types:
                if ty in sc.routing.resolve:
                    row.append(names.index(sc.routing.resolve[ty]))
                elif ack_i in res_candidates:
                    row.append(ack_i)
                else:
                    row.append(res_candidates[0] if res_candidates else -1)
            self.res_pool_of.append(row)
        if self.policy.stage_of_first_reply == BOTH:
            # one reply that is both stages goes to the pool that resolves
            self.ack_pool_of = [-1] * len(sc.channels)

    def _load(self, m: dict[str, np.ndarray]) -> None:
        self.arrival = m["arrival"].tolist()
        self.type = m["type"].tolist()
        self.channel = m["channel"].tolist()
        self.triaged = m["triaged_as"].tolist()
        self.ack_due = (m["arrival"] + m["ack_expect"]).tolist()
        self.gives_up = (m["arrival"] + m["patience"]).tolist()
        self.ack_work = m["ack_work"].tolist()
        self.res_work = m["resolve_work"].tolist()
        self.u_move = m["u_move"].tolist()
        self.u_follow = m["u_follow"].tolist()
        self.followers = m["followers"].tolist()
        self.res_due = (m["arrival"] + m["resolve_expect"]).tolist()
        n = self.n_scheduled = len(self.arrival)
        self.ack_start = [NAN] * n
        self.ack_done = [NAN] * n
        self.res_ready = [NAN] * n
        self.res_start = [NAN] * n
        self.res_done = [NAN] * n
        self.dropped = [False] * n
        self.served_by = [-1] * n

    def add_mentions(self, m: dict[str, np.ndarray]) -> list[int]:
        """Append mentions created during the run (closed-loop cascades); returns their indices."""
        first = len(self.arrival)
        k = len(m["arrival"])
        self.arrival += m["arrival"].tolist()
        self.type += m["type"].tolist()
        self.channel += m["channel"].tolist()
        self.triaged += m["triaged_as"].tolist()
        self.ack_due += (m["arrival"] + m["ack_expect"]).tolist()
        self.gives_up += (m["arrival"] + m["patience"]).tolist()
        self.ack_work += m["ack_work"].tolist()
        self.res_work += m["resolve_work"].tolist()
        self.u_move += m["u_move"].tolist()
        self.u_follow += m["u_follow"].tolist()
        self.followers += m["followers"].tolist()
        self.res_due += (m["arrival"] + m["resolve_expect"]).tolist()
        for column in (self.ack_start, self.ack_done, self.res_ready, self.res_start, self.res_done):
            column += [NAN] * k
        self.dropped += [False] * k
        self.served_by += [-1] * k
        return list(range(first, first + k))

    # ---------------------------------------------------------------- running
    def run(self) -> None:
        env = self.env
        for pool in self.pools:
            changes = staffing_changes(pool.spec, self.week_offset, self.end)
            self._staffing(pool, changes, 0)
        self.policy.start()
        self._arrivals(0)
        env.run(until=self.end)

    def _staffing(self, pool: PoolState, changes: list[tuple[float, int]], i: int) -> None:
        t, n = changes[i]
        if t <= self.env.now:
            pool.set_on_duty(n, self.env.now)
            if i + 1 < len(changes):
                self._staffing(pool, changes, i + 1)
            return
        Timeout(self.env, t - self.env.now).callbacks.append(lambda _e: self._staffing(pool, changes, i))

    def _arrivals(self, i: int) -> None:
        """Walk the pre-generated arrivals (sorted) with one timeout each."""
        env, arrival, n = self.env, self.arrival, self.n_scheduled
        now = env.now
        while i < n and arrival[i] <= now:
            self.arrive(i)
            i += 1
        if i < n:
            Timeout(env, arrival[i] - now).callbacks.append(lambda _e: self._arrivals(i))

    def schedule_arrival(self, index: int) -> None:
        """A mention created during the run arrives at its own time."""
        delay = self.arrival[index] - self.env.now
        Timeout(self.env, delay).callbacks.append(lambda _e: self.arrive(index))

    def arrive(self, i: int) -> None:
        if not self.respond[self.triaged[i]]:
            if self.cascade_hook:
                self.cascade_hook.ignored(i)
            return
        self.policy.new_mention(i)
        if self.cascade_hook:
            self.cascade_hook.arrived(i)

    def take(self, pool: PoolState):
        """Next (mention, stage, work) for an agent of `pool`, or None."""
        now = self.env.now
        q = pool.ack_q
        if len(q):
            gives_up = self.gives_up
            i = q.pop()
            while i >= 0 and gives_up[i] <= now:   # lazy abandonment
                i = q.pop()
            if i >= 0:
                self.ack_start[i] = now
                self.served_by[i] = pool.index
                if self.policy.stage_of_first_reply == BOTH:
                    self.res_start[i] = now
                    return i, BOTH, self.res_work[i]
                return i, ACK, self.ack_work[i]
        i = pool.res_q.pop()
        if i >= 0:
            self.res_start[i] = now
            self.served_by[i] = pool.index
            return i, RESOLVE, self.res_work[i]
        return None

    def finish(self, i: int, stage: int, pool: PoolState) -> None:
        now = self.env.now
        if stage == RESOLVE:
            self.res_done[i] = now
            return
        self.ack_done[i] = now
        if stage == BOTH:
            self.res_done[i] = now
        else:
            if self.u_move[i] < self.move_share:
                if self.u_follow[i] < self.follow_through:
                    Timeout(self.env, self.move_delay).callbacks.append(lambda _e: self.ready_to_resolve(i))
                else:
                    self.dropped[i] = True
            else:
                self.ready_to_resolve(i)
        if self.cascade_hook:
            self.cascade_hook.acknowledged(i)

    def ready_to_resolve(self, i: int) -> None:
        pool = self.pools[self.res_pool_of[self.channel[i]][self.type[i]]]
        self.res_ready[i] = self.env.now
        pool.res_q.push(i)
        if pool.idle:
            pool.idle.pop().start()

    def first_reply_pool(self, i: int) -> PoolState:
        ch = self.channel[i]
        k = self.ack_pool_of[ch]
        return self.pools[k if k >= 0 else self.res_pool_of[ch][self.type[i]]]
