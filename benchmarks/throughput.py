"""How many mentions per second caresim simulates, against reference M/M/c models run in this process.

Prints two tables: the reference models' customers per second (idiomatic SimPy, Ciw, a bare heapq
event loop), then each caresim case with its mentions per second, its ratio to idiomatic SimPy and
to Ciw on the same queue, and the fraction of the heapq ceiling it reaches. Every figure is the
median over a few runs (seeds 1, 2, ...), all cases interleaved round by round so that a change in
machine load hits them alike. Run from anywhere: `python benchmarks/throughput.py [--repeats N]`.
"""
from __future__ import annotations

import argparse
import csv
import importlib.metadata
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import baselines  # noqa: E402  (benchmarks/ is on the path above)

HORIZON_DAYS = 3  # 3 simulated days at 9/min: about 39,000 mentions a run
PATIENCE = "10m"
PATIENCE_MINUTES = 10.0  # the same, for the reference models
BUDGET_SECONDS = 120.0  # fewer rounds (never below 3) when one round of every case is slow
# mmc.yaml's queue, used when the scenario package cannot be read: 9/min, mean work 1 min, 10 agents.
MMC_FALLBACK = (9.0, 1.0, 10)

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


def mmc_data(patience: bool) -> dict:
    """mmc.yaml as a dict over HORIZON_DAYS, for the whole-process case and the patience variant."""
    data = yaml.safe_load(mmc_file().read_text(encoding="utf-8"))
    data["horizon"], data["warmup"] = f"{HORIZON_DAYS}d", 0
    if patience:
        data.setdefault("expectations", {}).setdefault("patience", {})["default"] = {"mean": PATIENCE}
    return data


def mmc_queue(scenario) -> tuple[float, float, int]:
    """(arrival rate per minute, mean work in minutes, agents) of an M/M/c scenario."""
    agents = sum(pool.agents for pool in scenario.pools.values())
    return scenario.arrivals.rate, scenario.handling.resolve["default"].mean, agents


def reference_measure(run, queue: tuple[float, float, int], horizon: float, patience_mean: float | None) -> Measure:
    rate, mean, servers = queue
    return lambda seed: run(rate, mean, servers, horizon, seed, patience_mean)


def caresim_measure(scenario, run) -> Measure:
    def measure(seed: int) -> tuple[int, float]:
        start = time.perf_counter()
        result = run(scenario, replications=1, seed=seed)
        seconds = time.perf_counter() - start
        return len(result.replications[0].mentions), seconds

    return measure


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


