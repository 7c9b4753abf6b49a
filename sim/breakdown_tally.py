"""The report's breakdowns tallied as mentions settle, for runs that keep no records.

With `--no-mentions` no record is kept, so the report's expectation breaches by hour of day
and of the week (the hour that hurts most), its acknowledgement times against the customers'
expectations, its replies against resolutions, and its fairness breakdowns (by follower tier,
channel and type) come from counts fed a day at a time, as the summary statistics are. The counts, shares and breach rates are
those the records would give (`sim.breakdowns`, `sim.expectation_gap`, same populations and
rules); distributions of times come from a fixed log histogram, each value read at the centre
of its bin, within 0.6 % of it (`LogHistogram`).
A replication's tally is a few hundred kilobytes whatever its horizon, and tallies of several
replications add up (`BreakdownTally.merged`).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .breakdowns import (HOURS, BreachRates, Ecdf, GroupStats, HourlyBreaches, ack_time_distribution,
                         answerable_mentions, breach_rate_by_hour, by_channel, by_follower_tier, by_type,
                         expectation_distribution, hour_of_day, resolve_time_distribution, shares, sla_attainment,
                         tier_labels)
from .expectation_gap import HOURS_OF_WEEK, breach_rate_by_hour_of_week, hour_of_week
from .metrics import FOLLOWER_TIERS, LogHistogram, attainment_clock, expectation_decided, follower_tier, sla_met
from .records import MentionLog

STAGES = (("ack", "ack_expected_by"), ("resolve", "resolve_expected_by"))   # stage, its deadline column
# the columns `add` reads
COLUMNS = ("arrival", "ack_done", "resolve_done", "ack_expected_by", "resolve_expected_by",
           "ack_breached", "resolve_breached", "followers", "channel", "type")
# What a mention may be, one bit each: a mention is counted once, under its combination of the
# bits, so a day's mentions take one `bincount` a grouping rather than one per group, stage and
# count; a count with a bit set is the sum over the combinations that have it.
FLAGS = ("acked", "ack_hits", "ack_decided", "resolve_hits", "resolve_decided")
COMBINATIONS = 1 << len(FLAGS)


class _Counts:
    """Answerable mentions per group 0..size-1 and combination of `FLAGS`; with `histograms`,
    each group's acknowledgement times (`LogHistogram` bins)."""

    def __init__(self, size: int, histograms: bool):
        self.size = size
        self.by_flags = np.zeros((size, COMBINATIONS), dtype=np.int64)
        self.hists = np.zeros((size, LogHistogram.BINS), dtype=np.int64) if histograms else None

    def add(self, groups: np.ndarray, flags: np.ndarray, acked: np.ndarray, bins: np.ndarray) -> None:
        """`flags`: each mention's combination; `bins`: the acknowledged ones' time bins."""
        size = self.size
        self.by_flags += np.bincount(groups * COMBINATIONS + flags, minlength=size * COMBINATIONS).reshape(size, -1)
        if self.hists is not None:
            self.hists += np.bincount(groups[acked] * LogHistogram.BINS + bins,
                                      minlength=size * LogHistogram.BINS).reshape(size, -1)

    def absorb(self, other: "_Counts") -> None:
        self.by_flags += other.by_flags
        if self.hists is not None:
            self.hists += other.hists

    def count(self, flag: str | None = None) -> np.ndarray:
        """Mentions per group (with `flag` set, when given)."""
        if flag is None:
            return self.by_flags.sum(axis=1)
        bit = 1 << FLAGS.index(flag)
        return self.by_flags[:, [c for c in range(COMBINATIONS) if c & bit]].sum(axis=1)

    def quantiles(self, q: float) -> np.ndarray:
        return np.array([LogHistogram.of_counts(row).quantile(q) for row in self.hists])

    def breach_rates(self) -> BreachRates:
        """Per group, as `sim.breakdowns.breach_rates` gives them from the records."""
        ack_n, res_n = self.count("ack_decided"), self.count("resolve_decided")
        return BreachRates(shares(self.count("ack_hits"), ack_n), shares(self.count("resolve_hits"), res_n), ack_n, res_n)


