"""Tables behind the report's plots, as pure functions of the records.

Each function takes a `MentionLog` or `TimeSeries` (any number of replications concatenated)
and returns plain NumPy arrays, so it can be checked on a hand-made log. No plotting here.

Populations are the summary metrics' (`sim.metrics`), so a plot and its summary metric agree:
the mentions the company means to answer (true type in `policy.respond_to`); a breach rate
counts those whose deadline fell by the horizon, an SLA share those whose SLA window closed by
it (`sim.metrics.expectation_decided`, `sla_met`). A distribution of times counts every
answerable mention, so one never acknowledged within the horizon counts as not acknowledged
and the distribution tops out at the share acknowledged, not at 100 %.

Cascades: every mention belongs to exactly one cascade, named by its root (the earliest
ancestor present in the log); `sim.cascades.cascade_sizes` lists them all, single mentions
included.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np

from .arrivals.base import WEEK, hourly_rates, week_offset
from .metrics import (FOLLOWER_TIERS, TIER_EDGES, answerable, attainment_clock, breaches_by_group, expectation_decided,
                      follower_tier, sla_met)
from .records import ORIGINS, MentionLog, TimeSeries

HOURS = np.arange(24)
# Columns of a `TimeSeries` that count the same thing in every pool's row.
POOL_ALIKE_COLUMNS = ("arrivals",)


def answerable_mentions(mentions: MentionLog, scenario) -> MentionLog:
    """The mentions the company means to answer (`sim.metrics.answerable`)."""

    return mentions.select(answerable(mentions, scenario))


def quantile(values: np.ndarray, q: float) -> float:
    """The `q` quantile of the finite `values` (NaN if none), by the definition the summary's
    quantiles use (`inverted_cdf`: the smallest value with at least a share `q` at or below it)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(np.quantile(values, q, method="inverted_cdf")) if len(values) else float("nan")


class BreachRates(NamedTuple):
    """Expectation breach rates by group: per group, the share breached among the mentions
    whose expectation is decided (the summary's `*_breach_rate` rule); NaN where none is."""

    ack_rate: np.ndarray
    resolve_rate: np.ndarray
    ack_counts: np.ndarray       # mentions whose acknowledgement expectation is decided
    resolve_counts: np.ndarray   # ... whose resolution expectation is decided


