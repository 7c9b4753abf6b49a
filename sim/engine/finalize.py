"""Turn the engine's recorded times into the event log: outcomes, breaches, time series.

Outcomes are derived, not tracked: a responded-to mention not started by the time its patience
ran out abandoned at arrival + patience (exactly what the lazy check in the engine decided), and
so on. The time series are integrals of step functions computed from the same records.
"""
from __future__ import annotations

import numpy as np

from ..records import OUTCOMES, MentionLog, TimeSeries
from .model import CareModel
from .pools import scheduled_agent_minutes, staffing_changes

OUT = {name: k for k, name in enumerate(OUTCOMES)}


def occupancy_integral(starts: np.ndarray, stops: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Integral over each [edges[k], edges[k+1]) of the number of open intervals [start, stop)."""
    a = np.sort(starts)
    b = np.sort(stops)
    ca = np.concatenate([[0.0], np.cumsum(a)])
    cb = np.concatenate([[0.0], np.cumsum(b)])
    na = np.searchsorted(a, edges, side="right")
    nb = np.searchsorted(b, edges, side="right")
    g = (na * edges - ca[na]) - (nb * edges - cb[nb])   # integral from -inf to each edge
    return np.diff(g)


def max_level(starts: np.ndarray, stops: np.ndarray, lo: float) -> int:
    """Largest number of simultaneously open intervals at or after `lo`."""
    if len(starts) == 0:
        return 0
    times = np.concatenate([starts, stops])
    steps = np.concatenate([np.ones(len(starts)), -np.ones(len(stops))])
    order = np.lexsort((steps, times))      # at ties, departures first
    level = np.cumsum(steps[order])
    t = times[order]
    before = level[t < lo]
    start_level = before[-1] if len(before) else 0.0
    after = level[t >= lo]
    return int(max(start_level, after.max() if len(after) else 0.0))


def build_records(model: CareModel, columns: dict[str, np.ndarray], replication: int):
    """(MentionLog without warm-up arrivals, TimeSeries, agent hours per pool, extra figures)."""
    sc = model.scenario
    end, warmup = model.end, model.warmup
    arrival = np.asarray(model.arrival)
    n = len(arrival)
    f = lambda xs: np.asarray(xs, dtype=float)
    ack_start, ack_done = f(model.ack_start), f(model.ack_done)
    res_ready, res_start, res_done = f(model.res_ready), f(model.res_start), f(model.res_done)
    triaged = np.asarray(model.triaged, dtype=np.int64)
    typ = np.asarray(model.type, dtype=np.int64)
    channel = np.asarray(model.channel, dtype=np.int64)
    respond_table = np.asarray(model.respond, dtype=bool)
    responded = respond_table[triaged]
    gives_up = f(model.gives_up)
    dropped = np.asarray(model.dropped, dtype=bool)

    abandoned = responded & np.isnan(ack_start) & (gives_up <= end)
    abandoned_at = np.where(abandoned, gives_up, np.nan)
    outcome = np.full(n, OUT["open"], dtype=np.int64)
    outcome[~np.isnan(ack_done)] = OUT["acknowledged"]
    outcome[~np.isnan(res_done)] = OUT["resolved"]
    outcome[dropped] = OUT["dropped"]
    outcome[abandoned] = OUT["abandoned"]
    outcome[~responded] = OUT["ignored"]

    ack_due = f(model.ack_due)
    res_due = f(model.res_due)

    def breached(done: np.ndarray, due: np.ndarray) -> np.ndarray:
        # late, or never served once the deadline has passed (undecided at the horizon: 0)
        late = done > due
        never = np.isnan(done) & (due <= end)
        return late | never

    ack_breached = breached(ack_done, ack_due)
    res_breached = breached(res_done, res_due)

    ack_pool = np.asarray(model.ack_pool_of)[channel]
    res_pool = np.asarray(model.res_pool_of)[channel, typ]
    first_pool = np.where(ack_pool >= 0, ack_pool, res_pool)
    pool_col = np.where(responded, np.where(np.isnan(res_start), first_pool, res_pool), -1)

    both = model.policy.stage_of_first_reply == 2
    series, busy_minutes, on_duty_minutes = _series(
        model, arrival, responded, ack_start, ack_done, res_ready, res_start, res_done,
        abandoned_at, first_pool, res_pool, both, replication,
    )
    keep = arrival >= warmup
    cols = {
        "replication": np.full(n, replication, dtype=np.int64),
        "id": columns["id"],
        "parent_id": columns["parent_id"],
        "arrival": arrival,
        "channel": channel,
        "type": typ,
        "triaged_as": triaged,
        "followers": np.asarray(model.followers, dtype=np.int64),
        "origin": columns["origin"],
        "ack_expected_by": ack_due,
        "resolve_expected_by": res_due,
        "ack_start": ack_start,
        "ack_done": ack_done,
        "resolve_start": res_start,
        "resolve_done": res_done,
        "abandoned_at": abandoned_at,
        "pool": pool_col,
        "outcome": outcome,
        "ack_breached": ack_breached,
        "resolve_breached": res_breached,
    }
    log = MentionLog({k: v[keep] for k, v in cols.items()}, tuple(sc.channels), tuple(sc.types), tuple(sc.pools))
    waiting_starts = np.concatenate([arrival[responded], res_ready[~np.isnan(res_ready)]])
    waiting_stops = np.concatenate([
        np.fmin(np.fmin(ack_start, abandoned_at), end)[responded],
        np.fmin(res_start, end)[~np.isnan(res_ready)],
    ])
    agent_hours = {pool.name: (on_duty_minutes[pool.name] + pool.overtime) / 60.0 for pool in model.pools}
    extra = {
        "max_queue_length": float(max_level(waiting_starts, waiting_stops, warmup)),
        "busy_hours": sum(busy_minutes.values()) / 60.0,
    }
    return log, series, agent_hours, extra


def _series(model, arrival, responded, ack_start, ack_done, res_ready, res_start, res_done,
            abandoned_at, first_pool, res_pool, both, replication):
    end, warmup = model.end, model.warmup
    step = model.scenario.report_interval
    edges = np.append(np.arange(warmup, end, step), end)
    if edges[-1] - edges[-2] < 1e-9:
        edges = edges[:-1]
    widths = np.diff(edges)
    arrivals = np.histogram(arrival, bins=edges)[0].astype(float)
    rows = {k: [] for k in ("replication", "time", "pool", "arrivals", "ack_queue", "resolve_queue", "busy_agents", "agents_on_duty")}
    busy_minutes, on_duty_minutes = {}, {}
    ack_stop = np.fmin(np.fmin(ack_start, abandoned_at), end)
    for pool in model.pools:
        p = pool.index
        sel = responded & (first_pool == p)
        ack_q = occupancy_integral(arrival[sel], ack_stop[sel], edges)
        rsel = ~np.isnan(res_ready) & (res_pool == p)
        res_q = occupancy_integral(res_ready[rsel], np.fmin(res_start[rsel], end), edges)
        # agent time: first replies in this pool, plus resolutions (once, under with_resolution)
        asel = ~np.isnan(ack_start) & (first_pool == p)
        starts = [ack_start[asel]]
        stops = [np.fmin(ack_done[asel], end)]
        if not both:
            ssel = ~np.isnan(res_start) & (res_pool == p)
            starts.append(res_start[ssel])
            stops.append(np.fmin(res_done[ssel], end))
        busy = occupancy_integral(np.concatenate(starts), np.concatenate(stops), edges) / pool.spec.concurrency
        changes = staffing_changes(pool.spec, model.week_offset, end)
        duty = np.array([scheduled_agent_minutes(changes, a, b) for a, b in zip(edges[:-1], edges[1:])])
        busy_minutes[pool.name] = float(busy.sum())
        on_duty_minutes[pool.name] = float(duty.sum())
        k = len(widths)
        rows["replication"].append(np.full(k, replication, dtype=np.int64))
        rows["time"].append(edges[:-1])
        rows["pool"].append(np.full(k, p, dtype=np.int64))
        rows["arrivals"].append(arrivals)
        rows["ack_queue"].append(ack_q / widths)
        rows["resolve_queue"].append(res_q / widths)
        rows["busy_agents"].append(busy / widths)
        rows["agents_on_duty"].append(duty / widths)
    cat = {k: np.concatenate(v) for k, v in rows.items()}
    series = TimeSeries(
        cat.pop("replication"), cat.pop("time"), cat.pop("pool"), cat, tuple(p.name for p in model.pools)
    )
    return series, busy_minutes, on_duty_minutes
