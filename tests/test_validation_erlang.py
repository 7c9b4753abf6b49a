"""Simulation against queueing theory: M/M/c must reproduce Erlang C, M/M/c+M Erlang A (Palm).
Besides the probabilities of waiting, abandoning and waiting at most t, the mean wait W_q (from
the records) and the time-average number waiting L_q (from the time series) are checked.

The scenario is the example `mmc` (Poisson arrivals, exponential work, one pool, first come first
served, one piece of work per mention) with its rate, staffing, horizon and patience varied. A
mention's wait is ack_start - arrival if an agent took it, abandoned_at - arrival if it gave up;
mentions still waiting at the horizon have no observed wait and are left out.

How a check is judged. Each replication gives one estimate of each quantity; across replications
a Student-t confidence interval is formed, and the analytic value must lie inside it.
- Simultaneous level. This file makes CHECKS comparisons; judged one by one at 95 %, a correct
  engine would fail one of them on most seeds. Each interval therefore has level
  1 - 0.05 / CHECKS (Bonferroni), so all of them together hold with at least 95 % confidence.
- Slack. Intervals are widened by SLACK (absolute; for W_q and L_q, MEAN_SLACK of the value) for
  finite-horizon bias: leaving out the few mentions still waiting at the horizon (a queue's worth
  among tens of thousands) moves a share by < 1e-3 and a mean wait by < 0.1 %, and the warm-up is over six relaxation times of the slowest queue here (about
  1 / (sqrt(c mu) - sqrt(lambda))^2 = 38 min at the mmc load), so the empty start is forgotten.
- Power. Each plain 95 % interval must be narrower than MAX_HALF_WIDTH (for small
  probabilities, also than MAX_RELATIVE_HALF_WIDTH of the value), so a check can fail: at the mmc
  load an engine serving 5 % too slowly would show a delay probability of 0.76 instead of 0.67.
  For W_q and L_q the plain interval must be narrower than MAX_MEAN_HALF_WIDTH of the value; the
  same engine would show a mean wait of 1.02 min instead of 0.67.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pytest
from scipy import stats

from sim.analytic import erlang_a, erlang_c, erlang_c_mean_wait, erlang_c_wait_cdf
from sim.records import OUTCOMES
from sim.runner import run
from sim.scenario import parse_scenario

# The example scenario `mmc`: lambda = 9/min, c = 10, exponential work of mean 1 min.
MMC = {
    "name": "mmc",
    "horizon": "16d",
    "warmup": "1d",
    "replications": 5,
    "seed": 7,
    "arrivals": {"rate": "9/m", "daily_profile": "flat", "types": {"complaint": 1.0}, "channels": {"twitter": 1.0}},
    "expectations": {
        "acknowledge": {"default": {"median": "1m", "sigma": 0.5}},
        "resolve": {"default": {"median": "1h", "sigma": 0.5}},
    },
    "pools": {"team": {"agents": 10, "channels": ["twitter"], "stages": ["acknowledge", "resolve"]}},
    "handling": {"resolve": {"default": {"dist": "exponential", "mean": "1m"}}},
    "policy": {"acknowledge": "with_resolution", "priority": "fifo", "respond_to": ["complaint"]},
}

SLACK = 0.002
MAX_HALF_WIDTH = 0.025
MAX_RELATIVE_HALF_WIDTH = 0.25
MEAN_SLACK = 0.005
MAX_MEAN_HALF_WIDTH = 0.10
WARMUP = "4h"
WORKERS = 2


@dataclass(frozen=True)
class Case:
    name: str
    rate: float               # arrivals per minute
    agents: int
    horizon: str              # per replication, after the warm-up
    replications: int
    seed: int
    times: tuple[float, ...]  # t of the P(wait <= t) checks, minutes
    patience: float | None = None   # mean patience, minutes (None: nobody abandons)


ERLANG_C = [
    Case("mmc", 9.0, 10, "4d", 20, 11, (0.1, 0.5)),
    Case("light", 7.0, 10, "2d", 16, 12, (0.05, 0.25)),
    Case("small_pool", 2.4, 3, "6d", 16, 13, (0.2, 1.0)),
]
ERLANG_A = [
    Case("mmc_patience", 9.0, 10, "3d", 16, 21, (0.1, 0.5), patience=10.0),
    Case("overloaded", 12.0, 10, "2d", 16, 22, (1.0, 3.0), patience=10.0),
    Case("patience_as_work", 9.0, 10, "2d", 16, 23, (0.1, 0.5), patience=1.0),
]
# delay + P(W <= t) per t; with patience also abandonment and "served within" the first t; mean
# wait and mean queue of every case
CHECKS = sum(1 + len(c.times) for c in ERLANG_C) + sum(3 + len(c.times) for c in ERLANG_A) + 2 * len(ERLANG_C + ERLANG_A)


def scenario_for(case: Case):
    data = copy.deepcopy(MMC)
    data.update(name=f"mmc_{case.name}", horizon=case.horizon, warmup=WARMUP)
    data["arrivals"]["rate"] = f"{case.rate}/m"
    data["pools"]["team"]["agents"] = case.agents
    if case.patience is not None:
        data["expectations"]["patience"] = {"default": {"mean": f"{case.patience}m"}}
    return parse_scenario(data)


@lru_cache(maxsize=None)
def estimates(case: Case) -> dict[str, np.ndarray]:
    """Per-replication estimates of every checked quantity (one array entry per replication)."""
    # Results do not depend on `workers` (seeds are fixed per replication before any runs).
    sc = scenario_for(case)
    result = run(sc, replications=case.replications, seed=case.seed, workers=WORKERS)
    open_, abandoned_ = OUTCOMES.index("open"), OUTCOMES.index("abandoned")
    rows = []
    for rep in result.replications:
        m = rep.mentions
        arrival, start, gone = m["arrival"], m["ack_start"], m["abandoned_at"]
        outcome = m["outcome"]
        assert not np.any(~np.isnan(start) & ~np.isnan(gone)), "a mention both served and abandoned"
        assert np.array_equal(~np.isnan(gone), outcome == abandoned_)
        wait = np.where(np.isnan(start), gone - arrival, start - arrival)
        seen = ~np.isnan(wait)
        # the only mentions without an observed wait are those still waiting at the horizon
        assert np.all(outcome[~seen] == open_)
        assert np.all(wait[seen] > -1e-9)
        wait, abandoned = wait[seen], ~np.isnan(gone[seen])
        series = rep.series
        assert len(series.pools) == 1
        widths = np.diff(np.append(series.time, sc.end))
        row = {"delay": np.mean(wait > 1e-9), "abandon": np.mean(abandoned), "mean_wait": np.mean(wait),
               "mean_queue": float((series.values["ack_queue"] * widths).sum()) / sc.horizon}
        for t in case.times:
            row[f"wait<={t}"] = np.mean(wait <= t)
            row[f"served<={t}"] = np.mean((wait <= t) & ~abandoned)
        rows.append(row)
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """Mean and Student-t half-width at `level` across replications."""
    n = len(values)
    quantile = stats.t.ppf(0.5 + level / 2, n - 1)
    return float(values.mean()), float(quantile * values.std(ddof=1) / math.sqrt(n))


def check(values: np.ndarray, expected: float, what: str, mean_of_times: bool = False) -> None:
    """Judge a probability (absolute precision and slack) or, with `mean_of_times`, a mean wait or
    queue length (precision and slack relative to the value)."""
    _, plain = interval(values, 0.95)
    if mean_of_times:
        assert plain < MAX_MEAN_HALF_WIDTH * expected, f"{what}: half-width {plain:.4f} vs value {expected:.4f}"
        slack = MEAN_SLACK * expected
    else:
        assert plain < MAX_HALF_WIDTH, f"{what}: 95 % interval too wide to test anything (half-width {plain:.4f})"
        if expected < 0.1:
            assert plain < MAX_RELATIVE_HALF_WIDTH * expected, f"{what}: half-width {plain:.4f} vs value {expected:.4f}"
        slack = SLACK
    mean, half = interval(values, 1 - 0.05 / CHECKS)
    assert mean - half - slack <= expected <= mean + half + slack, (
        f"{what}: analytic {expected:.4f} outside the simulation's interval {mean:.4f} +- {half:.4f} "
        f"(simultaneous 95 % over {CHECKS} checks; plain 95 %: +- {plain:.4f})"
    )


@pytest.mark.parametrize("case", ERLANG_C, ids=lambda c: c.name)
def test_erlang_c(case: Case):
    est = estimates(case)
    check(est["delay"], erlang_c(case.agents, case.rate), f"{case.name} P(wait > 0)")
    for t in case.times:
        expected = erlang_c_wait_cdf(t, case.agents, case.rate, 1.0)
        check(est[f"wait<={t}"], expected, f"{case.name} P(wait <= {t})")
    assert np.all(est["abandon"] == 0.0)


@pytest.mark.parametrize("case", ERLANG_A, ids=lambda c: c.name)
def test_erlang_a(case: Case):
    theory = erlang_a(case.agents, case.rate, 1.0, 1.0 / case.patience)
    est = estimates(case)
    check(est["delay"], theory.p_delay, f"{case.name} P(wait > 0)")
    check(est["abandon"], theory.p_abandon, f"{case.name} P(abandon)")
    for t in case.times:
        check(est[f"wait<={t}"], theory.p_wait_le(t), f"{case.name} P(wait <= {t})")
    t = case.times[0]
    check(est[f"served<={t}"], theory.p_served_within(t), f"{case.name} P(served within {t})")


@pytest.mark.parametrize("case", ERLANG_C + ERLANG_A, ids=lambda c: c.name)
def test_mean_wait_and_queue_length(case: Case):
    """W_q (mean time waiting, until served or abandoning) and L_q (time-average number waiting);
    Erlang A solved as its birth-death chain, which without patience is Erlang C."""
    theta = 0.0 if case.patience is None else 1.0 / case.patience
    theory = erlang_a(case.agents, case.rate, 1.0, theta)
    if case.patience is None:
        assert theory.mean_wait == pytest.approx(erlang_c_mean_wait(case.agents, case.rate, 1.0), rel=1e-6)
    est = estimates(case)
    check(est["mean_wait"], theory.mean_wait, f"{case.name} mean wait", mean_of_times=True)
    check(est["mean_queue"], theory.mean_queue, f"{case.name} mean queue length", mean_of_times=True)
