"""The expectation gap: when, and for which customers, service and expectation part ways.

Pure functions of the records, like `sim.breakdowns`: breach rates by hour of the week (and the
hour that hurts most), a deterministic sample of customers for the trainer's timeline chart, and
each mention's resolution gap (for `caresim story --worst`). No plotting here.

Populations follow the summary metrics (`sim.metrics`): the mentions the company means to answer
(true type in `policy.respond_to`), and for a breach rate those whose deadline fell by the end
of the run, so the hourly rates pooled with their counts give the summary's
`ack_breach_rate`.
"""
from __future__ import annotations

import numpy as np

from .arrivals.base import week_offset
from .breakdowns import BreachRates, breach_rates
from .metrics import answerable
from .records import OUTCOMES, MentionLog

HOURS_OF_WEEK = 168
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# An hour is named "the hour that hurts most" only with at least this many decided mentions
# (all replications pooled) and at least this share of an average hour's count, so a quiet
# night hour with 3 mentions, 2 of them late, is not singled out.
MIN_HOUR_MENTIONS = 30
MIN_HOUR_SHARE = 0.25
# Strata of the expectation-gap sample, in display order, and their share of the sample.
GAP_STRATA = (
    ("in_time", "Replied and resolved in time", 0.25),
    ("fast_reply_slow_resolution", "Fast first reply, resolution later than expected", 0.35),
    ("slow_reply", "First reply later than expected", 0.25),
    ("lost", "Lost: gave up, ignored, or moved channel and never came back", 0.15),
)


# Breach rates by hour of the week of arrival (0 = Monday 00:00–01:00), all replications pooled.
HourOfWeekBreaches = BreachRates


def hour_of_week(times: np.ndarray, start) -> np.ndarray:
    """Hour of the week (0..167, Monday 00:00 = 0) of times in minutes since the calendar `start`."""
    minutes = week_offset(start) + np.asarray(times, dtype=float)
    return (np.floor(minutes / 60.0) % HOURS_OF_WEEK).astype(np.int64)


def breach_rate_by_hour_of_week(mentions: MentionLog, scenario) -> HourOfWeekBreaches:
    """Acknowledgement and resolution breach rates by hour of the week of arrival."""
    log = mentions.select(answerable(mentions, scenario))
    return breach_rates(log, hour_of_week(log["arrival"], scenario.start), HOURS_OF_WEEK, scenario.end)


def hardest_hour(rates: np.ndarray, counts: np.ndarray, min_count: int = MIN_HOUR_MENTIONS,
                 min_share: float = MIN_HOUR_SHARE) -> int | None:
    """The hour with the highest rate among hours with enough mentions (at least `min_count`
    and `min_share` of the mean count of the hours that have any). Rates equal to the whole
    percent (often several night hours at 100 %) are told apart by the number of mentions, the
    busier hour letting down more customers; then the earlier hour. None if no hour qualifies."""
    counts = np.asarray(counts, dtype=float)
    rates = np.asarray(rates, dtype=float)
    busy = counts[counts > 0]
    if len(busy) == 0:
        return None
    enough = (counts >= max(min_count, min_share * busy.mean())) & np.isfinite(rates)
    if not enough.any():
        return None
    top = np.max(rates[enough])
    tied = enough & (rates >= top - 0.005)
    return int(np.argmax(np.where(tied, counts, -1.0)))


def hour_of_week_name(hour: int, plural: bool = True) -> str:
    """`Tuesdays 20:00–21:00` (or `Tuesday 20:00–21:00`) for an hour of the week."""
    day, h = divmod(int(hour) % HOURS_OF_WEEK, 24)
    name = WEEKDAY_NAMES[day] + ("s" if plural else "")
    return f"{name} {h:02d}:00–{(h + 1) % 24:02d}:00"


# --- The customers of the expectation-gap chart -----------------------------------------------