def shares(hits: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """`hits / counts` per group, NaN where a group counts nothing."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)


def breach_rates(log: MentionLog, groups: np.ndarray, size: int, end: float) -> BreachRates:
    """Breach rates of the mentions of `log` by group (`groups[i]` in `0..size-1`), for a run
    ending at `end` (minutes).

    Decided and breached as the summary counts them (`expectation_decided`).
    """
    groups = np.asarray(groups, dtype=np.int64)
    out = []
    for stage in ("ack", "resolve"):
        breached = np.asarray(log[f"{stage}_breached"], dtype=bool)
        decided = expectation_decided(breached, np.asarray(log[f"{stage}_expected_by"], dtype=float), end)
        hits, counts = breaches_by_group(groups, breached, decided, size)
        out.append((shares(hits, counts), counts))
    (ack, ack_n), (res, res_n) = out
    return BreachRates(ack, res, ack_n, res_n)


def minute_of_day(start: datetime) -> float:
    """Wall-clock minutes after midnight of the calendar time `start`."""
    return start.hour * 60.0 + start.minute + start.second / 60.0 + start.microsecond / 60e6


def hour_of_day(times: np.ndarray, start: datetime) -> np.ndarray:
    """Hour of day (0..23) of each time in minutes since `start` (= `(start + m minutes).hour`)."""
    times = np.asarray(times, dtype=float)
    return (np.floor((minute_of_day(start) + times) / 60.0) % 24).astype(int)


class HourlyBreaches(NamedTuple):
    """Breach rates by hour of day of arrival; NaN where no decided mention arrived in that hour."""

    hours: np.ndarray           # 0..23
    ack_rate: np.ndarray        # share breached among mentions with a decided acknowledgement
    resolve_rate: np.ndarray    # ... with a decided resolution
    counts: np.ndarray          # answerable mentions arriving in the hour, all replications together
    ack_counts: np.ndarray      # of which acknowledgement decided: the weights of `ack_rate`
    resolve_counts: np.ndarray  # of which resolution decided: the weights of `resolve_rate`


def breach_rate_by_hour(mentions: MentionLog, scenario) -> HourlyBreaches:
    """Share of the answerable mentions breaching their author's expectation, by hour of day
    of arrival; pooled with `ack_counts` the hours give the summary's `ack_breach_rate`.

    `scenario` supplies `start`, the calendar time of minute 0, and `policy.respond_to`.
    """
    log = answerable_mentions(mentions, scenario)
    hours = hour_of_day(log["arrival"], scenario.start)
    rates = breach_rates(log, hours, 24, scenario.end)
    return HourlyBreaches(HOURS.copy(), rates.ack_rate, rates.resolve_rate, np.bincount(hours, minlength=24),
                          rates.ack_counts, rates.resolve_counts)


def _count_text(value: float) -> str:
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def tier_labels() -> tuple[str, ...]:
    """Readable names of the follower tiers (`sim.metrics.FOLLOWER_TIERS`, upper edges
    `TIER_EDGES`): `< 1k`, `1k–10k`, `10k–100k`, `≥ 100k`."""

    edges = [float(e) for e in TIER_EDGES]
    middle = tuple(f"{_count_text(lo)}–{_count_text(hi)}" for lo, hi in zip(edges[:-1], edges[1:]))
    return (f"< {_count_text(edges[0])}", *middle, f"≥ {_count_text(edges[-1])}")


@dataclass(frozen=True)
class Ecdf:
    """Empirical distribution of a duration over a population, some of which may never get one.

    `x` holds the finite durations, sorted; `y[i]` is the share of the whole population
    (`n`, including those without a duration) at or below `x[i]`. With `weights`, each `x[i]`
    stands for `weights[i]` durations (a histogram's bins: a run's tally), else for one.
    """

    x: np.ndarray
    y: np.ndarray
    n: int
    weights: np.ndarray | None = None

    def quantile(self, q: float) -> float:
        """The `q` quantile of the finite durations (as `quantile`; NaN if none)."""
        if self.weights is None:
            return quantile(self.x, q)
        cum = np.cumsum(self.weights)
        if not len(cum) or cum[-1] == 0:
            return float("nan")
        return float(self.x[int(np.searchsorted(cum, q * cum[-1], side="left"))])

    def histogram(self, bins: np.ndarray, low: float, high: float) -> np.ndarray:
        """How many durations fall in each of `bins` (edges), each first clipped to [low, high]."""
        return np.histogram(np.clip(self.x, low, high), bins=bins, weights=self.weights)[0]

    def at(self, t: float) -> float:
        """Share of the population with a duration at most `t` (NaN for an empty population).
        Read from `y`, so it holds for an `x` of one value per bin too (a run's tally)."""
        if self.n == 0:
            return float("nan")
        k = int(np.searchsorted(self.x, t, side="right"))
        return float(self.y[k - 1]) if k else 0.0

    @property
    def reached(self) -> float:
        """Share of the population that got a duration at all."""
        if self.n == 0:
            return float("nan")
        return float(self.y[-1]) if len(self.y) else 0.0


def ecdf(durations: np.ndarray) -> Ecdf:
    """Empirical CDF of `durations`; NaN entries count in the population but never arrive."""
    values = np.asarray(durations, dtype=float)
    finite = np.sort(values[np.isfinite(values)])
    n = len(values)
    return Ecdf(finite, np.arange(1, len(finite) + 1) / max(n, 1), n)


def _since_arrival(mentions: MentionLog, scenario, column: str) -> Ecdf:
    log = answerable_mentions(mentions, scenario)
    return ecdf(np.asarray(log[column], dtype=float) - np.asarray(log["arrival"], dtype=float))


def ack_time_distribution(mentions: MentionLog, scenario) -> Ecdf:
    """Distribution of acknowledgement times (`ack_done - arrival`) over the answerable mentions."""
    return _since_arrival(mentions, scenario, "ack_done")


def resolve_time_distribution(mentions: MentionLog, scenario) -> Ecdf:
    """Distribution of resolution times (`resolve_done - arrival`) over the answerable mentions."""
    return _since_arrival(mentions, scenario, "resolve_done")


def expectation_distribution(mentions: MentionLog, scenario, stage: str = "acknowledge") -> Ecdf:
    """Distribution of the customers' own deadlines (`*_expected_by - arrival`) for a stage.

    Over the same population as the time distributions, so the two curves compare directly.
    """
    column = {"acknowledge": "ack_expected_by", "resolve": "resolve_expected_by"}[stage]
    return _since_arrival(mentions, scenario, column)


def sla_attainment(mentions: MentionLog, scenario, stage: str = "acknowledge") -> float:
    """Share served within the SLA time, all replications pooled: among the answerable mentions
    whose SLA window closed by the horizon, on the SLA's clock (calendar or business hours), as
    the summary's `ack_sla_attainment` (`resolve_…`) counts them. The
    summary averages each replication's share; pooled, the share can differ in the fourth
    decimal."""

    clock = attainment_clock(scenario)
    a = answerable_mentions(mentions, scenario)
    met, decided = sla_met(a, scenario, {"acknowledge": "ack", "resolve": "resolve"}[stage], clock)
    n = int(decided.sum())
    return float(met.sum()) / n if n else math.nan   # met within the SLA time is decided


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


# --- Arrivals per interval --------------------------------------------------------------------


def interval_edges(times: np.ndarray, scenario) -> np.ndarray:
    """Edges of the report intervals starting at `times` (sorted): the last ends at the horizon,
    or one `report_interval` later if it starts there or after."""
    times = np.asarray(times, dtype=float)
    if len(times) == 0:
        return times.copy()
    last = times[-1] + scenario.report_interval
    stop = min(last, scenario.end) if times[-1] < scenario.end else last
    return np.append(times, stop)


def expected_base_arrivals(scenario, edges: np.ndarray) -> np.ndarray:
    """Expected base-stream arrivals in each interval `[edges[i], edges[i+1])`.

    The exact integral of the piecewise-constant hourly rate (`sim.arrivals.base`), taken as the
    difference of its running total, so intervals of any length and alignment come out right.
    """
    arr = scenario.arrivals
    table = hourly_rates(arr.rate, arr.daily_weights(), arr.weekly_weights())
    running = np.concatenate([[0.0], np.cumsum(table * 60.0)])   # at each hour of the week

    def total(t: np.ndarray) -> np.ndarray:
        weeks, rest = np.divmod(np.asarray(t, dtype=float) + week_offset(scenario.start), WEEK)
        hour = np.minimum((rest // 60.0).astype(np.int64), len(table) - 1)
        return weeks * running[-1] + running[hour] + table[hour] * (rest - hour * 60.0)

    return np.diff(total(np.asarray(edges, dtype=float)))


def arrivals_by_origin(mentions: MentionLog, edges: np.ndarray, replications: int) -> np.ndarray:
    """Mean arrivals per replication in each interval, by origin: `result[o, i]` for `ORIGINS[o]`.

    `replications` is the divisor (a replication may have no mention at all).
    """
    edges = np.asarray(edges, dtype=float)
    out = np.zeros((len(ORIGINS), max(len(edges) - 1, 0)))
    if len(edges) < 2:
        return out
    arrival = np.asarray(mentions["arrival"], dtype=float)
    origin = np.asarray(mentions["origin"])
    for k in range(len(ORIGINS)):
        out[k] = np.histogram(arrival[origin == k], bins=edges)[0]
    return out / max(replications, 1)


# --- Fairness: who waits, by reach, channel and type ------------------------------------------


@dataclass(frozen=True)
class GroupStats:
    """Service by group of mentions, all replications pooled; NaN where a group has no data.

    Over the mentions the company means to answer (true type in `policy.respond_to`, as the
    summary metrics): a complaint mis-triaged as noise counts, noise left alone does not. A
    breach rate counts the mentions whose deadline fell by the end of the run;
    times to acknowledge are over the mentions acknowledged.
    """

    keys: tuple[str, ...]          # metric-name suffixes: `lt1k`, `twitter`, `complaint`
    labels: tuple[str, ...]        # readable names: `< 1k`, `twitter`, `complaint`
    count: np.ndarray              # mentions in the group (answerable, all replications)
    acknowledged_share: np.ndarray
    ack_breach_rate: np.ndarray
    resolve_breach_rate: np.ndarray
    ack_time_p50: np.ndarray
    ack_time_p90: np.ndarray


def _group_stats(log: MentionLog, groups: np.ndarray, keys: tuple[str, ...], labels: tuple[str, ...],
                 end: float) -> GroupStats:
    groups = np.asarray(groups, dtype=np.int64)
    size = len(keys)
    ack_done = np.asarray(log["ack_done"], dtype=float)
    ack_time = ack_done - np.asarray(log["arrival"], dtype=float)
    count = np.bincount(groups, minlength=size)
    acked = np.bincount(groups[np.isfinite(ack_done)], minlength=size)
    acknowledged = shares(acked, count)
    rates = breach_rates(log, groups, size, end)
    p50, p90 = (np.array([quantile(ack_time[groups == g], q) for g in range(size)]) for q in (0.5, 0.9))
    return GroupStats(tuple(keys), tuple(labels), count.astype(np.int64), acknowledged,
                      rates.ack_rate, rates.resolve_rate, p50, p90)


def by_follower_tier(mentions: MentionLog, scenario) -> GroupStats:
    """Service by the author's follower tier (< 1k, 1k–10k, 10k–100k, ≥ 100k)."""

    log = answerable_mentions(mentions, scenario)
    return _group_stats(log, follower_tier(log["followers"]), FOLLOWER_TIERS, tier_labels(), scenario.end)


def by_channel(mentions: MentionLog, scenario) -> GroupStats:
    """Service by channel, in the log's channel order."""
    log = answerable_mentions(mentions, scenario)
    return _group_stats(log, np.asarray(log["channel"]), mentions.channels, mentions.channels, scenario.end)


def by_type(mentions: MentionLog, scenario) -> GroupStats:
    """Service by true mention type, in the log's type order (types not answered: count 0)."""
    log = answerable_mentions(mentions, scenario)
    return _group_stats(log, np.asarray(log["type"]), mentions.types, mentions.types, scenario.end)
