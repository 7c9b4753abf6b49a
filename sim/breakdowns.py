"""Tables behind the report's plots, as pure functions of the records.

Each function takes a `MentionLog` or `TimeSeries` (any number of replications concatenated)
and returns plain NumPy arrays, so it can be checked on a hand-made log. No plotting here.

Breach rates and time distributions are over the mentions that expected a reply: every outcome
but `ignored` (triage decided not to answer). A mention never acknowledged within the horizon
counts as not acknowledged, so a distribution of acknowledgement times tops out at the share
acknowledged, not at 100 %. The fairness tables (`by_follower_tier`, `by_channel`, `by_type`)
instead take the summary metrics' population and rules, so a table and its summary metric agree.

Cascades: every mention belongs to exactly one cascade, named by its root (the earliest
ancestor present in the log); `cascade_sizes` lists them all, single mentions included.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np

from .arrivals.base import WEEK, hourly_rates, week_offset
from .records import ORIGINS, OUTCOMES, MentionLog, TimeSeries

HOURS = np.arange(24)
# Follower tiers of the fairness tables (lower edges): < 1k, 1k-10k, 10k-100k, >= 100k. The keys
# are the suffixes of the `*_tier_<key>` summary metrics; a count on an edge goes to the upper tier.
FOLLOWER_EDGES = (0.0, 1_000.0, 10_000.0, 100_000.0)
FOLLOWER_TIER_KEYS = ("lt1k", "1k_10k", "10k_100k", "ge100k")
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
    return TierBreaches(tier_labels(edges), ack, resolve, counts)


def tier_labels(edges: tuple[float, ...] = FOLLOWER_EDGES) -> tuple[str, ...]:
    """Readable tier names: `< 1k`, `1k–10k`, …, `≥ 100k` (a first tier from 0 reads `< hi`)."""
    bounds = [float(e) for e in edges]
    labels = [
        f"< {_count_text(hi)}" if lo <= 0 else f"{_count_text(lo)}–{_count_text(hi)}"
        for lo, hi in zip(bounds[:-1], bounds[1:])
    ]
    return tuple(labels) + (f"≥ {_count_text(bounds[-1])}",)


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
    breach rate counts the mentions whose expectation is decided (served, or deadline passed);
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


def answerable(mentions: MentionLog, scenario) -> np.ndarray:
    """Mask of mentions whose true type is in `policy.respond_to` (all types if unset)."""
    respond = scenario.policy.respond_to or scenario.types
    table = np.array([t in respond for t in mentions.types], dtype=bool)
    return table[np.asarray(mentions["type"], dtype=int)] if len(table) else np.zeros(len(mentions), bool)


def _decided_rate(breached: np.ndarray, done: np.ndarray, due: np.ndarray) -> float:
    decided = breached | (done <= due)
    n = int(decided.sum())
    return float((breached & decided).sum() / n) if n else float("nan")


def _quantile(values: np.ndarray, q: float) -> float:
    values = values[np.isfinite(values)]
    return float(np.quantile(values, q)) if len(values) else float("nan")


def _group_stats(log: MentionLog, groups: np.ndarray, keys: tuple[str, ...], labels: tuple[str, ...]) -> GroupStats:
    arrival = np.asarray(log["arrival"], dtype=float)
    ack_done = np.asarray(log["ack_done"], dtype=float)
    res_done = np.asarray(log["resolve_done"], dtype=float)
    ack_due = np.asarray(log["ack_expected_by"], dtype=float)
    res_due = np.asarray(log["resolve_expected_by"], dtype=float)
    ack_breached = np.asarray(log["ack_breached"], dtype=bool)
    res_breached = np.asarray(log["resolve_breached"], dtype=bool)
    ack_time = ack_done - arrival
    rows = []
    for g in range(len(keys)):
        sel = groups == g
        n = int(sel.sum())
        rows.append((
            n,
            float(np.isfinite(ack_done[sel]).sum() / n) if n else float("nan"),
            _decided_rate(ack_breached[sel], ack_done[sel], ack_due[sel]),
            _decided_rate(res_breached[sel], res_done[sel], res_due[sel]),
            _quantile(ack_time[sel], 0.5),
            _quantile(ack_time[sel], 0.9),
        ))
    cols = list(zip(*rows)) if rows else [()] * 6
    return GroupStats(tuple(keys), tuple(labels), np.asarray(cols[0], dtype=np.int64),
                      *(np.asarray(c, dtype=float) for c in cols[1:]))


def follower_tier(followers: np.ndarray, edges: tuple[float, ...] = FOLLOWER_EDGES) -> np.ndarray:
    """Tier index of each follower count: tier i holds `edges[i] <= followers < edges[i+1]`."""
    bounds = np.asarray(edges, dtype=float)
    tiers = np.searchsorted(bounds, np.asarray(followers, dtype=float), side="right") - 1
    return np.clip(tiers, 0, len(bounds) - 1)


def by_follower_tier(mentions: MentionLog, scenario) -> GroupStats:
    """Service by the author's follower tier (< 1k, 1k–10k, 10k–100k, ≥ 100k)."""
    log = mentions.select(answerable(mentions, scenario))
    return _group_stats(log, follower_tier(log["followers"]), FOLLOWER_TIER_KEYS, tier_labels())


