"""The executive summary: five plain sentences generated from a run's figures.

`executive_summary(summary, mentions, scenario)` is a pure function of the summary metrics
(`{name: {mean, ci_low, ci_high}}`), the mention records (or, when a run kept none, its
`BreakdownTally` or None) and the scenario; the run report puts its sentences at the top, and a
comparison can call it once per scenario. Nothing here draws or writes.
"""
from __future__ import annotations

import math

import numpy as np

from ..breakdown_tally import Breakdowns, week_breakdown
from ..expectation_gap import hardest_hour, hour_of_week_name
from ..metrics import WEEK_MINUTES
from ..records import MentionLog

# Within this many points the SLA's misses and the customers' breaches count as "about as many".
SAME_SHARE = 0.02


def percent(share: float) -> str:
    """A share in whole percent, `92 %`; never rounds a non-zero share to 0 % or a shortfall to 100 %."""
    if not math.isfinite(share):
        return "— %"
    if 0 < share < 0.005:
        return "under 1 %"
    if 0.995 <= share < 1:
        return "over 99 %"
    return f"{round(share * 100):.0f} %"


def amount(value: float) -> str:
    """A count or sum of money in whole units with thousands separators: `21,864`."""
    return f"{value:,.0f}" if math.isfinite(value) else "—"


def _plural(value: float, unit: str) -> str:
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} {unit}" if text == "1" else f"{text} {unit}s"


def duration_words(minutes: float) -> str:
    """A duration in plain words: `40 seconds`, `7 minutes`, `1.5 hours`, `2.5 days`."""
    if not math.isfinite(minutes):
        return "—"
    if minutes < 1:
        return _plural(round(minutes * 60), "second")
    if minutes < 60:
        return _plural(minutes, "minute")
    if minutes < 2880:
        return _plural(minutes / 60, "hour")
    return _plural(minutes / 1440, "day")


def duration_adjective(minutes: float) -> str:
    """A duration as an adjective: `1-hour`, `30-minute`, `3-day`, `90-second`."""
    for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
        if minutes >= size and (minutes / size) == round(minutes / size, 1):
            return f"{minutes / size:g}-{unit}"
    return f"{minutes * 60:g}-second"


def _mean(summary: dict, name: str) -> float:
    stats = summary.get(name)
    value = stats.get("mean") if stats else None
    return float(value) if value is not None else math.nan


def _ci(summary: dict, name: str) -> tuple[float, float]:
    stats = summary.get(name) or {}
    low, high = stats.get("ci_low"), stats.get("ci_high")
    return (float(low) if low is not None else math.nan, float(high) if high is not None else math.nan)


def cost_sentence(summary: dict, scenario) -> str:
    """Staff cost and agent-hours per week, against the mentions arriving per week."""
    weeks = scenario.horizon / WEEK_MINUTES
    cost, (low, high) = _mean(summary, "cost"), _ci(summary, "cost")
    hours = _mean(summary, "agent_hours")
    mentions, answered = _mean(summary, "mentions"), _mean(summary, "answerable_mentions")
    pace = "" if weeks >= 1 else f" at this {duration_adjective(scenario.horizon)} run's pace"
    ci = f" (95 % CI {amount(low / weeks)}–{amount(high / weeks)})" if math.isfinite(low) and math.isfinite(high) else ""
    text = f"Staffing costs {amount(cost / weeks)} a week{pace}{ci}"
    if math.isfinite(hours):
        text += f", {amount(hours / weeks)} agent-hours"
    if math.isfinite(mentions):
        text += f", for about {amount(mentions / weeks)} mentions a week"
        if math.isfinite(answered) and answered < mentions:
            text += f", {amount(answered / weeks)} of which the team means to answer"
    return text + "."


def acknowledgement_sentence(summary: dict) -> str:
    """Share of customers whose own deadline for a first reply was met."""
    breach = _mean(summary, "ack_breach_rate")
    if not math.isfinite(breach):
        return "No customer's wait for a first reply was decided in this run."
    text = f"{percent(1 - breach)} of the customers the team answers got a first reply as fast as they expected"
    reply, expected = _mean(summary, "ack_time_p50"), _mean(summary, "ack_expectation_p50")
    if math.isfinite(reply) and math.isfinite(expected):
        text += (f" (the median reply came after {duration_words(reply)}; the median customer "
                 f"expected one within {duration_words(expected)})")
    return text[0].upper() + text[1:] + "."


