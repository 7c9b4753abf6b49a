"""Properties every run must have, whatever the scenario: each mention accounted for once, times
in order, Little's law between the time series and the mentions, queue length and wait of M/M/c
queues (with and without patience) as queueing theory has them, agents working only on duty
(finishing the work in hand at a shift end, back on the next shift), same seed => same bytes,
more agents => shorter waits, nothing from the warm-up in the log.

Statistical checks use paired (common random numbers) Student-t intervals over replications;
exact identities are checked to floating precision.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats

from sim.analytic import erlang_a, erlang_c_mean_wait
from sim.cli import main
from sim.records import OUTCOMES
from sim.runner import run
from sim.scenario import parse_scenario

from helpers import variant as scenario

OUT = {name: k for k, name in enumerate(OUTCOMES)}
TIMES = ("ack_start", "ack_done", "resolve_start", "resolve_done", "abandoned_at")
EPS = 1e-9

# A small scenario that uses most of the model: four types (noise not answered, imperfect
# triage), two channels, a scheduled social team with gaps and a block wrapping midnight,
# specialists for complaints, channel moves, patience, an incident and closed-loop cascades.
RICH = {
    "name": "rich",
    "horizon": "2d",
    "warmup": "6h",
    "start": "2026-01-07T06:30:00",          # a Wednesday, not midnight
    "report_interval": "30m",
    "arrivals": {
        "rate": "40/h",
        "daily_profile": "retail",
        "types": {"complaint": 0.35, "question": 0.3, "praise": 0.1, "noise": 0.25},
        "channels": {"twitter": 0.6, "facebook": 0.4},
        "cascades": {"branching": 0.3, "decay": "30m", "reach_elasticity": 0.2,
                     "breach_boost": 2.0, "noise_reply_boost": 1.5},
        "incidents": [{"at": "1d 02:00", "mentions": 150, "decay": "2h"}],
    },
    "expectations": {
        "acknowledge": {"twitter": {"median": "30m", "sigma": 0.8}, "default": {"median": "2h"}},
        "patience": {"default": {"mean": "3h"}},
    },
    "pools": {
        "social": {
            "schedule": [
                {"days": "mon-fri", "from": "07:00", "to": "12:00", "agents": 4},
                {"days": "mon-fri", "from": "13:00", "to": "21:00", "agents": 3},
                {"days": "daily", "from": "22:00", "to": "01:00", "agents": 1},
            ],
            "stages": ["acknowledge", "resolve"],
        },
        "specialists": {"agents": 2, "stages": ["resolve"]},
    },
    "handling": {
        "acknowledge": {"dist": "lognormal", "mean": "3m", "cv": 0.6},
        "resolve": {"complaint": {"dist": "gamma", "mean": "20m", "cv": 0.8},
                    "default": {"dist": "exponential", "mean": "8m"}},
    },
    "routing": {"resolve": {"complaint": "specialists"},
                "move_channel": {"share": 0.3, "delay": "1h", "follow_through": 0.7}},
    "policy": {"acknowledge": "realtime", "respond_to": ["complaint", "question", "praise"],
               "triage_accuracy": 0.85, "type_order": ["complaint", "question", "praise", "noise"]},
}
ACK_POLICIES = {
    "realtime": {"acknowledge": "realtime"},
    "batched": {"acknowledge": "batched", "batch_times": ["09:00", "13:00", "17:00"]},
    "batched_every": {"acknowledge": "batched", "batch_every": "3h"},
    "with_resolution": {"acknowledge": "with_resolution"},
}


def rich(ack: str, **policy):
    """RICH under an acknowledgement policy (with_resolution has no public acknowledgement to
    move a conversation after, so its variant has no channel moves)."""
    changes = {}
    if ack == "with_resolution":
        changes["routing"] = {"resolve": RICH["routing"]["resolve"]}
    return scenario(RICH, policy={**ACK_POLICIES[ack], **policy}, **changes)


def one(sc, seed: int):
    """The single replication of a one-replication run."""
    return run(sc, replications=1, seed=seed).replications[0]


def isset(x: np.ndarray) -> np.ndarray:
    return ~np.isnan(x)


def area(series, column: str, end: float) -> float:
    """Integral over the run of a time-averaged column, summed over pools."""
    total = 0.0
    for k in range(len(series.pools)):
        sel = series.pool == k
        t = series.time[sel]
        widths = np.diff(np.append(t, end))
        total += float((series.values[column][sel] * widths).sum())
    return total


# --------------------------------------------------------------------------- conservation


@pytest.mark.parametrize("priority", ["fifo", "followers", "deadline", "type"])
@pytest.mark.parametrize("ack", list(ACK_POLICIES))
def test_every_arrival_has_one_consistent_outcome(ack, priority):
    sc = rich(ack, priority=priority)
    rep = one(sc, 11)
    log, series = rep.mentions, rep.series
    end, warmup = sc.end, sc.warmup
    # every arrival after the warm-up is in the log, once
    ids = log["id"]
    assert len(np.unique(ids)) == len(ids)
    first_pool = series.pool == 0
    assert series.values["arrivals"][first_pool].sum() == len(log)
    assert (log["origin"] == 1).sum() > 0 and (log["origin"] == 2).sum() > 0, "cascades and incident reached the log"

    outcome = log["outcome"]
    counts = np.bincount(outcome, minlength=len(OUTCOMES))
    assert len(counts) == len(OUTCOMES) and counts.sum() == len(log)
    t = {name: log[name] for name in TIMES}
    respond = np.array([typ in sc.policy.respond_to for typ in sc.types])
    ignored = ~respond[log["triaged_as"]]

    # ignored exactly when triaged as a type that gets no reply; then nothing ever happened
    np.testing.assert_array_equal(outcome == OUT["ignored"], ignored)
    for name in TIMES:
        assert not isset(t[name][ignored]).any(), name
    assert np.all(log["pool"][ignored] == -1) and np.all(log["pool"][~ignored] >= 0)

    res = outcome == OUT["resolved"]
    for name in ("ack_start", "ack_done", "resolve_start", "resolve_done"):
        assert np.all(isset(t[name][res])), name
    assert not isset(t["resolve_done"][~res]).any()

    ackd = outcome == OUT["acknowledged"]
    assert np.all(isset(t["ack_done"][ackd]))

    ab = outcome == OUT["abandoned"]
    assert np.all(isset(t["abandoned_at"][ab]))
    assert not isset(t["abandoned_at"][~ab]).any()
    for name in ("ack_start", "ack_done", "resolve_start", "resolve_done"):
        assert not isset(t[name][ab]).any(), name

    dropped = outcome == OUT["dropped"]
    assert np.all(isset(t["ack_done"][dropped]))
    assert not isset(t["resolve_start"][dropped]).any()
    if ack == "with_resolution":
        assert not dropped.any()
        assert not ackd.any(), "one reply acknowledges and resolves: never acknowledged only"

    op = outcome == OUT["open"]
    assert not isset(t["ack_done"][op]).any()

    # every outcome occurs in this scenario (else the checks above test nothing)
    expected = {"resolved", "abandoned", "ignored", "open"}
    if ack != "with_resolution":
        expected |= {"acknowledged", "dropped"}
    for name in expected:
        assert counts[OUT[name]] > 0, name

    # no time falls outside [warm-up, end]
    for name in TIMES:
        x = t[name][isset(t[name])]
        assert np.all((x >= warmup) & (x <= end)), name


@pytest.mark.parametrize("ack", list(ACK_POLICIES))
def test_times_in_order(ack):
    sc = rich(ack)
    log = one(sc, 5).mentions
    chain = [log["arrival"], log["ack_start"], log["ack_done"], log["resolve_start"], log["resolve_done"]]
    if ack == "with_resolution":
        chain = chain[:3]       # one piece of work: resolve_start = ack_start, resolve_done = ack_done
    checked = 0
    for i, a in enumerate(chain):
        for b in chain[i + 1:]:
            both = isset(a) & isset(b)
            assert np.all(a[both] <= b[both] + EPS)
            checked += both.sum()
    assert checked > 1000
    # a time is recorded only once the times before it are
    for a, b in zip(chain[1:], chain[2:]):
        assert not np.any(isset(b) & ~isset(a))
    ab = isset(log["abandoned_at"])
    assert np.all(log["abandoned_at"][ab] > log["arrival"][ab])
    # the social team (first replies, resolutions other than complaints) works only on duty;
    # under with_resolution the specialists give complaints their one reply
    not_complaint = log["triaged_as"] != sc.types.index("complaint")   # routed as triaged
    first = log["ack_start"][not_complaint] if ack == "with_resolution" else log["ack_start"]
    social = np.concatenate([first, log["resolve_start"][not_complaint]])
    social = social[isset(social)]
    assert all(on_duty(RICH, "social", x) > 0 for x in social)
    if ack == "with_resolution":
        np.testing.assert_array_equal(log["ack_start"], log["resolve_start"])
        np.testing.assert_array_equal(log["ack_done"], log["resolve_done"])
    else:
        done = isset(log["ack_done"])
        # a separate acknowledgement takes time of its own
        assert np.all(log["ack_done"][done] > log["ack_start"][done])


def test_abandonment_at_arrival_plus_exponential_patience():
    """Nobody is on duty for the first 3 days: every early customer abandons, after exactly
    their patience, so abandoned_at - arrival must be Exponential(mean patience)."""
    sc = parse_scenario({
        "name": "patience", "horizon": "4d", "start": "2026-01-05T00:00:00",
        "arrivals": {"rate": "20/h"},
        "expectations": {"patience": {"default": {"mean": "45m"}}},
        "pools": {"team": {"schedule": [{"days": "thu", "from": "00:00", "to": "23:59", "agents": 4}]}},
    })
    log = run(sc, replications=2, seed=3).mentions
    early = log["arrival"] < 3 * 1440 - 12 * 60          # 12 h = 16 mean patiences before anyone comes
    assert early.sum() > 2000
    assert np.all(log["outcome"][early] == OUT["abandoned"])
    patience = (log["abandoned_at"] - log["arrival"])[early]
    assert np.all(patience > 0)
    ks = stats.kstest(patience, "expon", args=(0, 45.0))
    assert ks.pvalue > 1e-3, ks
    # ... and once agents are on duty, waiting customers are served or still patient
    late = log["arrival"] >= 3 * 1440
    assert np.mean(log["outcome"][late] == OUT["resolved"]) > 0.9


def test_nobody_served_after_their_patience_ran_out():
    """Overloaded M/M/10+M: each customer either gives up after exactly their patience or is
    served (or still waiting) before it ran out, so their wait censors the patience. The
    censored-data estimate of the mean patience (total time at risk / abandonments) must match
    the scenario's; serving people who had already left would inflate it."""
    sc = parse_scenario({
        "name": "impatient", "horizon": "1d", "warmup": "1h",
        "arrivals": {"rate": "12/m"},
        "pools": {"team": {"agents": 10}},
        "handling": {"resolve": {"dist": "exponential", "mean": "1m"}},
        "expectations": {"patience": {"default": {"mean": "5m"}}},
        "policy": {"acknowledge": "with_resolution"},
    })
    log = run(sc, replications=2, seed=7).mentions
    left = isset(log["abandoned_at"])
    at_risk = np.fmin(np.fmin(log["ack_start"], log["abandoned_at"]), sc.end) - log["arrival"]
    n = int(left.sum())
    assert n > 3000
    estimate = at_risk.sum() / n
    # the estimate's standard error is mean / sqrt(abandonments); allow four
    assert estimate == pytest.approx(5.0, abs=4 * 5.0 / math.sqrt(n))


