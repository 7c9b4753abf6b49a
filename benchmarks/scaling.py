"""Speed-up of 20 replications on 2 workers: local processes and a 2-worker Dask `LocalCluster`.

Runs the same 20 replications of `scenarios/mmc.yaml` made a month long (30 days after a 1-day
warm-up, about 390,000 mentions a replication) through `sim.runner.run` on:

- one process (`workers=1`), the reference;
- 2 local worker processes (`workers=2`, what `caresim run --workers 2` does);
- a 2-worker Dask `LocalCluster` started by the run (`dask="local"`, what `--dask local` does),
  cluster start-up and shut-down included;
- a 2-worker Dask `LocalCluster` already running, reached by its address (what
  `--dask tcp://host:8786` does on a cluster that outlives the run).

The sweep is a month per replication, not the file's 16 days: a staffing or policy study looks
at weeks to months of a large brand, and a Dask cluster started for the sweep costs about half
a second (load Dask, start 2 workers, close them) whatever the sweep's length. On replications
of half a second that fixed cost alone would take the speed-up from 2 to 1.8.

Each run is a fresh process of its own (this script, called back with `--config`), as a user's
`caresim run` is: local workers are forked from the process that runs the sweep, and forked from
one that has just held a month of records for 20 replications (the one-process run) each ran
3-4 % slower (measured: 8.33 s against 8.09 s and 7.89 s against 7.62 s, medians of 3 paired
runs), a cost no `caresim run` pays. The timed span is the `sim.runner.run` call alone, after
caresim and the scenario are loaded (what `run` loads itself, the process pool or Dask, is
timed); the already-running cluster is started before it and closed after it, so that
configuration loads Dask untimed (about 0.12 s a `caresim run --dask tcp://...` pays). Each
such process runs under the settings the `caresim` command gives itself (sim/cli.py: one BLAS
thread, no huge-page advice, heap slack), which its workers inherit.

Each configuration runs `--rounds` times, the configurations taking turns within each round.
The verdict reads "by round": the median over rounds of each round's own speed-up (that
round's one-process time over the configuration's), with the lowest and highest beside it.
Pairing the runs of a round cancels what the machine's speed does between rounds: on a shared
virtual machine the same sweep can take 10 % longer a minute later, and two processes side by
side run from as fast as one alone to 20 % slower. The best (shortest) time of each
configuration and its ratio to one process's best are printed too; they compare minima taken
at different moments, so they move with that drift. Every run's summary must be identical to
the reference's: the exit status is 1 when one is not (an unmet goal is printed, not an error).
Goal (docs/performance.md): 2 workers at least 1.7 times the speed of 1, locally and on Dask.
Run from anywhere:
`python benchmarks/scaling.py [--rounds N] [--replications N] [--days D] [--no-mentions]`.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# The process settings of the `caresim` command, which these configurations stand for: one BLAS
# thread, no huge-page advice from NumPy, 64 MB of heap slack (see sim/cli.py). Imported before
# anything loads NumPy; the workers inherit them.
import sim.cli  # noqa: E402

sim.cli.keep_heap_slack()

from machine import load  # noqa: E402

GOAL = 1.7
DAYS = 30   # a month per replication: see the module docstring


CONFIGS = {
    "1 process": {"workers": 1},
    "2 local processes": {"workers": 2},
    "Dask LocalCluster, 2 workers, started by the run": {"workers": 2, "dask": "local"},
}
RUNNING = "Dask cluster already running, 2 workers"
RESULT = "scaling-result:"   # tags the line a configuration's run answers with
TIMEOUT = 1800               # seconds a configuration's run may take before the sweep gives up


def sweep_scenario(days: float):
    from sim.scenario import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "mmc.yaml")
    return scenario.model_copy(update={"horizon": days * 1440.0})


def run_config(label: str, replications: int, days: float, keep: bool) -> None:
    """One configuration's run, in this (fresh) process: prints its seconds and its summary's hash."""
    import hashlib

    import scipy.special  # noqa: F401 - loaded by the summary in every configuration: not timed

    from sim.output import summary_json
    from sim.runner import run

    scenario = sweep_scenario(days)
    cluster = None
    if label == RUNNING:
        # started as docs/scaling.md advises for a cluster of one's own, before the timed span
        import dask
        import distributed

        from sim.distributed import CLUSTER_SETTINGS

        with dask.config.set(CLUSTER_SETTINGS):
            cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                               dashboard_address=None)
        kwargs = {"dask": cluster.scheduler_address}
    else:
        kwargs = CONFIGS[label]
    try:
        started = time.perf_counter()
        result = run(scenario, replications=replications, keep_mentions=keep, **kwargs)
        seconds = time.perf_counter() - started
    finally:
        if cluster is not None:
            cluster.close()
    digest = hashlib.sha256(summary_json(result).encode("utf-8")).hexdigest()
    print(f"{RESULT} {seconds!r} {digest}")


def measure(label: str, args) -> tuple[float, str]:
    """Seconds and summary hash of one configuration's run in a fresh process."""
    command = [sys.executable, __file__, "--config", label, "--replications", str(args.replications),
               "--days", repr(args.days)] + (["--no-mentions"] if args.no_mentions else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    answers = [line.split() for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or len(answers) != 1:
        raise RuntimeError(f"{label}: exit status {done.returncode}: {(done.stderr or done.stdout).strip()[-500:]}")
    _, seconds, digest = answers[0]
    return float(seconds), digest


def _dask_loads() -> bool:
    """Whether Dask's `distributed` is installed and loads (in a process of its own: this one
    stays free of it)."""
    if importlib.util.find_spec("distributed") is None:
        return False
    return subprocess.run([sys.executable, "-c", "import distributed"], capture_output=True).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs per configuration (default 5)")
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--days", type=float, default=DAYS, help=f"simulated days after the warm-up (default {DAYS:g})")
    parser.add_argument("--no-mentions", action="store_true",
                        help="stream statistics instead of keeping per-mention records (as caresim run --no-mentions)")
    parser.add_argument("--config", help=argparse.SUPPRESS)   # one configuration's run: see run_config
    args = parser.parse_args()
    keep = not args.no_mentions
    if args.config:
        run_config(args.config, args.replications, args.days, keep)
        return 0

    scenario = sweep_scenario(args.days)
    n = args.replications
    print(f"caresim scaling: Python {platform.python_version()}, {os.cpu_count()} cores; {load()} at start")
    print(f"{n} replications of mmc.yaml ({scenario.horizon / 1440:g} d after {scenario.warmup / 1440:g} d warm-up), "
          f"{'per-mention records kept' if keep else '--no-mentions (streaming statistics)'}; "
          f"{args.rounds} rounds, each run in a fresh process\n")

    configs = list(CONFIGS)
    if not _dask_loads():
        configs = [label for label in configs if "Dask" not in label]
        print("note: `distributed` missing or broken: Dask configurations skipped (pip install 'caresim[dask]')")
    else:
        configs.append(RUNNING)
        print("the running 2-worker LocalCluster is started before and closed after its own runs, "
              "neither counted (its idle workers and scheduler would otherwise share the 2 cores "
              "with every other configuration)")

    times: dict[str, list[float]] = {label: [] for label in configs}
    reference = None
    mismatched: list[str] = []
    for _ in range(max(1, args.rounds)):
        for label in configs:
            seconds, digest = measure(label, args)
            times[label].append(seconds)
            reference = digest if reference is None else reference
            if digest != reference and label not in mismatched:
                mismatched.append(label)
            print(f"  {label}: {seconds:.1f} s", flush=True)

    one = min(times["1 process"])
    print(f"\none replication in one process: {one / n:.2f} s on average (best round)")
    print(f"{'configuration':<52}{'by round':>9}{'lowest':>8}{'highest':>9}{'goal':>9}{'best s':>8}{'best ratio':>12}")
    print(f"{'1 process (the reference)':<61}{'':>26}{one:>8.1f}")
    for label, values in times.items():
        if label == "1 process":
            continue
        # each round's one-process time over this configuration's: pairs taken minutes apart
        # at most, so the machine's drift between rounds cancels
        ratios = [a / b for a, b in zip(times["1 process"], values)]
        paired = statistics.median(ratios)
        goal = "met" if paired >= GOAL else "NOT met"
        best = min(values)
        print(f"{label:<52}{paired:>9.2f}{min(ratios):>8.2f}{max(ratios):>9.2f}{goal:>9}{best:>8.1f}{one / best:>12.2f}")
    print(f"\ngoal: 2 workers at least {GOAL:g} x the speed of 1 on {n} replications, locally and on Dask")
    print("summaries identical across configurations: " + ("yes" if not mismatched else f"NO ({', '.join(mismatched)})"))
    print(f"{load()} at the end (another process busy on a 2-core machine lowers every speed-up)")
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