def resolution_sentence(summary: dict) -> str:
    """Share of customers whose own deadline for a resolution was met, and how long it took."""
    breach = _mean(summary, "resolve_breach_rate")
    if not math.isfinite(breach):
        return "No customer's wait for a resolution was decided in this run."
    text = f"{percent(1 - breach)} had their problem resolved within the time they expected"
    median, resolved = _mean(summary, "resolve_time_p50"), _mean(summary, "resolved_share")
    if math.isfinite(median):
        text += f"; the median resolution took {duration_words(median)}"
    if math.isfinite(resolved) and resolved < 1:
        text += f", and {percent(1 - resolved)} were not resolved by the end of the run"
    return text[0].upper() + text[1:] + "."


def hardest_hour_sentence(mentions: MentionLog | Breakdowns | None, scenario) -> str:
    """The hour of the week with the highest acknowledgement breach rate (enough mentions), from
    the records or the tally of a run that kept none."""
    if mentions is None:
        return ("Mention records were not kept in this run, so the hour of the week that hurts "
                "most cannot be named.")
    table = week_breakdown(mentions, scenario)
    hour = hardest_hour(table.ack_rate, table.ack_counts)
    if hour is None:
        return "No hour of the week had enough mentions to single one out."
    total = int(table.ack_counts.sum())
    overall = float(np.nansum(table.ack_rate * table.ack_counts) / total) if total else math.nan
    name = hour_of_week_name(hour, plural=scenario.horizon > WEEK_MINUTES)
    return (f"Customers are let down most on {name}: {percent(table.ack_rate[hour])} of the mentions "
            f"arriving then were acknowledged later than their authors expected, against "
            f"{percent(overall)} over the whole week.")


def sla_sentence(summary: dict, scenario) -> str:
    """What the SLA says against what customers felt."""
    sla = scenario.sla.acknowledge
    attained, felt = _mean(summary, "ack_sla_attainment"), _mean(summary, "ack_breach_rate")
    clock = " (counted in business hours)" if getattr(scenario.sla, "clock", "calendar") == "business_hours" else ""
    name = f"its {duration_adjective(sla.within)} acknowledgement SLA{clock}"
    if not math.isfinite(attained):
        return f"No mention's {duration_adjective(sla.within)} acknowledgement SLA was decided in this run."
    if attained >= sla.target:
        head = f"The team met {name} for {percent(attained)} of mentions, beating its {percent(sla.target)} target"
    else:
        head = (f"The team acknowledged {percent(attained)} of mentions within {name}, short of "
                f"its {percent(sla.target)} target")
    if not math.isfinite(felt):
        return head + "."
    missed = 1 - attained
    if felt > missed + SAME_SHARE:
        tail = (f", yet {percent(felt)} of customers were answered later than they expected: "
                "customers want faster replies than the SLA promises")
    elif felt < missed - SAME_SHARE:
        tail = (f", while only {percent(felt)} of customers were answered later than they "
                "expected: most customers are more patient than the SLA")
    else:
        tail = f", and about as many customers ({percent(felt)}) were answered later than they expected"
    return head + tail + "."


def executive_summary(summary: dict[str, dict[str, float]], mentions: MentionLog | Breakdowns | None,
                      scenario) -> list[str]:
    """Five sentences for an executive: cost per week; expectations met for acknowledgement and
    for resolution; the hour of the week that hurts most; the SLA against what customers felt."""
    return [
        cost_sentence(summary, scenario),
        acknowledgement_sentence(summary),
        resolution_sentence(summary),
        hardest_hour_sentence(mentions, scenario),
        sla_sentence(summary, scenario),
    ]


__all__ = [
    "acknowledgement_sentence", "amount", "cost_sentence", "duration_adjective", "duration_words",
    "executive_summary", "hardest_hour_sentence", "percent", "resolution_sentence", "sla_sentence",
]