# --------------------------------------------------------------------------- Little's law

LITTLE = {
    **RICH,
    "warmup": 0,
    "routing": {"resolve": {"complaint": "specialists"}},   # no channel moves: resolve ready = ack done
}


@pytest.mark.parametrize("ack", ["realtime", "batched", "with_resolution"])
def test_little_identity_timeseries_vs_mentions(ack):
    """Area under the reported queue = total waiting time from the mentions, to float precision."""
    sc = scenario(LITTLE, policy=ACK_POLICIES[ack])
    rep = one(sc, 21)
    log, series = rep.mentions, rep.series
    end = sc.end

    waiting = log["outcome"] != OUT["ignored"]
    first_stop = np.fmin(np.fmin(log["ack_start"], log["abandoned_at"]), end)
    ack_wait = float((first_stop - log["arrival"])[waiting].sum())
    assert ack_wait > 1000.0
    assert area(series, "ack_queue", end) == pytest.approx(ack_wait, rel=1e-9)

    if ack != "with_resolution":
        ready = isset(log["ack_done"])
        res_wait = float((np.fmin(log["resolve_start"], end) - log["ack_done"])[ready].sum())
        assert res_wait > 1000.0
        assert area(series, "resolve_queue", end) == pytest.approx(res_wait, rel=1e-9)
    else:
        assert area(series, "resolve_queue", end) == 0.0

    work = np.fmin(log["ack_done"], end) - log["ack_start"]
    work = float(work[isset(work)].sum())
    if ack != "with_resolution":
        r = np.fmin(log["resolve_done"], end) - log["resolve_start"]
        work += float(r[isset(r)].sum())
    assert area(series, "busy_agents", end) == pytest.approx(work, rel=1e-9)


