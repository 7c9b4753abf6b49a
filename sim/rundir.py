"""Read a run's output folder back: `mentions.csv` as a `MentionLog`, `timeseries.csv` as a
`TimeSeries`, and the few scenario facts that give them meaning (calendar start, warm-up,
horizon, who gets answered) from `scenario.yaml`.

`caresim story` and `caresim animate` work from a folder alone, long after the run.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import yaml

from .records import (BOOL_COLUMNS, CSV_COLUMNS, SERIES_COLUMNS, TIME_COLUMNS, MentionLog, TimeSeries,
                      category_names)
from .scenario.models import YEARS
from .scenario.units import parse_duration


class RunFolderError(Exception):
    """A run folder lacks a file or holds one that cannot be read; the message says which."""


@dataclass(frozen=True)
class RunInfo:
    """What a run folder says about its scenario (times in minutes since minute 0)."""

    name: str
    start: datetime
    warmup: float
    horizon: float
    respond_to: tuple[str, ...] | None   # None: every type gets a reply
    acknowledge: str                      # acknowledgement policy
    types: tuple[str, ...]
    channels: tuple[str, ...]

    @property
    def end(self) -> float:
        return self.warmup + self.horizon


def _minutes(value, key: str, path: Path) -> float:
    try:
        return float(value) if isinstance(value, (int, float)) else parse_duration(str(value))
    except (TypeError, ValueError) as exc:
        raise RunFolderError(f"{path}: {key}: expected a duration, got {value!r}") from exc


def read_info(folder: Path) -> RunInfo:
    """The scenario facts of a run folder, from its `scenario.yaml`."""
    path = Path(folder) / "scenario.yaml"
    if not path.is_file():
        raise RunFolderError(f"{folder}: no scenario.yaml (is this a caresim run folder?)")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, yaml.YAMLError) as exc:
        problem = getattr(exc, "problem", None) or (str(exc) if isinstance(exc, ValueError) else exc.__class__.__name__)
        raise RunFolderError(f"{path}: cannot read it ({problem})") from exc
    try:
        return _info(doc, folder, path)
    except (AttributeError, TypeError) as exc:   # a section that is not a mapping, a list that is not one
        raise RunFolderError(f"{path}: not a scenario as caresim writes it ({exc})") from exc


def _info(doc: dict, folder: Path, path: Path) -> RunInfo:
    start = doc.get("start", "2026-01-05T00:00:00")
    try:
        start = start if isinstance(start, datetime) else datetime.fromisoformat(str(start))
    except ValueError as exc:
        raise RunFolderError(f"{path}: start: expected a calendar time, got {start!r}") from exc
    if not YEARS[0] <= start.year <= YEARS[1]:   # the years a scenario may start in
        raise RunFolderError(f"{path}: start: expected a calendar time between the years {YEARS[0]} and "
                             f"{YEARS[1]}, got {start!r}")
    arrivals, policy = doc.get("arrivals") or {}, doc.get("policy") or {}
    names = {"types": list(arrivals.get("types") or {}), "channels": list(arrivals.get("channels") or {})}
    for incident in arrivals.get("incidents") or []:
        for key in names:
            names[key] += [n for n in incident.get(key) or {} if n not in names[key]]
    respond = policy.get("respond_to")
    if respond is not None and not (isinstance(respond, list) and all(isinstance(t, str) for t in respond)):
        raise RunFolderError(f"{path}: policy.respond_to: expected a list of types, got {respond!r}")
    return RunInfo(
        name=str(doc.get("name", Path(folder).name)),
        start=start.replace(tzinfo=None),
        warmup=_minutes(doc.get("warmup", 0.0), "warmup", path),
        horizon=_minutes(doc.get("horizon", 0.0), "horizon", path),
        respond_to=tuple(respond) if respond else None,
        acknowledge=str(policy.get("acknowledge", "realtime")),
        types=tuple(names["types"]),
        channels=tuple(names["channels"]),
    )


def read_summary(folder: Path) -> dict:
    """`summary.json` as a dict (empty if the folder has none)."""
    path = Path(folder) / "summary.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{path}: cannot read it: {exc}") from exc


def _rows(path: Path, expected: tuple[str, ...], hint: str) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        raise RunFolderError(f"{path.parent}: no {path.name}{hint}")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            rows = list(reader)
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path}: cannot read it: {exc}") from exc
    missing = [c for c in expected if c not in header]
    if missing:
        raise RunFolderError(f"{path}: missing columns {', '.join(missing)}")
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise RunFolderError(f"{path}: line {line}: {len(row)} fields where the header has {len(header)}")
    return header, rows


def _names(values: list[str], known: tuple[str, ...]) -> tuple[str, ...]:
    seen = list(known)
    for v in values:
        if v and v not in seen:
            seen.append(v)
    return tuple(seen)


def read_mentions(folder: Path, info: RunInfo | None = None) -> MentionLog:
    """`mentions.csv` of a run folder as a `MentionLog` (channel and type lists in the
    scenario's order, then any others as met)."""
    path = Path(folder) / "mentions.csv"
    header, rows = _rows(path, CSV_COLUMNS, " (was the run made with --no-mentions?)")
    cols = {name: [r[header.index(name)] for r in rows] for name in CSV_COLUMNS}
    info = info or read_info(folder)
    channels = _names(cols["channel"], info.channels)
    types = _names(cols["type"] + cols["triaged_as"], info.types)
    pools = _names(cols["pool"], ())
    cats = category_names(channels, types, pools)
    out: dict[str, np.ndarray] = {}
    try:
        for name, values in cols.items():
            if name in TIME_COLUMNS:
                out[name] = np.array([float(v) if v else math.nan for v in values], dtype=float)
            elif name in BOOL_COLUMNS:
                out[name] = np.array([v == "1" for v in values], dtype=bool)
            elif name in cats:
                index = {n: k for k, n in enumerate(cats[name])}
                out[name] = np.array([index[v] if v else -1 for v in values], dtype=np.int64)
            else:
                out[name] = np.array([int(v) if v else -1 for v in values], dtype=np.int64)
    except (ValueError, KeyError) as exc:
        raise RunFolderError(f"{path}: column {name}: unreadable value {exc}") from exc
    return MentionLog(out, channels, types, pools)


def read_series(folder: Path) -> TimeSeries:
    """`timeseries.csv` of a run folder as a `TimeSeries`."""
    path = Path(folder) / "timeseries.csv"
    header, rows = _rows(path, ("replication", "time", "pool", *SERIES_COLUMNS), "")
    at = {name: header.index(name) for name in header}
    pools = _names([r[at["pool"]] for r in rows], ())
    index = {n: k for k, n in enumerate(pools)}
    try:
        replication = np.array([int(r[at["replication"]]) for r in rows], dtype=np.int64)
        time = np.array([float(r[at["time"]]) for r in rows], dtype=float)
        pool = np.array([index.get(r[at["pool"]], -1) for r in rows], dtype=np.int64)
        values = {name: np.array([float(r[at[name]]) if r[at[name]] else math.nan for r in rows], dtype=float)
                  for name in SERIES_COLUMNS}
    except ValueError as exc:
        raise RunFolderError(f"{path}: unreadable value: {exc}") from exc
    return TimeSeries(replication, time, pool, values, pools)


def answered(log: MentionLog, info: RunInfo) -> np.ndarray:
    """Mask of the mentions whose true type the team means to answer."""
    if info.respond_to is None:
        return np.ones(len(log), dtype=bool)
    table = np.array([t in info.respond_to for t in log.types], dtype=bool)
    return table[log["type"]] if len(table) else np.zeros(len(log), dtype=bool)


__all__ = ["RunFolderError", "RunInfo", "answered", "read_info", "read_mentions", "read_series", "read_summary"]