def whole_process(data: dict) -> tuple[int, float]:
    """Time `caresim run FILE -o DIR --replications 1` end to end; mentions counted in mentions.csv."""
    exe = Path(sys.executable).parent / "caresim"
    command = str(exe) if exe.exists() else shutil.which("caresim")
    if command is None:
        raise FileNotFoundError("no `caresim` command installed")
    with tempfile.TemporaryDirectory() as tmp:
        path, out = Path(tmp) / "mmc.yaml", Path(tmp) / "out"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        start = time.perf_counter()
        done = subprocess.run([command, "run", str(path), "-o", str(out), "--replications", "1", "--seed", "1"],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines() or [""]
            raise RuntimeError(f"exit status {done.returncode}: {said[-1][:300]}")
        with open(out / "mentions.csv", newline="", encoding="utf-8") as handle:
            mentions = sum(1 for _ in csv.reader(handle)) - 1
    return mentions, seconds


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def ratio(value: float, reference: float | None, percent: bool = False) -> str:
    if reference is None:
        return "-"
    return f"{100 * value / reference:.1f} %" if percent else f"{value / reference:.2f}"


def versions() -> str:
    found = []
    for name in ("simpy", "numpy", "ciw"):
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} absent")
    return f"Python {platform.python_version()}, " + ", ".join(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure, median reported (default 5)")
    repeats = max(1, parser.parse_args().repeats)
    horizon = HORIZON_DAYS * 1440.0
    notes: list[str] = []
    failed = False

    try:
        from sim.scenario import load_scenario, parse_scenario
    except ImportError as exc:
        load_scenario = parse_scenario = None
        notes.append(f"caresim scenarios unavailable ({exc}); M/M/c taken as 9/min, 1 min, 10 agents")
    try:
        from sim.runner import run
    except ImportError as exc:
        run = None
        notes.append(f"caresim runner unavailable ({exc}); only the reference models are measured")

    # caresim cases: label -> (scenario, compared with the reneging references?)
    cases: dict[str, tuple[object, bool]] = {}
    queue = MMC_FALLBACK
    if parse_scenario is not None:
        # warm-up mentions are not reported, so the benchmark runs without one; the horizon is
        # changed on the frozen model by a copy, as caresim makes variants
        update = {"horizon": horizon, "warmup": 0.0}
        for label, with_patience in (("mmc.yaml", False), (f"mmc.yaml + patience {PATIENCE}", True)):
            cases[label] = (parse_scenario(mmc_data(with_patience), mmc_file()).model_copy(update=update), with_patience)
        queue = mmc_queue(cases["mmc.yaml"][0])
        baseline = ROOT / "scenarios" / "baseline.yaml"
        if run is None:
            cases.clear()
        elif not baseline.exists():
            notes.append("scenarios/baseline.yaml absent: case skipped")
        else:
            try:
                scenario = load_scenario(baseline)
                cases["baseline.yaml"] = (scenario, bool(scenario.expectations.patience))
                notes.append("baseline.yaml is not an M/M/c: its ratios are to the M/M/c references "
                             "(with reneging if it has patience), a scale rather than a like-for-like comparison")
                if scenario.warmup > 0:
                    notes.append(f"baseline.yaml counts reported mentions only: its {scenario.warmup / 1440:g} d "
                                 "warm-up is simulated but its mentions are not in the log")
            except Exception as exc:  # noqa: BLE001
                notes.append(f"baseline.yaml skipped: {exc}")

    rate, mean, servers = queue
    print(f"caresim throughput: {versions()}")
    print(f"M/M/c reference: lambda = {rate:g}/min, mean work {mean:g} min, {servers} agents, "
          f"horizon {HORIZON_DAYS} d (about {rate * horizon:,.0f} customers a run), "
          f"patience {PATIENCE} where stated")

    measures: dict[str, Measure] = {}
    for name, reference in REFERENCES.items():
        for with_patience in (False, True):
            patience_mean = PATIENCE_MINUTES if with_patience else None
            measures[f"{name}|{with_patience}"] = reference_measure(reference, queue, horizon, patience_mean)
    for label, (scenario, _) in cases.items():
        measures[label] = caresim_measure(scenario, run)
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

    print(f"\n{'caresim case':<34}{'mentions':>10}{'mentions/s':>12}{'x SimPy':>9}{'x Ciw':>8}{'of ceiling':>12}")

    def row(label: str, count: int, value: float, with_patience: bool) -> None:
        print(f"{label:<34}{count:>10,}{value:>12,.0f}{ratio(value, base['idiomatic SimPy', with_patience]):>9}"
              f"{ratio(value, base['Ciw', with_patience]):>8}"
              f"{ratio(value, base['heapq loop (ceiling)', with_patience], percent=True):>12}")

    if run is None or parse_scenario is None:
        print("(caresim not measured, see notes)")
    else:
        for label, (_, with_patience) in cases.items():
            got = runs[label]
            if isinstance(got, Exception):
                failed = True
                print(f"{label:<34}failed: {type(got).__name__}: {got}")
            else:
                value, count = median_rate(got)
                row(label, count, value, with_patience)
        label = "caresim run, whole process (mmc)"
        try:
            count, seconds = whole_process(mmc_data(False))
            row(label, count, count / seconds, False)
            notes.append(f"whole process: {seconds:.2f} s, one run (not a median), including start-up, imports, "
                         "output files, plots and report")
        except FileNotFoundError as exc:
            notes.append(f"whole-process case skipped: {exc}")
        except Exception as exc:  # noqa: BLE001
            failed = True
            print(f"{label:<34}failed: {type(exc).__name__}: {exc}")

    print("\nx SimPy, x Ciw: caresim's mentions/s over the reference's customers/s on the same queue "
          "(above 1: caresim is faster);")
    print("of ceiling: caresim's mentions/s as a share of the bare heapq event loop's customers/s.")
    for note in notes:
        print(f"note: {note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
