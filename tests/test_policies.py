"""Each care policy has a property a wrong implementation would fail: batched sweeps, the four
priorities, triage, routing to pools and channels, channel moves, concurrency.

Comparisons between policies use the same seeds (common random numbers) and paired Student-t
intervals over replications; shares are checked against binomial intervals.
"""
from __future__ import annotations

import copy
import heapq
import math

import numpy as np
import pytest
from scipy import stats

from sim.records import OUTCOMES
from sim.runner import replication_seeds, run
from sim.scenario import parse_scenario

from helpers import draw_all, variant as build

OUT = {name: k for k, name in enumerate(OUTCOMES)}
DAY = 1440.0


def isset(x: np.ndarray) -> np.ndarray:
    return ~np.isnan(x)


def paired_low(a: np.ndarray, b: np.ndarray, level: float = 0.99) -> float:
    """One-sided lower confidence bound of mean(a - b) over paired replications."""
    d = np.asarray(a) - np.asarray(b)
    n = len(d)
    return float(d.mean() - stats.t.ppf(level, n - 1) * d.std(ddof=1) / math.sqrt(n))


def within_binomial(hits: int, n: int, p: float, z: float = 4.0) -> bool:
    """Whether hits/n is within z standard errors of p (z = 4: two-sided level 0.99994)."""
    return abs(hits / n - p) <= z * math.sqrt(p * (1 - p) / n)


def first_reply_wait(log, end: float) -> np.ndarray:
    """Wait for the first reply; a mention still waiting at the horizon counts up to it."""
    return np.fmin(np.fmin(log["ack_start"], log["abandoned_at"]), end) - log["arrival"]


# --------------------------------------------------------------------------- batched

BATCHED = {
    "name": "batched",
    "horizon": "3d",
    "start": "2026-01-06T10:30:00",          # Tuesday 10:30: the first sweep of the run is 13:00
    "arrivals": {"rate": "20/h", "types": {"complaint": 0.6, "question": 0.4}},
    "pools": {"team": {"agents": 3}},
    "handling": {"acknowledge": {"dist": "lognormal", "mean": "2m", "cv": 0.6},
                 "resolve": {"dist": "lognormal", "mean": "6m", "cv": 1.0}},
    "policy": {"acknowledge": "batched", "batch_times": ["09:00", "13:00", "17:00"]},
}
MIDNIGHT = -630.0        # minute 0 is 10:30


def sweeps(batch_times=None, every=None, end=3 * DAY) -> np.ndarray:
    """Sweep times worked out from the calendar, independently of the engine."""
    if batch_times:
        t = [MIDNIGHT + d * DAY + c for d in range(5) for c in batch_times]
    else:
        t = list(MIDNIGHT + every * np.arange(0, int((end - MIDNIGHT) / every) + 1))
    t = np.array(sorted(t))
    return t[(t >= 0) & (t < end)]


def sweep_violations(log, times: np.ndarray) -> np.ndarray:
    """Acknowledged mentions whose acknowledgement is not in a sweep that began after they came."""
    started = isset(log["ack_start"])
    ack, arrival = log["ack_start"][started], log["arrival"][started]
    k = np.searchsorted(times, ack + 1e-9, side="right") - 1      # latest sweep <= ack_start
    bad = (k < 0) | (times[np.maximum(k, 0)] < arrival)
    return bad


@pytest.mark.parametrize("how", ["batch_times", "batch_every"])
def test_batched_acknowledges_only_in_sweeps(how):
    if how == "batch_times":
        sc = build(BATCHED)
        times = sweeps(batch_times=(540.0, 780.0, 1020.0))
    else:
        sc = build(BATCHED, policy={"batch_times": None, "batch_every": "5h"})
        times = sweeps(every=300.0)
    result = run(sc, replications=2, seed=4)
    log = result.mentions
    started = isset(log["ack_start"])
    assert started.sum() > 1500
    bad = sweep_violations(log, times)
    assert not bad.any(), f"{bad.sum()} acknowledgements outside a sweep begun after the mention came"
    assert log["ack_start"][started].min() >= times[0]
    # a sweep clears what was waiting when it began (three agents have time for that here):
    # each mention is acknowledged in the first sweep after it arrived
    ack, arrival = log["ack_start"][started], log["arrival"][started]
    in_sweep = np.searchsorted(times, ack + 1e-9, side="right") - 1
    first_after = np.searchsorted(times, arrival, side="left")
    np.testing.assert_array_equal(in_sweep, first_after)
    # and between sweeps agents go back to resolving
    early = log["arrival"] < sc.end - DAY
    assert np.mean(log["outcome"][early] == OUT["resolved"]) > 0.95
    resolve_start = log["resolve_start"][isset(log["resolve_start"])]
    minute = (resolve_start - MIDNIGHT) % DAY
    assert np.any((minute > 1020 + 240) | (minute < 540)), "resolutions also happen long after a sweep"


