"""The SimPy model of one replication: mentions arrive, agents acknowledge and resolve them.

Per-mention state lives in plain dicts keyed by mention id (scalar access to NumPy arrays is
slow on the hot path; dicts let settled mentions be retired, so memory does not grow with the
horizon). Abandonment is lazy: a customer whose patience ran out is dropped when
an agent reaches them, and the abandonment time is known exactly (arrival + patience), so no
event is spent on it. Everything the engine needs to decide is decided here; outcomes, breaches
and statistics are derived afterwards from the recorded times (`sim.engine.collect`).
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
NEG_INF = -math.inf
# Attributes fixed at arrival, and the times the engine records (absent until they happen).
ATTRIBUTES = ("arrival", "type", "channel", "triaged", "followers", "ack_due", "res_due", "gives_up",
              "ack_work", "res_work", "u_move", "u_follow", "origin", "parent")
TIMES = ("ack_start", "ack_done", "res_ready", "res_start", "res_done")
ACK, RESOLVE, BOTH = 0, 1, 2
# Capacity model of concurrency: a conversation worked alongside c-1 others takes
# (1 + penalty x (c-1)) times its single-conversation work; c = 1 is the plain queue.
CONCURRENCY_PENALTY = 0.5


class CareModel:
    """Builds the pools and agents of a scenario and runs mentions through them."""

    def __init__(self, scenario: Scenario, week_offset: float, cascade_hook=None):
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
        self._init_state()

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

    def _init_state(self) -> None:
        # Per-mention state, keyed by global mention id. Dicts rather than lists so that
        # settled mentions can be retired window by window and memory stays flat.
        for name in ATTRIBUTES + TIMES:
            setattr(self, name, {})
        self.dropped: set[int] = set()

    def add_mentions(self, m: dict[str, np.ndarray]) -> None:
        """Register mentions (with their `id` column); they arrive once walked or scheduled."""
        ids = m["id"].tolist()
        arrival = m["arrival"]
        columns = {
            "arrival": arrival, "type": m["type"], "channel": m["channel"], "triaged": m["triaged_as"],
            "followers": m["followers"], "ack_due": arrival + m["ack_expect"],
            "res_due": arrival + m["resolve_expect"], "gives_up": arrival + m["patience"],
            "ack_work": m["ack_work"], "res_work": m["resolve_work"], "u_move": m["u_move"],
            "u_follow": m["u_follow"], "origin": m["origin"], "parent": m["parent_id"],
        }
        for name in ATTRIBUTES:
            getattr(self, name).update(zip(ids, columns[name].tolist()))

    def retire(self, ids: list[int]) -> None:
        """Forget settled mentions (a ghost left in a queue is then skipped as abandoned)."""
        for name in ATTRIBUTES + TIMES:
            column = getattr(self, name)
            for i in ids:
                column.pop(i, None)
        self.dropped.difference_update(ids)

    # ---------------------------------------------------------------- running
    def start(self) -> None:
        """Staffing and policy timers; call once before the first window."""
        for pool in self.pools:
            changes = staffing_changes(pool.spec, self.week_offset, self.end)
            self._staffing(pool, changes, 0)
        self.policy.start()

    def run_window(self, ids: list[int], until: float) -> None:
        """Let the mentions `ids` (sorted by arrival) arrive, and run the clock to `until`."""
        if ids:
            self._walk(ids, 0)
        self.env.run(until=until)

    def _staffing(self, pool: PoolState, changes: list[tuple[float, int]], i: int) -> None:
        t, n = changes[i]
        if t <= self.env.now:
            pool.set_on_duty(n, self.env.now)
            if i + 1 < len(changes):
                self._staffing(pool, changes, i + 1)
            return
        Timeout(self.env, t - self.env.now).callbacks.append(lambda _e: self._staffing(pool, changes, i))

    def _walk(self, ids: list[int], k: int) -> None:
        """Walk a window's arrivals (sorted by time) with one timeout each."""
        env, arrival, n = self.env, self.arrival, len(ids)
        now = env.now
        while k < n and arrival[ids[k]] <= now:
            self.arrive(ids[k])
            k += 1
        if k < n:
            Timeout(env, arrival[ids[k]] - now).callbacks.append(lambda _e: self._walk(ids, k))

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
            gives_up = self.gives_up.get
            i = q.pop()
            while i >= 0 and gives_up(i, NEG_INF) <= now:   # lazy abandonment (or retired)
                i = q.pop()
            if i >= 0:
                self.ack_start[i] = now
                if self.policy.stage_of_first_reply == BOTH:
                    self.res_start[i] = now
                    return i, BOTH, self.res_work[i]
                return i, ACK, self.ack_work[i]
        i = pool.res_q.pop()
        if i >= 0:
            self.res_start[i] = now
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
                    self.dropped.add(i)
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
