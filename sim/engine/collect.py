"""Window by window: settle mentions, turn recorded times into records and running statistics.

Outcomes are derived, not tracked: a responded-to mention not started by the time its patience
ran out abandoned at arrival + patience (exactly what the lazy check in the engine decided).
Time series are integrals of step functions: each window adds, for every mention alive in it,
its waiting and service intervals clipped to the window, so the sums over windows are exact and
nothing but the live mentions is kept in memory.
"""
from __future__ import annotations

import math

import numpy as np

from ..records import CSV_COLUMNS, OUTCOMES, SERIES_COLUMNS, HeldRecords, MentionLog, TimeSeries, empty_columns
from .model import CareModel
from .pools import scheduled_agent_minutes
from .table import DROP

OUT = {name: k for k, name in enumerate(OUTCOMES)}
NAN = math.nan
# Settled mentions a table may hold behind an unsettled one (a resolution starved for days, say)
# before it is compacted, once they also outnumber the unsettled ones.
COMPACT_AT = 4096


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


def max_level(starts: np.ndarray, stops: np.ndarray) -> int:
    """Largest number of simultaneously open intervals [start, stop)."""
    if len(starts) == 0:
        return 0
    times = np.concatenate([starts, stops])
    steps = np.concatenate([np.ones(len(starts)), -np.ones(len(stops))])
    order = np.lexsort((steps, times))      # at ties, departures first
    return int(np.cumsum(steps[order]).max())


def _clip(starts, stops, lo, hi):
    s, e = np.maximum(starts, lo), np.minimum(stops, hi)
    keep = e > s
    return s[keep], e[keep]