def test_sweep_check_rejects_realtime():
    """The sweep property is not vacuous: realtime acknowledgements violate it."""
    log = run(build(BATCHED, policy={"acknowledge": "realtime", "batch_times": None}), replications=1, seed=4).mentions
    bad = sweep_violations(log, sweeps(batch_times=(540.0, 780.0, 1020.0)))
    assert bad.mean() > 0.5


# --------------------------------------------------------------------------- priorities

def mmc(rho: float, agents: int, mean: float, horizon: str, **extra) -> dict:
    """One pool, one piece of work per mention (exponential), Poisson arrivals at load rho."""
    data = {
        "name": "priority", "horizon": horizon, "warmup": "4h",
        "arrivals": {"rate": f"{rho * agents / mean}/m", "types": {"complaint": 0.5, "question": 0.5}},
        "pools": {"team": {"agents": agents}},
        "handling": {"resolve": {"dist": "exponential", "mean": f"{mean}m"}},
        "policy": {"acknowledge": "with_resolution"},
    }
    data.update(extra)
    return data


FOLLOWER_TIERS = (0, 100, 1_000, 10_000, math.inf)


def test_followers_priority_serves_reach_first():
    """At utilisation 0.95 mean wait falls tier by tier of follower count; under FIFO it does not."""
    base = mmc(0.95, 4, 10.0, "4d")
    reps = 8
    waits = {}
    for priority in ("followers", "fifo"):
        sc = build(base, policy={"priority": priority})
        rows = []
        for rep in run(sc, replications=reps, seed=3).replications:
            m = rep.mentions
            w, f = first_reply_wait(m, sc.end), m["followers"]
            rows.append([w[(f >= a) & (f < b)].mean() for a, b in zip(FOLLOWER_TIERS[:-1], FOLLOWER_TIERS[1:])])
        waits[priority] = np.array(rows)
    w = waits["followers"]
    assert w[:, 0].mean() > 30.0, "the load must make people wait"
    assert paired_low(w[:, 0], w[:, 1]) > 0
    assert paired_low(w[:, 1], w[:, 2]) > 0
    assert paired_low(w[:, 2], w[:, 3], level=0.95) > 0
    assert w[:, 3].mean() < 0.1 * w[:, 0].mean()
    # FIFO treats every tier alike: the top tier waits about as long as the bottom one
    fifo = waits["fifo"].mean(axis=0)
    assert fifo[3] > 0.5 * fifo[0]


def test_deadline_priority_lowers_breaches_at_moderate_load():
    """Earliest customer deadline first breaches fewer expectations than FIFO at utilisation 0.8,
    same agents, same customers (seeds)."""
    base = mmc(0.8, 5, 5.0, "2d",
               expectations={"acknowledge": {"default": {"median": "10m", "sigma": 1.2}}})
    reps = 10
    rates = {}
    for priority in ("deadline", "fifo"):
        sc = build(base, policy={"priority": priority})
        rows = []
        for rep in run(sc, replications=reps, seed=5).replications:
            m = rep.mentions
            decided = isset(m["ack_done"]) | (m["ack_expected_by"] <= sc.end)
            rows.append(m["ack_breached"][decided].mean())
        rates[priority] = np.array(rows)
    assert rates["fifo"].mean() > 0.1
    assert paired_low(rates["fifo"], rates["deadline"]) > 0, (rates["fifo"].mean(), rates["deadline"].mean())


