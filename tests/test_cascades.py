"""Cascades (Hawkes by cluster construction) and incident bursts against theory.

Tolerances are a few standard errors of the quantity checked (z <= 4 or p > 0.001 with fixed
seeds), so a wrong model fails and a right one does not flake.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from sim.arrivals.cascades import (
    CascadeOverflow,
    Offspring,
    boosted_offspring_times,
    branching_factors,
    cascade_offspring,
    sample_followers,
)
from sim.arrivals.incidents import incident_times
from sim.scenario.models import Cascades

MEDIAN, SIGMA = 250.0, 1.8
Z = 4.0  # standard errors allowed


def flat(branching: float, decay: float = 40.0) -> Cascades:
    """Cascades whose branching ignores reach (elasticity 0)."""
    return Cascades(branching=branching, reach_elasticity=0.0, max_branching=0.95, decay=decay)


def run(roots: int, cfg: Cascades, seed: int, end: float = math.inf, times=None) -> Offspring:
    rng = np.random.default_rng(seed)
    t = np.zeros(roots) if times is None else times
    return cascade_offspring(t, np.full(roots, cfg.branching), cfg, MEDIAN, SIGMA, end, rng, 10**8)


def cluster_sizes(roots: int, off: Offspring) -> np.ndarray:
    """Root plus all descendants, per root (parents precede their children in the numbering)."""
    root = np.empty(roots + len(off), dtype=np.int64)
    root[:roots] = np.arange(roots)
    for g in range(1, int(off.generation.max(initial=0)) + 1):
        at = np.flatnonzero(off.generation == g)
        root[roots + at] = root[off.parent[at]]
    return np.bincount(root, minlength=roots)


def borel(k: np.ndarray, mu: float) -> np.ndarray:
    """P(cluster size = k) of a Poisson(mu) Galton-Watson tree: e^{-mu k} (mu k)^{k-1} / k!."""
    return np.exp(-mu * k + (k - 1) * np.log(mu * k) - special.gammaln(k + 1))


@pytest.mark.parametrize("mu", [0.5, 0.8])
def test_mean_total_is_roots_over_one_minus_branching(mu):
    roots = 200_000
    off = run(roots, flat(mu), seed=11)
    total = roots + len(off)
    # Borel variance mu / (1 - mu)^3 per cluster
    se = math.sqrt(roots * mu / (1 - mu) ** 3)
    assert abs(total - roots / (1 - mu)) < Z * se
    assert off.parent.min() >= 0 and np.all(off.parent < roots + np.arange(len(off)))


def test_cluster_sizes_follow_borel():
    mu, roots = 0.5, 200_000
    sizes = cluster_sizes(roots, run(roots, flat(mu), seed=12))
    k = np.arange(1, 9)
    expected = roots * borel(k, mu)
    observed = np.bincount(sizes, minlength=k[-1] + 1)[1 : k[-1] + 1]
    f_obs = np.append(observed, roots - observed.sum())
    f_exp = np.append(expected, roots - expected.sum())
    assert stats.chisquare(f_obs, f_exp).pvalue > 0.001
    # and the first five frequencies one by one (binomial standard errors)
    p = borel(k[:5], mu)
    assert np.all(np.abs(observed[:5] / roots - p) < Z * np.sqrt(p * (1 - p) / roots))


def test_generations_parents_and_followers_are_consistent():
    roots = 20_000
    off = run(roots, flat(0.6), seed=13)
    parent_gen = np.where(off.parent < roots, 0, off.generation[np.maximum(off.parent - roots, 0)])
    assert np.array_equal(off.generation, parent_gen + 1)
    assert off.time.dtype == np.float64 and off.followers.dtype == np.int64
    assert off.parent.dtype == np.int64 and off.followers.min() >= 0


def test_follow_on_delays_are_exponential():
    decay, roots = 40.0, 50_000
    times = np.random.default_rng(0).uniform(0, 1000, roots)
    off = run(roots, flat(0.5, decay), seed=14, times=times)
    all_times = np.concatenate([times, off.time])
    delays = off.time - all_times[off.parent]
    assert delays.min() >= 0
    assert stats.kstest(delays, "expon", args=(0, decay)).pvalue > 0.01
    assert abs(delays.mean() - decay) < Z * decay / math.sqrt(delays.size)


def test_offspring_followers_are_log_normal():
    rng = np.random.default_rng(15)
    followers = sample_followers(200_000, MEDIAN, SIGMA, rng)
    n = followers.size
    # median: share below it is 1/2 (rounding shifts it by ~1e-3 at most)
    assert abs(np.mean(followers < MEDIAN) - 0.5) < Z * 0.5 / math.sqrt(n) + 1e-3
    big = sample_followers(n, 1e6, SIGMA, rng)  # large median: rounding negligible
    log_sd = np.log(big[big > 0]).std()
    assert abs(log_sd - SIGMA) < Z * SIGMA / math.sqrt(2 * n)


def test_branching_grows_with_reach_and_is_capped():
    cfg = Cascades(branching=0.4, reach_elasticity=0.25, max_branching=0.9, decay=40)
    followers = np.array([0, 10, 250, 1_000, 10_000, 10**6, 10**9])
    n = branching_factors(followers, cfg, MEDIAN)
    assert n[0] == 0.0 and n[2] == pytest.approx(0.4)
    assert n[3] == pytest.approx(0.4 * 4**0.25)
    assert np.all(np.diff(n) >= 0) and np.all(np.diff(n[:5]) > 0)
    assert n.max() == 0.9 and n[-1] == 0.9
    assert np.all(branching_factors(followers, flat(0.4), MEDIAN) == 0.4)


def test_reach_elasticity_mean_total():
    """Each follow-on branches with its own reach: total = N * (1 + n0 / (1 - nbar))."""
    cfg = Cascades(branching=0.4, reach_elasticity=0.25, max_branching=0.95, decay=40)
    rng = np.random.default_rng(16)
    roots = 200_000
    n0 = branching_factors(sample_followers(roots, MEDIAN, SIGMA, rng), cfg, MEDIAN)
    off = cascade_offspring(np.zeros(roots), n0, cfg, MEDIAN, SIGMA, math.inf, rng, 10**8)
    nbar, _ = integrate.quad(
        lambda z: min(cfg.max_branching, cfg.branching * math.exp(cfg.reach_elasticity * SIGMA * z))
        * stats.norm.pdf(z),
        -12, 12, points=[math.log(cfg.max_branching / cfg.branching) / (cfg.reach_elasticity * SIGMA)],
    )
    assert nbar > 0.42  # reach really raises the mean branching above 0.4
    sizes = cluster_sizes(roots, off)
    expected = roots + n0.sum() / (1 - nbar)
    assert abs(sizes.sum() - expected) < Z * sizes.std() * math.sqrt(roots)


def test_end_truncates_follow_ons():
    decay, roots, end, mu = 40.0, 100_000, 30.0, 0.5
    off = run(roots, flat(mu, decay), seed=17, end=end)
    assert off.time.size and off.time.max() < end
    direct = np.sum(off.generation == 1)
    p = 1 - math.exp(-end / decay)
    assert abs(direct - roots * mu * p) < Z * math.sqrt(roots * mu * p)


def test_same_seed_same_offspring():
    a, b = run(5_000, flat(0.7), seed=18), run(5_000, flat(0.7), seed=18)
    for name in ("time", "parent", "followers", "generation"):
        assert np.array_equal(getattr(a, name), getattr(b, name))


def test_no_parents_or_no_branching_gives_empty():
    assert len(run(0, flat(0.5), seed=19)) == 0
    off = run(1_000, flat(0.0), seed=19)
    assert len(off) == 0 and off.time.dtype == np.float64 and off.parent.dtype == np.int64


def test_overflow_is_refused():
    rng = np.random.default_rng(20)
    cfg = flat(0.9)
    with pytest.raises(CascadeOverflow, match="exceed 100 follow-on mentions"):
        cascade_offspring(np.zeros(1_000), np.full(1_000, 0.9), cfg, MEDIAN, SIGMA, math.inf, rng, 100)


def test_boosted_offspring_count_and_times():
    rng = np.random.default_rng(23)
    decay, n, boost, t_i, now = 40.0, 0.5, 3.0, 100.0, 120.0
    draws = [boosted_offspring_times(now, t_i, n, boost, decay, rng) for _ in range(40_000)]
    counts = np.array([d.size for d in draws])
    lam = (boost - 1) * n * math.exp(-(now - t_i) / decay)
    assert abs(counts.mean() - lam) < Z * math.sqrt(lam / counts.size)
    delays = np.concatenate(draws) - now
    assert delays.min() >= 0
    assert stats.kstest(delays, "expon", args=(0, decay)).pvalue > 0.01
    assert all(boosted_offspring_times(now, t_i, n, 1.0, decay, rng).size == 0 for _ in range(1_000))
    with pytest.raises(ValueError):
        boosted_offspring_times(now, t_i, n, 0.5, decay, rng)


def test_incident_burst():
    rng = np.random.default_rng(22)
    start, expected, decay = 500.0, 300.0, 180.0
    runs = [incident_times(start, expected, decay, math.inf, rng) for _ in range(2_000)]
    counts = np.array([r.size for r in runs])
    assert abs(counts.mean() - expected) < Z * math.sqrt(expected / counts.size)
    assert all(np.all(np.diff(r) >= 0) for r in runs)
    delays = np.concatenate(runs) - start
    assert delays.min() >= 0
    assert stats.kstest(delays, "expon", args=(0, decay)).pvalue > 0.01
    end = start + decay  # keeps a share 1 - e^-1 of the burst
    cut = np.array([incident_times(start, expected, decay, end, rng).size for _ in range(2_000)])
    kept = expected * (1 - math.exp(-1))
    assert abs(cut.mean() - kept) < Z * math.sqrt(kept / cut.size)
    assert incident_times(start, expected, decay, end, rng).max() < end
    assert incident_times(start, expected, decay, start, rng).size == 0


def test_cascade_tally_in_arrival_order_matches_the_records():
    """Random forests of follow-ons (some parents outside the log, as warm-up mentions are),
    handed over in arrival order in uneven batches: the largest cascade counted on the way is
    the one found in the whole log."""
    from helpers import make_log

    from sim.cascades import CascadeTally, largest_cascade_size

    rng = np.random.default_rng(12)
    for _ in range(20):
        n = int(rng.integers(1, 3000))
        ids = rng.permutation(n) + 5                    # ids dense but not in arrival order
        parent = np.full(n, -1)
        for i in range(1, n):                           # a parent arrived earlier, or none
            if rng.random() < 0.7:
                parent[i] = ids[rng.integers(max(0, i - 50), i)]
        parent[rng.random(n) < 0.05] = 2               # a parent not in the log (warm-up)
        tally = CascadeTally()
        cuts = np.sort(rng.integers(0, n, 6))
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, n]):
            tally.add(ids[a:b], parent[a:b])
        log = make_log(arrival=np.arange(n, dtype=float), id=ids, parent_id=parent)
        assert tally.largest() == largest_cascade_size(log)[0]
