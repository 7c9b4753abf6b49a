"""Write a run's files: summary.json, mentions.csv, timeseries.csv, plots and report.html.

Everything goes into a temporary folder beside the destination, renamed into place at the end,
so a failed or interrupted run never leaves a half-written output folder.
"""
from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import yaml

from .records import CSV_COLUMNS, ORIGINS, OUTCOMES, SERIES_COLUMNS, MentionLog, TimeSeries
from .runner import RunResult

TIME_DECIMALS = 4


def _times(values: np.ndarray) -> list[str]:
    return ["" if x != x else f"{x:.{TIME_DECIMALS}f}" for x in values.tolist()]


def _names(codes: np.ndarray, names) -> list[str]:
    names = list(names)
    return ["" if c < 0 else names[c] for c in codes.tolist()]


def mentions_csv(log: MentionLog) -> str:
    """The mentions table as CSV text, columns as in the output contract."""
    cat = {"channel": log.channels, "type": log.types, "triaged_as": log.types, "pool": log.pools,
           "origin": ORIGINS, "outcome": OUTCOMES}
    cols = []
    for name in CSV_COLUMNS:
        v = log[name]
        if name in cat:
            cols.append(_names(v, cat[name]))
        elif v.dtype.kind == "f":
            cols.append(_times(v))
        elif v.dtype.kind == "b":
            cols.append(["1" if x else "0" for x in v.tolist()])
        elif name == "parent_id":
            cols.append(["" if x < 0 else str(x) for x in v.tolist()])
        else:
            cols.append([str(x) for x in v.tolist()])
    lines = [",".join(CSV_COLUMNS)]
    lines += [",".join(row) for row in zip(*cols)]
    return "\n".join(lines) + "\n"


def timeseries_csv(series: TimeSeries) -> str:
    header = ("replication", "time", "pool", *SERIES_COLUMNS)
    cols = [
        [str(x) for x in series.replication.tolist()],
        _times(series.time),
        _names(series.pool, series.pools),
        *(_times(series.values[k]) if k != "arrivals" else [str(int(x)) for x in series.values[k].tolist()]
          for k in SERIES_COLUMNS),
    ]
    return "\n".join([",".join(header)] + [",".join(r) for r in zip(*cols)]) + "\n"


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
    return yaml.safe_dump(result.scenario.model_dump(mode="json", by_alias=True), sort_keys=False)


def write_outputs(result: RunResult, out_dir: Path, mentions: bool = True, report: bool = True) -> Path:
    """Write every output file of a run into `out_dir`, atomically (temp folder, then rename)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        (tmp / "summary.json").write_text(summary_json(result), encoding="utf-8")
        if mentions and result.mentions is not None:
            (tmp / "mentions.csv").write_text(mentions_csv(result.mentions), encoding="utf-8")
        (tmp / "timeseries.csv").write_text(timeseries_csv(result.series), encoding="utf-8")
        (tmp / "scenario.yaml").write_text(scenario_yaml(result), encoding="utf-8")
        if report:
            from .report import write_report

            write_report(result, tmp)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            out_dir.rename(old / out_dir.name)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
