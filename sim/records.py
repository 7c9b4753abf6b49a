"""The event log of a run: one record per mention, one row per interval, as NumPy columns.

The engine fills these; every metric, table and plot is a pure function of them
(`sim.metrics`), so each can be tested on a hand-made log.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ORIGINS = ("base", "cascade", "incident")
OUTCOMES = ("resolved", "acknowledged", "abandoned", "ignored", "dropped", "open")
# Float columns hold minutes since minute 0; NaN where a time never came.
TIME_COLUMNS = (
    "arrival", "ack_expected_by", "resolve_expected_by", "ack_start", "ack_done",
    "resolve_start", "resolve_done", "abandoned_at",
)
# Integer columns; categorical ones are indices into the lists kept beside them
# (channel -> channels, type/triaged_as -> types, pool -> pools, origin -> ORIGINS,
# outcome -> OUTCOMES); -1 means none (no parent, no pool).
INT_COLUMNS = (
    "replication", "id", "parent_id", "channel", "type", "triaged_as", "followers", "origin",
    "pool", "outcome",
)
BOOL_COLUMNS = ("ack_breached", "resolve_breached")
CSV_COLUMNS = (
    "replication", "id", "parent_id", "arrival", "channel", "type", "triaged_as", "followers",
    "origin", "ack_expected_by", "resolve_expected_by", "ack_start", "ack_done", "resolve_start",
    "resolve_done", "abandoned_at", "pool", "outcome", "ack_breached", "resolve_breached",
)


def category_names(channels, types, pools) -> dict[str, tuple[str, ...]]:
    """The names the codes of each categorical column stand for."""
    return {"channel": tuple(channels), "type": tuple(types), "triaged_as": tuple(types),
            "pool": tuple(pools), "origin": ORIGINS, "outcome": OUTCOMES}


SERIES_COLUMNS = ("arrivals", "ack_queue", "resolve_queue", "busy_agents", "agents_on_duty")


class GrowingArray:
    """A 1-D array appended to in place. Capacity doubles, so each value is copied a bounded
    number of times; a large array's capacity not yet used is never touched, so it takes no
    memory. Kept samples live in one block rather than in a small array per day, which would
    leave the heap holed between the day's short-lived arrays."""

    def __init__(self, dtype):
        self._buf = np.empty(1024, dtype=dtype)
        self._n = 0

    def extend(self, values: np.ndarray) -> None:
        end = self._n + len(values)
        if end > len(self._buf):
            grown = np.empty(max(end, 2 * len(self._buf)), dtype=self._buf.dtype)
            grown[:self._n] = self._buf[:self._n]
            self._buf = grown
        self._buf[self._n:end] = values
        self._n = end

    def array(self) -> np.ndarray:
        """The values so far (a view: valid until the next `extend`)."""
        return self._buf[:self._n]


