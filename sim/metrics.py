"""Summary metrics: pure functions of a replication's records, and confidence intervals.

Shares and rates are over the mentions the company means to answer (true type in
`policy.respond_to`): a complaint mis-triaged as noise counts against the team, noise left alone
does not. A mention whose deadline (or SLA window) is still ahead at the horizon is left out of
breach rates (SLA attainment) rather than counted either way, served or not.
"""
from __future__ import annotations

import math

import numpy as np

from .arrivals.base import week_offset
from .cascades import largest_cascade_size
from .records import ORIGINS, OUTCOMES, GrowingArray, MentionLog, Replication
from .scenario.models import Scenario

OUT = {name: k for k, name in enumerate(OUTCOMES)}
WEEK_MINUTES = 7 * 1440
# Follower tiers of the fairness breakdown (metric-name suffixes) and their upper edges.
FOLLOWER_TIERS = ("lt1k", "1k_10k", "10k_100k", "ge100k")
TIER_EDGES = (1_000, 10_000, 100_000)


def answerable(log: MentionLog, scenario: Scenario) -> np.ndarray:
    """Mask of mentions whose true type the company means to answer."""
    respond = scenario.answered_types
    table = np.array([t in respond for t in log.types], dtype=bool)
    return table[log["type"]]


def business_clock(blocks, week_offset: float):
    """Function: scenario minute -> business minutes elapsed since minute 0 (blocks are whole
    minutes of the week, so a per-minute table is exact; time inside a minute interpolates)."""
    open_minute = np.zeros(WEEK_MINUTES)
    for block in blocks:
        for a, b in block.intervals():
            idx = np.arange(int(a), int(b)) % WEEK_MINUTES
            open_minute[idx] = 1.0
    cum = np.concatenate([[0.0], np.cumsum(open_minute)])
    per_week = cum[-1]

    def since_monday(m: np.ndarray) -> np.ndarray:
        weeks, rest = np.divmod(m, WEEK_MINUTES)
        missing = np.isnan(rest)                 # a time that never came stays NaN
        rest = np.where(missing, 0.0, rest)
        k = rest.astype(np.int64)
        out = weeks * per_week + cum[k] + (rest - k) * open_minute[np.minimum(k, WEEK_MINUTES - 1)]
        return np.where(missing, np.nan, out)

    zero = since_monday(np.asarray(week_offset, dtype=float))

    def clock(t: np.ndarray) -> np.ndarray:
        return since_monday(np.asarray(t, dtype=float) + week_offset) - zero

    return clock


def follower_tier(followers: np.ndarray) -> np.ndarray:
    """Index into FOLLOWER_TIERS: <1k, 1k-10k, 10k-100k, >=100k."""
    return np.searchsorted(np.asarray(TIER_EDGES), followers, side="right")


class LogHistogram:
    """Fixed log-spaced histogram for quantiles of durations, mergeable by addition.

    200 bins per decade from 1e-4 to 1e8 minutes: a quantile read at the geometric centre of its
    bin is within 0.6 % (relative) of the exact sample quantile.
    """

    LOW, DECADES, PER_DECADE = -4.0, 12, 200
    RELATIVE_ACCURACY = 10 ** (0.5 / PER_DECADE) - 1
    BINS = DECADES * PER_DECADE + 2   # below LOW, the decades, above the last

    def __init__(self) -> None:
        self.counts = np.zeros(self.BINS, dtype=np.int64)

    @classmethod
    def of_counts(cls, counts: np.ndarray) -> "LogHistogram":
        """A histogram holding `counts` (as `counts` of another, or summed)."""
        hist = cls()
        hist.counts = np.asarray(counts, dtype=np.int64)
        return hist

    @classmethod
    def bins(cls, values: np.ndarray) -> np.ndarray:
        """The bin of each value (values not NaN)."""
        with np.errstate(divide="ignore"):
            pos = (np.log10(np.maximum(values, 0.0)) - cls.LOW) * cls.PER_DECADE
        return np.clip(np.floor(pos), -1, cls.BINS - 2).astype(np.int64) + 1

    def add(self, values: np.ndarray) -> None:
        self.counts += np.bincount(self.bins(values[~np.isnan(values)]), minlength=len(self.counts))

    def quantile(self, q: float) -> float:
        n = int(self.counts.sum())
        if n == 0:
            return math.nan
        k = int(np.searchsorted(np.cumsum(self.counts), q * n, side="left"))
        if k == 0:
            return 0.0
        return 10 ** (self.LOW + (k - 1 + 0.5) / self.PER_DECADE)