def gap_stratum(mentions: MentionLog) -> np.ndarray:
    """Index into GAP_STRATA of each mention, or -1 when a verdict is still open at the horizon
    (not served and its deadline not passed) and so the mention tells no clear story.

    A customer who moved channel and never came back is `lost` whatever their first reply.
    """
    ack_done = np.asarray(mentions["ack_done"], dtype=float)
    res_done = np.asarray(mentions["resolve_done"], dtype=float)
    ack_late = np.asarray(mentions["ack_breached"], dtype=bool)
    res_late = np.asarray(mentions["resolve_breached"], dtype=bool)
    acked, resolved = np.isfinite(ack_done), np.isfinite(res_done)
    kept = acked & (np.asarray(mentions["outcome"]) != OUTCOMES.index("dropped"))
    decided = (acked | ack_late) & (resolved | res_late)
    out = np.full(len(mentions), 3, dtype=np.int64)
    out[kept & ~ack_late & resolved & ~res_late] = 0
    out[kept & ~ack_late & res_late] = 1
    out[kept & ack_late] = 2
    out[~decided] = -1
    return out


def _spread(members: np.ndarray, k: int) -> np.ndarray:
    """`k` of `members` (positions sorted by arrival) evenly spaced from first to last."""
    if k <= 0 or len(members) == 0:
        return members[:0]
    if k >= len(members):
        return members
    return members[np.unique(np.round(np.linspace(0, len(members) - 1, k)).astype(np.int64))]


def _quotas(sizes: list[int], k: int) -> list[int]:
    """Split `k` slots over strata by GAP_STRATA's shares, giving slots a stratum cannot fill
    to the others in order."""
    shares = np.array([s for *_, s in GAP_STRATA])
    quota = np.floor(shares * k).astype(int)
    quota[np.argmax(shares)] += k - quota.sum()
    quota = np.minimum(quota, sizes)
    spare = k - int(quota.sum())
    for i in np.argsort(-shares, kind="stable"):
        extra = min(spare, sizes[i] - quota[i])
        quota[i] += extra
        spare -= extra
    return quota.tolist()


def expectation_gap_sample(mentions: MentionLog, scenario, k: int = 30,
                           replication: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic sample of about `k` customers of one replication (default: the first in
    the log) for the expectation-gap chart: positions in `mentions` and their stratum.

    Strata (GAP_STRATA) get fixed shares of the sample, so breaches and met expectations both
    show whatever the run's rates; within a stratum customers are spread evenly over arrival
    time. Only mentions the company means to answer and whose verdicts are decided.
    """
    n = len(mentions)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    reps = np.asarray(mentions["replication"])
    rep = int(reps.min()) if replication is None else replication
    strata = gap_stratum(mentions)
    eligible = answerable(mentions, scenario) & (reps == rep) & (strata >= 0)
    order = np.lexsort((np.asarray(mentions["id"]), np.asarray(mentions["arrival"], dtype=float)))
    order = order[eligible[order]]
    groups = [order[strata[order] == s] for s in range(len(GAP_STRATA))]
    quota = _quotas([len(g) for g in groups], min(k, len(order)))
    picked = [_spread(g, q) for g, q in zip(groups, quota)]
    positions = np.concatenate(picked).astype(np.int64)
    labels = np.concatenate([np.full(len(p), s) for s, p in enumerate(picked)]).astype(np.int64)
    return positions, labels


# --- One mention's gap ------------------------------------------------------------------------


def resolution_gap(mentions: MentionLog, end: float) -> np.ndarray:
    """Minutes from each customer's resolution deadline to their resolution, or to `end` (the
    horizon) if it never came: positive when late, negative when early."""
    done = np.asarray(mentions["resolve_done"], dtype=float)
    due = np.asarray(mentions["resolve_expected_by"], dtype=float)
    return np.where(np.isfinite(done), done, end) - due


def worst_mention(mentions: MentionLog, end: float, among: np.ndarray | None = None) -> int | None:
    """Position of the mention with the largest resolution gap (ties: lower replication, then
    lower id), among the mask `among` (default: all); None if there is none."""
    gap = resolution_gap(mentions, end)
    ok = np.isfinite(gap) if among is None else (np.asarray(among, dtype=bool) & np.isfinite(gap))
    if not ok.any():
        return None
    order = np.lexsort((np.asarray(mentions["id"]), np.asarray(mentions["replication"]), -gap))
    return int(order[ok[order]][0])


__all__ = [
    "GAP_STRATA", "HOURS_OF_WEEK", "HourOfWeekBreaches", "breach_rate_by_hour_of_week",
    "expectation_gap_sample", "gap_stratum", "hardest_hour", "hour_of_week", "hour_of_week_name",
    "resolution_gap", "worst_mention",
]