# M/M/c queues, one without patience (Erlang C) and one with exponential patience and more work
# than agents (Erlang A, Palm's M/M/c+M): name, arrivals per minute, agents (work of mean 1 min),
# mean patience in minutes (None: nobody leaves), horizon, replications.
QUEUES = [
    ("erlang_c", 8.0, 10, None, "4d", 24),
    ("erlang_a_overloaded", 11.0, 10, 5.0, "2d", 12),
]
Z = 4.5               # standard errors allowed between a replication mean and theory
MAX_RELATIVE_SE = 0.035


@pytest.mark.parametrize("name, lam, agents, patience, horizon, reps", QUEUES, ids=[q[0] for q in QUEUES])
def test_queue_length_and_wait_match_queueing_theory(name, lam, agents, patience, horizon, reps):
    """The time-average number waiting L_q, read off the time series, and the mean wait W_q of the
    arrivals (until served, or until abandoning), read off the records, each match theory, and so
    L_q = lambda W_q with lambda the stated rate, not the count observed.

    Each replication gives one estimate; the replication mean must lie within Z = 4.5 standard
    errors of the theoretical value (Student t over replications: P(|t| > 4.5) < 1e-3 at the 11
    or more degrees of freedom here). Bias is far below one standard error: the warm-up is over
    ten relaxation times (Erlang C: 1 / (sqrt(c mu) - sqrt(lambda))^2 = 9 min; patience makes the
    overloaded queue relax faster), and leaving out the few still waiting at the horizon (under
    0.1 % of the mentions) moves W_q by less than 0.1 %.
    Each standard error is under 3.5 % of its value, so the tolerance is under 16 %, while work
    5 % too long would raise L_q by 62 % (Erlang C) or 24 % (Erlang A).
    """
    data = {
        "name": name, "horizon": horizon, "warmup": "2h", "report_interval": "15m",
        "arrivals": {"rate": f"{lam}/m"},
        "pools": {"team": {"agents": agents}},
        "handling": {"resolve": {"dist": "exponential", "mean": "1m"}},
        "policy": {"acknowledge": "with_resolution"},
    }
    if patience is not None:
        data["expectations"] = {"patience": {"default": {"mean": f"{patience}m"}}}
    sc = parse_scenario(data)
    theory = erlang_a(agents, lam, 1.0, 0.0 if patience is None else 1.0 / patience)
    if patience is None:
        # Erlang A without abandonment is Erlang C: W_q = C / (c mu - lambda)
        assert theory.mean_wait == pytest.approx(erlang_c_mean_wait(agents, lam, 1.0), rel=1e-6)
    rows = []
    for rep in run(sc, replications=reps, seed=41, workers=1).replications:
        log, series = rep.mentions, rep.series
        L = area(series, "ack_queue", sc.end) / sc.horizon
        assert area(series, "resolve_queue", sc.end) == 0.0, "with_resolution: one queue"
        wait = np.where(isset(log["ack_start"]), log["ack_start"], log["abandoned_at"]) - log["arrival"]
        ended = isset(wait)
        assert np.all(log["outcome"][~ended] == OUT["open"])
        assert (~ended).sum() < 0.001 * len(log)
        rows.append((L, float(wait[ended].mean())))
    L, W = np.array(rows).T
    for what, values, expected in (("L_q", L, theory.mean_queue), ("W_q", W, theory.mean_wait),
                                   ("L_q - lambda W_q", L - lam * W, 0.0)):
        mean, se = float(values.mean()), float(values.std(ddof=1) / math.sqrt(reps))
        assert abs(mean - expected) <= Z * se, (
            f"{name}: {what} {mean:.4f} against theory {expected:.4f} (standard error {se:.4f})")
    for what, values, expected in (("L_q", L, theory.mean_queue), ("W_q", W, theory.mean_wait)):
        se = float(values.std(ddof=1) / math.sqrt(reps))
        assert se < MAX_RELATIVE_SE * expected, f"{what}: standard error {se:.4f} too wide to test {expected:.4f}"
    assert theory.mean_queue > 1.0, "a queue long enough for the check to mean something"