def by_channel(mentions: MentionLog, scenario) -> GroupStats:
    """Service by channel, in the log's channel order."""
    log = mentions.select(answerable(mentions, scenario))
    return _group_stats(log, np.asarray(log["channel"]), mentions.channels, mentions.channels)


def by_type(mentions: MentionLog, scenario) -> GroupStats:
    """Service by true mention type, in the log's type order (types not answered: count 0)."""
    log = mentions.select(answerable(mentions, scenario))
    return _group_stats(log, np.asarray(log["type"]), mentions.types, mentions.types)


# --- Cascades -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cascades:
    """One entry per cascade (a root mention and all its descendants present in the log).

    A root is a mention without a parent in the log: a base or incident mention, or a follow-on
    whose ancestors arrived during the warm-up (then its earliest ancestor in the log).
    """

    replication: np.ndarray
    root_id: np.ndarray
    root_arrival: np.ndarray
    root_followers: np.ndarray
    root_type: tuple[str, ...]
    root_channel: tuple[str, ...]
    root_origin: tuple[str, ...]
    root_outcome: tuple[str, ...]
    root_ack_breached: np.ndarray   # the root's author expected an acknowledgement sooner
    root_neglected: np.ndarray      # the root was ignored by triage or abandoned
    size: np.ndarray                # root + descendants in the log

    def __len__(self) -> int:
        return len(self.size)

    def take(self, index: np.ndarray) -> "Cascades":
        """The cascades at positions `index`, in that order."""
        index = np.asarray(index, dtype=np.int64)
        picked = {}
        for name, value in vars(self).items():
            picked[name] = tuple(value[i] for i in index) if isinstance(value, tuple) else value[index]
        return Cascades(**picked)


def cascade_roots(mentions: MentionLog) -> np.ndarray:
    """Position (in the log) of each mention's cascade root, following `parent_id` within its
    replication; a parent missing from the log ends the chain."""
    n = len(mentions)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rep = np.asarray(mentions["replication"], dtype=np.int64)
    ids = np.asarray(mentions["id"], dtype=np.int64)
    parent = np.asarray(mentions["parent_id"], dtype=np.int64)
    # one integer key per (replication, id); a parent is found by its key among the sorted keys
    width = int(max(ids.max(), parent.max(), 0)) + 1
    key = rep * width + ids
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]
    parent_key = rep * width + parent
    pos = np.minimum(np.searchsorted(sorted_keys, parent_key), n - 1)
    found = (parent >= 0) & (sorted_keys[pos] == parent_key)
    up = np.where(found, order[pos], np.arange(n, dtype=np.int64))
    # pointer jumping: each pass doubles the distance climbed, so log2(depth) passes suffice
    for _ in range(64):
        nxt = up[up]
        if np.array_equal(nxt, up):
            return up
        up = nxt
    raise ValueError("parent_id chains form a cycle")


def cascade_sizes(mentions: MentionLog) -> Cascades:
    """Every cascade of the log (single mentions included, size 1), by replication and root id."""
    roots = cascade_roots(mentions)
    unique, size = np.unique(roots, return_counts=True)
    rep = np.asarray(mentions["replication"], dtype=np.int64)[unique]
    ids = np.asarray(mentions["id"], dtype=np.int64)[unique]
    order = np.lexsort((ids, rep))
    r = unique[order]
    outcome = np.asarray(mentions["outcome"], dtype=np.int64)[r]
    neglected = np.isin(outcome, [OUTCOMES.index("ignored"), OUTCOMES.index("abandoned")])
    return Cascades(
        replication=rep[order],
        root_id=ids[order],
        root_arrival=np.asarray(mentions["arrival"], dtype=float)[r],
        root_followers=np.asarray(mentions["followers"], dtype=np.int64)[r],
        root_type=tuple(mentions.types[k] for k in np.asarray(mentions["type"])[r]),
        root_channel=tuple(mentions.channels[k] for k in np.asarray(mentions["channel"])[r]),
        root_origin=tuple(ORIGINS[k] for k in np.asarray(mentions["origin"])[r]),
        root_outcome=tuple(OUTCOMES[k] for k in outcome),
        root_ack_breached=np.asarray(mentions["ack_breached"], dtype=bool)[r],
        root_neglected=neglected,
        size=size[order].astype(np.int64),
    )


def largest_cascades(mentions: MentionLog, k: int = 10, min_size: int = 2) -> Cascades:
    """The `k` largest cascades of at least `min_size` mentions, largest first (ties: earlier
    replication, then smaller root id first)."""
    every = cascade_sizes(mentions)
    order = np.lexsort((every.root_id, every.replication, -every.size))
    order = order[every.size[order] >= min_size]
    return every.take(order[:k])


def largest_cascade_size(mentions: MentionLog) -> dict[int, int]:
    """Size of the largest cascade (root included) in each replication present in the log."""
    every = cascade_sizes(mentions)
    out: dict[int, int] = {}
    for rep, size in zip(every.replication.tolist(), every.size.tolist()):
        out[rep] = max(out.get(rep, 0), size)
    return out
