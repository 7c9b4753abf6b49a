"""Tables behind the report's plots, as pure functions of the records.

Each function takes a `MentionLog` or `TimeSeries` (any number of replications concatenated)
and returns plain NumPy arrays, so it can be checked on a hand-made log. No plotting here.

Breach rates and time distributions are over the mentions that expected a reply: every outcome
but `ignored` (triage decided not to answer). A mention never acknowledged within the horizon
counts as not acknowledged, so a distribution of acknowledgement times tops out at the share
acknowledged, not at 100 %.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np

from .records import OUTCOMES, MentionLog, TimeSeries

HOURS = np.arange(24)
# Follower tiers for the breach-by-reach table: micro, small, mid, macro, celebrity.
FOLLOWER_EDGES = (0.0, 100.0, 1_000.0, 10_000.0, 100_000.0)
# Columns of a `TimeSeries` that count the same thing in every pool's row.
POOL_ALIKE_COLUMNS = ("arrivals",)


def expecting_reply(mentions: MentionLog) -> np.ndarray:
    """Mask of the mentions that expected a reply (all outcomes but `ignored`)."""
    return np.asarray(mentions["outcome"]) != OUTCOMES.index("ignored")


def minute_of_day(start: datetime) -> float:
    """Wall-clock minutes after midnight of the calendar time `start`."""
    return start.hour * 60.0 + start.minute + start.second / 60.0 + start.microsecond / 60e6


def hour_of_day(times: np.ndarray, start: datetime) -> np.ndarray:
    """Hour of day (0..23) of each time in minutes since `start` (= `(start + m minutes).hour`)."""
    times = np.asarray(times, dtype=float)
    return (np.floor((minute_of_day(start) + times) / 60.0) % 24).astype(int)


class HourlyBreaches(NamedTuple):
    """Breach rates by hour of day of arrival; NaN where no mention arrived in that hour."""

    hours: np.ndarray        # 0..23
    ack_rate: np.ndarray     # share of mentions (expecting a reply) that breached acknowledgement
    resolve_rate: np.ndarray  # ... that breached resolution
    counts: np.ndarray       # mentions expecting a reply, all replications together


def _rate(groups: np.ndarray, flags: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(groups, minlength=size)
    hits = np.bincount(groups, weights=flags.astype(float), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)
    return rate, counts


def breach_rate_by_hour(mentions: MentionLog, scenario) -> HourlyBreaches:
    """Share of mentions breaching their author's expectation, by hour of day of arrival.

    `scenario` supplies `start`, the calendar time of minute 0.
    """
    log = mentions.select(expecting_reply(mentions))
    hours = hour_of_day(log["arrival"], scenario.start)
    ack, counts = _rate(hours, np.asarray(log["ack_breached"]), 24)
    resolve, _ = _rate(hours, np.asarray(log["resolve_breached"]), 24)
    return HourlyBreaches(HOURS.copy(), ack, resolve, counts)


class TierBreaches(NamedTuple):
    """Breach rates by follower tier of the author; NaN for an empty tier."""

    labels: tuple[str, ...]
    ack_rate: np.ndarray
    resolve_rate: np.ndarray
    counts: np.ndarray


def _count_text(value: float) -> str:
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def breach_rate_by_followers(
    mentions: MentionLog, edges: tuple[float, ...] = FOLLOWER_EDGES
) -> TierBreaches:
    """Breach rates by follower tier: tier i holds `edges[i] <= followers < edges[i+1]`, the last is open."""
    log = mentions.select(expecting_reply(mentions))
    bounds = np.asarray(edges, dtype=float)
    tiers = np.searchsorted(bounds, np.asarray(log["followers"], dtype=float), side="right") - 1
    tiers = np.clip(tiers, 0, len(bounds) - 1)
    ack, counts = _rate(tiers, np.asarray(log["ack_breached"]), len(bounds))
    resolve, _ = _rate(tiers, np.asarray(log["resolve_breached"]), len(bounds))
    labels = tuple(
        f"{_count_text(lo)}–{_count_text(hi)}" for lo, hi in zip(bounds[:-1], bounds[1:])
    ) + (f"≥ {_count_text(bounds[-1])}",)
    return TierBreaches(labels, ack, resolve, counts)


@dataclass(frozen=True)
class Ecdf:
    """Empirical distribution of a duration over a population, some of which may never get one.

    `x` holds the finite durations, sorted; `y[i]` is the share of the whole population
    (`n`, including those without a duration) at or below `x[i]`.
    """

    x: np.ndarray
    y: np.ndarray
    n: int

    def at(self, t: float) -> float:
        """Share of the population with a duration at most `t` (NaN for an empty population)."""
        if self.n == 0:
            return float("nan")
        return float(np.searchsorted(self.x, t, side="right")) / self.n

    @property
    def reached(self) -> float:
        """Share of the population that got a duration at all."""
        return len(self.x) / self.n if self.n else float("nan")


def ecdf(durations: np.ndarray) -> Ecdf:
    """Empirical CDF of `durations`; NaN entries count in the population but never arrive."""
    values = np.asarray(durations, dtype=float)
    finite = np.sort(values[np.isfinite(values)])
    n = len(values)
    return Ecdf(finite, np.arange(1, len(finite) + 1) / max(n, 1), n)


def ack_times(mentions: MentionLog) -> np.ndarray:
    """Acknowledgement time (`ack_done - arrival`) of each mention expecting a reply; NaN if never."""
    log = mentions.select(expecting_reply(mentions))
    return np.asarray(log["ack_done"], dtype=float) - np.asarray(log["arrival"], dtype=float)


def resolve_times(mentions: MentionLog) -> np.ndarray:
    """Resolution time (`resolve_done - arrival`) of each mention expecting a reply; NaN if never."""
    log = mentions.select(expecting_reply(mentions))
    return np.asarray(log["resolve_done"], dtype=float) - np.asarray(log["arrival"], dtype=float)


def ack_time_distribution(mentions: MentionLog) -> Ecdf:
    """Distribution of acknowledgement times over the mentions expecting a reply."""
    return ecdf(ack_times(mentions))


def resolve_time_distribution(mentions: MentionLog) -> Ecdf:
    """Distribution of resolution times over the mentions expecting a reply."""
    return ecdf(resolve_times(mentions))


def expectation_distribution(mentions: MentionLog, stage: str = "acknowledge") -> Ecdf:
    """Distribution of the customers' own deadlines (`*_expected_by - arrival`) for a stage.

    Over the same population as the time distributions, so the two curves compare directly.
    """
    column = {"acknowledge": "ack_expected_by", "resolve": "resolve_expected_by"}[stage]
    log = mentions.select(expecting_reply(mentions))
    return ecdf(np.asarray(log[column], dtype=float) - np.asarray(log["arrival"], dtype=float))


@dataclass(frozen=True)
class SeriesMean:
    """A `TimeSeries` averaged over replications: `values[name][p, t]` for pool `pools[p]`, time `time[t]`.

    NaN where no replication reported that pool at that time.
    """

    time: np.ndarray
    pools: tuple[str, ...]
    values: dict[str, np.ndarray]

    def total(self, name: str) -> np.ndarray:
        """The column over all pools: the sum of pools' rows, or one row for pool-alike columns."""
        table = self.values[name]
        if len(self.pools) == 0:
            return np.full(len(self.time), np.nan)
        if name in POOL_ALIKE_COLUMNS:
            return table[0].copy()
        present = np.isfinite(table)
        return np.where(present.any(axis=0), np.nansum(np.where(present, table, 0.0), axis=0), np.nan)


def queue_series_mean(series: TimeSeries) -> SeriesMean:
    """Mean over replications of every column, per interval start and pool.

    Pools are those appearing in the series, in the order of `series.pools` (an index of -1,
    a row for the whole team, is called `all`).
    """
    times, t_index = np.unique(np.asarray(series.time, dtype=float), return_inverse=True)
    pool_ids, p_index = np.unique(np.asarray(series.pool, dtype=int), return_inverse=True)
    names = tuple(series.pools[i] if 0 <= i < len(series.pools) else "all" for i in pool_ids)
    shape = (len(pool_ids), len(times))
    counts = np.zeros(shape)
    np.add.at(counts, (p_index, t_index), 1.0)
    values = {}
    for name, column in series.values.items():
        sums = np.zeros(shape)
        np.add.at(sums, (p_index, t_index), np.asarray(column, dtype=float))
        with np.errstate(invalid="ignore", divide="ignore"):
            values[name] = np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)
    return SeriesMean(times, names, values)


def replication_count(series: TimeSeries) -> int:
    """Number of distinct replications in a series."""
    return len(np.unique(np.asarray(series.replication)))
