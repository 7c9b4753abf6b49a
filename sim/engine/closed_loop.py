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
from .fields import ACK_DONE, ACK_DUE, ACK_START, ARRIVAL, BOOSTED, FOLLOWERS, GIVES_UP, TYPE


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
    def arrived(self, i: int) -> None:
        st = self.model.m[i]
        if st[TYPE] != self.complaint or self.cfg.breach_boost <= 1.0:
            return
        due = min(st[ACK_DUE], st[GIVES_UP])
        if due < self.end:
            env = self.model.env
            Timeout(env, max(due - env.now, 0.0)).callbacks.append(lambda _e: self._check(i))

    def _check(self, i: int) -> None:
        m = self.model
        st = m.m.get(i)
        if st is None:                             # settled and retired: answered in time
            return
        if st[ACK_START] != st[ACK_START]:         # still waiting (NaN): breached or gave up
            self.boost(i, self.cfg.breach_boost, breach=True)
        elif st[ACK_DONE] != st[ACK_DONE]:         # in service past a deadline
            if m.env.now >= st[ACK_DUE]:
                self.boost(i, self.cfg.breach_boost, breach=True)
            elif st[ACK_DUE] < self.end:           # patience ran out in service: not a breach yet
                Timeout(m.env, st[ACK_DUE] - m.env.now).callbacks.append(lambda _e: self._check(i))

    def ignored(self, i: int) -> None:
        if self.model.m[i][TYPE] == self.complaint:
            self.boost(i, self.cfg.breach_boost, breach=True)

    def acknowledged(self, i: int) -> None:
        if self.model.m[i][TYPE] == self.noise:
            self.boost(i, self.cfg.noise_reply_boost)

    # ------------------------------------------------------------ generation
    def boost(self, i: int, factor: float, breach: bool = False) -> None:
        m = self.model
        st = m.m[i]
        if factor <= 1.0 or st[BOOSTED]:          # boosted once, for the rest of its life
            return
        st[BOOSTED] = True
        now = m.env.now
        n_i = float(branching_factors(np.array([st[FOLLOWERS]]), self.cfg, self.median)[0])
        if n_i <= 0.0:
            return
        # the boosted branching is capped by max_branching too, so every cascade still dies out
        factor = min(factor, self.cfg.max_branching / n_i)
        if factor <= 1.0:
            return
        times = boosted_offspring_times(now, st[ARRIVAL], n_i, factor, self.cfg.decay, self.source.boost_rng)
        times = times[times < self.end]
        if len(times) == 0:
            return
        kids = self.source.boosts.draw(len(times))
        kids["arrival"] = times
        kids["origin"] = np.full(len(times), 1, dtype=np.int64)
        kids["id"] = self.source.allocate(len(times))
        kids["parent_id"] = np.full(len(times), i, dtype=np.int64)
        more = self.source.offspring(times, kids["followers"], kids["id"], boosted=True)
        for batch in (kids, more):
            if len(batch["arrival"]):
                m.add_mentions(batch)
                for k in batch["id"].tolist():
                    m.schedule_arrival(k)
                if breach:   # noise replies fuel cascades too, but are not breaches
                    self.created_by_breaches += int((batch["arrival"] >= self.warmup).sum())