class TimeDistributions(NamedTuple):
    """Times to acknowledge and resolve, and the authors' deadlines for each, over the
    answerable mentions (`sim.breakdowns.ack_time_distribution` and its kin)."""

    ack: Ecdf
    resolve: Ecdf
    ack_expected: Ecdf
    resolve_expected: Ecdf


class AckPicture(NamedTuple):
    """What the report's acknowledgement-against-expectation figure shows."""

    acked: Ecdf                  # times to acknowledge, over the answerable mentions
    expected: Ecdf               # their authors' deadlines, over the same mentions
    attainment: float            # the SLA attainment, all replications pooled (as the summary counts)
    expected_within_sla: float   # share of authors expecting a reply within the SLA time
    never_acked: float           # share never acknowledged within the horizon


def _binned_ecdf(counts: np.ndarray, n: int) -> Ecdf:
    """An `Ecdf` of values counted in `LogHistogram` bins, each bin at its centre (0 for the
    bin below the histogram's range, as its quantiles read it)."""
    bins = np.flatnonzero(counts)
    x = np.where(bins == 0, 0.0, 10 ** (LogHistogram.LOW + (bins - 0.5) / LogHistogram.PER_DECADE))
    return Ecdf(x, np.cumsum(counts[bins]) / max(n, 1), n, counts[bins].copy())


