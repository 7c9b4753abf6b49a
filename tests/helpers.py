"""Builders shared by several test files: hand-made logs and scenario variants."""
from __future__ import annotations

import copy
import math

import numpy as np

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
