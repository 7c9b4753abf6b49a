"""Closed loop between care and cascades: ignored complaints fuel their own firestorm.

From the moment a complaint breaches its author's acknowledgement expectation (or is ignored by
triage, or its author gives up waiting) its branching is multiplied by `breach_boost` for the
rest of its life (capped at `max_branching`, so every cascade still dies out); a noise mention
that gets a reply is boosted by `noise_reply_boost`. With an
exponential kernel the boosted part of the intensity after time b is memoryless, so the extra
follow-ons are exactly Poisson((boost - 1) n_i exp(-(b - t_i)/decay)) at b + Exponential(decay)
(superposition), each with its own open-loop cascade; they may be boosted in turn.

Every complaint's deadline is known when it is registered, so the loop keeps one watch list of
(deadline, complaint) and a single pending SimPy event at the earliest deadline whose complaint
has not been answered yet: a complaint answered in time costs no event, and arrivals need no
event of their own (the engine lets them in lazily).
"""
from __future__ import annotations

import heapq
import math

import numpy as np
from simpy.events import Timeout

from ..arrivals.cascades import boosted_offspring_times, branching_factors
from ..arrivals.source import ArrivalSource
from ..scenario.models import Scenario
from .table import Renumbering


INF = float("inf")
CHECK, IGNORED = 0, 1      # watch-list entries: a deadline to check, an ignored complaint's arrival


class ClosedLoop:
    """Engine hook: watches complaints and noise, injects the boosted follow-ons."""

    def __init__(self, scenario: Scenario, source: ArrivalSource):
        self.cfg = scenario.arrivals.cascades
        self.median = scenario.arrivals.followers.median
        self.end = scenario.end
        types = scenario.types
        self.complaint = types.index("complaint") if "complaint" in types else -1
        self.noise = types.index("noise") if "noise" in types else -1
        self.source = source
        self.created_by_breaches = 0             # follow-ons due to breaches, after warm-up
        self.warmup = scenario.warmup
        self.watch: list[tuple[float, int, int, int]] = []   # (time, sequence, ref, CHECK or IGNORED)
        self.seq = 0
        self.armed_at = INF
        self.hears_replies = self.noise >= 0 and self.cfg.noise_reply_boost > 1.0

    def attach(self, model) -> None:
        self.model = model

    def branching(self, followers: np.ndarray) -> np.ndarray:
        """Each mention's branching ratio, as the open-loop cascades use it."""
        return branching_factors(followers, self.cfg, self.median)

    # ------------------------------------------------------------ engine hooks
    def registered(self, first_ref: int, batch: dict[str, np.ndarray]) -> None:
        """Watch the complaints of a batch just registered (refs from `first_ref`; its settlement
        columns, `MentionTable.add`): a complaint ignored by triage breaches at its arrival, one
        responded to at its deadline or when its author gives up, whichever comes first, unless
        answered by then."""
        if self.cfg.breach_boost <= 1.0 or self.complaint < 0:
            return
        responded = batch["first_pool"] >= 0
        due = np.where(responded, np.minimum(batch["ack_expected_by"], batch["gives_up"]), batch["arrival"])
        watched = np.flatnonzero((batch["type"] == self.complaint) & (due < self.end))
        for t, j, answered in zip(due[watched].tolist(), watched.tolist(), responded[watched].tolist()):
            self._watch(t, first_ref + j, CHECK if answered else IGNORED)
        self._arm()

    def renumber(self, renumbering: Renumbering) -> None:
        """Refs renumbered by a table compaction; entries of settled mentions (answered in
        time: the others were due by now) leave the watch list."""
        self.watch = renumbering.heap(self.watch)

    def _watch(self, t: float, ref: int, kind: int) -> None:
        self.seq += 1
        heapq.heappush(self.watch, (t, self.seq, ref, kind))

    def _arm(self) -> None:
        """One event at the earliest entry still in question (answered complaints drop out)."""
        watch, table = self.watch, self.model.table
        while watch and watch[0][3] == CHECK:
            j = watch[0][2] - table.lo
            if j >= 0 and table.ack_done[j] != table.ack_done[j]:   # not yet answered (NaN)
                break
            heapq.heappop(watch)          # answered before now, so before its deadline
        if watch and watch[0][0] < self.armed_at:
            env = self.model.env
            self.armed_at = t = watch[0][0]
            delay = t - env.now
            # now + (t - now) can round to just below t, and an event firing before t would find
            # nothing due: it would neither take the entry nor arm again, and the loop would stop
            while env.now + delay < t:
                delay = math.nextafter(delay, INF)
            Timeout(env, delay).callbacks.append(self._fire)

    def _fire(self, _event) -> None:
        now = self.model.env.now
        if now >= self.armed_at:
            self.armed_at = INF
        watch = self.watch
        while watch and watch[0][0] <= now:
            _, _, ref, kind = heapq.heappop(watch)
            if kind == IGNORED:
                self.boost(ref, self.cfg.breach_boost, breach=True)
            else:
                self._check(ref)
        self._arm()

    def _check(self, ref: int) -> None:
        m = self.model
        t = m.table
        j = ref - t.lo
        if j < 0:                                  # settled and retired: answered in time
            return
        if t.ack_start[j] != t.ack_start[j]:       # still waiting (NaN): breached or gave up
            self.boost(ref, self.cfg.breach_boost, breach=True)
        elif t.ack_done[j] != t.ack_done[j]:       # in service past a deadline
            if m.env.now >= t.ack_due[j]:
                self.boost(ref, self.cfg.breach_boost, breach=True)
            elif t.ack_due[j] < self.end:          # patience ran out in service: not a breach yet
                self._watch(t.ack_due[j], ref, CHECK)

    def acknowledged(self, ref: int) -> None:
        t = self.model.table
        if t.type[ref - t.lo] == self.noise:
            self.boost(ref, self.cfg.noise_reply_boost)

    # ------------------------------------------------------------ generation
    def boost(self, ref: int, factor: float, breach: bool = False) -> None:
        m = self.model
        t = m.table
        j = ref - t.lo
        if factor <= 1.0 or t.boosted[j]:          # boosted once, for the rest of its life
            return
        t.boosted[j] = True
        now = m.env.now
        n_i = t.branching[j]
        if n_i <= 0.0:
            return
        # the boosted branching is capped by max_branching too, so every cascade still dies out
        factor = min(factor, self.cfg.max_branching / n_i)
        if factor <= 1.0:
            return
        parent_id = t.ids[j]
        times = boosted_offspring_times(now, t.arrival[j], n_i, factor, self.cfg.decay, self.source.boost_rng)
        times = times[times < self.end]
        if len(times) == 0:
            return
        batch = self.source.boosted_follow_ons(times, parent_id)
        first_ref, _ = m.add_mentions(batch)
        for new in range(first_ref, first_ref + len(batch["arrival"])):
            m.schedule_arrival(new)
        if breach:   # noise replies fuel cascades too, but are not breaches
            self.created_by_breaches += int((batch["arrival"] >= self.warmup).sum())
