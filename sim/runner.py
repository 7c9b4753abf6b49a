"""Replications: one replication is one function `simulate(scenario, seed) -> Replication`;
`run` spawns the seeds, runs replications (in parallel processes if asked) and summarises.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from functools import cached_property
from typing import NamedTuple

import numpy as np

from .arrivals.source import WINDOW, ArrivalSource, RunawayArrivals
from .cascades import CascadeTally
from .engine.closed_loop import ClosedLoop
from .engine.collect import Collector
from .engine.model import CareModel
from .metrics import MentionStats, replication_metrics, summarize
from .records import HeldRecords, MentionLog, Replication, TimeSeries
from .scenario.models import Scenario

__all__ = ["ReplicationFailed", "RunResult", "RunawayArrivals", "execute", "run", "simulate"]


@dataclass(frozen=True)
class RunResult:
    scenario: Scenario
    seed: int
    replications: list[Replication]
    summary: dict[str, dict[str, float]]
    per_replication: list[dict[str, float]]   # every metric of every replication (the summary's inputs)
    mentions_parts: tuple[str, ...] = ()       # mentions.csv written in pieces as the run went

    @cached_property
    def mentions(self) -> MentionLog | None:
        """All replications' records (None when the run streamed them: `keep_mentions=False`)."""
        if any(r.mentions is None for r in self.replications):
            return None
        return MentionLog.concat([r.mentions for r in self.replications])

    @cached_property
    def series(self) -> TimeSeries:
        return TimeSeries.concat([r.series for r in self.replications])

    @cached_property
    def breakdown(self):
        """The report's breakdowns tallied over every replication (a
        `sim.breakdown_tally.BreakdownTally`), when the run kept no records (`--no-mentions`);
        else None: they come from the records."""
        tallies = [r.breakdown for r in self.replications]
        if not tallies or any(t is None for t in tallies):
            return None
        from .breakdown_tally import BreakdownTally

        return BreakdownTally.merged(tallies)


def simulate(scenario: Scenario, seed: np.random.SeedSequence, index: int = 0,
             keep_mentions: bool = True, sink=None, breakdowns: bool = True) -> Replication:
    """One replication: a pure function of the scenario and its seed sequence.

    Arrivals come a window (day) at a time; at the end of each window finished mentions are
    settled into records (or, with `keep_mentions=False`, only into running statistics). A
    `sink` (`add(record)`, `release(before)`: `sim.mentions_csv.open_stream`,
    `sim.spool.RecordFiles`) gets the records as they settle instead of their being kept; the
    statistics are then exact, as with the records kept. With neither and `breakdowns`, the
    report's breakdowns are tallied as mentions settle (`Replication.breakdown`).
    """
    source = ArrivalSource(scenario, seed)
    cfg = scenario.arrivals.cascades
    loop = None
    if cfg is not None and (cfg.breach_boost > 1.0 or cfg.noise_reply_boost > 1.0):
        loop = ClosedLoop(scenario, source)
    model = CareModel(scenario, source.offset, cascade_hook=loop)
    if loop is not None:
        loop.attach(model)
    # exact quantiles when the records are kept anyway; either way the statistics are fed a
    # window at a time, while each window's columns are still in cache
    stats = MentionStats(scenario, exact=keep_mentions or sink is not None)
    accumulators = [stats]
    tally = None
    if breakdowns and not stats.exact:   # no record anywhere: a report's breakdowns are tallied as they go
        from .breakdown_tally import BreakdownTally

        tally = BreakdownTally(scenario)
        accumulators.append(tally)
    lineage = None
    if sink is not None and not keep_mentions and cfg is not None:
        sink = lineage = _Lineage(sink)          # largest_cascade needs the cascade trees
    collector = Collector(model, index, keep_mentions, accumulators, sink)
    model.start()
    w0, end = 0.0, scenario.end
    while w0 < end:
        w1 = min(w0 + WINDOW, end)
        batch = source.window(w0, w1)
        first_ref, static = model.add_mentions(batch)
        model.run_window(first_ref, static, w1)
        collector.collect(w0, w1)
        w0 = w1
    series, agent_hours, busy = collector.series()
    cost = {name: hours * scenario.pools[name].cost_per_hour for name, hours in agent_hours.items()}
    extra = {"max_queue_length": float(collector.max_queue), "busy_hours": sum(busy.values())}
    if cfg is not None:
        extra["boosted_mentions"] = float(loop.created_by_breaches) if loop is not None else 0.0
    mention_metrics = stats.metrics()
    if lineage is not None:
        mention_metrics["largest_cascade"] = float(lineage.largest())
    rep = Replication(index, collector.mentions(), series, agent_hours, cost, extra, mention_metrics,
                      breakdown=tally)
    # summarised here, on the worker that ran it: the records are at hand, and a parallel run
    # does not summarise its replications one after another at the end
    return replace(rep, metrics=replication_metrics(scenario, rep))


