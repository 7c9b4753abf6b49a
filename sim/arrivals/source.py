"""All arrivals of one replication, handed out window by window (a day at a time).

Generating per window keeps memory flat however long the horizon: the base stream is thinned
on each window (Poisson counts on disjoint windows are independent, so this is exact), each
window's roots get their whole open-loop cascade at once, and follow-ons that fall after the
window wait in a buffer. Every mention gets its global id here, so parents are always known.
"""
from __future__ import annotations

import numpy as np

from ..records import ORIGINS
from ..scenario.models import Scenario
from ..scenario.units import parse_offset
from .base import expected_count, hourly_rates, thinned_arrivals, week_offset
from .cascades import CascadeOverflow, branching_factors, cascade_offspring
from .incidents import incident_times
from .mentions import DrawnAhead, MentionFactory

# Streams of one replication, spawned in this order from its SeedSequence (never reorder:
# common random numbers across scenarios depend on it).
STREAMS = ("base_times", "base_attributes", "incident_times", "incident_attributes",
           "cascade_times", "cascade_attributes", "boost_times", "boost_attributes")
WINDOW = 1440.0
# A run whose arrivals exceed this multiple of the base expectation is stopped.
MAX_ARRIVAL_FACTOR = 50.0
BASE, CASCADE, INCIDENT = (ORIGINS.index(o) for o in ("base", "cascade", "incident"))


class RunawayArrivals(RuntimeError):
    """Arrivals exploded past the sane bound; the message says why and what to change."""


def runaway_message(budget: int) -> str:
    return (
        f"arrivals passed {budget:,} mentions, {MAX_ARRIVAL_FACTOR:g} times what the base stream and "
        "incidents should bring: the cascades are close to critical. Lower `arrivals.cascades.branching`, "
        "`reach_elasticity`, `breach_boost` or `max_branching`."
    )


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    parts = [p for p in parts if len(p["arrival"])]
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _take(batch: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[mask] for k, v in batch.items()}


