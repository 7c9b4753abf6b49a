"""What a scenario promises about its random inputs, checked on large samples drawn by the code the
engine runs: the arrival generator (`ArrivalSource.window`, day by day, as `simulate` calls it).

- Base arrivals per calendar hour follow `rate x daily[h] / mean(daily) x weekly[d] / mean(weekly)`
  on the calendar of `start` (docs/scenario-reference.md, arrivals).
- Handle times have the stated family, mean and cv (exponential: cv 1; fixed: exactly the mean),
  chosen by type, then `default`, then the built-in default; the engine spends exactly the work
  drawn on each piece of work.
- Expectation deadlines are log-normal with the stated median and sigma, found by the lookup rule
  (channel, then type, then `default`); a resolution deadline is the later of its own draw and the
  acknowledgement deadline. Patience is exponential with the stated mean.
- Authors' follower counts are `round(median x exp(sigma Z))`; types and channels follow their shares.

Tolerances. Expected values and standard errors come from the stated distribution, not from the
sample, and a statistic passes within Z = 4.5 standard errors (two-sided normal tail 7e-6).
Shapes are checked by Kolmogorov-Smirnov or chi-square tests at p >= ALPHA = 1e-5. About 400
comparisons are made here, so a correct generator fails one on a fresh seed with probability
under 0.5 %; seeds are fixed, and the margin is there so that a change of random streams does
not make the suite flaky. Samples (3 x 10^4 to 10^6 per check) are large enough that each check
can fail: a wrong parameter conversion moves its statistic by tens of standard errors.
"""
from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache

import numpy as np
import pytest
from scipy import stats

from helpers import draw_all

from sim.arrivals.base import expected_count, hourly_rates, week_offset
from sim.arrivals.source import BASE
from sim.records import OUTCOMES
from sim.runner import replication_seeds, run
from sim.scenario import parse_scenario
from sim.scenario.presets import DAILY_PROFILES, WEEKLY_PROFILES

Z = 4.5
ALPHA = 1e-5
SEED = 20260105
WEEK = 7 * 1440.0
POOLS = {"team": {"agents": 1}}      # the generator needs a valid scenario; nobody is served here


@lru_cache(maxsize=None)
def scenario(key: str):
    return parse_scenario(SCENARIOS[key])


@lru_cache(maxsize=None)
def generated(key: str, seed: int = SEED) -> dict[str, np.ndarray]:
    """Every mention the generator hands out over the horizon of scenario `key`, window by
    window exactly as `sim.runner.simulate` asks for them."""
    sc = scenario(key)
    return draw_all(sc, np.random.SeedSequence(seed))


def z_score(observed: float, expected: float, se: float) -> float:
    return (observed - expected) / se


# --------------------------------------------------------------------------- arrival profiles

RETAIL_WEEKDAY = {
    "name": "profile_retail", "horizon": "280d", "start": "2026-01-07T06:30",   # a Wednesday, half past
    "arrivals": {"rate": "75/h", "daily_profile": "retail", "weekly_profile": "weekday"},
    "pools": POOLS,
}
# Zero weights at night and on Saturday: not one arrival may land there, which pins the calendar
# (hour and weekday of `start`, a Saturday afternoon) exactly.
NIGHTS_OFF = [0.0] * 7 + [1.0, 3.0, 2.0, 2.0, 1.5, 0.5, 2.0, 2.5, 2.0, 1.0, 0.7, 4.0, 1.0, 0.3, 0.2] + [0.0] * 2
ZEROS = {
    "name": "profile_zeros", "horizon": "280d", "start": "2026-01-10T13:00",
    "arrivals": {"rate": "40/h", "daily_profile": NIGHTS_OFF, "weekly_profile": [1.0, 1.5, 1.0, 1.0, 0.8, 0.0, 0.4]},
    "pools": POOLS,
}
OFFICE_DAILY = {
    "name": "profile_office", "horizon": "364d",          # default start: Monday 00:00
    "arrivals": {"rate": "30/h", "daily_profile": "office"},
    "pools": POOLS,
}
SCENARIOS = {"retail_weekday": RETAIL_WEEKDAY, "zeros": ZEROS, "office_daily": OFFICE_DAILY}


def profile_weights(data: dict, key: str, presets: dict) -> np.ndarray:
    value = data["arrivals"].get(key, "flat")
    return np.asarray(presets[value] if isinstance(value, str) else value, float)


