"""Paired differences between scenarios and how to say them: units, precision and verdicts.

A difference is the compared scenario minus the reference, replication by replication
(`sim.metrics.paired_difference`); a verdict turns it into words such as
`batched acknowledges slower (median): +2.93 h [+2.88, +2.98]`.

The words and kinds of the metrics here are the only ones: the run report's summary table,
the notebook API and the comparison all say a metric the same way.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .breakdowns import tier_labels
from .metrics import FOLLOWER_TIERS, paired_difference, unpaired_difference

# Metric -> plain words; the run report's fairness tables order measures this way.
WORDS = {
    "mentions": "mentions (after warm-up)",
    "answerable_mentions": "mentions the team means to answer",
    "acknowledged_share": "share acknowledged",
    "resolved_share": "share resolved",
    "abandoned_share": "share abandoned (patience ran out)",
    "ignored_share": "share ignored (mis-triaged as a type not answered)",
    "dropped_share": "share lost in a channel move (never followed through)",
    "open_share": "share still open at the end of the run",
    "ack_time_p50": "time to acknowledge, median",
    "ack_time_p90": "time to acknowledge, 90th percentile",
    "resolve_time_p50": "time to resolve, median",
    "resolve_time_p90": "time to resolve, 90th percentile",
    "ack_sla_attainment": "acknowledged within the SLA time",
    "ack_sla_attainment_calendar": "acknowledged within the SLA time, calendar clock",
    "ack_sla_attainment_business_hours": "acknowledged within the SLA time, business-hours clock",
    "resolve_sla_attainment": "resolved within the SLA time",
    "resolve_sla_attainment_calendar": "resolved within the SLA time, calendar clock",
    "resolve_sla_attainment_business_hours": "resolved within the SLA time, business-hours clock",
    "ack_breach_rate": "acknowledgement later than the customer expected",
    "resolve_breach_rate": "resolution later than the customer expected",
    "ack_expectation_p50": "customers' expected time to acknowledge, median",
    "cascade_mentions": "mentions from viral cascades",
    "incident_mentions": "mentions from incidents",
    "largest_cascade": "largest cascade (mentions, root included)",
    "breach_caused_share": "share of mentions caused by breaches (closed loop)",
    "agent_hours": "agent hours",
    "cost": "staff cost",
    "utilization": "agent utilization",
    "max_queue_length": "longest queue",
}
# Metric -> (words when the compared scenario is higher, when lower, +1 if higher is better,
# -1 if worse, 0 if neither). The SLA's calendar and business-hours variants go as the SLA.
DIRECTIONS = {
    "mentions": ("draws more mentions", "draws fewer mentions", 0),
    "answerable_mentions": ("has more mentions to answer", "has fewer mentions to answer", 0),
    "cascade_mentions": ("sets off more viral follow-ons", "sets off fewer viral follow-ons", -1),
    "incident_mentions": ("has more incident mentions", "has fewer incident mentions", 0),
    "largest_cascade": ("has a larger largest cascade", "has a smaller largest cascade", -1),
    "acknowledged_share": ("acknowledges more mentions", "acknowledges fewer mentions", 1),
    "resolved_share": ("resolves more mentions", "resolves fewer mentions", 1),
    "abandoned_share": ("loses more customers to impatience", "loses fewer customers to impatience", -1),
    "ignored_share": ("ignores more mentions it meant to answer", "ignores fewer mentions it meant to answer", -1),
    "dropped_share": ("loses more customers in channel moves", "loses fewer customers in channel moves", -1),
    "open_share": ("leaves more mentions open", "leaves fewer mentions open", -1),
    "ack_time_p50": ("acknowledges slower (median)", "acknowledges faster (median)", -1),
    "ack_time_p90": ("acknowledges slower (90th percentile)", "acknowledges faster (90th percentile)", -1),
    "resolve_time_p50": ("resolves slower (median)", "resolves faster (median)", -1),
    "resolve_time_p90": ("resolves slower (90th percentile)", "resolves faster (90th percentile)", -1),
    "ack_sla_attainment": ("meets the acknowledgement SLA more often", "meets the acknowledgement SLA less often", 1),
    "resolve_sla_attainment": ("meets the resolution SLA more often", "meets the resolution SLA less often", 1),
    "ack_breach_rate": ("breaches more acknowledgement expectations", "breaches fewer acknowledgement expectations", -1),
    "resolve_breach_rate": ("breaches more resolution expectations", "breaches fewer resolution expectations", -1),
    "ack_expectation_p50": ("meets later acknowledgement deadlines", "meets earlier acknowledgement deadlines", 0),
    "agent_hours": ("uses more agent hours", "uses fewer agent hours", 0),
    "cost": ("costs more", "costs less", -1),
    "utilization": ("keeps agents busier", "keeps agents less busy", 0),
    "max_queue_length": ("peaks with a longer queue", "peaks with a shorter queue", -1),
    "breach_caused_share": ("has more mentions caused by breaches", "has fewer mentions caused by breaches", -1),
}
COUNT_METRICS = ("mentions", "answerable_mentions", "cascade_mentions", "incident_mentions", "largest_cascade",
                 "max_queue_length")
SHARE_WORDS = ("share", "attainment", "utilization", "occupancy", "probability")
# Fairness metrics are `<measure>_<dimension>_<group>`, e.g. `ack_breach_rate_tier_lt1k`.
FAIRNESS_DIMENSIONS = {"tier": "follower tier", "channel": "channel", "type": "mention type"}
# The SLA attainment metrics and the stage of `scenario.sla` each is measured against.
SLA_STAGES = {"ack_sla_attainment": "acknowledge", "resolve_sla_attainment": "resolve"}
MINUS = "\u2212"


# ---------------------------------------------------------------------------------------------
# What a metric is and how to say it


def fairness_parts(name: str) -> tuple[str, str, str] | None:
    """(measure, dimension, group) of a fairness metric such as `ack_breach_rate_tier_lt1k`,
    or None. The measure must be a known metric; the earliest dimension word splits the name."""
    hits = [(name.find(f"_{dim}_"), dim) for dim in FAIRNESS_DIMENSIONS if f"_{dim}_" in name]
    for at, dim in sorted(hits):
        measure, group = name[:at], name[at + len(dim) + 2:]
        if measure in WORDS and group:
            return measure, dim, group
    return None


def group_words(dimension: str, group: str) -> str:
    """Who a fairness metric is about: `for authors with < 1k followers`, `on twitter`,
    `for complaint mentions`."""
    if dimension == "tier":
        labels = dict(zip(FOLLOWER_TIERS, tier_labels()))
        return f"for authors with {labels.get(group, group.replace('_', ' '))} followers"
    return f"on {group}" if dimension == "channel" else f"for {group} mentions"


def split_metric(name: str) -> tuple[str, str]:
    """(base metric, words for its group) — `ack_breach_rate_channel_twitter` ->
    (`ack_breach_rate`, `on twitter`); a plain metric has no group words."""
    parts = fairness_parts(name)
    return (parts[0], group_words(parts[1], parts[2])) if parts else (name, "")


def metric_words(name: str, scenario=None) -> str:
    """A metric's name in plain words; with the scenario, the SLA attainment says its clock
    when that is not the calendar."""
    base, group = split_metric(name)
    words = WORDS.get(base, base.replace("_", " "))
    clock = getattr(getattr(scenario, "sla", None), "clock", "calendar")
    if name in SLA_STAGES and clock != "calendar":
        words += f", {clock.replace('_', '-')} clock"
    return f"{words}, {group}" if group else words


def metric_kind(name: str) -> str:
    """`time` (minutes), `share` (0..1), `count`, `hours`, `money` or `number`."""
    base, _ = split_metric(name)
    parts = base.split("_")
    if ("time" in parts or "wait" in parts or "expectation" in parts or base.endswith("_minutes")
            or re.fullmatch(r"p\d+", parts[-1])):   # every quantile metric is a duration
        return "time"
    if base in COUNT_METRICS:
        return "count"
    if base == "agent_hours":
        return "hours"
    if base == "cost":
        return "money"
    if any(p in parts for p in SHARE_WORDS) or ("breach" in parts and base.endswith("_rate")):
        return "share"
    return "number"


def _decimals(values: list[float]) -> int:
    """Decimals for [mean, low, high]: the interval's half-width to one significant digit, two
    when it starts with a 1 (`+42 [+38, +47]`, `1.68 [1.60, 1.76]`); without an interval, by size."""
    if len(values) == 3 and all(math.isfinite(v) for v in values) and values[2] > values[1]:
        half = (values[2] - values[1]) / 2
        digits = -math.floor(math.log10(half))
        if half * 10.0 ** digits < 2:
            digits += 1
        return max(0, min(3, digits))
    top = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
    return 2 if top < 10 else 1 if top < 100 else 0


def _number(value: float, decimals: int, signed: bool) -> str:
    if not math.isfinite(value):
        return "—"
    text = f"{abs(value):,.{decimals}f}"
    if float(text.replace(",", "")) == 0.0:
        return "0" if decimals == 0 else f"{0:.{decimals}f}"
    if value < 0:
        return MINUS + text
    return ("+" + text) if signed else text


def format_values(name: str, values: Sequence[float], signed: bool = False) -> tuple[list[str], str]:
    """Format numbers of one metric alike: (texts, unit). Times in min, h or d by size; shares
    as % (values) or percentage points (`signed`, differences)."""
    values = [float(v) for v in values]
    kind = metric_kind(name)
    unit, scale = "", 1.0
    if kind == "time":
        top = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
        unit, scale = ("min", 1.0) if top < 120 else ("h", 60.0) if top < 2880 else ("d", 1440.0)
    elif kind == "share":
        unit, scale = ("pp" if signed else "%"), 0.01
    elif kind == "hours":
        unit = "h"
    scaled = [v / scale for v in values]
    return [_number(v, _decimals(scaled), signed) for v in scaled], unit


def format_estimate(name: str, mean: float, low: float, high: float, signed: bool = False) -> str:
    """`12.3 min [11.0, 13.5]`, `+4.2 pp [+3.1, +5.3]`; no interval part when there is none."""
    (m, lo, hi), unit = format_values(name, [mean, low, high], signed)
    if m == "—":
        return "—"
    sep = "" if unit in ("", "%") else " "
    text = f"{m}{sep}{unit}"
    if lo != "—" and hi != "—":
        text += f" [{lo}, {hi}]"
    return text


# ---------------------------------------------------------------------------------------------
# Differences


@dataclass(frozen=True)
class Difference:
    """A compared scenario minus the reference, one metric: paired mean and 95 % interval, the
    interval independent runs would give, and whether every replication's difference was 0."""

    mean: float
    ci_low: float
    ci_high: float
    unpaired_low: float
    unpaired_high: float
    identical: bool

    @property
    def clear(self) -> bool:
        """The interval excludes 0."""
        return math.isfinite(self.ci_low) and (self.ci_low > 0 or self.ci_high < 0)


