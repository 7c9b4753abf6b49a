"""Peak memory of a long streaming run: one year at 20,000 mentions a day with `--no-mentions`.

Runs the whole `caresim run` command in a child process and reads its peak resident set size,
for three ways of running it: `--no-mentions` (statistics only); `--no-report` (mentions.csv
written as the run goes, records never held); and with the report drawn (the records kept in
memory, as the report needs them), the last over one month only.
Goal (docs/performance.md): under 500 MB for the year with `--no-mentions`.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def scenario(days: int) -> dict:
    """A big brand: 20,000 mentions a day, 24/7 team sized for ~85 % occupancy, cascades on."""
    return {
        "name": f"memory_{days}d",
        "horizon": f"{days}d",
        "warmup": "1d",
        "replications": 1,
        "seed": 1,
        "report_interval": "1h",
        "arrivals": {
            "rate": "20000/d",
            "daily_profile": "retail",
            "types": {"complaint": 0.3, "question": 0.3, "praise": 0.1, "noise": 0.3},
            "channels": {"twitter": 0.6, "facebook": 0.4},
            "cascades": {"branching": 0.1, "decay": "30m", "breach_boost": 1.5},
        },
        "expectations": {"patience": {"default": {"mean": "6h"}}},
        "pools": {"team": {"agents": 70, "cost_per_hour": 30}},
        "handling": {"acknowledge": {"dist": "lognormal", "mean": "1m", "cv": 0.5},
                     "resolve": {"dist": "lognormal", "mean": "4m", "cv": 1.0}},
        "policy": {"respond_to": ["complaint", "question", "praise"]},
    }


MODES = {
    "none": (["--no-mentions", "--no-report"], "--no-mentions"),
    "csv": (["--no-report"], "mentions.csv streamed (--no-report)"),
    "report": ([], "records kept, report drawn"),
}


def measure(days: int, mode: str) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one `caresim run` child process."""
    caresim = ROOT / ".venv" / "bin" / "caresim"
    command = [str(caresim)] if caresim.exists() else [sys.executable, "-m", "sim.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_text(yaml.safe_dump(scenario(days)))
        args = [*command, "run", str(path), "-o", str(Path(tmp) / "out"), "--workers", "1", "--quiet",
                *MODES[mode][0]]
        started = time.perf_counter()
        pid = subprocess.Popen(args).pid
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - started
        if status != 0:
            raise SystemExit(f"caresim run failed with status {status}")
    return usage.ru_maxrss / 1024.0, seconds


GOAL_MB = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    print(f"{'case':<55} {'peak RSS':>10} {'time':>8}")
    goal = None
    for days, mode in ((30, "report"), (30, "csv"), (30, "none"), (args.days, "csv"), (args.days, "none")):
        rss, seconds = measure(days, mode)
        print(f"{f'{days} days, {MODES[mode][1]}':<55} {rss:>7.0f} MB {seconds:>7.1f}s", flush=True)
        if mode == "none" and days == args.days:
            goal = rss
    verdict = "met" if goal < GOAL_MB else "NOT met"
    print(f"goal: one year with --no-mentions under {GOAL_MB} MB: {verdict} ({args.days} days: {goal:.0f} MB)")


if __name__ == "__main__":
    main()