class BreakdownTally:
    """Breakdowns of the mentions the company means to answer, fed as they settle (`add`, in
    the process that runs the replication), read as the tables the records would give
    (`hourly`, `week_breaches`, `group_stats`, `ack_picture`) wherever it is carried."""

    def __init__(self, scenario):
        self.start = scenario.start
        self.replications = 1
        self.answered = np.array([t in scenario.answered_types for t in scenario.types], dtype=bool)
        self.keys = {"tier": FOLLOWER_TIERS, "channel": tuple(scenario.channels), "type": tuple(scenario.types)}
        self.labels = {"tier": tier_labels(), "channel": tuple(scenario.channels), "type": tuple(scenario.types)}
        self.hours = _Counts(len(HOURS), histograms=False)
        self.week_hours = _Counts(HOURS_OF_WEEK, histograms=False)
        self.groups = {kind: _Counts(len(keys), histograms=True) for kind, keys in self.keys.items()}
        # times since arrival, in `LogHistogram` bins: the four distributions of `TimeDistributions`
        self.times = {name: LogHistogram() for name in TimeDistributions._fields}
        self.sla = {"met": 0, "decided": 0}                # the SLA attainment's, pooled
        self.expected_within_sla = 0                       # authors expecting a reply within the SLA time
        # the SLA rule while the run goes; not carried back with the tally (`__getstate__`)
        self._scenario = scenario
        self._clock = attainment_clock(scenario)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_scenario": None, "_clock": None}

    def add(self, log: MentionLog) -> "BreakdownTally":
        if self._scenario is None:
            raise RuntimeError("a tally carried from another process (or merged) can be read, not added to")
        a = log.select(self.answered[log["type"]], COLUMNS)
        arrival, ack_done = a["arrival"], a["ack_done"]
        acked = ~np.isnan(ack_done)
        flags = acked.astype(np.int64)
        for stage, due in STAGES:
            breached = a[f"{stage}_breached"]
            flags |= breached.astype(np.int64) << FLAGS.index(f"{stage}_hits")
            flags |= expectation_decided(breached, a[due], self._scenario.end).astype(np.int64) << FLAGS.index(f"{stage}_decided")
        bins = LogHistogram.bins(ack_done[acked] - arrival[acked])
        self.hours.add(hour_of_day(arrival, self.start), flags, acked, bins)
        self.week_hours.add(hour_of_week(arrival, self.start), flags, acked, bins)
        self.times["ack"].counts += np.bincount(bins, minlength=LogHistogram.BINS)
        expected = a["ack_expected_by"] - arrival
        self.times["ack_expected"].add(expected)
        self.times["resolve"].add(a["resolve_done"] - arrival)
        self.times["resolve_expected"].add(a["resolve_expected_by"] - arrival)
        met, decided = sla_met(a, self._scenario, "ack", self._clock)
        self.sla["met"] += int(np.count_nonzero(met))
        self.sla["decided"] += int(np.count_nonzero(decided))
        self.expected_within_sla += int(np.count_nonzero(expected <= self._scenario.sla.acknowledge.within))
        labels = {"tier": follower_tier(a["followers"]), "channel": a["channel"], "type": a["type"]}
        for kind, counts in self.groups.items():
            counts.add(np.asarray(labels[kind], dtype=np.int64), flags, acked, bins)
        return self

    @staticmethod
    def merged(tallies: list["BreakdownTally"]) -> "BreakdownTally":
        """One tally of every replication's mentions (the inputs are left as they are)."""
        import copy

        out = copy.deepcopy(tallies[0])
        out._scenario = out._clock = None   # a sum of replications: read, not added to
        for tally in tallies[1:]:
            out.hours.absorb(tally.hours)
            out.week_hours.absorb(tally.week_hours)
            for kind, counts in out.groups.items():
                counts.absorb(tally.groups[kind])
            for name, hist in out.times.items():
                hist.counts += tally.times[name].counts
            for name in out.sla:
                out.sla[name] += tally.sla[name]
            out.expected_within_sla += tally.expected_within_sla
            out.replications += tally.replications
        return out

    def week_breaches(self) -> BreachRates:
        """As `sim.expectation_gap.breach_rate_by_hour_of_week` gives it from the records."""
        return self.week_hours.breach_rates()

    def _population(self) -> int:
        return int(self.hours.count().sum())

    def _distribution(self, name: str) -> Ecdf:
        return _binned_ecdf(self.times[name].counts, self._population())

    def time_distributions(self) -> TimeDistributions:
        """As `time_distributions` gives them from the records, one step a `LogHistogram` bin."""
        return TimeDistributions(*(self._distribution(name) for name in TimeDistributions._fields))

    def ack_picture(self) -> AckPicture:
        """As `ack_picture` gives it from the records: the shares exact, the distributions one
        step a `LogHistogram` bin (each within 0.6 % in time of the values it holds)."""
        n = self._population()
        acked = int(self.hours.count("acked").sum())
        return AckPicture(self._distribution("ack"), self._distribution("ack_expected"),
                          self.sla["met"] / self.sla["decided"] if self.sla["decided"] else math.nan,
                          self.expected_within_sla / n if n else math.nan, 1 - acked / n if n else math.nan)

    def hourly(self) -> HourlyBreaches:
        """As `sim.breakdowns.breach_rate_by_hour` gives it from the records."""
        rates = self.hours.breach_rates()
        return HourlyBreaches(HOURS.copy(), rates.ack_rate, rates.resolve_rate, self.hours.count(),
                              rates.ack_counts, rates.resolve_counts)

    def group_stats(self, kind: str) -> GroupStats:
        """As `sim.breakdowns.by_follower_tier`, `by_channel` or `by_type` (`kind`: "tier",
        "channel" or "type") give it from the records; quantiles within 0.6 %."""
        c = self.groups[kind]
        count, rates = c.count(), c.breach_rates()
        return GroupStats(self.keys[kind], self.labels[kind], count, shares(c.count("acked"), count),
                          rates.ack_rate, rates.resolve_rate, c.quantiles(0.5), c.quantiles(0.9))