def documented_rates(data: dict) -> np.ndarray:
    """Rate per minute in each hour of the week, Monday 00:00 first, from the scenario reference:
    rate x daily[h] / mean(daily) x weekly[d] / mean(weekly)."""
    count, unit = data["arrivals"]["rate"].split("/")
    per_minute = float(count) / {"m": 1.0, "h": 60.0, "d": 1440.0}[unit]
    daily = profile_weights(data, "daily_profile", DAILY_PROFILES)
    weekly = profile_weights(data, "weekly_profile", WEEKLY_PROFILES)
    return np.array([per_minute * weekly[d] / weekly.mean() * daily[h] / daily.mean()
                     for d in range(7) for h in range(24)])


def calendar_minute(data: dict) -> float:
    """Minute of the week (Monday 00:00 = 0) of scenario minute 0, read off `start` by hand."""
    start = datetime.fromisoformat(data.get("start", "2026-01-05T00:00"))
    return start.weekday() * 1440.0 + start.hour * 60.0 + start.minute


@pytest.mark.parametrize("key, period", [("retail_weekday", "week"), ("zeros", "week"), ("office_daily", "day")])
def test_base_arrivals_per_hour_follow_the_profiles(key, period):
    data = SCENARIOS[key]
    sc = scenario(key)
    length = WEEK if period == "week" else 1440.0
    laps = sc.end / length
    assert laps == int(laps), "a whole number of periods: every calendar hour is covered `laps` times"
    rates = documented_rates(data)
    if period == "day":
        assert np.ptp(rates.reshape(7, 24), axis=0).max() == 0.0, "a daily-only profile"
        rates = rates[:24]
    expected = rates * 60.0 * laps

    m = generated(key)
    arrival = m["arrival"][m["origin"] == BASE]
    assert np.all(np.diff(arrival) >= 0) and arrival.min() >= 0.0 and arrival.max() < sc.end
    hour = (((arrival + calendar_minute(data)) % length) // 60.0).astype(int)
    observed = np.bincount(hour, minlength=len(expected))

    # hours of weight 0 get nothing at all
    silent = expected == 0.0
    assert observed[silent].sum() == 0, f"{observed[silent].sum()} arrivals in hours of weight 0"
    # elsewhere a Poisson count per hour: standard error sqrt(expected); chi-square over the hours
    e, o = expected[~silent], observed[~silent]
    z = (o - e) / np.sqrt(e)
    worst = int(np.argmax(np.abs(z)))
    assert np.abs(z).max() <= Z, f"hour {np.flatnonzero(~silent)[worst]}: {o[worst]} arrivals, expected {e[worst]:.0f}"
    # enough arrivals per hour that a misplaced or mis-weighted hour shows (a 10 % error in an hour
    # of 1000 expected arrivals is 3 standard errors there, and the chi-square adds them up)
    assert e.min() > 100 and np.median(e) > 1000
    p = stats.chi2.sf(float((z * z).sum()), len(e))
    assert p >= ALPHA, f"chi-square over {len(e)} hours: p = {p:.2g}"

    # the generator's own expectation (used for its runaway guard) is the same integral
    table = hourly_rates(sc.arrivals.rate, sc.arrivals.daily_weights(), sc.arrivals.weekly_weights())
    assert week_offset(sc.start) == calendar_minute(data)
    assert expected_count(table, week_offset(sc.start), sc.end) == pytest.approx(expected.sum(), rel=1e-9)


# --------------------------------------------------------------------------- handle times

HANDLING = {
    "name": "handling", "horizon": "2d",
    "arrivals": {"rate": "150/m", "types": {"complaint": 0.3, "question": 0.3, "praise": 0.2, "noise": 0.2}},
    "pools": POOLS,
    "handling": {
        "acknowledge": {"complaint": {"dist": "gamma", "mean": "3m", "cv": 0.5},
                        "default": {"dist": "lognormal", "mean": "90s", "cv": 0.9}},
        "resolve": {"complaint": {"dist": "lognormal", "mean": "20m", "cv": 0.8},
                    "question": {"dist": "gamma", "mean": "10m", "cv": 1.5},
                    "praise": {"dist": "exponential", "mean": "4m"},
                    "default": {"dist": "fixed", "mean": "2.5m"}},
    },
}
# No `handling` section: the built-in defaults of the scenario reference.
BUILT_IN = {"name": "handling_defaults", "horizon": "1d", "arrivals": {"rate": "80/m"}, "pools": POOLS}
SCENARIOS.update(handling=HANDLING, handling_defaults=BUILT_IN)

# (scenario, work column, type, family, mean in minutes, cv) as the scenario reference states them
HANDLE_CASES = [
    ("handling", "ack_work", "complaint", "gamma", 3.0, 0.5),
    ("handling", "ack_work", "question", "lognormal", 1.5, 0.9),        # by `default`
    ("handling", "resolve_work", "complaint", "lognormal", 20.0, 0.8),
    ("handling", "resolve_work", "question", "gamma", 10.0, 1.5),
    ("handling", "resolve_work", "praise", "exponential", 4.0, 1.0),
    ("handling_defaults", "ack_work", "complaint", "lognormal", 2.0, 0.6),
    ("handling_defaults", "resolve_work", "complaint", "lognormal", 5.0, 1.0),
]


def raw_moment(dist: str, mean: float, cv: float, k: int) -> float:
    """E[X^k] of the family with this mean and cv, from the parameters in the scenario reference:
    log-normal exp(k mu + k^2 sigma^2 / 2) = mean^k (1 + cv^2)^(k(k-1)/2); gamma (exponential is
    gamma with cv 1) scale^k Gamma(shape + k) / Gamma(shape) = mean^k prod_{j<k} (1 + j cv^2)."""
    if dist == "lognormal":
        return mean**k * (1.0 + cv * cv) ** (k * (k - 1) / 2)
    return mean**k * math.prod(1.0 + j * cv * cv for j in range(k))


def reference(dist: str, mean: float, cv: float):
    """The frozen SciPy distribution the scenario reference describes."""
    if dist == "lognormal":
        s2 = math.log1p(cv * cv)
        return stats.lognorm(s=math.sqrt(s2), scale=math.exp(math.log(mean) - s2 / 2))
    if dist == "gamma":
        return stats.gamma(a=1.0 / (cv * cv), scale=mean * cv * cv)
    return stats.expon(scale=mean)


def cv_standard_error(dist: str, mean: float, cv: float, n: int) -> float:
    """Standard error of the plug-in cv sqrt(m2 / m1^2 - 1), by the delta method on the first two
    sample moments (m1, m2), whose covariance comes from the first four moments of the family."""
    e = [1.0] + [raw_moment(dist, mean, cv, k) for k in (1, 2, 3, 4)]
    cov = np.array([[e[2] - e[1] ** 2, e[3] - e[1] * e[2]],
                    [e[3] - e[1] * e[2], e[4] - e[2] ** 2]]) / n
    grad = np.array([-e[2] / (e[1] ** 3 * cv), 1.0 / (2.0 * e[1] ** 2 * cv)])
    return float(math.sqrt(grad @ cov @ grad))


@pytest.mark.parametrize("key, column, typ, dist, mean, cv", HANDLE_CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[3]}" for c in HANDLE_CASES])
def test_handle_times_have_the_stated_mean_and_cv(key, column, typ, dist, mean, cv):
    sc = scenario(key)
    m = generated(key)
    work = m[column][m["type"] == sc.types.index(typ)]
    n = len(work)
    assert n > 40_000
    m1 = float(work.mean())
    cv_hat = math.sqrt(float(np.mean(work * work)) / m1**2 - 1.0)
    se_mean = mean * cv / math.sqrt(n)
    se_cv = cv_standard_error(dist, mean, cv, n)
    assert abs(z_score(m1, mean, se_mean)) <= Z, f"mean {m1:.4f} min, stated {mean} (se {se_mean:.4f})"
    assert abs(z_score(cv_hat, cv, se_cv)) <= Z, f"cv {cv_hat:.4f}, stated {cv} (se {se_cv:.4f})"
    # mean and cv do not tell a log-normal from a gamma: the whole distribution must be the stated one
    p = stats.kstest(work, reference(dist, mean, cv).cdf).pvalue
    assert p >= ALPHA, f"{dist}: Kolmogorov-Smirnov p = {p:.2g}"


def test_fixed_work_is_exactly_the_mean():
    sc = scenario("handling")
    m = generated("handling")
    noise = m["type"] == sc.types.index("noise")                 # resolve `default`: fixed 2.5 min
    assert noise.sum() > 40_000
    assert np.all(m["resolve_work"][noise] == 2.5)
    assert not np.any(m["resolve_work"][~noise] == 2.5)


WORKED = {
    "name": "worked", "horizon": "2d", "warmup": "2h",
    "arrivals": {"rate": "40/h", "types": {"complaint": 0.5, "question": 0.5}},
    "pools": {"team": {"agents": 30}},
    "handling": {"acknowledge": {"complaint": {"dist": "gamma", "mean": "3m", "cv": 0.5},
                                 "default": {"dist": "lognormal", "mean": "1m", "cv": 0.9}},
                 "resolve": {"complaint": {"dist": "lognormal", "mean": "20m", "cv": 0.8},
                             "default": {"dist": "exponential", "mean": "6m"}}},
}


@pytest.mark.parametrize("ack", ["realtime", "with_resolution"])
def test_engine_spends_exactly_the_work_drawn(ack):
    """The distribution checks above are only worth something if the engine uses what is drawn: with
    one conversation per agent a piece of work lasts exactly the work drawn for it, the first reply
    its acknowledgement work (under with_resolution the resolution work, which is both), the
    resolution its resolution work. Mentions are matched by id to a second pass of the generator
    on the replication's seed."""
    sc = parse_scenario({**WORKED, "policy": {"acknowledge": ack}})
    seed = 3
    drawn = draw_all(sc, replication_seeds(seed, 1)[0])
    log = run(sc, replications=1, seed=seed).mentions
    at = np.searchsorted(drawn["id"], log["id"])
    assert np.all(np.diff(drawn["id"]) > 0) and np.array_equal(drawn["id"][at], log["id"])
    first = drawn["resolve_work" if ack == "with_resolution" else "ack_work"][at]
    acked = ~np.isnan(log["ack_done"])
    assert acked.sum() > 1500
    np.testing.assert_allclose((log["ack_done"] - log["ack_start"])[acked], first[acked], rtol=1e-9, atol=1e-9)
    if ack == "realtime":
        resolved = log["outcome"] == OUTCOMES.index("resolved")
        assert resolved.sum() > 1500
        np.testing.assert_allclose((log["resolve_done"] - log["resolve_start"])[resolved],
                                   drawn["resolve_work"][at][resolved], rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------- expectations, reach, mix

EXPECTATIONS = {
    "name": "expectations", "horizon": "2d",
    "arrivals": {"rate": "100/m", "types": {"complaint": 0.5, "question": 0.5},
                 "channels": {"twitter": 0.4, "facebook": 0.4, "forum": 0.2},
                 "followers": {"median": 1000, "sigma": 0.7}},
    "expectations": {
        "acknowledge": {"twitter": {"median": "30m", "sigma": 0.5},      # a channel beats a type
                        "complaint": {"median": "2h", "sigma": 1.0},
                        "forum": {"median": "45m", "sigma": 0},          # sigma 0: exactly the median
                        "default": {"median": "4h"}},                     # sigma by default 0.8
        "resolve": {"complaint": {"median": "2d", "sigma": 0.7}},      # no default: built-in 1 d, 1.0
        "patience": {"twitter": {"mean": "20m"}, "question": {"mean": "1h"}, "default": {"mean": "3h"}},
    },
    "pools": POOLS,
}
SCENARIOS.update(expectations=EXPECTATIONS)

# (channel, type) -> (ack median, ack sigma, resolve median, resolve sigma, mean patience), minutes
EXPECTED = {
    ("twitter", "complaint"): (30.0, 0.5, 2880.0, 0.7, 20.0),
    ("twitter", "question"): (30.0, 0.5, 1440.0, 1.0, 20.0),
    ("facebook", "complaint"): (120.0, 1.0, 2880.0, 0.7, 180.0),
    ("facebook", "question"): (240.0, 0.8, 1440.0, 1.0, 60.0),
    ("forum", "complaint"): (45.0, 0.0, 2880.0, 0.7, 180.0),
    ("forum", "question"): (45.0, 0.0, 1440.0, 1.0, 60.0),
}


def group(key: str, channel: str, typ: str) -> dict[str, np.ndarray]:
    sc = scenario(key)
    m = generated(key)
    sel = (m["channel"] == sc.channels.index(channel)) & (m["type"] == sc.types.index(typ)) & (m["origin"] == BASE)
    return {k: v[sel] for k, v in m.items()}


@pytest.mark.parametrize("channel, typ", list(EXPECTED), ids=[f"{c}-{t}" for c, t in EXPECTED])
def test_deadlines_and_patience_follow_the_lookup_and_the_stated_parameters(channel, typ):
    ack_median, ack_sigma, res_median, res_sigma, patience = EXPECTED[(channel, typ)]
    m = group("expectations", channel, typ)
    n = len(m["arrival"])
    assert n > 25_000
    ack, res = m["ack_expect"], m["resolve_expect"]

    # acknowledgement: log of the deadline is normal(log median, sigma)
    if ack_sigma == 0.0:
        assert np.all(ack == ack_median)
    else:
        logs = np.log(ack)
        se_loc, se_scale = ack_sigma / math.sqrt(n), ack_sigma / math.sqrt(2.0 * (n - 1))
        median = math.exp(float(logs.mean()))
        assert abs(z_score(float(logs.mean()), math.log(ack_median), se_loc)) <= Z, f"median {median:.3f}, stated {ack_median}"
        sd = float(logs.std(ddof=1))
        assert abs(z_score(sd, ack_sigma, se_scale)) <= Z, f"log-sd {sd:.4f}, stated {ack_sigma}"
        # the sample median too (binomial standard error of the share below the stated median)
        below = float(np.mean(ack < ack_median))
        assert abs(z_score(below, 0.5, 0.5 / math.sqrt(n))) <= Z

    # resolution: its own log-normal draw, raised to the acknowledgement deadline where earlier,
    # so P(deadline <= x) = F_resolve(x) F_ack(x) (independent draws)
    assert np.all(res >= ack)
    own = stats.lognorm(s=res_sigma, scale=res_median)
    if ack_sigma == 0.0:
        cdf = own.cdf              # every sample is at least the fixed first deadline, where F_ack = 1
    else:
        first = stats.lognorm(s=ack_sigma, scale=ack_median)
        cdf = lambda x: own.cdf(x) * first.cdf(x)   # noqa: E731
    p = stats.kstest(res, cdf).pvalue
    assert p >= ALPHA, f"resolution deadline: Kolmogorov-Smirnov p = {p:.2g}"
    # P(raised) = P(own draw < acknowledgement deadline): log-ratio normal, variance summed
    p_raised = stats.lognorm(s=math.hypot(ack_sigma, res_sigma), scale=res_median / ack_median).cdf(1.0)
    if n * p_raised > 100:         # enough raised deadlines for the normal approximation
        raised = float(np.mean(res == ack))
        assert abs(z_score(raised, p_raised, math.sqrt(p_raised * (1 - p_raised) / n))) <= Z, (
            f"{raised:.4f} of resolution deadlines raised to the first, expected {p_raised:.4f}")

    # patience: exponential with the stated mean
    wait = m["patience"]
    assert abs(z_score(float(wait.mean()), patience, patience / math.sqrt(n))) <= Z, f"mean patience {wait.mean():.3f}, stated {patience}"
    p = stats.kstest(wait, stats.expon(scale=patience).cdf).pvalue
    assert p >= ALPHA, f"patience: Kolmogorov-Smirnov p = {p:.2g}"


def test_built_in_expectations():
    """Without an `expectations` section nobody abandons and first replies are expected after a
    log-normal of median 1 h and sigma 1.2 (the survey-based default)."""
    sc = parse_scenario({**EXPECTATIONS, "horizon": "1d", "arrivals": {**EXPECTATIONS["arrivals"], "rate": "20/m"},
                         "expectations": {}})
    m = draw_all(sc, np.random.SeedSequence(SEED))
    assert len(m["patience"]) > 20_000 and np.all(np.isinf(m["patience"]))
    logs = np.log(m["ack_expect"])
    assert abs(z_score(float(logs.mean()), math.log(60.0), 1.2 / math.sqrt(len(logs)))) <= Z
    assert abs(z_score(float(logs.std(ddof=1)), 1.2, 1.2 / math.sqrt(2.0 * (len(logs) - 1)))) <= Z


FOLLOWERS_DEFAULT = {"name": "followers_default", "horizon": "1d", "arrivals": {"rate": "100/m"}, "pools": POOLS}
SCENARIOS.update(followers_default=FOLLOWERS_DEFAULT)


@pytest.mark.parametrize("key, median, sigma", [("expectations", 1000.0, 0.7), ("followers_default", 250.0, 1.8)])
def test_followers_are_rounded_log_normal(key, median, sigma):
    """Counts are round(median exp(sigma Z)), so P(count <= k) = Phi((log(k + 1/2) - log median) /
    sigma) exactly; bins cut at whole counts near 13 quantiles from 2 % to 98 %, chi-square over them."""
    m = generated(key)
    f = m["followers"][m["origin"] == BASE]
    n = len(f)
    assert n > 100_000 and f.dtype.kind == "i"
    cuts = np.unique(np.rint(median * np.exp(sigma * stats.norm.ppf(np.linspace(0.02, 0.98, 13)))))
    below = stats.norm.cdf((np.log(cuts + 0.5) - math.log(median)) / sigma)
    p = np.diff(np.concatenate([[0.0], below, [1.0]]))
    observed = np.bincount(np.searchsorted(cuts, f, side="left"), minlength=len(p))
    z = (observed - n * p) / np.sqrt(n * p * (1 - p))
    assert np.abs(z).max() <= Z, f"bins {cuts}: z = {np.round(z, 1)}"
    chi2 = float(((observed - n * p) ** 2 / (n * p)).sum())
    assert stats.chi2.sf(chi2, len(p) - 1) >= ALPHA
    # the median itself: half the authors at most round(median)
    share = float(np.mean(f <= median))
    expected = stats.norm.cdf((math.log(median + 0.5) - math.log(median)) / sigma)
    assert abs(z_score(share, expected, math.sqrt(expected * (1 - expected) / n))) <= Z


def test_types_and_channels_follow_their_shares():
    sc = scenario("expectations")
    m = generated("expectations")
    n = len(m["type"])
    for column, names, shares in (("type", sc.types, EXPECTATIONS["arrivals"]["types"]),
                                  ("channel", sc.channels, EXPECTATIONS["arrivals"]["channels"])):
        counts = np.bincount(m[column], minlength=len(names))
        assert len(counts) == len(names)
        for k, name in enumerate(names):
            p = shares[name]
            z = z_score(counts[k] / n, p, math.sqrt(p * (1 - p) / n))
            assert abs(z) <= Z, f"{column} {name}: share {counts[k] / n:.4f}, stated {p}"
    # drawn independently: the joint count of each pair is the product of the shares
    for t, typ in enumerate(sc.types):
        for c, ch in enumerate(sc.channels):
            p = EXPECTATIONS["arrivals"]["types"][typ] * EXPECTATIONS["arrivals"]["channels"][ch]
            share = float(np.mean((m["type"] == t) & (m["channel"] == c)))
            assert abs(z_score(share, p, math.sqrt(p * (1 - p) / n))) <= Z, (typ, ch)


def test_follow_ons_drawn_ahead_are_the_factorys_rows_in_order():
    """The closed loop's follow-ons take their attributes from blocks drawn ahead
    (`DrawnAhead`): whatever the sizes asked for, the rows handed out are the factory's own
    draws, in order, each once, so they have exactly the distribution checked above; the
    factory is asked a block at a time; and each request gets what drawing it alone would."""
    from sim.arrivals.mentions import DrawnAhead, MentionFactory

    sc = scenario("retail_weekday")
    block = DrawnAhead.BLOCK
    sizes = [3, 0, 1, 7, block - 12, 2, 5, 2 * block + 1, 4, 300, 300]   # straddles blocks; one over a block
    factory = MentionFactory(sc, np.random.SeedSequence(7))
    asked: list[int] = []
    factory_draw = factory.draw
    factory.draw = lambda n: asked.append(n) or factory_draw(n)
    ahead = DrawnAhead(factory)
    got = [ahead.draw(n) for n in sizes]
    assert [len(g["type"]) for g in got] == sizes
    assert all(n >= block for n in asked) and len(asked) <= sum(sizes) // block + 1
    again = MentionFactory(sc, np.random.SeedSequence(7))
    expected = [again.draw(n) for n in asked]
    for name in expected[0]:
        handed = np.concatenate([g[name] for g in got])
        drawn = np.concatenate([e[name] for e in expected])
        assert np.array_equal(handed, drawn[:len(handed)]), name
    # and they are what a draw per request would give, but for the last bit of an inverse normal
    apart = MentionFactory(sc, np.random.SeedSequence(7))
    for n, g in zip(sizes, got):
        alone = apart.draw(n)
        for name, values in alone.items():
            assert np.allclose(g[name], values, rtol=1e-14, atol=0.0), name
