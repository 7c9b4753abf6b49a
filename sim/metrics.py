"""Summary metrics: pure functions of a replication's records, and confidence intervals.

Shares and rates are over the mentions the company means to answer (true type in
`policy.respond_to`): a complaint mis-triaged as noise counts against the team, noise left alone
does not. A mention still undecided at the horizon (its deadline not yet passed, not yet served)
is left out of breach rates and SLA attainment rather than counted either way.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .arrivals.base import week_offset
from .records import ORIGINS, OUTCOMES, MentionLog, Replication
from .scenario.models import Scenario

OUT = {name: k for k, name in enumerate(OUTCOMES)}
WEEK_MINUTES = 7 * 1440
# Follower tiers of the fairness breakdown (metric-name suffixes) and their upper edges.
FOLLOWER_TIERS = ("lt1k", "1k_10k", "10k_100k", "ge100k")
TIER_EDGES = (1_000, 10_000, 100_000)


def answerable(log: MentionLog, scenario: Scenario) -> np.ndarray:
    """Mask of mentions whose true type the company means to answer."""
    respond = scenario.policy.respond_to or scenario.types
    table = np.array([t in respond for t in log.types], dtype=bool)
    return table[log["type"]]


def _share(mask: np.ndarray, within: np.ndarray) -> float:
    n = int(within.sum())
    return float((mask & within).sum() / n) if n else math.nan


def _quantile(values: np.ndarray, q: float) -> float:
    values = values[~np.isnan(values)]
    return float(np.quantile(values, q)) if len(values) else math.nan


def attainment(done: np.ndarray, arrival: np.ndarray, limit: float, end: float, clock=None) -> float:
    """Share served within `limit` of arrival, among those served or whose window closed by `end`.

    `clock` maps scenario minutes to elapsed SLA minutes (business hours); default: calendar.
    """
    if clock is not None:
        done, arrival, end = clock(done), clock(arrival), clock(np.asarray(end))
    met = (done - arrival) <= limit
    decided = met | (arrival + limit <= end)
    n = int(decided.sum())
    return float(met.sum() / n) if n else math.nan


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
        k = rest.astype(np.int64)
        return weeks * per_week + cum[k] + (rest - k) * open_minute[np.minimum(k, WEEK_MINUTES - 1)]

    zero = since_monday(np.asarray(week_offset, dtype=float))

    def clock(t: np.ndarray) -> np.ndarray:
        return since_monday(np.asarray(t, dtype=float) + week_offset) - zero

    return clock


def _group_breach(metrics: dict, prefix: str, groups: np.ndarray, labels, breached, done, due) -> None:
    for g, label in enumerate(labels):
        sel = groups == g
        if sel.any():
            metrics[f"{prefix}_{label}"] = breach_rate(breached[sel], done[sel], due[sel])


def follower_tier(followers: np.ndarray) -> np.ndarray:
    """Index into FOLLOWER_TIERS: <1k, 1k-10k, 10k-100k, >=100k."""
    return np.searchsorted(np.asarray(TIER_EDGES), followers, side="right")


def breach_rate(breached: np.ndarray, done: np.ndarray, due: np.ndarray) -> float:
    """Share breached among mentions whose expectation is decided (served, or deadline passed)."""
    decided = breached | (done <= due)
    n = int(decided.sum())
    return float((breached & decided).sum() / n) if n else math.nan


def replication_metrics(scenario: Scenario, rep: Replication) -> dict[str, float]:
    """Every summary metric of one replication."""
    log = rep.mentions
    end = scenario.end
    ans = answerable(log, scenario)
    a = log.select(ans)
    arrival = a["arrival"]
    outcome = a["outcome"]
    ack_time = a["ack_done"] - arrival
    res_time = a["resolve_done"] - arrival
    agent_hours = sum(rep.agent_hours.values())
    metrics = {
        "mentions": float(len(log)),
        "answerable_mentions": float(len(a)),
        "acknowledged_share": _share(~np.isnan(a["ack_done"]), np.ones(len(a), bool)),
        "resolved_share": _share(outcome == OUT["resolved"], np.ones(len(a), bool)),
        "abandoned_share": _share(outcome == OUT["abandoned"], np.ones(len(a), bool)),
        "ignored_share": _share(outcome == OUT["ignored"], np.ones(len(a), bool)),
        "dropped_share": _share(outcome == OUT["dropped"], np.ones(len(a), bool)),
        "open_share": _share(outcome == OUT["open"], np.ones(len(a), bool)),
        "ack_time_p50": _quantile(ack_time, 0.5),
        "ack_time_p90": _quantile(ack_time, 0.9),
        "resolve_time_p50": _quantile(res_time, 0.5),
        "resolve_time_p90": _quantile(res_time, 0.9),
        "ack_sla_attainment": attainment(a["ack_done"], arrival, scenario.sla.acknowledge.within, end),
        "resolve_sla_attainment": attainment(a["resolve_done"], arrival, scenario.sla.resolve.within, end),
        "ack_breach_rate": breach_rate(a["ack_breached"], a["ack_done"], a["ack_expected_by"]),
        "resolve_breach_rate": breach_rate(a["resolve_breached"], a["resolve_done"], a["resolve_expected_by"]),
        "ack_expectation_p50": _quantile(a["ack_expected_by"] - arrival, 0.5),
        "cascade_mentions": float((log["origin"] == ORIGINS.index("cascade")).sum()),
        "incident_mentions": float((log["origin"] == ORIGINS.index("incident")).sum()),
        "agent_hours": agent_hours,
        "cost": float(sum(rep.cost.values())),
        "utilization": rep.extra["busy_hours"] / agent_hours if agent_hours else math.nan,
        "max_queue_length": rep.extra["max_queue_length"],
    }
    sla = scenario.sla
    if sla.business_hours:
        clock = business_clock(sla.business_hours, week_offset(scenario.start))
        metrics["ack_sla_attainment_calendar"] = metrics["ack_sla_attainment"]
        metrics["resolve_sla_attainment_calendar"] = metrics["resolve_sla_attainment"]
        for stage, col, target in (("ack", "ack_done", sla.acknowledge), ("resolve", "resolve_done", sla.resolve)):
            value = attainment(a[col], arrival, target.within, end, clock)
            metrics[f"{stage}_sla_attainment_business_hours"] = value
            if sla.clock == "business_hours":
                metrics[f"{stage}_sla_attainment"] = value
    for stage, col, due in (("ack", "ack_done", "ack_expected_by"), ("resolve", "resolve_done", "resolve_expected_by")):
        flags = a[f"{stage}_breached"]
        _group_breach(metrics, f"{stage}_breach_rate_tier", follower_tier(a["followers"]), FOLLOWER_TIERS, flags, a[col], a[due])
        _group_breach(metrics, f"{stage}_breach_rate_channel", a["channel"], log.channels, flags, a[col], a[due])
        _group_breach(metrics, f"{stage}_breach_rate_type", a["type"], log.types, flags, a[col], a[due])
    for name, groups, labels in (("tier", follower_tier(a["followers"]), FOLLOWER_TIERS),
                                 ("channel", a["channel"], log.channels), ("type", a["type"], log.types)):
        for g, label in enumerate(labels):
            sel = groups == g
            if sel.any():
                metrics[f"ack_time_p50_{name}_{label}"] = _quantile(ack_time[sel], 0.5)
    if "boosted_mentions" in rep.extra:
        metrics["breach_caused_share"] = rep.extra["boosted_mentions"] / len(log) if len(log) else math.nan
    return metrics


def confidence_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval over replications (NaN values dropped; one value: no interval)."""
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return mean, mean - half, mean + half


def summarize(per_replication: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """metric -> {mean, ci_low, ci_high} (95 %, Student t over replications)."""
    names = list(per_replication[0])
    for m in per_replication[1:]:
        names += [k for k in m if k not in names]
    out = {}
    for name in names:
        mean, lo, hi = confidence_interval([m.get(name, math.nan) for m in per_replication])
        out[name] = {"mean": mean, "ci_low": lo, "ci_high": hi}
    return out