@pytest.mark.parametrize("order", [["complaint", "question"], ["question", "complaint"]])
def test_type_priority(order):
    base = mmc(0.9, 3, 10.0, "3d")
    sc = build(base, policy={"priority": "type", "type_order": order})
    first, second = (sc.types.index(t) for t in order)
    rows = []
    for rep in run(sc, replications=6, seed=9).replications:
        m = rep.mentions
        w = first_reply_wait(m, sc.end)
        rows.append((w[m["type"] == first].mean(), w[m["type"] == second].mean()))
    rows = np.array(rows)
    assert paired_low(rows[:, 1], rows[:, 0]) > 0
    assert rows[:, 0].mean() < 0.3 * rows[:, 1].mean()


def test_type_priority_defaults_to_the_order_of_types():
    """Without `type_order`, the types rank as listed under `arrivals.types`."""
    sc = build(mmc(0.9, 3, 10.0, "2d"), policy={"priority": "type"})
    first, second = (sc.types.index(t) for t in ("complaint", "question"))
    m = run(sc, replications=2, seed=4).mentions
    w = first_reply_wait(m, sc.end)
    assert w[m["type"] == first].mean() < 0.3 * w[m["type"] == second].mean()


ORDER = {
    "name": "order", "horizon": "1d", "warmup": "2h",
    "arrivals": {"rate": "30/h", "types": {"complaint": 0.4, "question": 0.4, "praise": 0.2}},
    "expectations": {"patience": {"default": {"mean": "90m"}},
                     "acknowledge": {"default": {"median": "20m", "sigma": 1.0}},
                     "resolve": {"default": {"median": "3h", "sigma": 1.0}}},
    "pools": {"team": {"agents": 3}},
    "handling": {"acknowledge": {"dist": "lognormal", "mean": "1.5m", "cv": 0.5},
                 "resolve": {"dist": "exponential", "mean": "4.5m"}},
    "policy": {"type_order": ["question", "complaint", "praise"]},
}


def order_violations(key: np.ndarray, ready: np.ndarray, start: np.ndarray, left: np.ndarray) -> int:
    """Pairs served against the priority: i taken at s while j, waiting since before s, had a
    smaller key (or an equal key and joined the queue earlier). Waiting: ready < s < start (or left)."""
    taken = isset(start)
    s = start[taken][:, None]
    k_i, r_i = key[taken][:, None], ready[taken][:, None]
    stop = np.where(isset(start), start, np.where(isset(left), left, np.inf))
    waiting = (ready[None, :] < s) & (stop[None, :] > s)
    better = (key[None, :] < k_i) | ((key[None, :] == k_i) & (ready[None, :] < r_i))
    return int((waiting & better).sum())


@pytest.mark.parametrize("ack", ["realtime", "with_resolution"])
@pytest.mark.parametrize("priority", ["fifo", "followers", "deadline", "type"])
def test_waiting_work_taken_in_priority_order(priority, ack):
    """Exact, on every sample path: when an agent takes a mention, no mention then waiting in the
    same queue ranks before it (non-preemptive priority; ties first come, first served)."""
    sc = build(ORDER, policy={"priority": priority, "acknowledge": ack})
    log = run(sc, replications=1, seed=17).mentions
    rank = np.array([sc.policy.type_order.index(t) for t in sc.types])
    stages = [("ack", log["arrival"], log["ack_start"], log["abandoned_at"], log["ack_expected_by"])]
    if ack == "realtime":    # no channel moves: a resolution waits from the acknowledgement's end
        stages.append(("resolve", log["ack_done"], log["resolve_start"], np.full(len(log), np.nan),
                       log["resolve_expected_by"]))
    for stage, ready, start, left, due in stages:
        key = {"fifo": ready, "followers": -log["followers"].astype(float),
               "deadline": due, "type": rank[log["type"]].astype(float)}[priority]
        sel = isset(ready)
        args = (ready[sel], start[sel], left[sel])
        bad = order_violations(key[sel], *args)
        assert bad == 0, f"{stage}: {bad} pairs taken out of {priority} order"
        # the check has power: the queue was contested, and another order would have been broken
        other = -log["followers"].astype(float) if priority == "fifo" else ready
        assert order_violations(other[sel], *args) > 100, stage


# --------------------------------------------------------------------------- triage

TRIAGE = {
    "name": "triage", "horizon": "2d",
    "arrivals": {"rate": "60/h", "types": {"complaint": 0.4, "question": 0.2, "praise": 0.1, "noise": 0.3}},
    "pools": {"team": {"agents": 10}},
    "policy": {"respond_to": ["complaint", "question"]},
}


