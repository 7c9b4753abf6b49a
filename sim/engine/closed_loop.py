"""Closed loop between care and cascades: ignored complaints fuel their own firestorm.

From the moment a complaint breaches its author's acknowledgement expectation (or is ignored by
triage, or its author gives up waiting) its branching is multiplied by `breach_boost` for the
rest of its life (capped at `max_branching`, so every cascade still dies out); a noise mention
that gets a reply is boosted by `noise_reply_boost`. With an
exponential kernel the boosted part of the intensity after time b is memoryless, so the extra
follow-ons are exactly Poisson((boost - 1) n_i exp(-(b - t_i)/decay)) at b + Exponential(decay)
(superposition), each with its own open-loop cascade; they may be boosted in turn.
"""
from __future__ import annotations

import numpy as np
from simpy.events import Timeout

from ..arrivals.cascades import boosted_offspring_times, branching_factors
from ..arrivals.source import ArrivalSource
from ..scenario.models import Scenario


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

    def attach(self, model) -> None:
        self.model = model

    # ------------------------------------------------------------ engine hooks
    def arrived(self, ref: int) -> None:
        t = self.model.table
        j = ref - t.lo
        if t.type[j] != self.complaint or self.cfg.breach_boost <= 1.0:
            return
        due = min(t.ack_due[j], t.gives_up[j])
        if due < self.end:
            env = self.model.env
            Timeout(env, max(due - env.now, 0.0)).callbacks.append(lambda _e: self._check(ref))

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
                Timeout(m.env, t.ack_due[j] - m.env.now).callbacks.append(lambda _e: self._check(ref))

    def ignored(self, ref: int) -> None:
        t = self.model.table
        if t.type[ref - t.lo] == self.complaint:
            self.boost(ref, self.cfg.breach_boost, breach=True)

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
        n_i = float(branching_factors(np.array([t.followers[j]]), self.cfg, self.median)[0])
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
        kids = self.source.boosts.draw(len(times))
        kids["arrival"] = times
        kids["origin"] = np.full(len(times), 1, dtype=np.int64)
        kids["id"] = self.source.allocate(len(times))
        kids["parent_id"] = np.full(len(times), parent_id, dtype=np.int64)
        more = self.source.offspring(times, kids["followers"], kids["id"], boosted=True)
        for batch in (kids, more):
            if len(batch["arrival"]):
                for new in m.add_mentions(batch):
                    m.schedule_arrival(new)
                if breach:   # noise replies fuel cascades too, but are not breaches
                    self.created_by_breaches += int((batch["arrival"] >= self.warmup).sum())
