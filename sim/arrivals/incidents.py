"""Incidents: an outage adds a burst of mentions that decays exponentially after it starts.

The burst is an inhomogeneous Poisson process with intensity (expected / decay) * exp(-(t - start) / decay),
simulated exactly as a Poisson(expected) count of independent Exponential(decay) delays.
"""
from __future__ import annotations

import numpy as np


def incident_times(start: float, expected: float, decay: float, end: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival times (minutes) of one incident's burst, those before `end` only."""
    if expected < 0 or decay <= 0:
        raise ValueError(f"need expected >= 0 and decay > 0, got {expected:g} and {decay:g}")
    times = start + rng.exponential(decay, rng.poisson(expected))
    return np.sort(times[times < end])