def test_perfect_triage_ignores_exactly_the_other_types():
    sc = build(TRIAGE)
    log = run(sc, replications=1, seed=2).mentions
    np.testing.assert_array_equal(log["triaged_as"], log["type"])
    not_answered = np.isin(log["type"], [sc.types.index("praise"), sc.types.index("noise")])
    np.testing.assert_array_equal(log["outcome"] == OUT["ignored"], not_answered)
    assert not_answered.sum() > 500 and (~not_answered).sum() > 1000


def test_imperfect_triage_two_types():
    """Complaint or noise, accuracy 0.8: a fifth of complaints are ignored, a fifth of noise answered."""
    sc = build(TRIAGE, arrivals={"rate": "60/h", "types": {"complaint": 0.5, "noise": 0.5}},
               policy={"respond_to": ["complaint"], "triage_accuracy": 0.8})
    log = run(sc, replications=3, seed=6).mentions
    complaint, noise = log["type"] == 0, log["type"] == 1
    ignored = log["outcome"] == OUT["ignored"]
    n = len(log)
    assert within_binomial(int((log["triaged_as"] != log["type"]).sum()), n, 0.2)
    assert within_binomial(int((ignored & complaint).sum()), int(complaint.sum()), 0.2)
    assert within_binomial(int((~ignored & noise).sum()), int(noise.sum()), 0.2)
    # ignored exactly when triaged as noise, whatever the truth
    np.testing.assert_array_equal(ignored, log["triaged_as"] == 1)
    # noise taken for a complaint costs agent time like one
    assert np.all(isset(log["ack_start"][~ignored & noise & (log["outcome"] == OUT["resolved"])]))


def test_imperfect_triage_mistakes_follow_the_type_mix():
    """A mis-triaged mention is taken for another type in proportion to the mix of the others."""
    sc = build(TRIAGE, arrivals={"rate": "60/h", "types": {"complaint": 0.5, "question": 0.3, "noise": 0.2}},
               policy={"respond_to": ["complaint", "question"], "triage_accuracy": 0.7})
    log = run(sc, replications=3, seed=8).mentions
    ignored = log["outcome"] == OUT["ignored"]
    c, q, z = (sc.types.index(t) for t in ("complaint", "question", "noise"))
    for true, p in ((c, 0.3 * 0.2 / 0.5), (q, 0.3 * 0.2 / 0.7), (z, 0.7)):
        sel = log["type"] == true
        assert within_binomial(int((ignored & sel).sum()), int(sel.sum()), p), (sc.types[true], p)
    # answered shares of the answerable types ~ accuracy + mistakes into the other answerable type
    sel = log["type"] == c
    assert within_binomial(int((log["triaged_as"][sel] == q).sum()), int(sel.sum()), 0.3 * 0.3 / 0.5)


# --------------------------------------------------------------------------- routing

ROUTING = {
    "name": "routing", "horizon": "3d",
    "arrivals": {"rate": "12/h", "types": {"complaint": 0.4, "question": 0.6},
                 "channels": {"twitter": 0.5, "facebook": 0.5}},
    "pools": {
        # each on duty at its own hours, so who did a piece of work shows in when it started
        "tw": {"channels": ["twitter"], "schedule": [{"days": "daily", "from": "06:00", "to": "12:00", "agents": 3}]},
        "fb": {"channels": ["facebook"], "schedule": [{"days": "daily", "from": "12:00", "to": "18:00", "agents": 3}]},
        "specialists": {"stages": ["resolve"],
                        "schedule": [{"days": "daily", "from": "19:00", "to": "23:00", "agents": 2}]},
    },
    "handling": {"acknowledge": {"dist": "fixed", "mean": "1m"}, "resolve": {"dist": "fixed", "mean": "4m"}},
    "routing": {"resolve": {"complaint": "specialists"}},
}
HOURS = {"tw": (360, 720), "fb": (720, 1080), "specialists": (1140, 1380)}


def on_duty(times: np.ndarray, pool: str) -> np.ndarray:
    lo, hi = HOURS[pool]
    minute = times % DAY
    return (minute >= lo) & (minute < hi)


