"""Viral cascades: a marked Hawkes process with exponential kernel, simulated exactly.

Every mention i has a branching ratio n_i (grows with its author's reach, capped below 1) and
gets Poisson(n_i) direct follow-ons, each after an Exponential(decay) delay. Simulating this
branching (immigrant-offspring) structure generation by generation is exact for a Hawkes
process with kernel n_i * g(t - t_i) (Hawkes & Oakes 1974), and vectorises well.
Pure NumPy: the engine passes in the parents and its own generator.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.scenario.models import Cascades


class CascadeOverflow(RuntimeError):
    """A cascade grew past the allowed number of events (a guard rail against exploding memory)."""


@dataclass(frozen=True)
class Offspring:
    """All descendants of some parents, generation after generation.

    `parent` uses the combined numbering: 0..P-1 are the given parents, P+j is entry j here.
    """

    time: np.ndarray  # float64, minutes
    parent: np.ndarray  # int64
    followers: np.ndarray  # int64
    generation: np.ndarray  # int64, 1 for direct children of the given parents

    def __len__(self) -> int:
        return len(self.time)


def branching_factors(followers: np.ndarray, cfg: Cascades, followers_median: float) -> np.ndarray:
    """Branching ratio of each mention: branching * (followers / median) ** elasticity, capped."""
    reach = np.asarray(followers, dtype=np.float64) / followers_median
    return np.minimum(cfg.max_branching, cfg.branching * reach**cfg.reach_elasticity)


def sample_followers(size: int, median: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Log-normal follower counts, median * exp(sigma * Z), rounded to integers >= 0."""
    counts = np.rint(median * np.exp(sigma * rng.standard_normal(size)))
    return counts.astype(np.int64)


def cascade_offspring(
    parent_time: np.ndarray,
    parent_branching: np.ndarray,
    cfg: Cascades,
    followers_median: float,
    followers_sigma: float,
    end: float,
    rng: np.random.Generator,
    max_events: int,
) -> Offspring:
    """Every descendant (all generations) of the given parents that arrives before `end`.

    A follow-on after `end` is dropped with its whole subtree, which would come later still.
    Raises CascadeOverflow if more than `max_events` descendants would be kept.
    """
    times = np.asarray(parent_time, dtype=np.float64).ravel()
    branching = np.asarray(parent_branching, dtype=np.float64).ravel()
    if times.shape != branching.shape:
        raise ValueError(f"parent_time has {times.size} entries but parent_branching {branching.size}")
    first = times.size  # combined numbering: offspring entry j is first + j
    index = np.arange(first, dtype=np.int64)
    chunks: list[tuple[np.ndarray, ...]] = []
    kept, generation = 0, 0
    while times.size:
        generation += 1
        counts = rng.poisson(branching)
        total = int(counts.sum())
        if total == 0:
            break
        child_parent = np.repeat(index, counts)
        child_time = np.repeat(times, counts) + rng.exponential(cfg.decay, total)
        inside = child_time < end
        child_parent, child_time = child_parent[inside], child_time[inside]
        size = child_time.size
        if kept + size > max_events:
            raise CascadeOverflow(
                f"cascade would exceed {max_events} follow-on mentions ({kept + size} by "
                f"generation {generation}); lower cascades.branching or max_branching, "
                "or shorten the horizon"
            )
        followers = sample_followers(size, followers_median, followers_sigma, rng)
        chunks.append((child_time, child_parent, followers, np.full(size, generation, dtype=np.int64)))
        index = np.arange(first + kept, first + kept + size, dtype=np.int64)
        kept += size
        times = child_time
        branching = branching_factors(followers, cfg, followers_median)
    if not chunks:
        empty = np.empty(0, dtype=np.int64)
        return Offspring(np.empty(0, dtype=np.float64), empty, empty.copy(), empty.copy())
    return Offspring(*(np.concatenate(column) for column in zip(*chunks)))


def boosted_offspring_times(
    now: float,
    parent_time: float,
    parent_branching: float,
    boost: float,
    decay: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Times of the extra direct follow-ons when a mention's branching is multiplied by `boost` at `now`.

    Its remaining intensity becomes boost * n * g(t - t_i) for t >= now; by superposition the extra
    part is Poisson((boost - 1) * n * exp(-(now - t_i) / decay)) children at now + Exponential(decay)
    (memorylessness). For a second boost pass the already boosted branching.
    """
    if boost < 1.0:
        raise ValueError(f"boost must be at least 1, not {boost:g}")
    if now < parent_time:
        raise ValueError(f"boost at {now:g} precedes the mention at {parent_time:g}")
    expected = (boost - 1.0) * parent_branching * math.exp(-(now - parent_time) / decay)
    count = rng.poisson(expected)
    if count == 0:       # most boosts: no extra follow-on, and no draw (none would be taken)
        return np.empty(0)
    return now + rng.exponential(decay, count)