class _Lineage:
    """Passes records on to a sink, counting cascade sizes from their ids and parents (taken
    in arrival order, as they become final)."""

    def __init__(self, sink):
        self.sink = sink
        self.held = HeldRecords()
        self.tally = CascadeTally()

    def add(self, record: dict[str, np.ndarray]) -> None:
        # copies: views would keep the day's whole settlement columns alive
        self.held.add({k: record[k].copy() for k in ("arrival", "id", "parent_id")})
        self.sink.add(record)

    def release(self, before: float) -> None:
        self._count(before)
        self.sink.release(before)

    def largest(self) -> int:
        """The largest cascade's size, once every record has been handed over."""
        self._count(math.inf)
        return self.tally.largest()

    def _count(self, before: float) -> None:
        rows = self.held.take(before)
        if rows is not None:
            self.tally.add(rows["id"], rows["parent_id"])


class ReplicationFailed(RuntimeError):
    """A replication raised: names which one, so it can be rerun alone with the same seed."""


class Task(NamedTuple):
    """One replication to run, as sent to a worker."""

    scenario: Scenario
    seed: np.random.SeedSequence
    index: int
    keep_mentions: bool
    mentions_csv: str | None = None   # where to write its rows as it runs (the header too, for 0)
    spare_core: bool = False          # a core free for a writer process beside it
    breakdowns: bool = True           # without records, tally the report's breakdowns


def _simulate_task(args, records_to: str | None = None) -> Replication:
    """A `Task` (or the tuple of its fields) -> Replication. With a path for `mentions_csv`, the
    replication's rows are written there as it runs rather than kept, by a process of their own
    if `spare_core`; with a folder `records_to` (`sim.spool`), kept records are written there as
    they become final."""
    task = Task(*args)
    scenario, seed, index = task.scenario, task.seed, task.index
    try:
        if task.mentions_csv is not None:
            return _simulate_to_csv(scenario, seed, index, task.mentions_csv, task.spare_core)
        if task.keep_mentions and records_to is not None:
            return _simulate_to_files(scenario, seed, index, records_to)
        return simulate(scenario, seed, index, task.keep_mentions, breakdowns=task.breakdowns)
    except RunawayArrivals:
        raise
    except Exception as exc:  # carry the replication number across process boundaries
        raise ReplicationFailed(f"replication {index} of '{scenario.name}' failed: {exc!r}") from exc


def _simulate_to_csv(scenario: Scenario, seed, index: int, path: str, spare_core: bool) -> Replication:
    from .mentions_csv import HEADER, open_stream

    with open(path, "wb") as f:
        f.write(HEADER if index == 0 else b"")
    stream = open_stream(path, scenario.channels, scenario.types, scenario.pools, spare_core)
    try:
        rep = simulate(scenario, seed, index, keep_mentions=False, sink=stream)
        stream.close()        # waits for the writer: Ctrl-C here must stop it too
    except BaseException:
        stream.close_quietly()
        raise
    return rep


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system tells)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return max(os.cpu_count() or 1, 1)