class ArrivalSource:
    """Hands out the mentions arriving in successive windows, with ids, parents and origins."""

    def __init__(self, scenario: Scenario, seed: np.random.SeedSequence):
        # spawned from a fresh copy: `spawn` advances the sequence it is called on, and a
        # replication must be a pure function of its seed, however often that seed is used
        fresh = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
        streams = dict(zip(STREAMS, fresh.spawn(len(STREAMS))))
        arr = scenario.arrivals
        self.scenario, self.end = scenario, scenario.end
        self.offset = week_offset(scenario.start)
        self.table = hourly_rates(arr.rate, arr.daily_weights(), arr.weekly_weights())
        self.base_rng = np.random.default_rng(streams["base_times"])
        self.base = MentionFactory(scenario, streams["base_attributes"])
        self.cascade_rng = np.random.default_rng(streams["cascade_times"])
        self.cascades = MentionFactory(scenario, streams["cascade_attributes"])
        # the closed loop draws from streams of its own, so open-loop cascades stay the same
        # whatever the service does (common random numbers across staffing levels)
        self.boost_rng = np.random.default_rng(streams["boost_times"])
        self.boosts = DrawnAhead(MentionFactory(scenario, streams["boost_attributes"]))
        self.cfg = arr.cascades
        self.next_id = 0
        self.budget = int(MAX_ARRIVAL_FACTOR * max(
            expected_count(self.table, self.offset, self.end) + sum(i.mentions for i in arr.incidents), 100.0))
        self.incidents = self._incidents(streams)
        self.later: dict[str, np.ndarray] = {}   # cascade follow-ons due after the current window

    def _incidents(self, streams) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(streams["incident_times"])
        factory = MentionFactory(self.scenario, streams["incident_attributes"])
        parts = []
        for inc in self.scenario.arrivals.incidents:
            t = incident_times(parse_offset(inc.at, self.scenario.start), inc.mentions, inc.decay, self.end, rng)
            type_p = factory.mix(inc.types, factory.types) if inc.types else None
            ch_p = factory.mix(inc.channels, factory.channels) if inc.channels else None
            m = factory.draw(len(t), type_p, ch_p)
            m["arrival"] = t
            parts.append(m)
        return _concat(parts)

    def allocate(self, k: int) -> np.ndarray:
        """Fresh global ids (the closed loop takes its ids here too)."""
        if self.next_id + k > self.budget:
            raise RunawayArrivals(runaway_message(self.budget))
        ids = np.arange(self.next_id, self.next_id + k, dtype=np.int64)
        self.next_id += k
        return ids

    def window(self, w0: float, w1: float) -> dict[str, np.ndarray]:
        """Mentions arriving in [w0, w1): columns of attributes plus id, parent_id, origin."""
        times = thinned_arrivals(self.table, self.offset, w0, w1, self.base_rng)
        base = self.base.draw(len(times))
        base["arrival"] = times
        base["origin"] = np.full(len(times), BASE, dtype=np.int64)
        parts = [base]
        if self.incidents:
            due = (self.incidents["arrival"] >= w0) & (self.incidents["arrival"] < w1)
            inc = _take(self.incidents, due)
            inc["origin"] = np.full(int(due.sum()), INCIDENT, dtype=np.int64)
            parts.append(inc)
        roots = _concat(parts) or {**base}
        order = np.argsort(roots["arrival"], kind="stable")
        roots = _take(roots, order)
        roots["id"] = self.allocate(len(order))
        roots["parent_id"] = np.full(len(order), -1, dtype=np.int64)
        batch = [roots]
        if self.cfg is not None and len(order):
            kids = self.offspring(roots["arrival"], roots["followers"], roots["id"])
            batch.append(kids)
        if self.later:
            batch.append(self.later)
        every = _concat(batch) or roots
        now = every["arrival"] < w1
        self.later = _take(every, ~now) if (~now).any() else {}
        out = _take(every, now)
        order = np.argsort(out["arrival"], kind="stable")
        return _take(out, order)

    def boosted_follow_ons(self, times: np.ndarray, parent_id: int) -> dict[str, np.ndarray]:
        """The extra follow-ons of a boosted mention, arriving at `times`, then their own
        open-loop cascades, in one batch, drawn on the closed loop's streams (so open-loop
        arrivals stay the same)."""
        kids = self.boosts.draw(len(times))
        kids["arrival"] = times
        kids["origin"] = np.full(len(times), CASCADE, dtype=np.int64)
        kids["id"] = self.allocate(len(times))
        kids["parent_id"] = np.full(len(times), parent_id, dtype=np.int64)
        return _concat([kids, self.offspring(times, kids["followers"], kids["id"], boosted=True)])

    def offspring(self, times: np.ndarray, followers: np.ndarray, ids: np.ndarray,
                  boosted: bool = False) -> dict[str, np.ndarray]:
        """The whole open-loop cascade below the given mentions, with attributes and ids."""
        f = self.scenario.arrivals.followers
        nb = branching_factors(followers, self.cfg, f.median)
        rng, factory = (self.boost_rng, self.boosts) if boosted else (self.cascade_rng, self.cascades)
        try:
            off = cascade_offspring(times, nb, self.cfg, f.median, f.sigma, self.end, rng,
                                    max(self.budget - self.next_id, 0))
        except CascadeOverflow:
            raise RunawayArrivals(runaway_message(self.budget)) from None
        kids = factory.draw(len(off))
        kids["followers"] = off.followers
        kids["arrival"] = off.time
        kids["origin"] = np.full(len(off), CASCADE, dtype=np.int64)
        kids["id"] = self.allocate(len(off))
        # combined numbering: 0..P-1 are the given parents, P+j is follow-on j
        kids["parent_id"] = np.concatenate([ids, kids["id"]])[off.parent] if len(off) else off.parent
        return kids