def test_routing_to_pools_and_channels():
    sc = build(ROUTING)
    log = run(sc, replications=2, seed=12).mentions
    tw, fb = log["channel"] == sc.channels.index("twitter"), log["channel"] == sc.channels.index("facebook")
    complaint = log["triaged_as"] == sc.types.index("complaint")   # routed as triaged
    pools = list(sc.pools)
    acked, started = isset(log["ack_start"]), isset(log["resolve_start"])
    # first replies: each channel by the pool that lists it, at that pool's hours
    assert on_duty(log["ack_start"][acked & tw], "tw").all()
    assert on_duty(log["ack_start"][acked & fb], "fb").all()
    # resolutions: complaints by the specialists, the rest by the acknowledging pool
    assert on_duty(log["resolve_start"][started & complaint], "specialists").all()
    assert on_duty(log["resolve_start"][started & ~complaint & tw], "tw").all()
    assert on_duty(log["resolve_start"][started & ~complaint & fb], "fb").all()
    for sel in (acked & tw, acked & fb, started & complaint, started & ~complaint):
        assert sel.sum() > 100
    # the pool column says the same
    resolved = log["outcome"] == OUT["resolved"]
    assert np.all(log["pool"][resolved & complaint] == pools.index("specialists"))
    assert np.all(log["pool"][resolved & ~complaint & tw] == pools.index("tw"))
    assert np.all(log["pool"][resolved & ~complaint & fb] == pools.index("fb"))
    waiting = ~started & (log["outcome"] != OUT["ignored"])
    assert np.all(log["pool"][waiting & tw] == pools.index("tw"))
    assert np.all(log["pool"][waiting & fb] == pools.index("fb"))


# --------------------------------------------------------------------------- channel moves

MOVES = {
    "name": "moves", "horizon": "3d",
    "arrivals": {"rate": "20/h"},
    "pools": {"team": {"agents": 6}},
    "handling": {"acknowledge": {"dist": "lognormal", "mean": "2m", "cv": 0.5},
                 "resolve": {"dist": "lognormal", "mean": "5m", "cv": 0.8}},
    "routing": {"move_channel": {"share": 0.3, "delay": "3h", "follow_through": 0.6}},
}


def test_move_channel_shares_and_delay():
    sc = build(MOVES)
    log = run(sc, replications=3, seed=14).mentions
    delay = 180.0
    # decided: acknowledged early enough that a moved customer came back before the horizon
    decided = isset(log["ack_done"]) & (log["ack_done"] < sc.end - delay - 120.0)
    m = log.select(decided)
    gap = m["resolve_start"] - m["ack_done"]
    dropped = m["outcome"] == OUT["dropped"]
    came_back = isset(gap) & (gap >= delay - 1e-9)
    # with six agents for about two agents' work, a resolution not moved starts within the hour;
    # a moved one only after the delay: nothing in between
    stayed = isset(gap) & (gap < 60.0)
    assert np.all(stayed | came_back | dropped)
    assert not np.any(dropped & isset(gap))
    moved = dropped | came_back
    n = len(m)
    assert n > 3000
    assert within_binomial(int(moved.sum()), n, 0.3)
    assert within_binomial(int(dropped.sum()), int(moved.sum()), 1 - 0.6)
    # dropped is not resolved; everyone else decided here is
    assert np.all((m["outcome"] == OUT["resolved"]) | dropped)
    assert np.all(isset(m["resolve_done"][came_back]))


def test_move_channel_dropped_count_as_unresolved():
    sc = build(MOVES)
    result = run(sc, replications=2, seed=3)
    log = result.mentions
    dropped_share = np.mean(log["outcome"] == OUT["dropped"])
    resolved_share = result.summary["resolved_share"]["mean"]
    assert dropped_share > 0.05
    assert resolved_share <= 1 - dropped_share + 1e-9


# --------------------------------------------------------------------------- concurrency

CONCURRENCY = {
    "name": "concurrency", "horizon": "1d", "warmup": "2h",
    "arrivals": {"rate": "13/h", "types": {"complaint": 0.7, "question": 0.3}},
    "expectations": {"patience": {"default": {"mean": "1h"}}},
    "pools": {"team": {"agents": 2, "cost_per_hour": 30}},
    "handling": {"resolve": {"dist": "exponential", "mean": "10m"}},
    "policy": {"acknowledge": "with_resolution"},
}