class Collector:
    """Settles mentions at the end of each window and keeps the replication's statistics."""

    def __init__(self, model: CareModel, index: int, keep_mentions: bool, accumulators=(), sink=None):
        sc = model.scenario
        self.model, self.scenario, self.index = model, sc, index
        self.keep = keep_mentions
        self.accumulators = tuple(accumulators)   # each `add(log)`s the settled mentions
        # gets the records as they settle (`add`), and after each window the earliest arrival
        # still to be settled (`release`): every record arrived before it is final
        self.sink = sink
        self.end, self.warmup = sc.end, sc.warmup
        edges = np.append(np.arange(self.warmup, self.end, sc.report_interval), self.end)
        if len(edges) > 2 and edges[-1] - edges[-2] < 1e-9:
            edges = edges[:-1]
        self.edges = edges
        n_pools, n_bins = len(model.pools), len(edges) - 1
        self.levels = {k: np.zeros((n_pools, n_bins)) for k in ("ack_queue", "resolve_queue", "busy_agents")}
        self.arrivals = np.zeros(n_bins)
        self.max_queue = 0
        self.kept = HeldRecords()
        self.both = model.both
        self.settled = np.zeros(0, dtype=bool)   # per mention the table holds

    def collect(self, w0: float, w1: float) -> None:
        """Add window [w0, w1) to the statistics, then settle what is finished and let the
        table forget the settled mentions ahead of the first unsettled one, or, when many
        settled ones sit behind it, every settled mention (`CareModel.compact`)."""
        table = self.model.table
        static = table.static()
        n = len(table)
        if n == 0:
            return
        settled = self.settled
        if len(settled) < n:
            settled = np.concatenate([settled, np.zeros(n - len(settled), dtype=bool)])
        live = np.flatnonzero(~settled & (static["arrival"] < w1))
        if len(live):
            # usually the unsettled mentions are one run of refs: take views, not copies
            rows = slice(live[0], live[-1] + 1) if live[-1] - live[0] + 1 == len(live) else live
            self._collect(w0, w1, {k: v[rows] for k, v in static.items()},
                          {k: v[rows] for k, v in table.recorded().items()}, live, settled)
        if w1 >= self.end:
            settled[:] = True
        cut = int(np.argmin(settled)) if not settled.all() else n
        # settled mentions behind the first unsettled one, held only for their place
        held = int(settled[cut:].sum())
        if held > max(COMPACT_AT, n - cut - held):
            self.model.compact(~settled)       # costs about what it frees: O(1) a mention
            self.settled = np.zeros(len(table), dtype=bool)
        else:
            table.drop(cut)
            self.settled = settled[cut:]
        if self.sink is not None:
            # mentions registered later arrive at w1 or after (follow-ons come after their cause)
            waiting = table.static()["arrival"][~self.settled]
            self.sink.release(min(w1, float(waiting.min())) if len(waiting) else w1)

    def _collect(self, w0: float, w1: float, c: dict, rec: dict, live: np.ndarray, settled: np.ndarray) -> None:
        c["ack_start"], c["ack_done"], c["res_ready"] = rec["ack_start"], rec["ack_done"], rec["res_ready"]
        c["resolve_start"], c["resolve_done"] = rec["res_start"], rec["res_done"]
        c["dropped"] = (c["move"] == DROP) & ~np.isnan(c["ack_done"]) & (not self.both)
        responded = c["first_pool"] >= 0
        abandoned = responded & np.isnan(c["ack_start"]) & (c["gives_up"] <= w1)
        c["abandoned_at"] = np.where(abandoned, c["gives_up"], NAN)
        self._window_statistics(c, responded, w0, w1)
        done = ~responded | ~np.isnan(c["resolve_done"]) | c["dropped"] | abandoned
        if w1 >= self.end:
            done[:] = True
        if not done.any():
            return
        settled[live[done]] = True
        if done.all():
            self._settle(c, responded)
        else:
            self._settle({k: v[done] for k, v in c.items()}, responded[done])

    def _window_statistics(self, c, responded, w0, w1) -> None:
        first_pool, res_pool = c["first_pool"], c["res_pool"]   # routed as triaged
        lo, hi = max(w0, self.warmup), w1
        if hi <= lo:
            return
        edges = self.edges
        k0 = max(int(np.searchsorted(edges, lo, side="right")) - 1, 0)
        k1 = int(np.searchsorted(edges, hi, side="left"))
        sub = edges[k0:k1 + 1].copy()
        sub[0], sub[-1] = max(sub[0], lo), min(sub[-1], hi)
        arrival = c["arrival"]
        in_window = (arrival >= lo) & (arrival < hi)
        self.arrivals[k0:k1] += np.histogram(arrival[in_window], bins=sub)[0]
        ack_stop = np.fmin(np.fmin(c["ack_start"], c["abandoned_at"]), hi)   # fmin: never NaN
        res_waiting = ~np.isnan(c["res_ready"])
        res_stop = np.where(np.isnan(c["resolve_start"]), hi, c["resolve_start"])
        # conversations in hand, whatever the pool: from their start to their end (or `hi`)
        acking, resolving = ~np.isnan(c["ack_start"]), ~np.isnan(c["resolve_start"])
        ack_end = np.where(np.isnan(c["ack_done"]), hi, c["ack_done"])
        res_end = np.where(np.isnan(c["resolve_done"]), hi, c["resolve_done"])
        all_s, all_e = [], []
        for pool in self.model.pools:
            p = pool.index
            sel = responded & (first_pool == p)
            s, e = _clip(arrival[sel], ack_stop[sel], lo, hi)
            all_s.append(s), all_e.append(e)
            self.levels["ack_queue"][p, k0:k1] += occupancy_integral(s, e, sub)
            sel = res_waiting & (res_pool == p)
            s, e = _clip(c["res_ready"][sel], res_stop[sel], lo, hi)
            all_s.append(s), all_e.append(e)
            self.levels["resolve_queue"][p, k0:k1] += occupancy_integral(s, e, sub)
            sel = acking & (first_pool == p)
            starts, stops = [c["ack_start"][sel]], [ack_end[sel]]
            if not self.both:
                sel = resolving & (res_pool == p)
                starts.append(c["resolve_start"][sel])
                stops.append(res_end[sel])
            s, e = _clip(np.concatenate(starts), np.concatenate(stops), lo, hi)
            self.levels["busy_agents"][p, k0:k1] += occupancy_integral(s, e, sub) / pool.spec.concurrency
        self.max_queue = max(self.max_queue, max_level(np.concatenate(all_s), np.concatenate(all_e)))

    def _settle(self, c, responded) -> None:
        first_pool, res_pool = c["first_pool"], c["res_pool"]
        end = self.end
        n = len(c["id"])
        outcome = np.full(n, OUT["open"], dtype=np.int64)
        outcome[~np.isnan(c["ack_done"])] = OUT["acknowledged"]
        outcome[~np.isnan(c["resolve_done"])] = OUT["resolved"]
        outcome[c["dropped"]] = OUT["dropped"]
        outcome[~np.isnan(c["abandoned_at"])] = OUT["abandoned"]
        outcome[~responded] = OUT["ignored"]

        def breached(done, due):
            # late, or never served once the deadline has passed (undecided at the horizon: 0)
            return (done > due) | (np.isnan(done) & (due <= end))

        record = {
            "replication": np.full(n, self.index, dtype=np.int64),
            "id": c["id"], "parent_id": c["parent_id"], "arrival": c["arrival"], "channel": c["channel"],
            "type": c["type"], "triaged_as": c["triaged_as"], "followers": c["followers"],
            "origin": c["origin"], "ack_expected_by": c["ack_expected_by"],
            "resolve_expected_by": c["resolve_expected_by"], "ack_start": c["ack_start"],
            "ack_done": c["ack_done"], "resolve_start": c["resolve_start"], "resolve_done": c["resolve_done"],
            "abandoned_at": c["abandoned_at"],
            "pool": np.where(responded, np.where(np.isnan(c["resolve_start"]), first_pool, res_pool), -1),
            "outcome": outcome,
            "ack_breached": breached(c["ack_done"], c["ack_expected_by"]),
            "resolve_breached": breached(c["resolve_done"], c["resolve_expected_by"]),
        }
        after = record["arrival"] >= self.warmup
        if not after.all():               # past the warm-up every row stays: no copy
            record = {k: v[after] for k, v in record.items()}
        if self.keep:
            self.kept.add(record)
        if self.sink is not None:
            self.sink.add(record)
        if self.accumulators:
            log = self.log(record)
            for accumulator in self.accumulators:
                accumulator.add(log)

    def log(self, record: dict[str, np.ndarray]) -> MentionLog:
        sc = self.scenario
        return MentionLog(record, tuple(sc.channels), tuple(sc.types), tuple(sc.pools))

    def mentions(self) -> MentionLog | None:
        """All kept records, sorted by arrival (None when records were not kept)."""
        if not self.keep:
            return None
        rows = self.kept.take(math.inf)
        if rows is None:   # nobody arrived: an empty log, not "records not kept"
            rows = empty_columns()
        return self.log({name: rows[name] for name in CSV_COLUMNS})

    def series(self) -> tuple[TimeSeries, dict[str, float], dict[str, float]]:
        """(time series, agent hours per pool, busy hours per pool)."""
        edges, model = self.edges, self.model
        widths = np.diff(edges)
        k = len(widths)
        rows: dict[str, list] = {name: [] for name in SERIES_COLUMNS}
        rep, time, pool_col = [], [], []
        agent_hours, busy_hours = {}, {}
        for pool in model.pools:
            p = pool.index
            duty = scheduled_agent_minutes(pool.changes, edges)
            agent_hours[pool.name] = (duty.sum() + pool.overtime) / 60.0
            busy_hours[pool.name] = float(self.levels["busy_agents"][p].sum()) / 60.0
            rep.append(np.full(k, self.index, dtype=np.int64))
            time.append(edges[:-1])
            pool_col.append(np.full(k, p, dtype=np.int64))
            rows["arrivals"].append(self.arrivals)
            for name in ("ack_queue", "resolve_queue", "busy_agents"):
                rows[name].append(self.levels[name][p] / widths)
            rows["agents_on_duty"].append(duty / widths)
        values = {name: np.concatenate(v) for name, v in rows.items()}
        series = TimeSeries(np.concatenate(rep), np.concatenate(time), np.concatenate(pool_col), values,
                            tuple(p.name for p in model.pools))
        return series, agent_hours, busy_hours