def arrival_order(arrival: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Positions of records by arrival, then id: the order of `mentions.csv`. Records come
    nearly in arrival order, which a stable sort exploits; ties in arrival, all but impossible,
    take the full two-key sort."""
    order = np.argsort(arrival, kind="stable")
    ordered = arrival[order]
    if (ordered[1:] == ordered[:-1]).any():
        order = np.lexsort((ids, arrival))
    return order


class HeldRecords:
    """Settled records held until they are final: `add` them as they settle, in any order;
    `take(before)` returns those that arrived before `before`, in the order of `mentions.csv`
    (None if none), and keeps the rest."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []   # same columns, `arrival` and `id` among them

    def add(self, record: dict[str, np.ndarray]) -> None:
        if len(record["arrival"]):
            self.parts.append(record)

    def take(self, before: float) -> dict[str, np.ndarray] | None:
        """Each part's rows go straight to their sorted places: one copy of every column, not
        a concatenation and then a sort."""
        held = self.parts
        if not held:
            return None
        arrival = held[0]["arrival"] if len(held) == 1 else np.concatenate([p["arrival"] for p in held])
        ready = arrival < before
        n = int(np.count_nonzero(ready))
        if n == 0:
            return None
        every = n == len(arrival)
        ids = held[0]["id"] if len(held) == 1 else np.concatenate([p["id"] for p in held])
        taken = slice(None) if every else np.flatnonzero(ready)
        order = arrival_order(arrival[taken], ids[taken])
        place = np.empty(len(arrival), dtype=np.int64)     # sorted place of each ready row
        place[order if every else taken[order]] = np.arange(n)
        bounds = np.cumsum([0, *(len(p["arrival"]) for p in held)])
        # per part: where its ready rows go, and which they are (None: all of them)
        parts, rest = [], []
        for p, lo, hi in zip(held, bounds[:-1], bounds[1:]):
            r = None if every else ready[lo:hi]
            if r is None or r.all():
                parts.append((p, place[lo:hi], None))
            elif r.any():
                parts.append((p, place[lo:hi][r], r))
                rest.append({k: v[~r] for k, v in p.items()})
            else:
                rest.append(p)
        self.parts = rest
        rows = {}
        for k in held[0]:
            out = np.empty(n, dtype=np.result_type(*(p[k] for p, _, _ in parts)))
            for p, to, r in parts:
                out[to] = p[k] if r is None else p[k][r]
            rows[k] = out
        return rows


def empty_columns() -> dict[str, np.ndarray]:
    """The columns of a log without a row (nobody arrived), in the order of `CSV_COLUMNS`."""
    dtypes = {**{name: float for name in TIME_COLUMNS}, **{name: np.int64 for name in INT_COLUMNS},
              **{name: bool for name in BOOL_COLUMNS}}
    return {name: np.zeros(0, dtype=dtypes[name]) for name in CSV_COLUMNS}


@dataclass(frozen=True)
class MentionLog:
    """Columns of the mention records (any number of replications concatenated)."""

    columns: dict[str, np.ndarray]
    channels: tuple[str, ...]
    types: tuple[str, ...]
    pools: tuple[str, ...]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def select(self, mask: np.ndarray, columns: tuple[str, ...] | None = None) -> "MentionLog":
        """The rows where `mask` holds (only the named `columns`, when given)."""
        names = self.columns if columns is None else columns
        return MentionLog({k: self.columns[k][mask] for k in names}, self.channels, self.types, self.pools)

    @staticmethod
    def concat(logs: list["MentionLog"]) -> "MentionLog":
        first = logs[0]
        if len(logs) == 1:   # nothing to join: spare a copy of every column
            return first
        cols = {k: np.concatenate([log.columns[k] for log in logs]) for k in first.columns}
        return MentionLog(cols, first.channels, first.types, first.pools)


@dataclass(frozen=True)
class TimeSeries:
    """Per pool and `report_interval`: arrivals (count, all pools alike) and time-averaged levels.

    `ack_queue`, `resolve_queue`, `busy_agents` and `agents_on_duty` are averages over the
    interval (so interval length x queue = total waiting time in it, which is what Little's law
    needs); arrivals count the mentions arriving in the interval.
    """

    replication: np.ndarray
    time: np.ndarray          # start of the interval, minutes
    pool: np.ndarray          # index into pools
    values: dict[str, np.ndarray]
    pools: tuple[str, ...]

    @staticmethod
    def concat(series: list["TimeSeries"]) -> "TimeSeries":
        first = series[0]
        return TimeSeries(
            np.concatenate([s.replication for s in series]),
            np.concatenate([s.time for s in series]),
            np.concatenate([s.pool for s in series]),
            {k: np.concatenate([s.values[k] for s in series]) for k in first.values},
            first.pools,
        )


@dataclass(frozen=True)
class Replication:
    """Everything one replication produced (warm-up arrivals already removed from `mentions`).

    `mentions` is None when records were not kept (streaming; in transit from a worker, a
    `sim.spool.SpooledLog`). `mention_metrics` holds the summary metrics of the mentions, fed
    a day at a time as they settle; `metrics` holds every summary metric of the replication
    (`sim.metrics.replication_metrics`), worked out where it ran. `breakdown` holds the report's
    breakdowns tallied the same way (`sim.breakdown_tally.BreakdownTally`) when neither the
    records nor a stream of them were kept (`--no-mentions`), else None.
    """

    index: int
    mentions: MentionLog | None
    series: TimeSeries
    agent_hours: dict[str, float]    # per pool: scheduled plus overtime finishing work in hand
    cost: dict[str, float]           # per pool
    extra: dict[str, float] = field(default_factory=dict)
    mention_metrics: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    breakdown: object | None = None   # a BreakdownTally (not imported here: records stay light)
