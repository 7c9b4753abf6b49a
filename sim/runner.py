"""Replications: one replication is one function `simulate(scenario, seed) -> Replication`;
`run` spawns the seeds, runs replications (in parallel processes if asked) and summarises.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .arrivals.base import expected_count, hourly_rates, thinned_arrivals, week_offset
from .arrivals.cascades import CascadeOverflow, branching_factors, cascade_offspring
from .arrivals.incidents import incident_times
from .arrivals.mentions import MentionFactory
from .engine.closed_loop import ClosedLoop
from .engine.finalize import build_records
from .engine.model import CareModel
from .metrics import replication_metrics, summarize
from .records import ORIGINS, MentionLog, Replication, TimeSeries
from .scenario.models import Scenario
from .scenario.units import parse_offset

# Streams of one replication, spawned in this order from its SeedSequence (never reorder:
# common random numbers across scenarios depend on it).
STREAMS = ("base_times", "base_attributes", "incident_times", "incident_attributes",
           "cascade_times", "cascade_attributes")
# A run whose arrivals exceed this multiple of the base expectation is stopped.
MAX_ARRIVAL_FACTOR = 50.0


class RunawayArrivals(RuntimeError):
    """Arrivals exploded past the sane bound; the message says why and what to change."""


@dataclass(frozen=True)
class RunResult:
    scenario: Scenario
    seed: int
    replications: list[Replication]
    summary: dict[str, dict[str, float]]

    @cached_property
    def mentions(self) -> MentionLog:
        return MentionLog.concat([r.mentions for r in self.replications])

    @cached_property
    def series(self) -> TimeSeries:
        return TimeSeries.concat([r.series for r in self.replications])


def generate_arrivals(scenario: Scenario, streams: dict[str, np.random.SeedSequence]):
    """All pre-generated mentions of a replication, sorted by arrival, plus the generators the
    closed loop will need. Returns (columns, origin, parent, cascade factory, cascade rng)."""
    arr = scenario.arrivals
    end = scenario.end
    offset = week_offset(scenario.start)
    table = hourly_rates(arr.rate, arr.daily_weights(), arr.weekly_weights())
    base_t = thinned_arrivals(table, offset, end, np.random.default_rng(streams["base_times"]))
    base = MentionFactory(scenario, streams["base_attributes"]).draw(len(base_t))
    base["arrival"] = base_t
    groups = [base]
    origins = [np.zeros(len(base_t), dtype=np.int64)]

    inc_rng = np.random.default_rng(streams["incident_times"])
    inc_factory = MentionFactory(scenario, streams["incident_attributes"])
    for inc in arr.incidents:
        t = incident_times(parse_offset(inc.at, scenario.start), inc.mentions, inc.decay, end, inc_rng)
        type_p = inc_factory.mix(inc.types, inc_factory.types) if inc.types else None
        ch_p = inc_factory.mix(inc.channels, inc_factory.channels) if inc.channels else None
        m = inc_factory.draw(len(t), type_p, ch_p)
        m["arrival"] = t
        groups.append(m)
        origins.append(np.full(len(t), ORIGINS.index("incident"), dtype=np.int64))

    roots = {k: np.concatenate([g[k] for g in groups]) for k in groups[0]}
    origin = np.concatenate(origins)
    parent = np.full(len(origin), -1, dtype=np.int64)
    cas_rng = np.random.default_rng(streams["cascade_times"])
    cas_factory = MentionFactory(scenario, streams["cascade_attributes"])
    budget = int(MAX_ARRIVAL_FACTOR * max(expected_count(table, offset, end) + sum(i.mentions for i in arr.incidents), 100.0))
    cfg = arr.cascades
    if cfg is not None and len(origin):
        nb = branching_factors(roots["followers"], cfg, arr.followers.median)
        try:
            off = cascade_offspring(roots["arrival"], nb, cfg, arr.followers.median, arr.followers.sigma,
                                    end, cas_rng, max(budget - len(origin), 0))
        except CascadeOverflow as exc:
            raise RunawayArrivals(_runaway_message(budget)) from exc
        kids = cas_factory.draw(len(off))
        kids["followers"] = off.followers
        kids["arrival"] = off.time
        roots = {k: np.concatenate([roots[k], kids[k]]) for k in roots}
        origin = np.concatenate([origin, np.full(len(off), ORIGINS.index("cascade"), dtype=np.int64)])
        parent = np.concatenate([parent, off.parent])
    order = np.argsort(roots["arrival"], kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    cols = {k: v[order] for k, v in roots.items()}
    cols["origin"] = origin[order]
    p = parent[order]
    cols["parent_id"] = np.where(p >= 0, rank[np.maximum(p, 0)], -1)
    cols["id"] = np.arange(len(order), dtype=np.int64)
    return cols, cas_factory, cas_rng, budget


def _runaway_message(budget: int) -> str:
    return (
        f"arrivals passed {budget:,} mentions, {MAX_ARRIVAL_FACTOR:g} times what the base stream and "
        "incidents should bring: the cascades are close to critical. Lower `arrivals.cascades.branching`, "
        "`reach_elasticity`, `breach_boost` or `max_branching`."
    )


def simulate(scenario: Scenario, seed: np.random.SeedSequence, index: int = 0) -> Replication:
    """One replication: pure function of the scenario and its seed sequence."""
    streams = dict(zip(STREAMS, seed.spawn(len(STREAMS))))
    cols, cas_factory, cas_rng, budget = generate_arrivals(scenario, streams)
    offset = week_offset(scenario.start)
    loop = None
    cfg = scenario.arrivals.cascades
    if cfg is not None and (cfg.breach_boost > 1.0 or cfg.noise_reply_boost > 1.0):
        loop = ClosedLoop(scenario, cols, cas_factory, cas_rng, budget)
    model = CareModel(scenario, cols, offset, cascade_hook=loop)
    if loop is not None:
        loop.attach(model)
    try:
        model.run()
    except CascadeOverflow as exc:
        raise RunawayArrivals(_runaway_message(budget)) from exc
    if loop is not None:
        cols = loop.columns(cols)
    log, series, agent_hours, extra = build_records(model, cols, index)
    cost = {name: hours * scenario.pools[name].cost_per_hour for name, hours in agent_hours.items()}
    if loop is not None:
        extra["boosted_mentions"] = float(loop.boosted_after(scenario.warmup))
    return Replication(index, log, series, agent_hours, cost, extra)


def _simulate_task(args):
    scenario, seed, index = args
    return simulate(scenario, seed, index)


def run(scenario: Scenario, replications: int | None = None, seed: int | None = None,
        workers: int = 1, on_done=None) -> RunResult:
    """Run replications with per-replication seeds spawned from the scenario seed.

    Results do not depend on `workers`: each replication's seed is fixed before any runs.
    """
    n = scenario.replications if replications is None else replications
    seed = scenario.seed if seed is None else seed
    seeds = np.random.SeedSequence(seed).spawn(n)
    tasks = [(scenario, s, i) for i, s in enumerate(seeds)]
    if workers > 1 and n > 1:
        with ProcessPoolExecutor(max_workers=min(workers, n)) as pool:
            reps = []
            for rep in pool.map(_simulate_task, tasks):
                reps.append(rep)
                if on_done:
                    on_done(rep)
    else:
        reps = []
        for task in tasks:
            reps.append(_simulate_task(task))
            if on_done:
                on_done(reps[-1])
    per_rep = [replication_metrics(scenario, r) for r in reps]
    return RunResult(scenario, seed, reps, summarize(per_rep))