# --------------------------------------------------------------------------- agents and shifts

SHIFTS = {
    "name": "shifts",
    "horizon": "6d",
    "warmup": 0,
    "start": "2026-01-07T06:00:00",          # Wednesday 06:00: the week offset matters
    "report_interval": "30m",
    "arrivals": {"rate": "30/h", "types": {"complaint": 0.6, "question": 0.4}},
    "pools": {"team": {"schedule": [
        {"days": "mon-fri", "from": "08:00", "to": "12:00", "agents": 3},
        {"days": "mon-fri", "from": "13:00", "to": "17:30", "agents": 2},
        {"days": "sat", "from": "22:00", "to": "02:00", "agents": 1},
    ]}},
    "handling": {"acknowledge": {"dist": "fixed", "mean": "2.345m"},
                 "resolve": {"dist": "fixed", "mean": "6.789m"}},
}
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def _days(text: str) -> set[int]:
    if text == "daily":
        return set(range(7))
    if "-" in text:
        a, b = (WEEKDAYS[x] for x in text.split("-"))
        return set(range(a, b + 1))
    return {WEEKDAYS[text]}


def on_duty(data: dict, pool: str, t: float) -> int:
    """Agents of `pool` on duty at scenario minute t, read off the calendar from the scenario
    dict (independently of the engine): a block wrapping midnight belongs to its first day."""
    now = datetime.fromisoformat(data["start"]) + timedelta(minutes=float(t))
    minute = now.hour * 60 + now.minute + (now.second + now.microsecond / 1e6) / 60
    for block in data["pools"][pool]["schedule"]:
        lo, hi = (int(x[:2]) * 60 + int(x[3:]) for x in (block["from"], block["to"]))
        days = _days(block["days"])
        if lo < hi and now.weekday() in days and lo <= minute < hi:
            return block["agents"]
        if hi < lo and ((now.weekday() in days and minute >= lo)
                        or ((now.weekday() - 1) % 7 in days and minute < hi)):
            return block["agents"]
    return 0