# the columns `MentionStats.add` reads
STAT_COLUMNS = ("arrival", "outcome", "ack_done", "resolve_done", "ack_expected_by", "resolve_expected_by",
                "followers", "channel", "type", "ack_breached", "resolve_breached")


def _count_by(labels: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """How many of the rows where `mask` holds carry each label 0..n-1 (others not counted)."""
    x = labels[mask]
    return np.bincount(x[(x >= 0) & (x < n)], minlength=n)[:n]


def expectation_decided(breached: np.ndarray, due: np.ndarray, end: float) -> np.ndarray:
    """An expectation is decided, and counted in the breach rates, when its deadline fell by the
    horizon `end` (a breach always has). A deadline still ahead at the horizon counts neither
    way, also when the stage was done in time: counting those done early and not those still
    waiting would take the mentions that did well near the end and leave out those that did
    not, and lower the breach rate of a short run."""
    return breached | (due <= end)


def breaches_by_group(groups: np.ndarray, breached: np.ndarray, decided: np.ndarray,
                      size: int) -> tuple[np.ndarray, np.ndarray]:
    """(breached, decided) counts of each group 0..size-1 (`decided` from `expectation_decided`)."""
    return _count_by(groups, breached, size), _count_by(groups, decided, size)


def sla_business_clock(scenario: Scenario):
    """The scenario's business-hours clock (`business_clock`), or None if it names no business
    hours."""
    sla = scenario.sla
    return business_clock(sla.business_hours, week_offset(scenario.start)) if sla.business_hours else None


def attainment_clock(scenario: Scenario):
    """The clock the SLA attainment is counted on: the business-hours clock when the SLA says
    so (and names business hours), else None (the calendar)."""
    return sla_business_clock(scenario) if scenario.sla.clock == "business_hours" else None


def sla_met(a: MentionLog, scenario: Scenario, stage: str, clock=None) -> tuple[np.ndarray, np.ndarray]:
    """(met, decided) of the SLA of `stage` ("ack" or "resolve") for each mention of `a`: served
    within the SLA time, among those whose SLA window closed by the horizon (the others are not
    counted, also when served early: see `expectation_decided`), on the calendar or on `clock`
    (`business_clock`)."""
    col, target = {"ack": ("ack_done", scenario.sla.acknowledge), "resolve": ("resolve_done", scenario.sla.resolve)}[stage]
    arrival, done, end = a["arrival"], a[col], np.asarray(scenario.end)
    if clock is not None:
        arrival, done, end = clock(arrival), clock(done), clock(end)
    closed = arrival + target.within <= end
    return closed & ((done - arrival) <= target.within), closed


class MentionStats:
    """Additive statistics of settled mentions, fed batch by batch (`add`), read by `metrics`.

    Ratios are kept as (hits, count) and quantiles as histograms, so a run can stream its
    mentions through without keeping them; with `exact`, quantiles come from the kept values.
    """

    def __init__(self, scenario: Scenario, exact: bool = False):
        self.scenario, self.exact = scenario, exact
        self.ratios: dict[str, list[float]] = {}
        self.counts: dict[str, float] = {}
        self.hists: dict[str, LogHistogram] = {}
        self.values: dict[str, GrowingArray] = {}
        self.clock = sla_business_clock(scenario)
        answered = tuple(scenario.answered_types)
        self.groups = (("tier", FOLLOWER_TIERS), ("channel", tuple(scenario.channels)), ("type", answered))
        # type index -> position among the answered types (-1: not a group of its own)
        self.type_group = np.array([answered.index(t) if t in answered else -1 for t in scenario.types], dtype=np.int64)

    def _ratio(self, name: str, hits: np.ndarray, decided: np.ndarray | None = None) -> None:
        """Share of `hits` among the `decided` (all, if None); hits are always decided."""
        self._tally(name, hits.sum(), len(hits) if decided is None else decided.sum())

    def _sample(self, name: str, values: np.ndarray) -> None:
        if not self.exact:
            self.hists.setdefault(name, LogHistogram()).add(values)
            return
        nan = np.isnan(values)
        self._kept(name, float).extend(values[~nan] if nan.any() else values)

    def add(self, log: MentionLog) -> "MentionStats":
        sc = self.scenario
        self.counts["mentions"] = self.counts.get("mentions", 0.0) + len(log)
        for origin in ("cascade", "incident"):
            key = f"{origin}_mentions"
            self.counts[key] = self.counts.get(key, 0.0) + float((log["origin"] == ORIGINS.index(origin)).sum())
        a = log.select(answerable(log, sc), STAT_COLUMNS)
        self.counts["answerable_mentions"] = self.counts.get("answerable_mentions", 0.0) + len(a)
        arrival, outcome = a["arrival"], a["outcome"]
        self._ratio("acknowledged_share", ~np.isnan(a["ack_done"]))
        for name in ("resolved", "abandoned", "ignored", "dropped", "open"):
            self._ratio(f"{name}_share", outcome == OUT[name])
        ack_time = a["ack_done"] - arrival
        self._sample("ack_time", ack_time)
        self._sample("resolve_time", a["resolve_done"] - arrival)
        self._sample("ack_expectation", a["ack_expected_by"] - arrival)
        for stage in ("ack", "resolve"):
            self._ratio(f"{stage}_sla_calendar", *sla_met(a, sc, stage))
            if self.clock is not None:
                self._ratio(f"{stage}_sla_business_hours", *sla_met(a, sc, stage, self.clock))
        labels = {"tier": follower_tier(a["followers"]), "channel": a["channel"], "type": self.type_group[a["type"]]}
        for stage, due in (("ack", "ack_expected_by"), ("resolve", "resolve_expected_by")):
            flags = a[f"{stage}_breached"]
            decided = expectation_decided(flags, a[due], sc.end)
            self._ratio(f"{stage}_breach_rate", flags, decided)
            for group, names in self.groups:
                hits, counts = breaches_by_group(labels[group], flags, decided, len(names))
                for g, label in enumerate(names):
                    self._tally(f"{stage}_breach_rate_{group}_{label}", hits[g], counts[g])
        if self.exact:
            # one sample of acknowledgement times, and each group's label for it: the groups'
            # quantiles are taken from it at the end, without a copy of the times per group
            kept = ~np.isnan(ack_time)
            for group, names in self.groups:
                group_of = labels[group] if kept.all() else labels[group][kept]
                self._kept(f"ack_time_by_{group}", np.min_scalar_type(-len(names))).extend(group_of)
        else:
            for group, names in self.groups:
                for g, label in enumerate(names):
                    self._sample(f"ack_time_{group}_{label}", ack_time[labels[group] == g])
        return self

    def _tally(self, name: str, hits: float, n: float) -> None:
        slot = self.ratios.setdefault(name, [0.0, 0.0])
        slot[0] += float(hits)
        slot[1] += float(n)

    def _kept(self, name: str, dtype) -> GrowingArray:
        if name not in self.values:
            self.values[name] = GrowingArray(dtype)
        return self.values[name]

    def _joined(self, name: str, dtype=float) -> np.ndarray:
        """The exact sample `name` so far."""
        return self._kept(name, dtype).array()

    def _group_medians(self, group: str, names: tuple[str, ...]) -> list[float]:
        if not self.exact:
            return [self._q(f"ack_time_{group}_{label}", 0.5)[0] for label in names]
        times, group_of = self._joined("ack_time"), self._joined(f"ack_time_by_{group}", np.int8)
        out = []
        for g in range(len(names)):
            values = times[group_of == g]
            out.append(float(np.quantile(values, 0.5, method="inverted_cdf")) if len(values) else math.nan)
        return out

    def _q(self, name: str, *q: float) -> list[float]:
        """Quantiles `q` of sample `name` (several at once: one pass over an exact sample)."""
        if self.exact:
            values = self._joined(name)
            if not len(values):
                return [math.nan] * len(q)
            return np.quantile(values, q, method="inverted_cdf").tolist()
        hist = self.hists.get(name)
        return [hist.quantile(x) if hist is not None else math.nan for x in q]

    def _r(self, name: str) -> float:
        hits, n = self.ratios.get(name, (0.0, 0.0))
        return hits / n if n else math.nan

    def metrics(self) -> dict[str, float]:
        """Every mention-derived summary metric, in a fixed order."""
        sla = self.scenario.sla
        out = {k: self.counts.get(k, 0.0) for k in ("mentions", "answerable_mentions")}
        for name in ("acknowledged", "resolved", "abandoned", "ignored", "dropped", "open"):
            out[f"{name}_share"] = self._r(f"{name}_share")
        for stage in ("ack_time", "resolve_time"):
            out[f"{stage}_p50"], out[f"{stage}_p90"] = self._q(stage, 0.5, 0.9)
        clock = "business_hours" if sla.clock == "business_hours" and self.clock is not None else "calendar"
        for stage in ("ack", "resolve"):
            out[f"{stage}_sla_attainment"] = self._r(f"{stage}_sla_{clock}")
        for stage in ("ack", "resolve"):
            out[f"{stage}_breach_rate"] = self._r(f"{stage}_breach_rate")
        out["ack_expectation_p50"] = self._q("ack_expectation", 0.5)[0]
        out["cascade_mentions"] = self.counts.get("cascade_mentions", 0.0)
        out["incident_mentions"] = self.counts.get("incident_mentions", 0.0)
        if self.clock is not None:
            for stage in ("ack", "resolve"):
                out[f"{stage}_sla_attainment_calendar"] = self._r(f"{stage}_sla_calendar")
                out[f"{stage}_sla_attainment_business_hours"] = self._r(f"{stage}_sla_business_hours")
        for stage in ("ack", "resolve"):
            for group, names in self.groups:
                for label in names:
                    out[f"{stage}_breach_rate_{group}_{label}"] = self._r(f"{stage}_breach_rate_{group}_{label}")
        for group, names in self.groups:
            for label, median in zip(names, self._group_medians(group, names)):
                out[f"ack_time_p50_{group}_{label}"] = median
        return out


def replication_metrics(scenario: Scenario, rep: Replication) -> dict[str, float]:
    """Every summary metric of one replication: those of its mentions as streamed during the
    run (exact when it kept its records or handed them to a sink, quantiles within 0.6 % with
    statistics alone), else worked out from its records."""
    if rep.mention_metrics:
        metrics = dict(rep.mention_metrics)
    else:
        metrics = MentionStats(scenario, exact=True).add(rep.mentions).metrics()
    # from the records when kept (a streamed mentions.csv counts it on the way; statistics alone
    # do not have it)
    if rep.mentions is not None and scenario.arrivals.cascades is not None:
        metrics["largest_cascade"] = float(largest_cascade_size(rep.mentions).get(rep.index, 0))
    agent_hours = sum(rep.agent_hours.values())
    metrics.update({
        "agent_hours": agent_hours,
        "cost": float(sum(rep.cost.values())),
        "utilization": rep.extra["busy_hours"] / agent_hours if agent_hours else math.nan,
        "max_queue_length": rep.extra["max_queue_length"],
    })
    if "boosted_mentions" in rep.extra:
        n = metrics["mentions"]
        metrics["breach_caused_share"] = rep.extra["boosted_mentions"] / n if n else math.nan
    return metrics


def t_quantile(dof: float, p: float) -> float:
    """The Student t quantile. `scipy.special` is imported here, not with the module: it is a
    third of the start-up of a run, and a run of one replication never needs it (nor does any
    worker process). scipy.stats would cost 0.4 s more."""
    from scipy.special import stdtrit
    return float(stdtrit(dof, p))


def confidence_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval over replications (NaN values dropped; one value: no interval)."""
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan
    half = t_quantile(len(x) - 1, 0.5 + level / 2) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return mean, mean - half, mean + half


def paired_difference(base: list[float], other: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean of `other[i] - base[i]` with its Student-t interval over replications.

    Under common random numbers replication i of both runs saw the same customers, so the
    per-replication differences vary far less than either run; pairs where either value is
    NaN are dropped.
    """
    diffs = [b - a for a, b in zip(base, other) if not (math.isnan(a) or math.isnan(b))]
    return confidence_interval(diffs, level)


def unpaired_difference(base: list[float], other: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean difference `other - base` with Welch's interval, treating the runs as independent.

    What the interval would be without common random numbers; for comparison with
    `paired_difference`.
    """
    a = np.asarray([v for v in base if not math.isnan(v)], dtype=float)
    b = np.asarray([v for v in other if not math.isnan(v)], dtype=float)
    if len(a) == 0 or len(b) == 0:
        return math.nan, math.nan, math.nan
    diff = float(b.mean() - a.mean())
    if len(a) < 2 or len(b) < 2:
        return diff, math.nan, math.nan
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0.0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va * va / (len(a) - 1) + vb * vb / (len(b) - 1))
    half = t_quantile(dof, 0.5 + level / 2) * se
    return diff, diff - half, diff + half


def summarize(per_replication: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """metric -> {mean, ci_low, ci_high} (95 %, Student t over replications)."""
    names = list(per_replication[0])
    for m in per_replication[1:]:
        names += [k for k in m if k not in names]
    out = {}
    for name in names:
        mean, lo, hi = confidence_interval([m.get(name, math.nan) for m in per_replication])
        low, high = metric_range(name)
        # a t-interval can reach past what the metric can be (a share below 0): cut it there
        out[name] = {"mean": mean, "ci_low": max(lo, low) if lo == lo else lo,
                     "ci_high": min(hi, high) if hi == hi else hi}
    return out


def metric_range(name: str) -> tuple[float, float]:
    """The values a summary metric can take: shares, rates and attainments lie in [0, 1],
    everything else here (counts, times, hours, cost, queue lengths) is non-negative."""
    if name.endswith("_share") or "_rate" in name or "attainment" in name or name == "utilization":
        return 0.0, 1.0
    return 0.0, math.inf
