"""Closed loop between care and cascades: ignored complaints fuel their own firestorm.

From the moment a complaint breaches its author's acknowledgement expectation (or is ignored by
triage, or its author gives up waiting) its branching is multiplied by `breach_boost` for the
rest of its life; a noise mention that gets a reply is boosted by `noise_reply_boost`. With an
exponential kernel the boosted part of the intensity after time b is memoryless, so the extra
follow-ons are exactly Poisson((boost - 1) n_i exp(-(b - t_i)/decay)) at b + Exponential(decay)
(superposition), each with its own open-loop cascade; they may be boosted in turn.
"""
from __future__ import annotations

import numpy as np
from simpy.events import Timeout

from ..arrivals.cascades import CascadeOverflow, boosted_offspring_times, branching_factors, cascade_offspring
from ..arrivals.mentions import MentionFactory
from ..records import ORIGINS
from ..scenario.models import Scenario

CASCADE = ORIGINS.index("cascade")


class ClosedLoop:
    """Engine hook: watches complaints and noise, injects the boosted follow-ons."""

    def __init__(self, scenario: Scenario, cols: dict[str, np.ndarray], factory: MentionFactory,
                 rng: np.random.Generator, budget: int):
        self.cfg = scenario.arrivals.cascades
        self.followers = scenario.arrivals.followers
        self.end = scenario.end
        types = scenario.types
        self.complaint = types.index("complaint") if "complaint" in types else -1
        self.noise = types.index("noise") if "noise" in types else -1
        self.factory, self.rng, self.budget = factory, rng, budget
        self.branching = branching_factors(cols["followers"], self.cfg, self.followers.median).tolist()
        self.boosted = [False] * len(self.branching)
        self.new_parent: list[int] = []
        self.first_new = len(self.branching)

    def attach(self, model) -> None:
        self.model = model

    # ------------------------------------------------------------ engine hooks
    def arrived(self, i: int) -> None:
        if self.model.type[i] != self.complaint or self.cfg.breach_boost <= 1.0:
            return
        m = self.model
        due = min(m.ack_due[i], m.gives_up[i])
        if due < self.end:
            Timeout(m.env, max(due - m.env.now, 0.0)).callbacks.append(lambda _e: self._check(i))

    def _check(self, i: int) -> None:
        m = self.model
        if m.ack_start[i] != m.ack_start[i]:            # still waiting: breached or gave up
            self.boost(i, self.cfg.breach_boost)
        elif m.ack_done[i] != m.ack_done[i]:            # in service past a deadline
            if m.env.now >= m.ack_due[i]:
                self.boost(i, self.cfg.breach_boost)
            elif m.ack_due[i] < self.end:              # patience ran out in service: not a breach yet
                Timeout(m.env, m.ack_due[i] - m.env.now).callbacks.append(lambda _e: self._check(i))

    def ignored(self, i: int) -> None:
        if self.model.type[i] == self.complaint:
            self.boost(i, self.cfg.breach_boost)

    def acknowledged(self, i: int) -> None:
        if self.model.type[i] == self.noise:
            self.boost(i, self.cfg.noise_reply_boost)

    # ------------------------------------------------------------ generation
    def boost(self, i: int, factor: float) -> None:
        if factor <= 1.0 or self.boosted[i]:
            return
        self.boosted[i] = True
        m = self.model
        now = m.env.now
        times = boosted_offspring_times(now, m.arrival[i], self.branching[i], factor, self.cfg.decay, self.rng)
        self.branching[i] *= factor
        times = times[times < self.end]
        if len(times) == 0:
            return
        kids = self.factory.draw(len(times))
        kids["arrival"] = times
        nb = branching_factors(kids["followers"], self.cfg, self.followers.median)
        remaining = self.budget - len(m.arrival) - len(times)
        if remaining < 0:
            raise CascadeOverflow("closed-loop cascades exceeded the arrival budget")
        off = cascade_offspring(times, nb, self.cfg, self.followers.median, self.followers.sigma,
                                self.end, self.rng, remaining)
        first = len(m.arrival)
        idx = m.add_mentions(kids)
        parents = [i] * len(idx)
        if len(off):
            more = self.factory.draw(len(off))
            more["followers"] = off.followers
            more["arrival"] = off.time
            idx += m.add_mentions(more)
            nb = np.concatenate([nb, branching_factors(off.followers, self.cfg, self.followers.median)])
            parents += (off.parent + first).tolist()    # combined numbering -> model indices
        self.branching += nb.tolist()
        self.boosted += [False] * len(nb)
        self.new_parent += parents
        for k in idx:
            m.schedule_arrival(k)

    def columns(self, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Extend id / parent_id / origin with the mentions created during the run."""
        k = len(self.new_parent)
        out = dict(cols)
        out["id"] = np.arange(self.first_new + k, dtype=np.int64)
        out["parent_id"] = np.concatenate([cols["parent_id"], np.asarray(self.new_parent, dtype=np.int64)])
        out["origin"] = np.concatenate([cols["origin"], np.full(k, CASCADE, dtype=np.int64)])
        return out

    def boosted_after(self, t: float) -> int:
        """Mentions created by boosts that arrived at or after `t`."""
        arrival = np.asarray(self.model.arrival[self.first_new:])
        return int((arrival >= t).sum())
