"""Write a run's files: summary.json, mentions.csv, timeseries.csv, plots and report.html.

Everything goes into a temporary folder beside the destination, renamed into place at the end,
so a failed or interrupted run never leaves a half-written output folder.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import csv_bytes
from .records import CSV_COLUMNS, SERIES_COLUMNS, MentionLog, TimeSeries, category_names
from .runner import RunResult
from .scenario import dump_scenario

TIME_DECIMALS = 4


def _mention_cells(log: MentionLog, lo: int, hi: int) -> list[np.ndarray]:
    cat = category_names(log.channels, log.types, log.pools)
    cols = []
    for name in CSV_COLUMNS:
        v = log[name][lo:hi]
        if name in cat:
            cols.append(csv_bytes.names(v, cat[name]))
        elif v.dtype.kind == "f":
            cols.append(csv_bytes.fixed(v, TIME_DECIMALS))
        elif v.dtype.kind == "b":
            cols.append(csv_bytes.flags(v))
        else:
            cols.append(csv_bytes.integers(v, blank_negative=name == "parent_id"))
    return cols


# Rows formatted at a time: bounds the byte matrices (a few hundred bytes a row) in memory.
CSV_CHUNK = 50_000


def _mention_chunks(log: MentionLog):
    yield (",".join(CSV_COLUMNS) + "\n").encode("utf-8")
    for lo in range(0, len(log), CSV_CHUNK):
        yield csv_bytes.rows_bytes(_mention_cells(log, lo, lo + CSV_CHUNK))


def mentions_csv(log: MentionLog) -> str:
    """The mentions table as CSV text, columns as in the output contract."""
    return b"".join(_mention_chunks(log)).decode("utf-8")


def write_mentions_csv(log: MentionLog, path: Path) -> None:
    """The same bytes as `mentions_csv`, written in chunks so memory stays small."""
    with open(path, "wb") as f:
        for chunk in _mention_chunks(log):
            f.write(chunk)


def timeseries_csv(series: TimeSeries) -> str:
    header = ("replication", "time", "pool", *SERIES_COLUMNS)
    arrivals = series.values["arrivals"]
    if arrivals.dtype.kind == "f":   # counts kept as floats; written as int(x), as they always were
        arrivals = np.array([int(x) for x in arrivals.tolist()], dtype=np.int64)
    cols = [
        csv_bytes.integers(series.replication),
        csv_bytes.fixed(series.time, TIME_DECIMALS),
        csv_bytes.names(series.pool, series.pools),
        *(csv_bytes.fixed(series.values[k], TIME_DECIMALS) if k != "arrivals" else csv_bytes.integers(arrivals)
          for k in SERIES_COLUMNS),
    ]
    body = csv_bytes.rows_bytes(cols) if len(series.time) else b""
    return ",".join(header) + "\n" + body.decode("utf-8")


def _clean(x: float):
    return None if isinstance(x, float) and (math.isnan(x) or math.isinf(x)) else x


def summary_json(result: RunResult) -> str:
    doc = {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "replications": len(result.replications),
        "metrics": {k: {s: _clean(v) for s, v in m.items()} for k, m in result.summary.items()},
    }
    return json.dumps(doc, indent=2) + "\n"


def scenario_yaml(result: RunResult) -> str:
    return dump_scenario(result.scenario)


@contextmanager
def atomic_folder(out_dir: Path):
    """Yield a temporary folder beside `out_dir`; on success it replaces `out_dir` in one rename,
    on any failure it is removed, so no half-written output folder is ever left."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)   # mkdtemp makes it private; the result is an ordinary folder
    try:
        yield tmp
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            out_dir.rename(old / out_dir.name)
            try:
                tmp.rename(out_dir)
            except OSError:
                (old / out_dir.name).rename(out_dir)   # put the previous outputs back
                shutil.rmtree(old, ignore_errors=True)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_outputs(result: RunResult, out_dir: Path, mentions: bool = True, report: bool = True) -> Path:
    """Write every output file of a run into `out_dir`, atomically (temp folder, then rename)."""
    with atomic_folder(out_dir) as tmp:
        (tmp / "summary.json").write_text(summary_json(result), encoding="utf-8")
        if mentions and result.mentions is not None:
            write_mentions_csv(result.mentions, tmp / "mentions.csv")
        (tmp / "timeseries.csv").write_text(timeseries_csv(result.series), encoding="utf-8")
        (tmp / "scenario.yaml").write_text(scenario_yaml(result), encoding="utf-8")
        if report:
            from .report import write_report

            write_report(result, tmp)
    return Path(out_dir)
