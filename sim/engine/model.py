"""The SimPy model of one replication: mentions arrive, agents acknowledge and resolve them.

Per-mention state is one small list per mention in a dict keyed by id (scalar access to NumPy
arrays is slow on the hot path; the dict lets settled mentions be retired, so memory does not
grow with the horizon). Abandonment is lazy: a customer whose patience ran out is dropped when
an agent reaches them, and the abandonment time is known exactly (arrival + patience), so no
event is spent on it. Everything the engine needs to decide is decided here; outcomes, breaches
and statistics are derived afterwards from the recorded times (`sim.engine.collect`).
"""
from __future__ import annotations

import numpy as np
import simpy
from simpy.events import Timeout

from ..scenario.models import Scenario
from .fields import (ACK, ACK_DONE, ACK_START, ACK_WORK, ARRIVAL, BOTH, CHANNEL, DROPPED, GIVES_UP,
                     RECORDED, RES_DONE, RES_READY, RES_START, RES_WORK, RESOLVE, TRIAGED,
                     U_FOLLOW, U_MOVE)
from .policies import AckPolicy, make_ack_policy, make_queue_factory
from .pools import PoolState

# Capacity model of concurrency: a conversation started while its agent already holds j others
# takes (1 + penalty x j) times its single-conversation work; concurrency 1 is the plain queue.
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
        # Lazy arrivals are exact only when nothing reacts to an arrival at its own moment; the
        # closed loop starts a breach timer at each complaint's arrival, so it needs every event.
        self.lazy = cascade_hook is None
        self._ids, self._times, self._k, self._armed = [], [], 0, False
        self._init_state()

    # ---------------------------------------------------------------- set-up
    def _route(self, sc: Scenario) -> None:
        """First reply: the first pool (file order) serving the channel and stage; resolution:
        `routing.resolve` for the type, else the acknowledging pool, else the first that can."""
        names = list(sc.pools)
        specs = list(sc.pools.values())

        def serving(stage: str, channel: str) -> list[int]:
            # a pool never staffed takes no work (validation guarantees a staffed one exists)
            return [i for i, p in enumerate(specs) if stage in p.stages and self.pools[i].agents
                    and (p.channels is None or channel in p.channels)]

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
        # id -> list of fields. One dict, so a settled mention is retired with one `del`
        # and memory stays flat however long the horizon.
        self.m: dict[int, list] = {}
        # what changed since the collector last looked: mentions registered (`fresh`) and
        # mentions whose recorded times changed (`touched`); the rest it carries over as is
        self.fresh: list[int] = []
        self.touched: set[int] = set()

    def add_mentions(self, m: dict[str, np.ndarray]) -> None:
        """Register mentions (with their `id` column); they arrive once walked or scheduled."""
        arrival = m["arrival"]
        n = len(arrival)
        columns = (
            arrival, m["type"], m["channel"], m["triaged_as"], m["followers"],
            arrival + m["ack_expect"], arrival + m["resolve_expect"], arrival + m["patience"],
            m["ack_work"], m["resolve_work"], m["u_move"], m["u_follow"], m["origin"], m["parent_id"],
        )
        fields = [c.tolist() for c in columns] + [[value] * n for value in RECORDED]
        ids = m["id"].tolist()
        self.m.update(zip(ids, map(list, zip(*fields))))
        self.fresh += ids

    def retire(self, ids: list[int]) -> None:
        """Forget settled mentions (a ghost left in a queue is then skipped as abandoned)."""
        m = self.m
        for i in ids:
            del m[i]

    # ---------------------------------------------------------------- running
    def start(self) -> None:
        """Staffing and policy timers; call once before the first window."""
        for pool in self.pools:
            self._staffing(pool, pool.changes, 0)
        self.policy.start()

    def _staffing(self, pool: PoolState, changes: list[tuple[float, int]], i: int) -> None:
        t, n = changes[i]
        if t <= self.env.now:
            pool.set_on_duty(n, self.env.now)
            if i + 1 < len(changes):
                self._staffing(pool, changes, i + 1)
            return
        Timeout(self.env, t - self.env.now).callbacks.append(lambda _e: self._staffing(pool, changes, i))

    def run_window(self, ids: list[int], times: list[float], until: float) -> None:
        """Let the mentions `ids` arrive at `times` (sorted), and run the clock to `until`."""
        self.pull()                       # the last window's arrivals not let in yet (all due)
        self._ids, self._times, self._k, self._armed = ids, times, 0, False
        self._walk(None)
        self.env.run(until=until)

    def pull(self) -> None:
        """Let in every pre-generated arrival due by now, in order (re-entrant: an arrival may
        start an agent, whose `take` pulls again)."""
        times, now = self._times, self.env.now
        while self._k < len(times) and times[self._k] <= now:
            i = self._ids[self._k]
            self._k += 1
            self.arrive(i)

    def _walk(self, _event) -> None:
        self._armed = False
        self.pull()
        self.arm()

    def arm(self) -> None:
        """Schedule the next arrival's event — only while some agent is idle, when lazy: with
        every agent busy, arrivals are let in by the next agent to come free (`take` pulls them
        first), which is the same queue at the same moment, without an event per arrival."""
        if self._armed or self._k >= len(self._times):
            return
        if self.lazy and not any(pool.idle for pool in self.pools):
            return
        self._armed = True
        Timeout(self.env, self._times[self._k] - self.env.now).callbacks.append(self._walk)

    def schedule_arrival(self, i: int) -> None:
        """A mention created during the run arrives at its own time."""
        Timeout(self.env, self.m[i][ARRIVAL] - self.env.now).callbacks.append(lambda _e: self.arrive(i))

    def arrive(self, i: int) -> None:
        st = self.m.get(i)
        if st is None:                    # let in late and already settled (ignored or gave up)
            return
        if not self.respond[st[TRIAGED]]:
            if self.cascade_hook:
                self.cascade_hook.ignored(i)
            return
        self.policy.new_mention(i)
        if self.cascade_hook:
            self.cascade_hook.arrived(i)

    def take(self, pool: PoolState):
        """Next (mention, stage, work) for an agent of `pool`, or None."""
        if self._k < len(self._times):
            self.pull()
        now = self.env.now
        q = pool.ack_q
        if len(q):
            get = self.m.get
            i = q.pop()
            while i >= 0:
                st = get(i)
                if st is not None and st[GIVES_UP] > now:
                    break
                i = q.pop()                    # lazy abandonment (or already retired)
            if i >= 0:
                st[ACK_START] = now
                self.touched.add(i)
                if self.policy.stage_of_first_reply == BOTH:
                    st[RES_START] = now
                    return i, BOTH, st[RES_WORK]
                return i, ACK, st[ACK_WORK]
        i = pool.res_q.pop()
        if i >= 0:
            st = self.m[i]
            st[RES_START] = now
            self.touched.add(i)
            return i, RESOLVE, st[RES_WORK]
        return None

    def finish(self, i: int, stage: int, pool: PoolState) -> None:
        now = self.env.now
        st = self.m[i]
        self.touched.add(i)
        if stage == RESOLVE:
            st[RES_DONE] = now
            return
        st[ACK_DONE] = now
        if stage == BOTH:
            st[RES_DONE] = now
        elif st[U_MOVE] < self.move_share:
            if st[U_FOLLOW] < self.follow_through:
                Timeout(self.env, self.move_delay).callbacks.append(lambda _e: self.ready_to_resolve(i))
            else:
                st[DROPPED] = True
        else:
            self.ready_to_resolve(i)
        if self.cascade_hook:
            self.cascade_hook.acknowledged(i)

    def ready_to_resolve(self, i: int) -> None:
        st = self.m[i]
        pool = self.pools[self.res_pool_of[st[CHANNEL]][st[TRIAGED]]]
        st[RES_READY] = self.env.now
        self.touched.add(i)
        pool.res_q.push(i)
        if pool.idle:
            pool.wake()

    def first_reply_pool(self, i: int) -> PoolState:
        st = self.m[i]
        k = self.ack_pool_of[st[CHANNEL]]
        return self.pools[k if k >= 0 else self.res_pool_of[st[CHANNEL]][st[TRIAGED]]]
