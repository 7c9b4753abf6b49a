"""Replications: one replication is one function `simulate(scenario, seed) -> Replication`;
`run` spawns the seeds, runs replications (in parallel processes if asked) and summarises.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .arrivals.source import WINDOW, ArrivalSource, RunawayArrivals
from .engine.closed_loop import ClosedLoop
from .engine.collect import Collector
from .engine.model import CareModel
from .metrics import MentionStats, replication_metrics, summarize
from .records import MentionLog, Replication, TimeSeries
from .scenario.models import Scenario

__all__ = ["RunResult", "RunawayArrivals", "run", "simulate"]


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


def simulate(scenario: Scenario, seed: np.random.SeedSequence, index: int = 0,
             keep_mentions: bool = True) -> Replication:
    """One replication: a pure function of the scenario and its seed sequence.

    Arrivals come a window (day) at a time; at the end of each window finished mentions are
    settled into records (or, with `keep_mentions=False`, only into running statistics).
    """
    source = ArrivalSource(scenario, seed)
    cfg = scenario.arrivals.cascades
    loop = None
    if cfg is not None and (cfg.breach_boost > 1.0 or cfg.noise_reply_boost > 1.0):
        loop = ClosedLoop(scenario, source)
    model = CareModel(scenario, source.offset, cascade_hook=loop)
    if loop is not None:
        loop.attach(model)
    stats = None if keep_mentions else MentionStats(scenario)
    collector = Collector(model, index, keep_mentions, stats)
    model.start()
    w0, end = 0.0, scenario.end
    while w0 < end:
        w1 = min(w0 + WINDOW, end)
        batch = source.window(w0, w1)
        if len(batch.get("arrival", ())):
            model.add_mentions(batch)
        model.run_window(batch["id"].tolist() if batch else [], w1)
        collector.collect(w0, w1)
        w0 = w1
    series, agent_hours, busy = collector.series()
    cost = {name: hours * scenario.pools[name].cost_per_hour for name, hours in agent_hours.items()}
    extra = {"max_queue_length": float(collector.max_queue), "busy_hours": sum(busy.values())}
    if loop is not None:
        extra["boosted_mentions"] = float(loop.created_after_warmup)
    return Replication(index, collector.mentions(), series, agent_hours, cost, extra,
                       stats.metrics() if stats is not None else {})


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