# One conversation per agent, FIFO, no patience, no cascades, no warm-up: the plain
# multi-server queue. Shifts: five agents 06:00-22:00 every day and nobody at night, so each
# morning starts on a backlog and each evening ends with conversations finished in overtime.
SINGLE = {
    "name": "single", "horizon": "3d",
    "arrivals": {"rate": "12/h"},
    "pools": {"team": {"agents": 3, "concurrency": 1}},
    "handling": {"acknowledge": {"dist": "lognormal", "mean": "3m", "cv": 0.8},
                 "resolve": {"dist": "exponential", "mean": "10m"}},
}
SHIFTS = {"team": {"schedule": [{"days": "daily", "from": "06:00", "to": "22:00", "agents": 5}],
                   "concurrency": 1}}
DUTY = (360.0, 1320.0)      # 06:00 and 22:00; minute 0 is a midnight (the default start)


def on_duty_from(t: float, shifts: bool) -> float:
    """The first moment at or after t when agents are on duty."""
    if not shifts:
        return t
    day, minute = divmod(t, DAY)
    if minute < DUTY[0]:
        return day * DAY + DUTY[0]
    if minute >= DUTY[1]:
        return (day + 1) * DAY + DUTY[0]
    return t


def textbook_starts(arrival: np.ndarray, work1: np.ndarray, work2: np.ndarray | None,
                    servers: int, end: float, shifts: bool) -> tuple[np.ndarray, np.ndarray]:
    """Start times of the first and second stage in the non-preemptive multi-server queue,
    worked out from arrivals and work alone. A server that is free and on duty takes the
    longest-waiting first stage, else the second stage that became ready earliest; a second
    stage is ready when its first ends. With one stage this is the FIFO recursion
    start = max(arrival, earliest free server). A server freed off duty waits for the next
    shift (the engine's agents finish the conversation in hand, then leave). NaN: not started
    before the horizon."""
    n = len(arrival)
    order = np.argsort(arrival, kind="stable")
    start1, start2 = np.full(n, math.nan), np.full(n, math.nan)
    ready: list[tuple[float, int]] = []          # second stages: (ready since, mention)
    free = [0.0] * servers                       # when each server next looks for work
    k = 0                                        # the next mention, by arrival, not yet taken
    while free:
        t = heapq.heappop(free)
        if t >= end:
            continue                             # this server takes nothing more before the horizon
        t = on_duty_from(t, shifts)
        if t >= end:
            continue
        if k < n and arrival[order[k]] <= t:
            i = order[k]
            k += 1
            start1[i] = t
            done = t + work1[i]
            if work2 is not None and done < end:
                heapq.heappush(ready, (done, i))
        elif ready and ready[0][0] <= t:
            _, i = heapq.heappop(ready)
            start2[i] = t
            done = t + work2[i]
        else:
            # idle until something arrives or becomes ready; nothing done by another server
            # meanwhile can make work ready earlier (it would first need an arrival)
            done = min(arrival[order[k]] if k < n else math.inf, ready[0][0] if ready else math.inf)
        heapq.heappush(free, done)
    return start1, start2


def until_horizon(t: np.ndarray, end: float) -> np.ndarray:
    """What the records hold for a time: the time if it came before the horizon, else NaN."""
    return np.where(t < end, t, math.nan)


def test_concurrency_defaults_to_one():
    """A pool that names no concurrency holds one conversation per agent: the same run, to the
    byte, as `concurrency: 1` (so the plain-queue test below covers the default too)."""
    from sim.output import mentions_csv

    implicit = copy.deepcopy(SINGLE)
    del implicit["pools"]["team"]["concurrency"]
    sc = parse_scenario(implicit)
    assert sc.pools["team"].concurrency == 1
    assert sc == parse_scenario(SINGLE)
    assert mentions_csv(run(sc, replications=1, seed=3).mentions) == \
        mentions_csv(run(parse_scenario(SINGLE), replications=1, seed=3).mentions)


