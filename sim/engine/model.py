"""The SimPy model of one replication: mentions arrive, agents acknowledge and resolve them.

Per-mention state lives in columns (`sim.engine.table`): the engine reads and writes Python
lists by ref, the settlement reads them back as arrays. Abandonment is lazy: a customer whose
patience ran out is dropped when an agent reaches them, and the abandonment time is known
exactly (arrival + patience), so no event is spent on it. Everything the engine needs to decide
is decided here; outcomes, breaches and statistics are derived afterwards from the recorded
times (`sim.engine.collect`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import simpy
from simpy.core import NORMAL
from simpy.events import Timeout

from ..scenario.models import Scenario
from .policies import AckPolicy, make_ack_policy, queue_factory, queue_keys
from .pools import PoolState, reusable_event
from .table import BOTH, MOVE, STAY, MentionTable

INF = float("inf")
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
        self.policy: AckPolicy = make_ack_policy(scenario, self)
        self.both = self.policy.stage_of_first_reply == BOTH
        keys = queue_keys(scenario)
        make_queue = queue_factory(keys, self)
        self.pools = [PoolState(i, name, spec, make_queue, self) for i, (name, spec) in enumerate(scenario.pools.items())]
        first_pool_of, res_pool_of = self._route(scenario)
        move = scenario.routing.move_channel
        self.move_delay = move.delay if move else 0.0
        self.cascade_hook = cascade_hook
        # the loop hears of first replies only when a reply to noise fuels its cascade
        self.reply_hook = cascade_hook.acknowledged if cascade_hook and cascade_hook.hears_replies else None
        self.table = MentionTable(
            np.asarray(first_pool_of), np.asarray(res_pool_of), self.both,
            move.share if move else 0.0, move.follow_through if move else 1.0, keys,
            branching_of=cascade_hook.branching if cascade_hook is not None else None)
        self._refs: list[int] = []
        self._times: list[float] = []
        self._k = 0
        self.next_due = INF              # time of the next pre-generated arrival not let in yet
        self._armed = False
        self._walk_event = reusable_event(self.env)   # one arrival event pending at a time
        self.waiting_refs: set[Later] = set()         # timers that hold a ref (`_later`)

    # ---------------------------------------------------------------- set-up
    def _route(self, sc: Scenario) -> tuple[list[list[int]], list[list[int]]]:
        """(first-reply pool, resolving pool), each by channel and triaged type. First reply:
        the first pool (file order) serving the channel and stage, -1 when ignored by triage;
        resolution: `routing.resolve` for the type, else the acknowledging pool, else the first
        that can."""
        names = list(sc.pools)
        specs = list(sc.pools.values())
        respond = set(sc.answered_types)

        def serving(stage: str, channel: str) -> list[int]:
            # a pool never staffed takes no work (validation guarantees a staffed one exists)
            return [i for i, p in enumerate(specs) if stage in p.stages and self.pools[i].agents
                    and (p.channels is None or channel in p.channels)]

        ack_pool_of, res_pool_of = [], []
        for ch in sc.channels:
            res_candidates = serving("resolve", ch)
            ack = serving("acknowledge", ch)
            # one reply that is both stages goes to the pool that resolves
            ack_i = ack[0] if ack and not self.both else -1
            ack_pool_of.append(ack_i)
            row = []
            for ty in sc.types:
                if ty in sc.routing.resolve:
                    row.append(names.index(sc.routing.resolve[ty]))
                elif ack_i in res_candidates:
                    row.append(ack_i)
                else:
                    row.append(res_candidates[0] if res_candidates else -1)
            res_pool_of.append(row)
        first_pool_of = [
            [(a if a >= 0 else r) if ty in respond else -1 for ty, r in zip(sc.types, row)]
            for a, row in zip(ack_pool_of, res_pool_of)
        ]
        return first_pool_of, res_pool_of

    def add_mentions(self, m: dict[str, np.ndarray]) -> tuple[int, dict[str, np.ndarray]]:
        """Register mentions (with `id`, `parent_id`, `origin`); they arrive once let in by
        `run_window` or scheduled by `schedule_arrival`. Returns the ref of the first (the
        others follow in order) and their settlement columns."""
        first, static = self.table.add(m)
        if self.cascade_hook is not None:
            self.cascade_hook.registered(first, static)
        return first, static

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

    def run_window(self, first_ref: int, static: dict[str, np.ndarray], until: float) -> None:
        """Let the mentions registered from `first_ref` (`static`: their columns, arrivals
        sorted) arrive, and run the clock to `until`."""
        self.pull()                       # the last window's arrivals not let in yet (all due)
        # only mentions someone answers are let in: the ignored ones need no event
        rows = np.flatnonzero(static["first_pool"] >= 0)
        refs, times = (rows + first_ref).tolist(), static["arrival"][rows].tolist()
        self._refs, self._times, self._k, self._armed = refs, times, 0, False
        self.next_due = times[0] if times else INF
        self._walk(None)
        self.env.run(until=until)

    def pull(self) -> None:
        """Let in every pre-generated arrival due by now, in order (re-entrant: an arrival may
        start an agent, whose `start` pulls again)."""
        times, refs, now = self._times, self._refs, self.env._now
        n = len(times)
        k = self._k
        table, admit, pools = self.table, self.policy.admit, self.pools
        while k < n and times[k] <= now:
            self._k = k + 1
            self.next_due = times[k + 1] if k + 1 < n else INF
            ref = refs[k]
            j = ref - table.lo
            if j >= 0:                    # not let in late and already settled
                admit(ref, pools[table.first[j]])   # answered by someone: see run_window
            k = self._k

    def _walk(self, _event) -> None:
        self._armed = False
        self.pull()
        self.arm()

    def arm(self) -> None:
        """Schedule the next arrival's event — only while some agent is idle: with every agent
        busy, arrivals are let in by the next agent to come free (`start` pulls them first, and
        so does anything else that changes a queue), which is the same queue at the same moment,
        without an event per arrival."""
        for pool in self.pools:
            if pool.idle:
                self.arm_now()
                return

    def arm_now(self) -> None:
        """`arm`, known to be needed (an agent just went idle)."""
        if self._armed or self._k >= len(self._times):
            return
        self._armed = True
        event = self._walk_event
        event.callbacks = [self._walk]
        self.env.schedule(event, NORMAL, self._times[self._k] - self.env._now)

    def schedule_arrival(self, ref: int) -> None:
        """A mention created during the run arrives at its own time."""
        t = self.table
        self._later(t.arrival[ref - t.lo] - self.env.now, ref, self._arrive_now)

    def _later(self, delay: float, ref: int, action: Callable[[int], None]) -> None:
        """`action(ref)` after `delay`, the ref kept where a table compaction renumbers it."""
        later = Later(self, ref, action)
        self.waiting_refs.add(later)
        Timeout(self.env, delay).callbacks.append(later)

    def compact(self, keep: np.ndarray) -> None:
        """Forget the settled mentions (`keep` False) wherever they stand in the table, and
        renumber every ref held: queues, agents, arrivals not yet let in, timers, the loop's
        watch list. What a replication holds then follows the mentions in play even when a
        few of them wait for days (a starved queue) while the rest come and go."""
        renumbering = self.table.compact(keep)
        for pool in self.pools:
            pool.renumber(renumbering)
        # arrivals not let in yet; -1: settled (gave up) before it, which `pull` skips
        self._refs[self._k:] = [renumbering(ref) for ref in self._refs[self._k:]]
        for later in self.waiting_refs:
            later.ref = renumbering(later.ref)
            if later.ref < 0:   # its mention is due to arrive or move later: never settled
                raise RuntimeError("a mention was settled while a timer of its own was pending")
        if self.cascade_hook is not None:
            self.cascade_hook.renumber(renumbering)

    def _arrive_now(self, ref: int) -> None:
        self.pull()                       # pre-generated arrivals due earlier join the queue first
        # not arrived before now, so not settled (a window settles only what arrived in it)
        p = self.table.first[ref - self.table.lo]
        if p >= 0:
            self.policy.admit(ref, self.pools[p])

    def first_reply_done(self, ref: int, stage: int) -> None:
        table = self.table
        j = ref - table.lo
        now = self.env._now
        table.ack_done[j] = now               # under BOTH, also res_done: one column
        if stage != BOTH:
            move = table.move[j]
            if move == STAY:
                self.ready_to_resolve(ref)
            elif move == MOVE:
                self._later(self.move_delay, ref, self.ready_to_resolve)
            # DROP: moved channel and never followed through (derived at settlement)
        if self.reply_hook is not None:
            self.reply_hook(ref)

    def ready_to_resolve(self, ref: int) -> None:
        table = self.table
        j = ref - table.lo
        pool = self.pools[table.res_pool[j]]
        table.res_ready[j] = self.env._now
        pool.res_q.push(ref)
        if pool.idle:
            pool.wake()


class Later:
    """A timer's callback that does `action(ref)`, its ref renumbered by table compactions."""

    __slots__ = ("model", "ref", "action")

    def __init__(self, model: CareModel, ref: int, action: Callable[[int], None]):
        self.model, self.ref, self.action = model, ref, action

    def __call__(self, _event) -> None:
        self.model.waiting_refs.discard(self)
        self.action(self.ref)
