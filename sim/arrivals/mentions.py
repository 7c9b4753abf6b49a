"""Mention attributes: type, channel, author reach, expectations, work, triage — drawn in NumPy.

Every attribute comes from its own generator and is drawn by inverse transform of one uniform per
mention, in arrival order. Two scenarios run with the same seed therefore give the same customer
the same quantile of work, patience and expectation even when a distribution changes (common
random numbers), and one attribute's stream never shifts another's.
"""
from __future__ import annotations

import numpy as np

from ..scenario.models import Expectations, HandleTime, Handling, Scenario
from .inverse_normal import ndtri

INF = float("inf")
# Fallbacks where a scenario's table has neither the key nor `default`.
_DEFAULTS = Expectations()
_HANDLING = Handling()
# One stream per random input; the order is part of the reproducibility contract.
STREAMS = (
    "type", "channel", "followers", "ack_expect", "resolve_expect", "patience",
    "ack_work", "resolve_work", "triage", "triage_other", "move", "follow_through",
)
# The streams read through the inverse normal, all in one call per draw (its fixed cost is that
# of two dozen NumPy calls, and a quiet day's draws are few); the work streams always, lognormal
# or not: which way `ndtri` computes (the last bit may differ) must not hang on the handling
# times, or two scenarios compared on common random numbers could see different deadlines.
NORMAL_STREAMS = ("followers", "ack_expect", "resolve_expect", "ack_work", "resolve_work")


def _lookup(table: dict, channel: str, typ: str):
    """Expectation keys: a channel beats a type, which beats `default`."""
    for key in (channel, typ, "default"):
        if key in table:
            return table[key]
    return None


def work_from_uniform(u: np.ndarray, spec: HandleTime, z: np.ndarray) -> np.ndarray:
    """Handle times with the spec's mean and cv, by inverse transform of uniforms `u` (`z`:
    their normal quantiles, `ndtri(u)`)."""
    mean, cv = spec.mean, spec.cv_value
    if spec.dist == "fixed" or cv == 0.0:
        return np.full(u.shape, mean)
    if spec.dist == "exponential":
        return -mean * np.log1p(-u)
    if spec.dist == "lognormal":
        sigma = np.sqrt(np.log1p(cv * cv))
        return mean * np.exp(sigma * z - 0.5 * sigma * sigma)
    from scipy.special import gammaincinv   # only for gamma handling times: 0.09 s to import
    shape = 1.0 / (cv * cv)  # gamma
    return gammaincinv(shape, u) * (mean / shape)


