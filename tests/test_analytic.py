"""Erlang B, C and A against independently known values: published examples, exact rational
arithmetic, closed forms from the literature and limiting cases."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import integrate
from scipy.special import gammainc, gammaln
from scipy.stats import poisson

from sim.analytic import (
    erlang_a,
    erlang_b,
    erlang_c,
    erlang_c_mean_wait,
    erlang_c_wait_cdf,
    service_level,
    staff_for_service_level,
)


def exact_erlang_b(c: int, a: int) -> float:
    """(a^c / c!) / sum_k a^k / k!, multiplied through by c! so it stays in whole numbers."""
    terms = [a**k * math.factorial(c) // math.factorial(k) for k in range(c + 1)]
    return float(Fraction(terms[-1], sum(terms)))


def exact_erlang_c(c: int, a: int) -> float:
    """The textbook Erlang C sum, in exact rational arithmetic."""
    head = sum(Fraction(a**k, math.factorial(k)) for k in range(c))
    top = Fraction(a**c, math.factorial(c)) * Fraction(c, c - a)
    return float(top / (head + top))


def zeltyn_erlang_a(c: int, lam: float, mu: float, theta: float) -> tuple[float, float]:
    """P(wait > 0) and P(abandon) of Erlang A in closed form (Mandelbaum & Zeltyn, "The Palm/Erlang-A
    queue, with applications to call centers", 2007): with A(x, y) = x e^y y^-x gamma(x, y),
    P(W > 0) = A B / (1 + (A - 1) B) and P(Ab | W > 0) = 1 / (rho A) + 1 - 1 / rho."""
    x, y = c * mu / theta, lam / theta
    big_a = math.exp(y - x * math.log(y) + gammaln(x + 1) + math.log(gammainc(x, y)))
    b = exact_erlang_b(c, round(lam / mu)) if float(lam / mu).is_integer() else erlang_b(c, lam / mu)
    p_wait = big_a * b / (1 + (big_a - 1) * b)
    rho = lam / (c * mu)
    return p_wait, p_wait * (1 / (rho * big_a) + 1 - 1 / rho)


# --- Erlang B -------------------------------------------------------------------------------

def test_erlang_b_table_value():
    # Erlang B tables: 5 trunks offered 3 erlangs block 11.0 % of calls.
    assert erlang_b(5, 3.0) == pytest.approx(0.1101, abs=5e-5)


@pytest.mark.parametrize("c, a", [(1, 1), (3, 2), (10, 9), (40, 30), (200, 210), (1000, 950)])
def test_erlang_b_matches_exact_rational_sum(c, a):
    assert erlang_b(c, a) == pytest.approx(exact_erlang_b(c, a), rel=1e-10)


def test_erlang_b_edges():
    assert erlang_b(3, 0.0) == 0.0
    assert erlang_b(1, 2.0) == pytest.approx(2 / 3)


# --- Erlang C -------------------------------------------------------------------------------

def test_erlang_c_textbook_values():
    assert erlang_c(10, 9.0) == pytest.approx(0.6687, abs=5e-5)
    # The "Erlang C made simple" worked example: 10 erlangs on 11 agents wait with P = 68.21 %.
    assert erlang_c(11, 10.0) == pytest.approx(0.6821, abs=5e-5)


@pytest.mark.parametrize("rho", [0.01, 0.3, 0.75, 0.99])
def test_erlang_c_single_server_is_utilization(rho):
    assert erlang_c(1, rho) == pytest.approx(rho, rel=1e-12)


@pytest.mark.parametrize("c, a", [(2, 1), (10, 9), (50, 49), (300, 280), (1000, 980)])
def test_erlang_c_matches_exact_rational_sum(c, a):
    assert erlang_c(c, a) == pytest.approx(exact_erlang_c(c, a), rel=1e-9)


def test_erlang_c_decreases_with_servers_and_rises_with_load():
    by_servers = [erlang_c(c, 9.0) for c in range(10, 30)]
    assert all(x > y for x, y in zip(by_servers, by_servers[1:]))
    by_load = [erlang_c(10, a) for a in np.linspace(0.5, 9.9, 20)]
    assert all(x < y for x, y in zip(by_load, by_load[1:]))


@pytest.mark.parametrize(
    "args, words",
    [((10, 10.0), "load"), ((10, 12.0), "load"), ((0, 1.0), "servers"), ((2.5, 1.0), "servers"),
     ((3, -1.0), "offered_load"), ((3, float("nan")), "offered_load")],
)
def test_erlang_c_rejects_bad_arguments(args, words):
    with pytest.raises(ValueError, match=words):
        erlang_c(*args)


def test_wait_cdf_service_level_example():
    # 100 calls per 30 min, 3 min handling, 11 agents: 39.0 % answered within 20 s.
    assert service_level(11, 100 / 30, 1 / 3, 20 / 60) == pytest.approx(0.3896, abs=5e-4)
    assert erlang_c_wait_cdf(0.0, 11, 100 / 30, 1 / 3) == pytest.approx(1 - erlang_c(11, 10.0))


def test_wait_cdf_is_a_distribution_with_the_erlang_c_mean():
    c, lam, mu = 10, 9.0, 1.0
    cdf = [erlang_c_wait_cdf(t, c, lam, mu) for t in np.linspace(0, 20, 50)]
    assert all(x < y for x, y in zip(cdf, cdf[1:]))
    assert cdf[-1] == pytest.approx(1.0, abs=1e-8)
    mean, _ = integrate.quad(lambda t: 1 - erlang_c_wait_cdf(t, c, lam, mu), 0, np.inf)
    assert erlang_c_mean_wait(c, lam, mu) == pytest.approx(mean, rel=1e-8)


def test_mm1_mean_wait():
    lam, mu = 0.8, 1.0
    assert erlang_c_mean_wait(1, lam, mu) == pytest.approx(lam / (mu * (mu - lam)))


def test_wait_cdf_rejects_negative_time_and_unstable_load():
    with pytest.raises(ValueError, match="time"):
        erlang_c_wait_cdf(-1.0, 10, 9.0, 1.0)
    with pytest.raises(ValueError, match="stable"):
        erlang_c_wait_cdf(1.0, 10, 10.0, 1.0)
    with pytest.raises(ValueError, match="service_rate"):
        erlang_c_mean_wait(10, 9.0, 0.0)


# --- staffing -------------------------------------------------------------------------------

def test_staff_for_service_level_example():
    # The same worked example: 80 % within 20 s needs 14 agents.
    assert staff_for_service_level(100 / 30, 1 / 3, 0.8, 20 / 60) == 14


@pytest.mark.parametrize("lam, mu, target, within", [(9.0, 1.0, 0.8, 0.5), (120.0, 0.2, 0.95, 1.0), (0.1, 0.05, 0.5, 0.0)])
def test_staff_is_the_fewest_that_meet_the_target(lam, mu, target, within):
    c = staff_for_service_level(lam, mu, target, within)
    assert service_level(c, lam, mu, within) >= target
    if c - 1 > lam / mu:
        assert service_level(c - 1, lam, mu, within) < target


def test_staff_is_monotone():
    by_rate = [staff_for_service_level(lam, 1.0, 0.9, 0.5) for lam in np.linspace(1, 200, 40)]
    assert all(x <= y for x, y in zip(by_rate, by_rate[1:]))
    assert by_rate[-1] > by_rate[0]
    by_target = [staff_for_service_level(50.0, 1.0, t, 0.5) for t in (0.5, 0.8, 0.9, 0.99, 0.999)]
    assert all(x <= y for x, y in zip(by_target, by_target[1:]))
    by_within = [staff_for_service_level(50.0, 1.0, 0.9, w) for w in (0.0, 0.1, 1.0, 10.0)]
    assert all(x >= y for x, y in zip(by_within, by_within[1:]))


def test_staff_rejects_bad_targets():
    for target in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="target"):
            staff_for_service_level(9.0, 1.0, target, 1.0)


# --- Erlang A -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "c, lam, mu, theta",
    [(10, 9.0, 1.0, 0.1), (10, 15.0, 1.0, 0.1), (10, 8.0, 1.0, 0.5), (50, 45.0, 1.0, 2.0),
     (1, 0.5, 1.0, 0.3), (100, 120.0, 0.5, 0.05)],
)
def test_erlang_a_matches_closed_form(c, lam, mu, theta):
    p_wait, p_abandon = zeltyn_erlang_a(c, lam, mu, theta)
    result = erlang_a(c, lam, mu, theta)
    assert result.p_delay == pytest.approx(p_wait, rel=1e-8)
    assert result.p_abandon == pytest.approx(p_abandon, rel=1e-7)


@pytest.mark.parametrize("c, a", [(10, 9.0), (5, 8.0), (30, 20.0)])
def test_erlang_a_with_patience_equal_to_work_is_poisson(c, a):
    # theta == mu: every customer present leaves at rate mu, served or not, so the number present
    # is that of M/M/infinity, Poisson(a).
    mu = 0.5
    result = erlang_a(c, a * mu, mu, mu)
    assert result.p_delay == pytest.approx(poisson.sf(c - 1, a), rel=1e-9)
    n = np.arange(c, 400)
    queue = float(((n - c) * poisson.pmf(n, a)).sum())
    assert result.mean_queue == pytest.approx(queue, rel=1e-9)
    assert result.p_abandon == pytest.approx(mu * queue / (a * mu), rel=1e-9)


@pytest.mark.parametrize("c, lam, mu", [(10, 9.0, 1.0), (1, 0.5, 2.0), (200, 190.0, 1.0)])
def test_erlang_a_without_abandonment_is_erlang_c(c, lam, mu):
    for theta in (0.0, 1e-7):
        result = erlang_a(c, lam, mu, theta)
        assert result.p_delay == pytest.approx(erlang_c(c, lam / mu), rel=1e-5)
        assert result.mean_wait == pytest.approx(erlang_c_mean_wait(c, lam, mu), rel=1e-4)
        for t in (0.0, 0.1, 1.0):
            assert result.p_wait_le(t) == pytest.approx(erlang_c_wait_cdf(t, c, lam, mu), abs=1e-6)
    assert erlang_a(c, lam, mu, 0.0).p_abandon == 0.0


@pytest.mark.parametrize("c, lam, mu, theta", [(10, 9.0, 1.0, 0.1), (10, 15.0, 1.0, 0.1), (20, 18.0, 0.9, 2.0)])
def test_erlang_a_flow_balance_and_wait_distribution(c, lam, mu, theta):
    result = erlang_a(c, lam, mu, theta)
    # Served work equals busy agents: lambda (1 - P(ab)) = c mu utilization.
    assert lam * (1 - result.p_abandon) == pytest.approx(c * mu * result.utilization, rel=1e-9)
    assert result.p_wait_le(0.0) == pytest.approx(1 - result.p_delay, rel=1e-12)
    times = [0.0, 0.05, 0.3, 1.0, 3.0, 10.0]
    cdf = [result.p_wait_le(t) for t in times]
    assert all(x <= y for x, y in zip(cdf, cdf[1:])) and cdf[0] < cdf[1] < cdf[2] < cdf[3]
    assert all(0.0 <= x <= 1.0 for x in cdf)
    # The transient solution of one customer's wait must agree with the stationary E[Q] / lambda.
    mean, _ = integrate.quad(lambda t: 1 - result.p_wait_le(t), 0, 200, limit=200)
    assert mean == pytest.approx(result.mean_wait, rel=1e-6)
    # ... and, waited out, everyone is either served or gone, in the stationary proportions.
    long = 400.0
    assert result.p_abandon_within(long) == pytest.approx(result.p_abandon, rel=1e-8)
    assert result.p_served_within(long) == pytest.approx(1 - result.p_abandon, rel=1e-8)
    for t in times[1:]:
        served, gone = result.p_served_within(t), result.p_abandon_within(t)
        assert served + gone == pytest.approx(result.p_wait_le(t), rel=1e-12)
        # Those who wait at all leave at rate theta while waiting: P(ab by t) = theta int P(W > s).
        waited, _ = integrate.quad(lambda s: 1 - result.p_wait_le(s), 0, t)
        assert gone == pytest.approx(theta * waited, rel=1e-6)


def test_erlang_a_overload_approaches_the_fluid_limit():
    # Heavy overload: the agents serve c mu per minute and the rest abandon, P(ab) -> 1 - c mu / lambda.
    result = erlang_a(100, 150.0, 1.0, 0.2)
    assert result.p_delay > 0.999
    assert result.p_abandon == pytest.approx(1 - 100 / 150, rel=1e-3)
    assert result.mean_queue == pytest.approx((150 - 100) / 0.2, rel=1e-2)


def test_erlang_a_large_pool():
    result = erlang_a(1000, 990.0, 1.0, 0.5)
    p_wait, p_abandon = zeltyn_erlang_a(1000, 990.0, 1.0, 0.5)
    assert result.p_delay == pytest.approx(p_wait, rel=1e-6)
    assert result.p_abandon == pytest.approx(p_abandon, rel=1e-6)


def test_erlang_a_rejects_bad_arguments():
    with pytest.raises(ValueError, match="arrival_rate < servers"):
        erlang_a(10, 10.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="abandon_rate"):
        erlang_a(10, 9.0, 1.0, -0.1)
    with pytest.raises(ValueError, match="servers"):
        erlang_a(0, 9.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="time"):
        erlang_a(10, 9.0, 1.0, 0.1).p_wait_le(-1.0)


def test_erlang_command_prints_the_formulas():
    from click.testing import CliRunner

    from sim.cli import main

    out = CliRunner().invoke(main, ["erlang", "--rate", "9/m", "--aht", "1m", "--agents", "10",
                                    "--within", "20s", "--patience", "10m"])
    assert out.exit_code == 0, out.output
    assert "P(wait > 0) = 0.6687" in out.output                     # Erlang C, c = 10, a = 9
    assert f"abandoned = {erlang_a(10, 9.0, 1.0, 0.1).p_abandon:.4f}" in out.output
    staffed = CliRunner().invoke(main, ["erlang", "--rate", "120/h", "--aht", "6m", "--within", "20s",
                                        "--target", "0.8"])
    assert f"fewest agents for 80% within 20s: {staff_for_service_level(2.0, 1 / 6, 0.8, 1 / 3)}" in staffed.output
    bad = CliRunner().invoke(main, ["erlang", "--rate", "120", "--aht", "6m"])
    assert bad.exit_code == 2 and "not a rate" in bad.output


def test_erlang_command_counts_those_who_give_up_as_not_served():
    """With patience, the service level printed is the share served within the threshold, as a
    run's SLA counts it: customers who gave up waiting are not served in time."""
    from click.testing import CliRunner

    from sim.cli import main

    out = CliRunner().invoke(main, ["erlang", "--rate", "120/h", "--aht", "6m", "--agents", "5",
                                    "--within", "1h", "--patience", "30m"])
    assert out.exit_code == 0, out.output
    a = erlang_a(5, 2.0, 1 / 6, 1 / 30)
    assert a.p_abandon > 0.5                                   # overloaded: most give up
    assert f"served within 1h = {a.p_served_within(60.0):.4f}" in out.output
    assert a.p_served_within(60.0) <= 1 - a.p_abandon + 1e-12
