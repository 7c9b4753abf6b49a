"""Builders shared by several test files: hand-made logs and scenario variants."""
from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest

from sim.arrivals.source import WINDOW, ArrivalSource
from sim.records import CSV_COLUMNS, OUTCOMES, TIME_COLUMNS, MentionLog
from sim.scenario import parse_scenario


def make_log(channels=("twitter",), types=("complaint",), pools=("social",), **given) -> MentionLog:
    """A log with the given columns; the rest filled with NaN times, zeros and `resolved`
    (ids count from 0, no parents)."""
    n = len(next(iter(given.values())))
    given.setdefault("id", np.arange(n))
    given.setdefault("parent_id", np.full(n, -1))
    columns = {}
    for name in CSV_COLUMNS:
        if name in given:
            columns[name] = np.asarray(given[name])
        elif name in TIME_COLUMNS:
            columns[name] = np.full(n, math.nan)
        elif name == "outcome":
            columns[name] = np.full(n, OUTCOMES.index("resolved"))
        elif name in ("ack_breached", "resolve_breached"):
            columns[name] = np.zeros(n, dtype=bool)
        else:
            columns[name] = np.zeros(n, dtype=int)
    return MentionLog(columns, tuple(channels), tuple(types), tuple(pools))


def variant(base: dict, **changes):
    """Scenario from `base` with top-level keys replaced and `policy` keys merged."""
    data = copy.deepcopy(base)
    policy = changes.pop("policy", None)
    data.update(copy.deepcopy(changes))
    if policy:
        data["policy"] = {**data.get("policy", {}), **policy}
    return parse_scenario(data)


def draw_all(sc, seed: np.random.SeedSequence) -> dict[str, np.ndarray]:
    """Every mention the open-loop generator hands out over the horizon, a day at a time as a
    replication asks for them, joined (arrival order within each day)."""
    source = ArrivalSource(sc, seed)
    parts, w0 = [], 0.0
    while w0 < sc.end:
        w1 = min(w0 + WINDOW, sc.end)
        batch = source.window(w0, w1)
        if batch:
            parts.append(batch)
        w0 = w1
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO.parent / "shared" / "examples"   # the shared example scenarios, beside the repository


def example_params() -> list:
    """The shared example files as test parameters; when there are none, one skipped case that
    says so (CI may run without them), so their absence shows in the test report instead of
    passing unseen."""
    files = sorted(EXAMPLES.glob("*.yaml")) if EXAMPLES.is_dir() else []
    if not files:
        skip = pytest.mark.skip(reason=f"no shared example scenarios at {EXAMPLES} (not part of the repository)")
        return [pytest.param(None, id="examples", marks=skip)]
    return [pytest.param(p, id=f"examples/{p.name}") for p in files]