class MentionFactory:
    """Draws attribute columns for batches of mentions of one origin (base, incident, cascade)."""

    def __init__(self, scenario: Scenario, seed: np.random.SeedSequence):
        self.scenario = scenario
        self.types = scenario.types
        self.channels = scenario.channels
        self.rngs = dict(zip(STREAMS, (np.random.default_rng(s) for s in seed.spawn(len(STREAMS)))))
        arr = scenario.arrivals
        self.type_p = self.mix(arr.types, self.types)
        self.channel_p = self.mix(arr.channels, self.channels)
        exp = scenario.expectations
        nc, nt = len(self.channels), len(self.types)
        self.ack_median, self.ack_sigma = np.zeros((nc, nt)), np.zeros((nc, nt))
        self.res_median, self.res_sigma = np.zeros((nc, nt)), np.zeros((nc, nt))
        self.patience_mean = np.full((nc, nt), INF)
        for c, ch in enumerate(self.channels):
            for t, ty in enumerate(self.types):
                a = _lookup(exp.acknowledge, ch, ty) or _DEFAULTS.acknowledge["default"]
                r = _lookup(exp.resolve, ch, ty) or _DEFAULTS.resolve["default"]
                self.ack_median[c, t], self.ack_sigma[c, t] = a.median, a.sigma
                self.res_median[c, t], self.res_sigma[c, t] = r.median, r.sigma
                p = _lookup(exp.patience, ch, ty)
                if p is not None:
                    self.patience_mean[c, t] = p.mean
        hd = scenario.handling
        self.ack_handling = [_lookup(hd.acknowledge, "", ty) or _HANDLING.acknowledge["default"] for ty in self.types]
        self.res_handling = [_lookup(hd.resolve, "", ty) or _HANDLING.resolve["default"] for ty in self.types]
        pol = scenario.policy
        self.accuracy = pol.triage_accuracy

    def mix(self, shares: dict[str, float], names: list[str]) -> np.ndarray:
        p = np.array([shares.get(n, 0.0) for n in names])
        return p / p.sum()

    def draw(self, n: int, type_p: np.ndarray | None = None, channel_p: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Attribute columns of `n` mentions; deadlines, patience and work are durations (minutes)."""
        u = {name: rng.random(n) for name, rng in self.rngs.items()}
        type_p = self.type_p if type_p is None else type_p
        channel_p = self.channel_p if channel_p is None else channel_p
        typ = np.searchsorted(np.cumsum(type_p)[:-1], u["type"], side="right")
        ch = np.searchsorted(np.cumsum(channel_p)[:-1], u["channel"], side="right")
        names = NORMAL_STREAMS
        z = dict(zip(names, np.split(ndtri(np.concatenate([u[s] for s in names])), len(names))))
        f = self.scenario.arrivals.followers
        followers = np.rint(f.median * np.exp(f.sigma * z["followers"])).astype(np.int64)
        ack_expect = self.ack_median[ch, typ] * np.exp(self.ack_sigma[ch, typ] * z["ack_expect"])
        res_expect = self.res_median[ch, typ] * np.exp(self.res_sigma[ch, typ] * z["resolve_expect"])
        # nobody expects the resolution before the reply: a resolution deadline is never earlier
        res_expect = np.maximum(res_expect, ack_expect)
        patience = -self.patience_mean[ch, typ] * np.log1p(-u["patience"])
        ack_work = np.empty(n)
        res_work = np.empty(n)
        for t in range(len(self.types)):
            sel = typ == t
            if sel.any():
                for work, stream, spec in ((ack_work, "ack_work", self.ack_handling[t]),
                                           (res_work, "resolve_work", self.res_handling[t])):
                    work[sel] = work_from_uniform(u[stream][sel], spec, z[stream][sel])
        return {
            "type": typ,
            "channel": ch,
            "followers": followers,
            "triaged_as": self._triage(typ, u["triage"], u["triage_other"]),
            "ack_expect": ack_expect,
            "resolve_expect": res_expect,
            "patience": patience,
            "ack_work": ack_work,
            "resolve_work": res_work,
            "u_move": u["move"],
            "u_follow": u["follow_through"],
        }

    def _triage(self, typ: np.ndarray, u: np.ndarray, u_other: np.ndarray) -> np.ndarray:
        """Right with probability `triage_accuracy`; else another type, in proportion to the mix."""
        triaged = typ.copy()
        wrong = u >= self.accuracy
        if not wrong.any() or len(self.types) < 2:
            return triaged
        base = self.type_p
        for t in range(len(self.types)):
            sel = wrong & (typ == t)
            if sel.any():
                p = base.copy()
                p[t] = 0.0
                if p.sum() == 0:
                    p = np.ones_like(base)
                    p[t] = 0.0
                p /= p.sum()
                triaged[sel] = np.searchsorted(np.cumsum(p)[:-1], u_other[sel], side="right")
        return triaged



class DrawnAhead:
    """A factory's draws (its own mix of types and channels) made a block at a time and handed
    out in order. Each row is a function of its own uniforms, taken in turn from each stream, so
    the rows are those that draws of the sizes asked would give (but for the last bit of an
    inverse normal: `inverse_normal`); the closed loop makes a breach's few follow-ons at a
    time, and a draw of three costs nearly what a draw of 512 does."""

    BLOCK = 512

    def __init__(self, factory: MentionFactory):
        self.factory = factory
        self.rows: dict[str, np.ndarray] = {}
        self.next = self.size = 0

    def draw(self, n: int) -> dict[str, np.ndarray]:
        if self.next + n > self.size:
            block = self.factory.draw(max(self.BLOCK, n - (self.size - self.next)))
            if self.next < self.size:
                block = {k: np.concatenate([self.rows[k][self.next:], v]) for k, v in block.items()}
            self.rows = block
            self.next, self.size = 0, len(self.rows["type"])
        rows = {k: v[self.next:self.next + n] for k, v in self.rows.items()}
        self.next += n
        return rows