def _simulate_to_files(scenario: Scenario, seed, index: int, folder: str) -> Replication:
    """One replication whose records are written to `folder` as they become final
    (`sim.spool.RecordFiles`); where the folder takes no more (a full disk), the replication is
    run again keeping its records in memory (same seed, same records), which then take the
    pipe."""
    from .spool import RecordFiles

    sink = RecordFiles(folder, index)
    try:
        rep = simulate(scenario, seed, index, keep_mentions=False, sink=sink)
        log = sink.close(scenario.channels, scenario.types, scenario.pools)
    except OSError:
        sink.discard()
        return simulate(scenario, seed, index, keep_mentions=True)
    except BaseException:
        sink.discard()
        raise
    return replace(rep, mentions=log)


def local_processes(workers: int, tasks: int) -> int:
    """How many processes `execute` runs `tasks` on locally (1: this one)."""
    return 1 if workers <= 1 or tasks <= 1 else min(workers, tasks)


def execute(tasks: list, workers: int = 1, dask: str | None = None, on_done=None) -> list[Replication]:
    """Run replication tasks on an executor; results come back in task order whatever the
    executor (each task carries its own seed), `on_done(rep)` is called as each finishes."""
    results: dict[int, Replication] = {}

    def done(rep: Replication) -> None:
        results[rep.index] = rep
        if on_done:
            on_done(rep)

    if dask:
        from .distributed import run_on_dask

        run_on_dask(_simulate_task, tasks, dask, workers, done)
    elif (processes := local_processes(workers, len(tasks))) > 1:
        from concurrent.futures import ProcessPoolExecutor, as_completed   # loads multiprocessing
        from concurrent.futures.process import BrokenProcessPool

        from .spool import through_files

        with through_files(_simulate_task, done) as spool, \
                ProcessPoolExecutor(max_workers=processes) as pool:
            futures = [pool.submit(spool.task_fn, task) for task in tasks]
            try:
                for future in as_completed(futures):
                    spool.done(future.result())
            except BrokenProcessPool as exc:
                # a worker process died (killed, out of memory): every replication it may have
                # been running is named, so that each can be rerun alone with its seed
                lost = [task[2] for task in tasks if task[2] not in results]
                name = tasks[0][0].name
                raise ReplicationFailed(f"a worker process died with replications {', '.join(map(str, lost))} "
                                        f"of '{name}' unfinished; rerun them alone with the same seed") from exc
            except BaseException:
                for future in futures:           # report at once, do not wait for the rest
                    future.cancel()
                raise
    else:
        for task in tasks:
            done(_simulate_task(task))
    return [results[task[2]] for task in tasks]


def replication_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    """Replication i of every scenario run with `seed` gets the same child: common random numbers."""
    return np.random.SeedSequence(seed).spawn(n)


def run(scenario: Scenario, replications: int | None = None, seed: int | None = None,
        workers: int = 1, on_done=None, keep_mentions: bool = True, dask: str | None = None,
        mentions_to: str | os.PathLike | None = None, breakdowns: bool = True) -> RunResult:
    """Run replications with per-replication seeds spawned from the scenario seed.

    Results do not depend on `workers` or the executor: each replication's seed is fixed first.
    With a folder `mentions_to` (that the workers can write in), the records are not kept but
    written there as the replications run, one `mentions.csv` piece per replication
    (`RunResult.mentions_parts`, in order; the first holds the header); the statistics are
    those of the records kept. Without records (`keep_mentions=False`) and with `breakdowns`,
    each replication tallies the report's breakdowns (`RunResult.breakdown`); a run whose
    report nobody draws spares that.
    """
    n = scenario.replications if replications is None else replications
    seed = scenario.seed if seed is None else seed
    parts = tuple(os.path.join(mentions_to, f"mentions-{i}.csv") for i in range(n)) if mentions_to is not None else ()
    # a core to spare for writing mentions.csv beside each simulating process (a Dask cluster's
    # workers are taken to fill their machines)
    spare_core = dask is None and 2 * local_processes(workers, n) <= usable_cores()
    tasks = [Task(scenario, s, i, keep_mentions, parts[i] if parts else None, spare_core, breakdowns)
             for i, s in enumerate(replication_seeds(seed, n))]
    reps = execute(tasks, workers, dask, on_done)
    per_rep = [r.metrics for r in reps]
    return RunResult(scenario, seed, reps, summarize(per_rep), per_rep, parts)
