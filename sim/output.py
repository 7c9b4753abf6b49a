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
from .mentions_csv import HEADER, TIME_DECIMALS, row_chunks
from .records import SERIES_COLUMNS, MentionLog, TimeSeries
from .runner import RunResult
from .scenario import dump_scenario


def mentions_csv(log: MentionLog) -> str:
    """The mentions table as CSV text, columns as in the output contract."""
    return (HEADER + b"".join(row_chunks(log))).decode("utf-8")


def write_mentions_csv(log: MentionLog, path: Path) -> None:
    """The same bytes as `mentions_csv`, written in chunks so memory stays small."""
    with open(path, "wb") as f:
        f.write(HEADER)
        for chunk in row_chunks(log):
            f.write(chunk)


def join_files(parts, path: Path) -> None:
    """`path` made of the files `parts` one after another; they are gone afterwards (a single
    part is moved, not copied, when it can be)."""
    if len(parts) == 1:
        try:
            os.replace(parts[0], path)
            return
        except OSError:   # another file system
            pass
    with open(path, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
            os.remove(part)


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


# The files that mark a folder as caresim's own outputs (of `run`, of `compare`): such a folder
# may be replaced by a new run's; any other folder that holds files is left alone.
OUTPUT_MARKERS = ("summary.json", "comparison.json")


def replaceable(out_dir: Path) -> bool:
    """Whether outputs may be written to `out_dir`: it does not exist, is an empty folder, or
    holds caresim's outputs (which are then replaced whole)."""
    out_dir = Path(out_dir)
    if not out_dir.exists():
        return True
    if not out_dir.is_dir() or out_dir.resolve() == Path.cwd().resolve():
        return False
    try:
        return not any(out_dir.iterdir()) or any((out_dir / name).is_file() for name in OUTPUT_MARKERS)
    except OSError:   # a folder that cannot be listed cannot be replaced either: the write says why
        return True


def not_replaceable(out_dir: Path) -> str:
    """Why outputs may not go to `out_dir` (see `replaceable`)."""
    return (f"{out_dir}: exists and is not a caresim output folder (it holds other files, or is the "
            "working folder, and writing there would replace it); choose another -o folder")


@contextmanager
def atomic_folder(out_dir: Path):
    """Yield a temporary folder beside `out_dir`; on success it replaces `out_dir` in one rename,
    on any failure it is removed, so no half-written output folder is ever left. A folder that
    holds files but not caresim's outputs is never replaced (`FileExistsError`)."""
    out_dir = Path(out_dir)
    if not replaceable(out_dir):
        raise FileExistsError(not_replaceable(out_dir))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)   # mkdtemp makes it private; the result is an ordinary folder
    try:
        yield tmp
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            try:
                out_dir.rename(old / out_dir.name)
            except OSError:
                old.rmdir()
                raise
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


@contextmanager
def pieces_folder(out_dir: Path, enabled: bool = True):
    """A folder beside `out_dir` for the pieces of mentions.csv a run writes as it goes (None
    when not `enabled`); removed at exit with whatever is left in it."""
    if not enabled:
        yield None
        return
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    folder = tempfile.mkdtemp(prefix=f".{out_dir.name}.mentions.", dir=out_dir.parent)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_outputs(result: RunResult, out_dir: Path, mentions: bool = True, report: bool = True) -> Path:
    """Write every output file of a run into `out_dir`, atomically (temp folder, then rename)."""
    with atomic_folder(out_dir) as tmp:
        (tmp / "summary.json").write_text(summary_json(result), encoding="utf-8")
        if mentions and result.mentions_parts:
            join_files(result.mentions_parts, tmp / "mentions.csv")
        elif mentions and result.mentions is not None:
            write_mentions_csv(result.mentions, tmp / "mentions.csv")
        (tmp / "timeseries.csv").write_text(timeseries_csv(result.series), encoding="utf-8")
        (tmp / "scenario.yaml").write_text(scenario_yaml(result), encoding="utf-8")
        if report:
            from .report import write_report

            write_report(result, tmp)
    return Path(out_dir)
