"""The Python API for notebooks: `sim.run`, `sim.compare`, `sim.load`, `sim.variant`.

Thin wrappers over the runner and the comparison, the same functions the command line calls;
what they add is convenience for interactive work: a scenario may be a file, a mapping or a
`Scenario`, and the result knows how to show itself as a table, an array, a DataFrame or the
report's figures.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import singledispatch
from pathlib import Path

import numpy as np

from .comparison import CORE_METRICS, Comparison
from .comparison import compare as _compare
from .differences import format_estimate, metric_words
from .progress import Progress
from .records import CSV_COLUMNS, SERIES_COLUMNS, category_names
from .runner import RunResult
from .runner import run as _run
from .scenario import load_scenario, parse_scenario, read_scenario_data
from .scenario.models import Scenario

ScenarioSource = str | os.PathLike | Mapping | Scenario


@singledispatch
def load(source) -> Scenario:
    """A validated `Scenario` from a file path, a mapping shaped like a scenario file, or a Scenario."""
    raise TypeError(f"a scenario is a file path, a mapping or a Scenario, not {type(source).__name__}")


@load.register
def _(source: Scenario) -> Scenario:
    return source


@load.register(str)
@load.register(os.PathLike)
def _(source) -> Scenario:
    return load_scenario(source)


@load.register(Mapping)
def _(source) -> Scenario:
    return parse_scenario(dict(source))


def _merge(base: dict, changes: Mapping) -> dict:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def scenario_data(source: str | os.PathLike | Mapping) -> dict:
    """A scenario file's contents as plain data (units still as written: `15m`, `120/h`), read
    as `load_scenario` reads it (`ScenarioError` for a file that is not a scenario's)."""
    if isinstance(source, Mapping):
        return dict(source)
    return read_scenario_data(source)


def variant(base: str | os.PathLike | Mapping, changes: Mapping, name: str | None = None) -> Scenario:
    """A new scenario: `base` (file or mapping) with `changes` merged in, key by key (lists
    are replaced whole), validated like a file. `name` renames it."""
    data = _merge(scenario_data(base), changes)
    if name is not None:
        data["name"] = name
    return parse_scenario(data)


def _names(codes: np.ndarray, names) -> np.ndarray:
    """Category codes as their names, "" for -1; an array, where `sim.output`'s helper gives CSV text."""
    table = np.array(list(names) + [""], dtype=str)
    return table[np.where(codes < 0, len(table) - 1, codes)]


@dataclass(frozen=True, repr=False)
class Result(RunResult):
    """A run's result (`sim.runner.RunResult`) with notebook conveniences."""

    @classmethod
    def of(cls, result: RunResult) -> "Result":
        return cls(**{f.name: getattr(result, f.name) for f in fields(RunResult)})

    def __repr__(self) -> str:
        return (f"<caresim result {self.scenario.name!r}: {len(self.replications)} replications, "
                f"seed {self.seed}, {len(self.mentions):,} mentions>")

    def summary_table(self, text: bool = False, metrics: Sequence[str] | None = None) -> list[dict] | str:
        """The summary as rows `{metric, words, mean, ci_low, ci_high}`, or (`text=True`) as a
        printable table; `metrics` picks rows (default: every metric)."""
        names = list(self.summary) if metrics is None else [m for m in metrics if m in self.summary]
        rows = [{"metric": m, "words": metric_words(m, self.scenario), **self.summary[m]} for m in names]
        if not text:
            return rows
        cells = [(r["words"], r["metric"], format_estimate(r["metric"], r["mean"], r["ci_low"], r["ci_high"]))
                 for r in rows]
        header = ("metric", "name", "mean [95 % CI]")
        widths = [max(len(c[i]) for c in [header, *cells]) for i in range(2)]
        return "\n".join(f"{c[0]:<{widths[0]}}  {c[1]:<{widths[1]}}  {c[2]}".rstrip() for c in [header, *cells])

    def core_table(self) -> str:
        """The contract's headline metrics as a printable table."""
        return self.summary_table(text=True, metrics=CORE_METRICS)

    def mentions_array(self) -> np.ndarray:
        """Every mention of every replication as a NumPy structured array with the columns of
        mentions.csv: times in minutes (NaN where a time never came), categories as strings,
        `parent_id` -1 for a root, breaches as booleans."""
        log = self.mentions
        cat = category_names(log.channels, log.types, log.pools)
        columns = {}
        for name in CSV_COLUMNS:
            values = np.asarray(log[name])
            columns[name] = _names(values, cat[name]) if name in cat else values
        array = np.empty(len(log), dtype=[(n, columns[n].dtype) for n in CSV_COLUMNS])
        for name in CSV_COLUMNS:
            array[name] = columns[name]
        return array

    def series_array(self) -> np.ndarray:
        """The time series (timeseries.csv) as a structured array: replication, time, pool, levels."""
        s = self.series
        pool = _names(np.asarray(s.pool), s.pools)
        names = ("replication", "time", "pool", *SERIES_COLUMNS)
        columns = {"replication": np.asarray(s.replication), "time": np.asarray(s.time), "pool": pool,
                   **{k: np.asarray(s.values[k]) for k in SERIES_COLUMNS}}
        array = np.empty(len(pool), dtype=[(n, columns[n].dtype) for n in names])
        for name in names:
            array[name] = columns[name]
        return array

    def to_pandas(self, table: str = "mentions"):
        """The mentions (or `table="series"`) as a pandas DataFrame; categories as `category` dtype."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas() needs pandas (pip install pandas); "
                              "mentions_array() gives the same table as a NumPy structured array") from None
        array = {"mentions": self.mentions_array, "series": self.series_array}[table]()
        frame = pd.DataFrame({name: array[name] for name in array.dtype.names})
        for name in array.dtype.names:
            if array.dtype[name].kind == "U":
                frame[name] = frame[name].astype("category")
        return frame

    def plot_queues(self):
        """The report's queues-and-staffing figure (a matplotlib Figure)."""
        from .report.plots import queues_figure

        return queues_figure(self.series, self.scenario)

    def plot_ack_vs_expectation(self):
        """The report's acknowledgement-time against customer-expectation figure."""
        from .report.plots import ack_vs_expectation_figure

        return ack_vs_expectation_figure(self._breakdowns(), self.scenario)

    def plot_breach_by_hour(self):
        """The report's breach-rate-by-hour-of-day figure."""
        from .report.plots import breach_by_hour_figure

        return breach_by_hour_figure(self._breakdowns(), self.scenario)

    def _breakdowns(self):
        """The records, else the tally, the report's breakdowns come from (every replication
        counted)."""
        from .breakdown_tally import run_breakdowns

        found = run_breakdowns(self)
        if found is None:
            raise ValueError("this run kept neither its records nor a tally of them (breakdowns=False)")
        return found

    def write(self, out_dir: str | os.PathLike | None = None, report: bool = True) -> Path:
        """Write the run's files (summary.json, mentions.csv, …, report.html), as `caresim run` does."""
        from .output import write_outputs

        return write_outputs(self, Path("outputs") / self.scenario.name if out_dir is None else Path(out_dir),
                             report=report)


def run(scenario: ScenarioSource, replications: int | None = None, seed: int | None = None,
        workers: int = 1, progress: bool | None = None, dask: str | None = None) -> Result:
    """Run a scenario (file, mapping or Scenario) and return its `Result`.

    `replications` and `seed` override the scenario's; results do not depend on `workers` or
    on `dask` (a Dask scheduler's address, or "local": docs/scaling.md).
    `progress=None` shows a bar on a terminal for runs longer than a couple of seconds.
    """
    sc = load(scenario)
    n = sc.replications if replications is None else replications
    with Progress(n, sc.name, enabled=False if progress is False else None) as bar:
        result = _run(sc, replications=n, seed=seed, workers=workers, on_done=lambda rep: bar.advance(), dask=dask)
    return Result.of(result)


def compare(scenarios: Sequence[ScenarioSource], replications: int | None = None, seed: int | None = None,
            workers: int = 1, labels: Sequence[str] | None = None, progress: bool | None = None,
            dask: str | None = None) -> Comparison:
    """Run scenarios on common random numbers and pair them with the first (see `sim.comparison`),
    on `workers` local processes or a Dask cluster (`dask`), as `run`.

    Seed and replications default to the first scenario's. The result gives `table()`,
    `verdict(i, metric)`, `differences`, the figures and `write(dir)`.
    """
    loaded = [load(s) for s in scenarios]
    if not loaded:
        raise ValueError("a comparison needs at least two scenarios")
    n = loaded[0].replications if replications is None else replications
    names = list(labels) if labels is not None else [s.name for s in loaded]
    with Progress(n * len(loaded), names[0], enabled=False if progress is False else None) as bar:
        done = bar.advancer(names, n)
        return _compare(loaded, replications=n, seed=seed, workers=workers, labels=labels, on_done=done, dask=dask)