@pytest.mark.parametrize("staffing", ["constant", "shifts"])
@pytest.mark.parametrize("ack", ["with_resolution", "realtime"])
def test_concurrency_one_is_the_plain_queue(ack, staffing):
    """Exact, on every sample path: with one conversation per agent the engine's start and end
    times are those of the textbook FIFO multi-server queue fed the same customers. The
    reference takes arrivals and work from the arrival generator, not from the engine's records."""
    shifts = staffing == "shifts"
    sc = build(SINGLE, **({"pools": SHIFTS} if shifts else {}), policy={"acknowledge": ack})
    servers, end = (5 if shifts else 3), sc.end
    waited = immediate = 0
    for rep, seed in zip(run(sc, replications=2, seed=11).replications, replication_seeds(11, 2)):
        m = rep.mentions
        drawn = draw_all(sc, seed)
        np.testing.assert_array_equal(m["id"], drawn["id"])      # both in arrival order
        np.testing.assert_array_equal(m["arrival"], drawn["arrival"])
        if ack == "with_resolution":      # one piece of work, the resolution's, is both stages
            s1, _ = textbook_starts(drawn["arrival"], drawn["resolve_work"], None, servers, end, shifts)
            d1 = s1 + drawn["resolve_work"]
            s2, d2 = s1, d1
        else:
            s1, s2 = textbook_starts(drawn["arrival"], drawn["ack_work"], drawn["resolve_work"], servers, end, shifts)
            d1, d2 = s1 + drawn["ack_work"], s2 + drawn["resolve_work"]
        for column, expected in (("ack_start", s1), ("ack_done", d1), ("resolve_start", s2), ("resolve_done", d2)):
            np.testing.assert_allclose(m[column], until_horizon(expected, end), rtol=0, atol=1e-9, err_msg=column)
        wait = s1 - drawn["arrival"]
        waited += int(np.sum(wait > 1.0))
        immediate += int(np.sum(wait == 0.0))
        if shifts:
            minute = m["ack_start"] % DAY
            assert np.sum(np.isclose(minute, DUTY[0], atol=1e-9)) >= 2 * servers   # each morning's backlog
            overtime = (m["resolve_done"] % DAY > DUTY[1]) & (m["resolve_start"] % DAY < DUTY[1])
            assert overtime.sum() >= 2                                   # finished after the shift ended
    # the queue was contested and also ran empty: FIFO order and idle agents both mattered
    assert waited > 200 and immediate > 200, (waited, immediate)


def test_concurrency_two_serves_more_under_load():
    """Two agents at load 1.08: holding two conversations each (each 1.5 times as long) raises
    capacity by a third, so more mentions are resolved and waits are shorter, paired by seed."""
    reps = 8
    rows = {}
    for c in (1, 2):
        data = copy.deepcopy(CONCURRENCY)
        data["pools"]["team"]["concurrency"] = c
        sc = parse_scenario(data)
        result = run(sc, replications=reps, seed=21)
        per = []
        for rep in result.replications:
            m = rep.mentions
            per.append((np.sum(m["outcome"] == OUT["resolved"]), first_reply_wait(m, sc.end).mean()))
            s = rep.series
            assert np.all(s.values["busy_agents"] <= 2.0 + 1e-9)
        rows[c] = np.array(per, dtype=float)
    assert paired_low(rows[2][:, 0], rows[1][:, 0]) > 0, "more resolved"
    assert paired_low(rows[1][:, 1], rows[2][:, 1]) > 0, "shorter waits"
    assert rows[1][:, 1].mean() > 10.0


def test_concurrency_stretches_each_conversation():
    """The documented model: a conversation started while its agent holds j others takes
    1 + 0.5 j times its work (10 m of work: 10, 15 or 20 m at concurrency 3)."""
    data = copy.deepcopy(CONCURRENCY)
    data["handling"] = {"resolve": {"dist": "fixed", "mean": "10m"}}
    data["pools"]["team"]["concurrency"] = 3
    sc = parse_scenario(data)
    log = run(sc, replications=1, seed=2).mentions
    done = isset(log["resolve_done"])
    assert done.sum() > 100
    took = log["resolve_done"][done] - log["resolve_start"][done]
    assert np.all(np.isclose(took[:, None], [10.0, 15.0, 20.0], atol=1e-9).any(axis=1))
    # each length occurs: alone, beside one other, beside two others
    for minutes in (10.0, 15.0, 20.0):
        assert np.isclose(took, minutes, atol=1e-9).sum() > 10
    # at most agents x concurrency conversations at once
    starts, stops = log["resolve_start"][done], log["resolve_done"][done]
    events = np.concatenate([starts, stops])
    steps = np.concatenate([np.ones(len(starts)), -np.ones(len(stops))])
    order = np.lexsort((steps, events))
    assert np.cumsum(steps[order]).max() <= 2 * 3
