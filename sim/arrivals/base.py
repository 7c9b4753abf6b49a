"""The base stream: a non-homogeneous Poisson process sampled exactly by thinning.

The rate at minute t is `rate x daily[hour] / mean(daily) x weekly[day] / mean(weekly)`, with
hour and weekday taken from the scenario's calendar start, so `rate` is the mean over a week.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np

WEEK = 7 * 1440.0


def week_offset(start: datetime) -> float:
    """Minute of the week (Monday 00:00 = 0) at minute 0 of the scenario."""
    return start.weekday() * 1440.0 + start.hour * 60.0 + start.minute + start.second / 60.0


def hourly_rates(rate: float, daily: tuple[float, ...], weekly: tuple[float, ...]) -> np.ndarray:
    """Rate (per minute) in each of the 168 hours of the week, Monday 00:00 first."""
    d = np.asarray(daily, float) / np.mean(daily)
    w = np.asarray(weekly, float) / np.mean(weekly)
    return rate * (w[:, None] * d[None, :]).ravel()


def rate_at(t: np.ndarray, table: np.ndarray, offset: float) -> np.ndarray:
    """Rate at scenario minutes `t` for a 168-hour table."""
    hour = (((np.asarray(t) + offset) % WEEK) // 60.0).astype(np.int64)
    return table[np.minimum(hour, 167)]


def thinned_arrivals(table: np.ndarray, offset: float, start: float, end: float,
                     rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival times in [start, end): homogeneous candidates at the peak rate, kept with
    probability rate(t)/peak (Lewis & Shedler thinning: exact for any bounded rate)."""
    peak = float(table.max())
    n = rng.poisson(peak * (end - start))
    times = start + np.sort(rng.random(n) * (end - start))
    keep = rng.random(n) * peak < rate_at(times, table, offset)
    return times[keep]


def expected_count(table: np.ndarray, offset: float, end: float, step: float = 1.0) -> float:
    """Expected number of base arrivals in [0, end) (numerical integral at minute steps)."""
    grid = np.arange(0.0, end, step)
    return float(rate_at(grid, table, offset).sum() * step)