class RecordBreakdowns:
    """The tally's readings (`hourly`, `week_breaches`, `group_stats`, `ack_picture`,
    `time_distributions`, `replications`) worked out from a run's records: the report reads
    either the same way. The mentions the company means to answer are selected once.
    `replications`: how many runs the records come from (by default, those they name: a run
    nobody wrote in during leaves no row to be counted by)."""

    def __init__(self, mentions: MentionLog, scenario, replications: int | None = None):
        self.scenario = scenario
        self.answerable = answerable_mentions(mentions, scenario)
        if replications is None:
            replications = len(np.unique(np.asarray(mentions["replication"])))
        self.replications = replications

    def hourly(self) -> HourlyBreaches:
        return breach_rate_by_hour(self.answerable, self.scenario)

    def week_breaches(self) -> BreachRates:
        return breach_rate_by_hour_of_week(self.answerable, self.scenario)

    def group_stats(self, kind: str) -> GroupStats:
        return {"tier": by_follower_tier, "channel": by_channel, "type": by_type}[kind](self.answerable, self.scenario)

    def time_distributions(self) -> TimeDistributions:
        a, sc = self.answerable, self.scenario
        return TimeDistributions(ack_time_distribution(a, sc), resolve_time_distribution(a, sc),
                                 expectation_distribution(a, sc, "acknowledge"), expectation_distribution(a, sc, "resolve"))

    def ack_picture(self) -> AckPicture:
        a, sc = self.answerable, self.scenario
        acked, expected = ack_time_distribution(a, sc), expectation_distribution(a, sc, "acknowledge")
        return AckPicture(acked, expected, sla_attainment(a, sc), expected.at(sc.sla.acknowledge.within),
                          1 - acked.reached)


Breakdowns = BreakdownTally | RecordBreakdowns


def breakdowns_of(source: MentionLog | Breakdowns, scenario, replications: int | None = None) -> Breakdowns:
    """What the report's breakdowns are read from: a run's tally as it is, records through
    `RecordBreakdowns` (built once, where a report draws several breakdowns from it; from
    `replications` runs, where some may have had no mention)."""
    if isinstance(source, (BreakdownTally, RecordBreakdowns)):
        return source
    return RecordBreakdowns(source, scenario, replications)


def kept_records(result) -> MentionLog | None:
    """A run's mention records, or None if a replication kept none (streamed, `--no-mentions`)."""
    if any(getattr(rep, "mentions", None) is None for rep in result.replications):
        return None
    return result.mentions


def breakdown_source(result) -> MentionLog | BreakdownTally | None:
    """A run's records, else its tally (`--no-mentions`), else None: what its breakdowns come from."""
    records = kept_records(result)
    return records if records is not None else getattr(result, "breakdown", None)


def run_breakdowns(result) -> Breakdowns | None:
    """What a run's breakdowns are read from (its records, else its tally), every replication
    counted, one without a single mention too; None if the run kept neither."""
    source = breakdown_source(result)
    return None if source is None else breakdowns_of(source, result.scenario, len(result.replications))


def hourly_breakdown(source: MentionLog | Breakdowns, scenario) -> tuple[HourlyBreaches, int]:
    """Breaches by hour of day, and over how many replications."""
    b = breakdowns_of(source, scenario)
    return b.hourly(), b.replications


def group_breakdown(source: MentionLog | Breakdowns, scenario, kind: str) -> tuple[GroupStats, int]:
    """Service by group (`kind`: "tier", "channel" or "type"), and over how many replications."""
    b = breakdowns_of(source, scenario)
    return b.group_stats(kind), b.replications


def week_breakdown(source: MentionLog | Breakdowns, scenario) -> BreachRates:
    """Breaches by hour of the week."""
    return breakdowns_of(source, scenario).week_breaches()


def ack_picture(source: MentionLog | Breakdowns, scenario) -> AckPicture:
    """Acknowledgement times against the customers' deadlines, with the SLA's figures."""
    return breakdowns_of(source, scenario).ack_picture()


def time_distributions(source: MentionLog | Breakdowns, scenario) -> TimeDistributions:
    """Times to acknowledge and resolve and the authors' deadlines."""
    return breakdowns_of(source, scenario).time_distributions()
