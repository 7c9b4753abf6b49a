"""How many mentions per second caresim simulates, against reference M/M/c models run in this process.

Prints four tables:

1. the reference models' customers per second (idiomatic SimPy, Ciw, a bare heapq event loop);
2. each caresim case in process (`sim.runner.run`, one replication): mentions per second, ratio
   to idiomatic SimPy and to Ciw on the same queue, fraction of the heapq ceiling;
3. arrival generation alone (`ArrivalSource(scenario, seed).window(...)` over the horizon, no
   engine): microseconds per mention, and its share of the whole replication;
4. the whole `caresim run` process on a long M/M/c horizon, `--no-report`, with and without
   `--no-mentions`, with the same ratios;

then the goals of docs/performance.md, each marked met or not. Every figure is the median over a
few runs (seeds 1, 2, ...), all in-process cases interleaved round by round so that a change in
machine load hits them alike. Run from anywhere: `python benchmarks/throughput.py [--repeats N]`.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import baselines  # noqa: E402  (benchmarks/ is on the path above)
from machine import load, machine, versions  # noqa: E402

HORIZON_DAYS = 3  # 3 simulated days at 9/min: about 39,000 mentions a run
# the whole-process runs: a month (about 390,000 mentions) and a quarter (1.2 million); the
# goals are read on the longest, where the start-up (a third of a second) weighs least
LONG_DAYS = (30, 90)
BASELINE_DAYS = 56  # baseline.yaml over 8 weeks (~40,000 mentions), warm-up folded into the horizon
PATIENCE = "10m"
PATIENCE_MINUTES = 10.0  # the same, for the reference models
BUDGET_SECONDS = 120.0  # fewer rounds (never below 3) when one round of every case is slow
PROCESS_RUNS = 5  # whole-process runs per variant (median)
# mmc.yaml's queue, used when the scenario package cannot be read: 9/min, mean work 1 min, 10 agents.
MMC_FALLBACK = (9.0, 1.0, 10)
# Goals from the issue on speed and scale (ratios; "process" = whole `caresim run` process).
GOALS = (
    ("mmc.yaml, whole process: x idiomatic SimPy", "process mmc", "idiomatic SimPy", False, 3.0),
    ("mmc.yaml, whole process --no-mentions: x idiomatic SimPy", "process mmc --no-mentions", "idiomatic SimPy", False, 3.0),
    ("mmc.yaml, whole process: x Ciw", "process mmc", "Ciw", False, 6.0),
    ("mmc.yaml, whole process --no-mentions: x Ciw", "process mmc --no-mentions", "Ciw", False, 6.0),
    ("mmc.yaml + patience, whole process: x SimPy reneging", "process patience", "idiomatic SimPy", True, 4.0),
    ("mmc.yaml + patience, in process: x SimPy reneging", "mmc.yaml + patience", "idiomatic SimPy", True, 4.0),
    ("baseline, in process: x idiomatic SimPy M/M/c", "baseline", "idiomatic SimPy", False, 1.5),
)

REFERENCES = {
    "idiomatic SimPy": baselines.run_idiomatic_simpy,
    "Ciw": baselines.run_ciw_mmc,
    "heapq loop (ceiling)": baselines.run_heapq_mmc,
}
Measure = Callable[[int], tuple[int, float]]  # seed -> (customers or mentions, seconds)
Runs = list[tuple[int, float]] | Exception  # a measure's runs, or what it raised


def mmc_file() -> Path:
    shared = ROOT.parent / "shared" / "examples" / "mmc.yaml"
    return shared if shared.exists() else ROOT / "scenarios" / "mmc.yaml"


def mmc_data(patience: bool, days: int = HORIZON_DAYS) -> dict:
    """mmc.yaml as a dict over `days`, without warm-up (every simulated mention is counted)."""
    data = yaml.safe_load(mmc_file().read_text(encoding="utf-8"))
    data["horizon"], data["warmup"] = f"{days}d", 0
    if patience:
        data.setdefault("expectations", {}).setdefault("patience", {})["default"] = {"mean": PATIENCE}
    return data


def cascade_heavy_data(days: int = HORIZON_DAYS) -> dict:
    """The M/M/c team (10 agents, 1 min of work, one reply that resolves) under cascade-heavy arrivals.

    A base stream of 3.5/min; every mention draws 0.5 follow-ons at median reach, more with reach
    (elasticity 0.3, capped at 0.85), within half an hour on average; a complaint left waiting past
    its author's expectation (median 5 min) draws twice as many from then on (the closed loop).
    About 11,000 mentions a day, 55 % of them cascade follow-ons, ~5 % caused by breaches; the team
    is ~78 % busy.
    """
    return {
        "name": "cascade_heavy", "horizon": f"{days}d", "warmup": 0, "replications": 1, "seed": 1,
        "arrivals": {
            "rate": "3.5/m",
            "types": {"complaint": 0.5, "question": 0.3, "noise": 0.2},
            "channels": {"twitter": 1.0},
            "followers": {"median": 250, "sigma": 1.8},
            "cascades": {"branching": 0.5, "reach_elasticity": 0.3, "max_branching": 0.85, "decay": "30m",
                         "breach_boost": 2.0},
        },
        "expectations": {"acknowledge": {"default": {"median": "5m", "sigma": 1.0}},
                         "resolve": {"default": {"median": "1d", "sigma": 1.0}}},
        "pools": {"team": {"agents": 10}},
        "handling": {"resolve": {"default": {"dist": "exponential", "mean": "1m"}}},
        "policy": {"acknowledge": "with_resolution"},
    }


def mmc_queue(scenario) -> tuple[float, float, int]:
    """(arrival rate per minute, mean work in minutes, agents) of an M/M/c scenario."""
    agents = sum(pool.agents for pool in scenario.pools.values())
    return scenario.arrivals.rate, scenario.handling.resolve["default"].mean, agents


def reference_measure(run, queue: tuple[float, float, int], horizon: float, patience_mean: float | None) -> Measure:
    rate, mean, servers = queue
    return lambda seed: run(rate, mean, servers, horizon, seed, patience_mean)


def caresim_measure(scenario, run) -> Measure:
    """One replication through `sim.runner.run`: generation, engine, records and summary."""
    def measure(seed: int) -> tuple[int, float]:
        start = time.perf_counter()
        result = run(scenario, replications=1, seed=seed)
        seconds = time.perf_counter() - start
        return len(result.replications[0].mentions), seconds

    return measure


def generation_measure(scenario) -> Measure:
    """Arrival generation alone: every window of one replication's `ArrivalSource`, no engine.

    The source is seeded as replication 0 of `run(seed=...)` is. Without the engine no complaint
    breaches, so the closed loop's extra follow-ons (drawn during the run) are not in this figure.
    """
    from sim.arrivals.source import WINDOW, ArrivalSource
    from sim.runner import replication_seeds

    def measure(seed: int) -> tuple[int, float]:
        start = time.perf_counter()
        source = ArrivalSource(scenario, replication_seeds(seed, 1)[0])
        count, w0 = 0, 0.0
        while w0 < scenario.end:
            w1 = min(w0 + WINDOW, scenario.end)
            count += len(source.window(w0, w1).get("arrival", ()))
            w0 = w1
        return count, time.perf_counter() - start

    return measure


def offspring_rate(seed: int = 1, roots: int = 200_000) -> float:
    """Follow-ons per second of the vectorised cascade construction alone (the cascade-heavy mix)."""
    from sim.arrivals.cascades import branching_factors, cascade_offspring
    from sim.scenario.models import Cascades

    cfg = Cascades(branching=0.5, reach_elasticity=0.3, max_branching=0.85, decay=30.0)
    rng = np.random.default_rng(seed)
    followers = np.rint(250 * np.exp(1.8 * rng.standard_normal(roots)))
    times = np.sort(rng.uniform(0, 100_000.0, roots))
    rates = []
    for _ in range(5):
        start = time.perf_counter()
        off = cascade_offspring(times, branching_factors(followers, cfg, 250), cfg, 250, 1.8, np.inf, rng, 10**9)
        rates.append(len(off) / (time.perf_counter() - start))
    return statistics.median(rates)


def interleaved(measures: dict[str, Measure], repeats: int, budget: float) -> dict[str, Runs]:
    """Run every measure once per round, round after round (round r uses seed r).

    After the first round the number of rounds is cut, never below 3, to stay near `budget`
    seconds. A measure that raises is dropped; its exception stands in place of its runs.
    """
    runs: dict[str, Runs] = {name: [] for name in measures}
    rounds, seed = repeats, 1
    while seed <= rounds:
        start = time.perf_counter()
        for name, measure in measures.items():
            if isinstance(runs[name], Exception):
                continue
            try:
                runs[name].append(measure(seed))
            except Exception as exc:  # noqa: BLE001  (report and go on: a benchmark, not a test)
                runs[name] = exc
        if seed == 1:
            affordable = int(budget / max(time.perf_counter() - start, 1e-9))
            rounds = min(repeats, max(3, affordable))
        seed += 1
    return runs


def median_rate(runs: list[tuple[int, float]]) -> tuple[float, int]:
    """Median of count/seconds over runs; returns (rate, count of the median run)."""
    rates = [count / seconds for count, seconds in runs]
    median = statistics.median(rates)
    count = min(runs, key=lambda r: abs(r[0] / r[1] - median))[0]
    return median, count


def caresim_command() -> list[str]:
    exe = Path(sys.executable).parent / "caresim"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("caresim")
    return [found] if found else [sys.executable, "-m", "sim.cli"]


def whole_process(data: dict, seed: int, no_mentions: bool) -> tuple[int, float]:
    """Time `caresim run FILE -o DIR --replications 1 --no-report [--no-mentions]` end to end.

    Mentions are read from summary.json (one replication, no warm-up: every simulated mention).
    """
    with tempfile.TemporaryDirectory() as tmp:
        path, out = Path(tmp) / f"{data['name']}.yaml", Path(tmp) / "out"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        args = [*caresim_command(), "run", str(path), "-o", str(out), "--replications", "1", "--workers", "1",
                "--seed", str(seed), "--no-report", "--quiet"]
        if no_mentions:
            args.append("--no-mentions")
        start = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines() or [""]
            raise RuntimeError(f"exit status {done.returncode}: {said[-1][:300]}")
        if (out / "mentions.csv").exists() == no_mentions:
            raise RuntimeError("mentions.csv written with --no-mentions, or missing without it")
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return int(summary["metrics"]["mentions"]["mean"]), seconds


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def ratio(value: float, reference: float | None, percent: bool = False) -> str:
    if reference is None:
        return "-"
    return f"{100 * value / reference:.1f} %" if percent else f"{value / reference:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure, median reported (default 5)")
    parser.add_argument("--long-days", type=int, nargs="+", default=list(LONG_DAYS),
                        help="horizons of the whole-process runs in days; goals read on the longest "
                             f"(default {' '.join(map(str, LONG_DAYS))})")
    args = parser.parse_args()
    repeats = max(1, args.repeats)
    horizon = HORIZON_DAYS * 1440.0
    notes: list[str] = []
    failed = False
    started = time.perf_counter()

    try:
        from sim.scenario import load_scenario, parse_scenario
        from sim.runner import run
    except ImportError as exc:
        print(f"caresim is not importable ({exc}): install it first (make bench)")
        return 1

    # caresim cases: label -> (scenario, compared with the reneging references?)
    cases: dict[str, tuple[object, bool]] = {}
    for label, with_patience in (("mmc.yaml", False), ("mmc.yaml + patience", True)):
        cases[label] = (parse_scenario(mmc_data(with_patience), mmc_file()), with_patience)
    queue = mmc_queue(cases["mmc.yaml"][0])
    baseline = ROOT / "scenarios" / "baseline.yaml"
    if baseline.exists():
        scenario = load_scenario(baseline)
        # warm-up mentions are simulated but not reported: fold the warm-up into the horizon so
        # that every simulated mention is counted; the frozen model is copied, never changed
        scenario = scenario.model_copy(update={"horizon": BASELINE_DAYS * 1440.0, "warmup": 0.0})
        cases["baseline"] = (scenario, False)
        notes.append(f"baseline: scenarios/baseline.yaml over {BASELINE_DAYS} d without warm-up; not an M/M/c, so "
                     "its ratios are to the M/M/c references, a scale rather than a like-for-like comparison")
    else:
        notes.append("scenarios/baseline.yaml absent: case skipped")
    cases["cascade-heavy"] = (parse_scenario(cascade_heavy_data()), False)
    notes.append("cascade-heavy: the M/M/c team under cascades and the closed loop (see cascade_heavy_data); "
                 "ratios to the plain M/M/c references")

    rate, mean, servers = queue
    print(f"caresim throughput: {versions()}")
    print(f"machine: {machine()}; {load()} at start")
    print(f"M/M/c reference: lambda = {rate:g}/min, mean work {mean:g} min, {servers} agents, "
          f"horizon {HORIZON_DAYS} d (about {rate * horizon:,.0f} customers a run), patience {PATIENCE} where stated")

    measures: dict[str, Measure] = {}
    for name, reference in REFERENCES.items():
        for with_patience in (False, True):
            patience_mean = PATIENCE_MINUTES if with_patience else None
            measures[f"{name}|{with_patience}"] = reference_measure(reference, queue, horizon, patience_mean)
    for label, (scenario, _) in cases.items():
        measures[label] = caresim_measure(scenario, run)
        measures[f"generation|{label}"] = generation_measure(scenario)
    runs = interleaved(measures, repeats, BUDGET_SECONDS)
    rounds = max(len(r) for r in runs.values() if not isinstance(r, Exception))
    print(f"median of {rounds} runs per figure\n")

    base: dict[tuple[str, bool], float | None] = {}
    for name in REFERENCES:
        for with_patience in (False, True):
            got = runs[f"{name}|{with_patience}"]
            if isinstance(got, ImportError):  # Ciw is the optional `bench` extra
                base[name, with_patience] = None
                note = f"{name} skipped: {got} (install the `bench` extra)"
                notes += [] if note in notes else [note]
            elif isinstance(got, Exception):
                raise got
            else:
                base[name, with_patience] = median_rate(got)[0]
    print(f"{'reference model':<34}{'customers/s':>14}{f'+ patience {PATIENCE}':>18}")
    for name in REFERENCES:
        print(f"{name:<34}{fmt_rate(base[name, False]):>14}{fmt_rate(base[name, True]):>18}")

    achieved: dict[str, float] = {}  # case -> mentions/s, for the goals

    def row(label: str, count: int, value: float, with_patience: bool) -> None:
        print(f"{label:<34}{count:>10,}{value:>12,.0f}{ratio(value, base['idiomatic SimPy', with_patience]):>9}"
              f"{ratio(value, base['Ciw', with_patience]):>8}"
              f"{ratio(value, base['heapq loop (ceiling)', with_patience], percent=True):>12}")

    print(f"\n{'caresim in process (run)':<34}{'mentions':>10}{'mentions/s':>12}{'x SimPy':>9}{'x Ciw':>8}{'of ceiling':>12}")
    for label, (_, with_patience) in cases.items():
        got = runs[label]
        if isinstance(got, Exception):
            failed = True
            print(f"{label:<34}failed: {type(got).__name__}: {got}")
        else:
            value, count = median_rate(got)
            achieved[label] = value
            row(label, count, value, with_patience)

    print(f"\n{'arrival generation alone':<34}{'mentions':>10}{'mentions/s':>12}{'us/mention':>12}{'of run':>8}")
    for label in cases:
        got = runs[f"generation|{label}"]
        if isinstance(got, Exception):
            failed = True
            print(f"{label:<34}failed: {type(got).__name__}: {got}")
            continue
        value, count = median_rate(got)
        share = f"{100 * achieved[label] / value:.0f} %" if label in achieved else "-"
        print(f"{label:<34}{count:>10,}{value:>12,.0f}{1e6 / value:>12.2f}{share:>8}")
    try:
        print(f"cascade construction alone (cascade_offspring, cascade-heavy mix): {offspring_rate():,.0f} follow-ons/s")
    except Exception as exc:  # noqa: BLE001
        print(f"cascade construction alone: failed: {type(exc).__name__}: {exc}")

    variants = (("process mmc", "mmc.yaml", False, False), ("process mmc", "mmc.yaml --no-mentions", False, True),
                ("process patience", "mmc.yaml + patience", True, False),
                ("process patience", "mmc.yaml + patience --no-mentions", True, True))
    for days in sorted(args.long_days):
        print(f"\n{f'whole caresim run, {days} d, no report':<34}{'mentions':>10}{'mentions/s':>12}"
              f"{'x SimPy':>9}{'x Ciw':>8}{'of ceiling':>12}{'seconds':>9}")
        for key, label, with_patience, no_mentions in variants:
            try:
                got = [whole_process(mmc_data(with_patience, days), seed, no_mentions)
                       for seed in range(1, min(PROCESS_RUNS, repeats) + 1)]
            except Exception as exc:  # noqa: BLE001
                failed = True
                print(f"{label:<34}failed: {type(exc).__name__}: {exc}")
                continue
            value, count = median_rate(got)
            # the longest horizon comes last and is the one the goals read
            achieved[f"{key}{' --no-mentions' if no_mentions else ''}"] = value
            print(f"{label:<34}{count:>10,}{value:>12,.0f}{ratio(value, base['idiomatic SimPy', with_patience]):>9}"
                  f"{ratio(value, base['Ciw', with_patience]):>8}"
                  f"{ratio(value, base['heapq loop (ceiling)', with_patience], percent=True):>12}"
                  f"{statistics.median(s for _, s in got):>9.2f}")
    notes.append(f"whole process: median of {min(PROCESS_RUNS, repeats)} runs, start-up, imports, summary.json, "
                 "timeseries.csv and (without --no-mentions) mentions.csv included; ratios to the 3 d in-process "
                 "reference figures")

    print(f"\ngoals (whole process: the {max(args.long_days)} d runs)")
    for text, key, reference, with_patience, target in GOALS:
        value, ref = achieved.get(key), base.get((reference, with_patience))
        if value is None or ref is None:
            print(f"  {text:<58} not measured")
            continue
        verdict = "met" if value / ref >= target else "NOT met"
        print(f"  {text:<58} {value / ref:5.2f} (goal >= {target:g}): {verdict}")

    print("\nx SimPy, x Ciw: caresim's mentions/s over the reference's customers/s on the same queue "
          "(above 1: caresim is faster);")
    print("of ceiling: caresim's mentions/s as a share of the bare heapq event loop's customers/s;")
    print("of run: the in-process replication's mentions/s over generation's, i.e. the share of a replication's "
          "time spent generating arrivals.")
    for note in notes:
        print(f"note: {note}")
    print(f"{load()} at the end; {time.perf_counter() - started:.0f} s in all")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