def staffing_at(t: float) -> int:
    return on_duty(SHIFTS, "team", t)


@pytest.mark.parametrize("ack", ["realtime", "batched_every", "with_resolution"])
def test_work_only_starts_on_duty(ack):
    sc = scenario(SHIFTS, policy=ACK_POLICIES[ack])
    log = one(sc, 8).mentions
    starts = np.concatenate([log["ack_start"], log["resolve_start"]])
    starts = starts[isset(starts)]
    assert len(starts) > 1500
    off = [s for s in starts if staffing_at(s) == 0]
    assert not off, f"{len(off)} pieces of work started with nobody on duty, first at {off[:3]}"
    # the Saturday night block (wrapping midnight) was worked
    assert any(staffing_at(s) == 1 for s in starts)


def test_run_starting_inside_a_night_shift():
    """Minute 0 is Sunday 23:00, inside a Sunday 22:00 - Monday 06:00 block that wraps the week:
    two agents are on duty from the first minute, then the weekday block, then nobody."""
    sc = parse_scenario({
        "name": "night", "horizon": "2d", "start": "2026-01-11T23:00:00", "report_interval": "1h",
        "arrivals": {"rate": "6/h"},
        "pools": {"team": {"schedule": [
            {"days": "sun", "from": "22:00", "to": "06:00", "agents": 2},
            {"days": "mon-fri", "from": "09:00", "to": "17:00", "agents": 1},
        ]}},
    })
    rep = one(sc, 3)
    s = rep.series
    # hour h of the run is 23:00 + h: Sunday night until Monday 06:00, then 09:00-17:00 both days
    expected = [2] * 7 + [0] * 3 + [1] * 8 + [0] * 16 + [1] * 8 + [0] * 6
    np.testing.assert_array_equal(s.values["agents_on_duty"], expected)
    starts = np.concatenate([rep.mentions["ack_start"], rep.mentions["resolve_start"]])
    starts = starts[isset(starts)]
    hour = (starts // 60).astype(int)
    assert np.all(np.asarray(expected)[hour] > 0)
    assert np.any(hour == 0), "the agents on duty at minute 0 worked"


@pytest.mark.parametrize("ack", ["realtime", "with_resolution"])
def test_busy_agents_within_staffing(ack):
    sc = scenario(SHIFTS, policy=ACK_POLICIES[ack])
    rep = one(sc, 9)
    series = rep.series
    duty, busy = series.values["agents_on_duty"], series.values["busy_agents"]
    step = sc.report_interval
    longest = 2.345 + 6.789                      # no job lasts longer than this (fixed work)
    grid = lambda a, b: [staffing_at(x) for x in np.arange(a, b, 0.5)]
    for t0, d, b in zip(series.time, duty, busy):
        # the schedule changes on half hours, so each bin has one staffing level
        assert d == pytest.approx(staffing_at(t0 + 1e-6), abs=1e-9), t0
        # busy agents: those on duty, plus those finishing a job begun on an earlier shift
        allowance = max(grid(max(t0 - longest, 0.0), t0 + step))
        assert b <= allowance + 1e-9, (t0, b, allowance)
    assert busy.max() > 1.5 and np.any((duty == 0) & (busy > 0)), "overtime past shift ends happened"
    # paid hours cover every busy minute (scheduled hours plus overtime finishing work in hand)
    assert rep.agent_hours["team"] * 60 >= float((busy * step).sum()) - 1e-6
    assert rep.agent_hours["team"] * 60 > float((duty * step).sum())


def test_constant_staffing_never_exceeded():
    rep = one(scenario(RICH, policy={"priority": "followers"}), 2)
    s = rep.series
    sel = s.pool == s.pools.index("specialists")
    assert np.all(s.values["agents_on_duty"][sel] == 2.0)
    assert np.all(s.values["busy_agents"][sel] <= 2.0 + 1e-9)
    assert s.values["busy_agents"][sel].max() > 1.0


SOLO = {
    "name": "solo", "horizon": "5d", "start": "2026-01-05T00:00:00",
    "arrivals": {"rate": "2/h"},
    "pools": {"solo": {"schedule": [{"days": "daily", "from": "09:00", "to": "10:00", "agents": 1}]}},
    "handling": {"acknowledge": {"dist": "fixed", "mean": "29.5m"}, "resolve": {"dist": "fixed", "mean": "29.5m"}},
}


@pytest.mark.parametrize("ack", ["with_resolution", "realtime"])
def test_long_job_at_shift_end_finishes_then_agent_goes_off_duty(ack):
    """One agent on 09:00-10:00 with a backlog and 29.5 min jobs: each day it starts at 09:00,
    09:29.5 and 09:59; the 09:59 job ends at 10:28.5 (overtime) and nothing starts until 09:00
    the next day (realtime: not even that job's own resolution)."""
    sc = scenario(SOLO, policy={"acknowledge": ack})
    rep = one(sc, 1)
    log = rep.mentions
    starts = np.sort(np.concatenate([log["ack_start"], log["resolve_start"]]))
    starts = np.unique(starts[isset(starts)])
    expected = np.array([d * 1440.0 + m for d in range(5) for m in (540.0, 569.5, 599.0)])
    np.testing.assert_allclose(starts, expected, rtol=0, atol=1e-9)
    done = np.unique(log["ack_done"][isset(log["ack_done"])])
    np.testing.assert_allclose(done, expected + 29.5, rtol=0, atol=1e-9)
    if ack == "realtime":
        assert not isset(log["resolve_start"]).any(), "acknowledgements come first with a backlog"
    # five one-hour shifts plus 28.5 minutes of overtime each day
    assert rep.agent_hours["solo"] == pytest.approx(5 * (1.0 + 28.5 / 60.0))


@pytest.mark.parametrize("ack", ["with_resolution", "realtime"])
def test_idle_agent_at_shift_end_returns_next_shift(ack):
    """Regression: an agent idle when its shift ended was once parked forever. Mentions come
    only in the evening; the one agent (09:00-10:00) is idle at every shift end and must clear
    each evening's mentions the next morning, from 09:00, back to back."""
    weights = [0.0] * 24
    weights[20] = 1.0
    sc = scenario(SOLO, horizon="10d", arrivals={"rate": "3/d", "daily_profile": weights},
                  handling={"acknowledge": {"dist": "fixed", "mean": "2m"},
                            "resolve": {"dist": "fixed", "mean": "4m"}},
                  policy={"acknowledge": ack})
    log = run(sc, replications=3, seed=2).mentions
    job = 4.0 if ack == "with_resolution" else 2.0      # realtime: acknowledgements first
    served = log.select(log["arrival"] < sc.end - 1440.0)
    assert len(served) > 60
    for r in range(3):
        m = served.select(served["replication"] == r)
        assert np.all(m["outcome"] == OUT["resolved"])
        day = (m["arrival"] // 1440).astype(int)
        for d in np.unique(day):
            mine = np.sort(m["ack_start"][day == d])
            # the evening's k-th mention is acknowledged k jobs after 09:00 the next morning
            expected = (d + 1) * 1440.0 + 540.0 + job * np.arange(len(mine))
            np.testing.assert_allclose(mine, expected, rtol=0, atol=1e-9, err_msg=f"replication {r}, day {d}")
    # some days had no mention at all: the agent sat a whole shift idle and still came back
    days = [set((log["arrival"][log["replication"] == r] // 1440).astype(int)) for r in range(3)]
    assert any(len(d) < 10 for d in days)


# --------------------------------------------------------------------------- determinism


DETERMINISM = {**RICH, "horizon": "1d", "warmup": "3h"}


def _cli_run(tmp_path, name: str, *args: str) -> dict[str, bytes]:
    path = tmp_path / "scenario.yaml"
    if not path.exists():
        path.write_text(yaml.safe_dump(DETERMINISM, sort_keys=False), encoding="utf-8")
    out = tmp_path / name
    result = CliRunner().invoke(main, ["run", str(path), "-o", str(out), "--replications", "3",
                                       "--no-report", "--quiet", *args])
    assert result.exit_code == 0, result.output
    return {f: (out / f).read_bytes() for f in ("mentions.csv", "summary.json", "timeseries.csv")}


def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
    a = _cli_run(tmp_path, "a", "--seed", "17")
    b = _cli_run(tmp_path, "b", "--seed", "17")
    c = _cli_run(tmp_path, "c", "--seed", "17", "--workers", "2")
    d = _cli_run(tmp_path, "d", "--seed", "18")
    for f in a:
        assert a[f] == b[f], f"{f}: same seed, different bytes"
        assert a[f] == c[f], f"{f}: --workers 2 differs from --workers 1"
        assert a[f] != d[f], f"{f}: a different seed gave the same bytes"
    assert a["mentions.csv"].count(b"\n") > 1000


# --------------------------------------------------------------------------- monotonicity


def test_more_agents_shorter_waits():
    """3, 4 and 5 agents on the same customers (same seeds): both the wait for a first reply and
    the wait for resolution fall with every added agent, paired over replications."""
    base = {
        "name": "mono", "horizon": "1d", "warmup": "2h",
        "arrivals": {"rate": "28/h", "types": {"complaint": 0.5, "question": 0.5}},
        "expectations": {"patience": {"default": {"mean": "2h"}}},
        "handling": {"acknowledge": {"dist": "lognormal", "mean": "2m", "cv": 0.8},
                     "resolve": {"dist": "lognormal", "mean": "4.5m", "cv": 1.2}},
    }
    reps = 12
    waits = {}
    for agents in (3, 4, 5):
        sc = scenario(base, pools={"team": {"agents": agents}})
        rows = []
        for rep in run(sc, replications=reps, seed=31).replications:
            m = rep.mentions
            stop = np.fmin(np.fmin(m["ack_start"], m["abandoned_at"]), sc.end)
            ready = isset(m["ack_done"])
            resolve_wait = (np.fmin(m["resolve_start"], sc.end) - m["ack_done"])[ready]
            rows.append(((stop - m["arrival"]).mean(), resolve_wait.mean()))
        waits[agents] = np.array(rows)
    assert waits[3][:, 0].mean() > 1.0 and waits[3][:, 1].mean() > 10.0, "the smallest team must be loaded"
    t99 = stats.t.ppf(0.995, reps - 1)
    for fewer, more in ((3, 4), (4, 5)):
        diff = waits[fewer] - waits[more]          # paired: same seeds, same customers
        low = diff.mean(axis=0) - t99 * diff.std(axis=0, ddof=1) / math.sqrt(reps)
        assert np.all(low > 0), f"{more} agents do not wait clearly less than {fewer}: {diff.mean(axis=0)}"


# --------------------------------------------------------------------------- warm-up


def test_warmup_arrivals_never_in_log():
    sc = scenario(RICH, warmup="10h")
    result = run(sc, replications=2, seed=6)
    log, series = result.mentions, result.series
    assert len(log) > 500
    assert log["arrival"].min() >= sc.warmup
    assert series.time.min() == pytest.approx(sc.warmup)
    # the filter is doing something: the same run without warm-up logs the early mentions
    cold = run(scenario(RICH, warmup=0, horizon=f"{sc.end}m"), replications=2, seed=6).mentions
    assert (cold["arrival"] < sc.warmup).sum() > 100
    # work carried over from the warm-up shows in the first interval
    assert series.values["busy_agents"][series.time == series.time.min()].max() > 0


def test_a_seed_sequence_gives_the_same_replication_every_time():
    """`simulate` is a pure function of the scenario and its seed sequence, even when the same
    SeedSequence object is used twice (spawning advances the object it is called on)."""
    from sim.runner import replication_seeds, simulate

    rich = parse_scenario(RICH)          # closed loop, incidents, cascades: every stream in use
    seed = replication_seeds(11, 1)[0]
    first, second = simulate(rich, seed), simulate(rich, seed)
    assert len(first.mentions) > 100
    for name, column in first.mentions.columns.items():
        np.testing.assert_array_equal(second.mentions[name], column, err_msg=name)