def difference(base: list[float], other: list[float]) -> Difference:
    mean, lo, hi = paired_difference(base, other)
    _, ulo, uhi = unpaired_difference(base, other)
    pairs = [(a, b) for a, b in zip(base, other) if not (math.isnan(a) or math.isnan(b))]
    identical = bool(pairs) and all(a == b for a, b in pairs)
    return Difference(mean, lo, hi, ulo, uhi, identical)


def verdict(label: str, name: str, diff: Difference) -> str:
    """The difference in plain words: `batched acknowledges slower (median): +42 min [+38, +47]`."""
    if not math.isfinite(diff.mean):
        return "no data"
    if diff.identical:
        return "no difference (equal in every replication)"
    numbers = format_estimate(name, diff.mean, diff.ci_low, diff.ci_high, signed=True)
    if not math.isfinite(diff.ci_low):
        return f"{numbers}: no interval from one replication"
    if not diff.clear:
        return f"no clear difference: {numbers}"
    base, group = split_metric(name)
    words = metric_words(name)
    known = _direction(base)
    up, down, _ = known or (f"has a higher {words}", f"has a lower {words}", 0)
    phrase = up if diff.mean > 0 else down
    if group and known:
        phrase += f", {group}"
    return f"{label} {phrase}: {numbers}"


def _direction(base: str) -> tuple[str, str, int] | None:
    """The DIRECTIONS entry of a base metric; an SLA attainment on a named clock goes as the SLA."""
    for clock in ("_calendar", "_business_hours"):
        sla = base.removesuffix(clock)
        if sla != base and sla in SLA_STAGES:
            up, down, sense = DIRECTIONS[sla]
            note = f" ({clock[1:].replace('_', '-')} clock)"
            return up + note, down + note, sense
    return DIRECTIONS.get(base)


def judgement(name: str, diff: Difference) -> str:
    """`better`, `worse` or `` (no clear difference, or a metric that is neither)."""
    base, _ = split_metric(name)
    sense = (_direction(base) or ("", "", 0))[2]
    if not diff.clear or sense == 0:
        return ""
    return "better" if (diff.mean > 0) == (sense > 0) else "worse"
