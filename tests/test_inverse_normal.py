"""The normal quantile that turns uniform draws into log-normal followers, deadlines and work
(`sim.arrivals.inverse_normal.ndtri`) against SciPy's and Python's own, over the whole range a
uniform draw can take, tails included."""
from __future__ import annotations

import statistics
import subprocess
import sys

import numpy as np
import pytest
from scipy.special import ndtri as scipy_ndtri

from helpers import REPO

from sim.arrivals.inverse_normal import SMALL, ndtri


def _probabilities() -> np.ndarray:
    rng = np.random.default_rng(20261124)
    return np.concatenate([
        rng.random(1_000_000),                           # what the generator draws
        10.0 ** -rng.uniform(0.0, 300.0, 100_000),       # lower tail, down to 1e-300
        1.0 - 10.0 ** -rng.uniform(0.5, 16.0, 100_000),  # upper tail, to the last double below 1
        [0.075, 0.925, np.nextafter(0.075, 0), np.nextafter(0.925, 1)],   # the central region's edges
        [np.exp(-25.0), np.nextafter(np.exp(-25.0), 1.0)],                 # r = 5, where the tails split
        [5e-324, 0.5],
    ])


def test_agrees_with_scipy_to_the_last_few_bits():
    u = _probabilities()
    ours, theirs = ndtri(u), scipy_ndtri(u)
    assert np.all(np.isfinite(ours))
    assert np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1.0)) < 4e-15
    assert ndtri(np.array([0.5]))[0] == 0.0
    # symmetric, as the normal is (to the rounding of 1 - u)
    v = np.random.default_rng(1).random(10_000) * 0.5
    assert np.max(np.abs(ndtri(v) + ndtri(1.0 - v)) / np.abs(ndtri(v))) < 1e-12


def test_is_python_statistics_algorithm():
    """AS241, as `statistics.NormalDist.inv_cdf` computes it: equal but for the last bit NumPy's
    logarithm may round differently from the C library's."""
    u = _probabilities()[::50]
    expected = np.array([statistics.NormalDist().inv_cdf(p) for p in u])
    got = ndtri(u)
    assert np.max(np.abs(got - expected) / np.abs(expected).clip(1.0)) < 1e-15
    assert np.mean(got == expected) > 0.999


def test_small_arrays_give_what_large_ones_give():
    """A few values at a time (the closed loop's follow-ons) take another path: the same values."""
    u = _probabilities()[:: 97]
    whole = ndtri(u)
    assert len(u) >= 10 * SMALL
    pieces = np.concatenate([ndtri(u[k:k + 7]) for k in range(0, len(u), 7)])
    assert np.max(np.abs(pieces - whole) / np.abs(whole).clip(1.0)) < 1e-15
    assert np.mean(pieces == whole) > 0.999
    assert ndtri(np.float64(0.975)).shape == ()
    assert ndtri(np.full((2, 3), 0.975)).shape == (2, 3)


@pytest.mark.parametrize("size", [2, 2 * SMALL])
def test_ends_of_the_unit_interval(size):
    u = np.full(size, 0.5)
    u[0], u[-1] = 0.0, 1.0
    x = ndtri(u)
    assert (x[0], x[-1]) == (-np.inf, np.inf) and np.all(x[1:-1] == 0.0)


def test_increasing_and_empty():
    assert np.all(np.diff(ndtri(np.linspace(0.0, 1.0, 100_001))) > 0)
    assert ndtri(np.array([], dtype=float)).shape == (0,)


def test_a_run_of_one_replication_does_not_load_scipy_special():
    """What the inverse normal of our own is for: `scipy.special` is a third of the start-up of
    a short run, and only gamma work times and intervals over replications need it."""
    code = ("import sys; from sim.runner import run; from sim.scenario import load_scenario; "
            f"sc = load_scenario({str(REPO / 'scenarios' / 'baseline.yaml')!r}); "
            "run(sc.model_copy(update={'horizon': 1440.0}), replications=1, workers=1); "
            "assert 'scipy.special' not in sys.modules, 'scipy.special was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
