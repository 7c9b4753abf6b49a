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


# The scenario the executor and streaming tests run: seed and replications of their runs.
SEED = 2024
REPLICATIONS = 4


def every_input_scenario():
    """Every random input in play: two stages, schedules, patience, triage, a channel move,
    cascades with the closed loop and an incident; two days so that it runs in a second."""
    return parse_scenario({
        "name": "executors", "horizon": "2d", "warmup": "6h", "seed": 1, "replications": REPLICATIONS,
        "start": "2026-01-05T00:00", "report_interval": "1h",
        "arrivals": {
            "rate": "20/h", "daily_profile": "retail",
            "types": {"complaint": 0.4, "question": 0.3, "noise": 0.3},
            "channels": {"twitter": 0.6, "facebook": 0.4},
            "cascades": {"branching": 0.2, "reach_elasticity": 0.2, "max_branching": 0.8, "decay": "30m",
                         "breach_boost": 2.0},
            "incidents": [{"at": "1d 19:00", "mentions": 150, "decay": "1h"}],
        },
        "expectations": {"acknowledge": {"default": {"median": "1h", "sigma": 1.0}},
                         "resolve": {"default": {"median": "1d", "sigma": 1.0}},
                         "patience": {"default": {"mean": "4h"}}},
        "pools": {
            "social": {"schedule": [{"days": "daily", "from": "07:00", "to": "23:00", "agents": 2},
                                    {"days": "daily", "from": "23:00", "to": "07:00", "agents": 1}]},
            "specialists": {"agents": 1, "stages": ["resolve"]},
        },
        "handling": {"acknowledge": {"dist": "lognormal", "mean": "1.5m", "cv": 0.6},
                     "resolve": {"complaint": {"dist": "lognormal", "mean": "8m", "cv": 1.0},
                                 "default": {"dist": "exponential", "mean": "3m"}}},
        "routing": {"resolve": {"complaint": "specialists"},
                    "move_channel": {"share": 0.3, "delay": "30m", "follow_through": 0.8}},
        "policy": {"respond_to": ["complaint", "question"], "triage_accuracy": 0.9},
    })


def write_yaml(path: Path, data: dict) -> Path:
    """A scenario mapping written as a YAML file at `path` (returned)."""
    import yaml

    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
