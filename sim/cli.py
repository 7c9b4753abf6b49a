"""The `caresim` command: parse, call the library, print."""
from __future__ import annotations

import atexit
import functools
import gc
import json
import os
import signal
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

# Each command imports what it needs when it runs: `caresim --help` loads neither pydantic nor
# NumPy, and only the commands that simulate load the engine.
if TYPE_CHECKING:
    from .scenario import Scenario

# Replications run in parallel processes of one thread each: a BLAS thread pool per process (NumPy
# and SciPy each start one as they load) would only compete with them, and costs tens of
# milliseconds to start and stop. Set before NumPy loads; a value the user exported wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# NumPy asks Linux for transparent huge pages for every array of 4 MB or more. A run keeping its
# records allocates hundreds of MB in such arrays, and where the kernel compacts memory to find
# huge pages at the first touch (the common `defrag: madvise` setting) that cost 0.4 s of system
# time over a 90-day M/M/c, against nothing measurable in the simulation's own speed. Read when
# NumPy loads; a value the user exported wins.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
# The process ends with the command: spare it the collector's last passes over the objects NumPy,
# SciPy and pydantic leave behind (about 40 ms at every exit).
atexit.register(gc.freeze)

# The `erlang` command sums over agents one by one: beyond this load (erlangs) it would take
# minutes, and no care team is that large.
MAX_ERLANG_LOAD = 100_000

HEADLINE = (
    ("mentions", "mentions", "{:,.0f}"),
    ("acknowledged_share", "acknowledged", "{:.1%}"),
    ("resolved_share", "resolved", "{:.1%}"),
    ("ack_time_p50", "median time to acknowledge (min)", "{:,.1f}"),
    ("ack_sla_attainment", "acknowledgement SLA attainment", "{:.1%}"),
    ("ack_breach_rate", "customers' acknowledgement expectation breached", "{:.1%}"),
    ("resolve_breach_rate", "customers' resolution expectation breached", "{:.1%}"),
    ("cost", "cost", "{:,.0f}"),
)


def fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def unwritable(out: Path, exc: OSError) -> str:
    """The one line for an output folder that cannot be written."""
    return f"{out}: cannot write the outputs ({exc.strerror or exc})"


def executor_failed(where, dask: str | None, exc: Exception) -> str:
    """The one line for replications the executor could not run (a Dask scheduler out of reach)."""
    return f"{where}: {'--dask ' + dask + ': ' if dask else ''}{exc}"


def load_all(paths: tuple[str, ...]) -> list[tuple[Path, Scenario]]:
    """Validate every file before anything runs: bad input never leaves partial output."""
    from .scenario import ScenarioError, load_scenario, scenario_files

    files = scenario_files(list(paths))
    if not files:
        fail(f"{', '.join(paths)}: no scenario files (*.yaml) found")
    loaded = []
    for f in files:
        try:
            loaded.append((f, load_scenario(f)))
        except ScenarioError as exc:
            fail(str(exc))
    return loaded


# glibc's malloc hands the top of its heap back to the system whenever more than a little is free,
# and takes it back (faulting every page in afresh) at the next allocation. A run settles a day of
# mentions at a time, allocating and freeing megabytes of NumPy arrays per day: keeping 64 MB of
# slack at the top spares 80,000 page faults (0.2 s) over a 90-day M/M/c writing mentions.csv.
HEAP_TOP_PAD = 64 << 20
M_TOP_PAD = -2   # mallopt's parameter number (malloc.h)


def keep_heap_slack() -> None:
    """Ask glibc's malloc (in this process and, by the environment, in the workers it starts)
    to keep `HEAP_TOP_PAD` bytes free at the top of the heap; elsewhere, nothing."""
    if not sys.platform.startswith("linux"):
        return
    os.environ.setdefault("MALLOC_TOP_PAD_", str(HEAP_TOP_PAD))
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(M_TOP_PAD, int(os.environ["MALLOC_TOP_PAD_"]))
    except (OSError, AttributeError, ValueError):   # not glibc, or a value that is not a number
        pass


def stops_on_sigterm(command):
    """The command with SIGTERM (a batch system ending a job, `kill`) handled as Ctrl-C is: the
    run stops and removes its temporary folders rather than leave them beside the outputs
    (local workers first finish the replication they are running, unless the signal reaches
    them too)."""
    @functools.wraps(command)
    def wrapped(*args, **kwargs):
        try:
            previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
        except ValueError:   # not the main thread: leave the signal as it is
            return command(*args, **kwargs)
        try:
            return command(*args, **kwargs)
        finally:
            signal.signal(signal.SIGTERM, previous)
    return wrapped


@contextmanager
def collector_paused():
    """Load the library with the cyclic garbage collector off: what the imports create lives
    until exit, and walking it again and again while it loads costs about 30 ms of start-up."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def file_names(loaded: list[tuple[Path, Scenario]]) -> list[str]:
    """Each scenario's `name`, or its file name where two files give the same `name`."""
    names = [scenario.name for _, scenario in loaded]
    return [path.stem if names.count(name) > 1 else name for (path, _), name in zip(loaded, names)]


def output_folders(loaded: list[tuple[Path, Scenario]], output: str | None) -> list[Path]:
    """One folder per scenario: `outputs/<name>/` (or `-o DIR`, with one subfolder each when
    several run); two files with the same `name` are told apart by their file names."""
    names = file_names(loaded)
    if len(set(names)) < len(names):
        fail(f"{', '.join(str(p) for p, _ in loaded)}: two scenarios would write to the same folder; "
             "give them different `name`s")
    if output is not None and len(loaded) == 1:
        folders = [Path(output)]
    else:
        base = Path("outputs") if output is None else Path(output)
        folders = [base / name for name in names]
    refuse_foreign_folders(folders)
    return folders


def refuse_foreign_folders(folders: list[Path]) -> None:
    """Before anything runs: exit 2 if an output folder holds files that are not caresim's
    outputs (a new run replaces its folder whole)."""
    from .output import not_replaceable, replaceable

    for folder in folders:
        if not replaceable(folder):
            fail(not_replaceable(folder))


def execution_options(command):
    """Options every command that runs replications shares: how, and how much it says."""
    for option in reversed((
        click.option("--workers", type=click.IntRange(min=1), help="Parallel processes for replications (default: every core this process may use)."),
        click.option("--dask", "dask", metavar="ADDRESS", help="Run replications on a Dask cluster (tcp://host:8786, or 'local')."),
        click.option("--no-report", is_flag=True, help="Skip plots and report.html."),
        click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors (no progress bar either)."),
        click.option("--no-progress", is_flag=True, help="No progress bar (it shows only on a terminal, after 2 s)."),
    )):
        command = option(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="caresim")
def main() -> None:
    """Staffing and SLA planning for social-media customer care, by simulation."""


@main.command()
@click.argument("scenarios", nargs=-1, required=True)
@click.option("-o", "--output", "output", type=click.Path(file_okay=False), help="Output folder (default outputs/<name>/; with several scenarios, one subfolder each).")
@click.option("--replications", type=click.IntRange(min=1), help="Override the scenario's replications.")
@click.option("--seed", type=click.IntRange(min=0), help="Override the scenario's seed.")
@click.option("--no-mentions", is_flag=True, help="Keep no per-mention records: streaming statistics, flat memory, no mentions.csv.")
@execution_options
@stops_on_sigterm
def run(scenarios, output, replications, seed, workers, dask, no_mentions, no_report, quiet, no_progress):
    """Run SCENARIO files (or folders of them) and write their outputs."""
    keep_heap_slack()
    with collector_paused():
        from .output import pieces_folder, write_outputs
        from .progress import Progress
        from .runner import ReplicationFailed, RunawayArrivals, run as run_scenario, usable_cores

    loaded = load_all(scenarios)
    folders = output_folders(loaded, output)
    total = sum(replications or scenario.replications for _, scenario in loaded)
    bar = Progress(total, enabled=False if quiet or no_progress else None)
    for (path, scenario), out in zip(loaded, folders):
        started = time.perf_counter()
        bar.set_label(scenario.name)
        # No report to draw: nothing needs the records in memory, so mentions.csv is written
        # while the run goes on (by whichever worker runs each replication, in pieces beside
        # the output folder) and the records are never held. Workers on this machine only: a
        # cluster reached by its address may not see the folder (records, which can travel
        # back over the network, are sent through files only after a check that the workers
        # read this machine's: `sim.distributed._workers_share_files`).
        streamed = no_report and not no_mentions and dask in (None, "local")
        with ExitStack() as stack:
            try:
                pieces = stack.enter_context(pieces_folder(out, enabled=streamed))
            except OSError as exc:
                bar.close()
                fail(unwritable(out, exc), code=1)
            try:
                result = run_scenario(scenario, replications=replications, seed=seed,
                                      workers=workers or usable_cores(), dask=dask,
                                      keep_mentions=not no_mentions, on_done=lambda rep: bar.advance(),
                                      mentions_to=pieces, breakdowns=not no_report)
            except RunawayArrivals as exc:
                bar.close()
                fail(f"{path}: arrivals.cascades: {exc}", code=1)
            except ReplicationFailed as exc:
                bar.close()
                fail(f"{path}: {exc}", code=1)
            except (OSError, RuntimeError) as exc:   # e.g. a Dask scheduler that cannot be reached, or no address
                bar.close()
                fail(executor_failed(path, dask, exc), code=1)
            bar.set_label(f"{scenario.name}: writing outputs")
            try:
                with bar.paused():   # no thread of ours: the report's figures are drawn on two cores
                    write_outputs(result, out, report=not no_report)
            except OSError as exc:
                bar.close()
                fail(unwritable(out, exc), code=1)
        bar.clear()
        if not quiet:
            elapsed = time.perf_counter() - started
            click.echo(f"{scenario.name}: {len(result.replications)} replications in {elapsed:.1f} s -> {out}/")
            for key, label, fmt in HEADLINE:
                m = result.summary.get(key)
                if m is None or m["mean"] != m["mean"]:
                    continue
                ci = ""
                if m["ci_low"] == m["ci_low"]:
                    ci = f"  [{fmt.format(m['ci_low'])} – {fmt.format(m['ci_high'])}]"
                click.echo(f"  {label:<50} {fmt.format(m['mean'])}{ci}")
    bar.close()


@main.command()
@click.argument("scenarios", nargs=-1, required=True)
@click.option("-o", "--output", "output", type=click.Path(file_okay=False), help="Output folder (default outputs/compare-<name1>-<name2>…/).")
@click.option("--replications", type=click.IntRange(min=1), help="Replications for every scenario (default: the first scenario's).")
@click.option("--seed", type=click.IntRange(min=0), help="Seed for every scenario (default: the first scenario's).")
@click.option("--all-metrics", is_flag=True, help="Print every metric, not only the headline ones.")
@click.option("--no-mentions", is_flag=True, help="Keep no per-mention records: streaming statistics, flat memory.")
@execution_options
@stops_on_sigterm
def compare(scenarios, output, replications, seed, workers, dask, no_report, all_metrics, no_mentions, quiet,
            no_progress):
    """Compare SCENARIO files on common random numbers, paired with the first one."""
    keep_heap_slack()
    with collector_paused():
        from .comparison import CORE_METRICS, compare as compare_scenarios, default_output, unique_labels, write_comparison
        from .progress import Progress
        from .runner import ReplicationFailed, RunawayArrivals, usable_cores

    loaded = load_all(scenarios)
    if len(loaded) < 2:
        fail(f"compare: {', '.join(scenarios)}: needs at least two scenarios, found {len(loaded)}")
    labels = unique_labels(file_names(loaded))
    n = replications or loaded[0][1].replications
    out = Path(output) if output else default_output(labels)
    refuse_foreign_folders([out])
    started = time.perf_counter()
    with Progress(n * len(loaded), label=labels[0], enabled=False if quiet or no_progress else None) as bar:
        done = bar.advancer(labels, n)
        try:
            result = compare_scenarios([s for _, s in loaded], replications=replications, seed=seed,
                                       workers=workers or usable_cores(), labels=labels, on_done=done, dask=dask,
                                       keep_mentions=not no_mentions, breakdowns=not no_report)
        except (RunawayArrivals, ReplicationFailed) as exc:
            bar.close()
            path = dict(zip(labels, (p for p, _ in loaded))).get(getattr(exc, "label", None), "compare")
            fail(f"{path}: arrivals.cascades: {exc}" if isinstance(exc, RunawayArrivals) else f"{path}: {exc}", code=1)
        except (OSError, RuntimeError) as exc:   # e.g. a Dask scheduler that cannot be reached, or no address
            bar.close()
            fail(executor_failed("compare", dask, exc), code=1)
        bar.set_label("writing outputs")
        try:
            with bar.paused():   # no thread of ours: the report's figures are drawn on two cores
                write_comparison(result, out, report=not no_report)
        except OSError as exc:
            bar.close()
            fail(unwritable(out, exc), code=1)
    if not quiet:
        elapsed = time.perf_counter() - started
        click.echo(f"{' vs '.join(labels)}: {result.replications} replications each, seed {result.seed}, "
                   f"common random numbers, {elapsed:.1f} s -> {out}/")
        differ = [label for label, same in zip(labels, result.same_arrivals) if not same]
        if differ:
            click.echo(f"note: arrivals, start, warm-up or horizon of {', '.join(differ)} differ from "
                       f"{labels[0]}: different customers, wider intervals")
        click.echo(result.table(result.metrics if all_metrics else CORE_METRICS))


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--mention", type=int, metavar="ID", help="Tell the story of this mention id (see mentions.csv).")
@click.option("--replication", type=click.IntRange(min=0), help="Replication to look in (default: any; for --mention, the first that has it).")
@click.option("--worst", is_flag=True, help="The customer let down the most: largest gap from their resolution deadline to the resolution or the end of the run (the default).")
@click.option("--random", "random_", is_flag=True, help="A random customer among those the team means to answer.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of --random.")
def story(run_dir, mention, replication, worst, random_, seed):
    """Tell one customer's experience in words, from RUN_DIR (the output folder of `caresim run`)."""
    import textwrap

    from .rundir import RunFolderError, read_info, read_mentions
    from .story import StoryError, gap_note, pick, tell

    if sum((mention is not None, worst, random_)) > 1:
        fail("story: give at most one of --mention, --worst and --random")
    try:
        info = read_info(Path(run_dir))
        log = read_mentions(Path(run_dir), info)
        row = pick(log, info, mention, replication, "random" if random_ else "worst", seed)
    except RunFolderError as exc:       # names its file already
        fail(f"story: {exc}")
    except StoryError as exc:
        fail(f"story: {run_dir}: {exc}")
    told = tell(log, row, info)
    click.echo(told.heading)
    if mention is None and not random_:
        click.echo(f"(the customer let down the most: {gap_note(log, row, info)})")
    click.echo()
    click.echo(textwrap.fill(told.text(), width=92))


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), help="GIF (or MP4, with ffmpeg) to write (default RUN_DIR/queue.gif).")
@click.option("--replication", type=click.IntRange(min=0), default=0, show_default=True, help="Replication to show.")
@click.option("--fps", type=click.IntRange(min=1, max=60), default=12, show_default=True, help="Frames per second.")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), help="Show only the first H hours after the warm-up.")
def animate(run_dir, output, replication, fps, hours):
    """Animate the queues and staffing of RUN_DIR (the output folder of `caresim run`)."""
    from .report.animate import AnimationError, animate_queue
    from .rundir import RunFolderError, read_info, read_series

    out = Path(output) if output else Path(run_dir) / "queue.gif"
    try:
        info = read_info(Path(run_dir))
        series = read_series(Path(run_dir))
        frames = animate_queue(series, info, out, replication=replication, fps=fps, hours=hours)
    except RunFolderError as exc:       # names its file already
        fail(f"animate: {exc}")
    except AnimationError as exc:
        fail(f"animate: {run_dir}: {exc}")
    except OSError as exc:              # the GIF's folder cannot be made or written
        fail(f"animate: {out}: cannot write it ({exc.strerror or exc.__class__.__name__})", code=1)
    click.echo(f"wrote {out} ({frames} frames)")


@main.command()
@click.argument("scenarios", nargs=-1, required=True)
def validate(scenarios):
    """Check SCENARIO files without running them."""
    for path, scenario in load_all(scenarios):
        click.echo(f"ok: {path} ({scenario.name})")


@main.command()
def schema():
    """Print the JSON Schema of scenario files (for editor completion)."""
    from .scenario import Scenario

    doc = Scenario.model_json_schema(by_alias=True)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "caresim scenario"
    click.echo(json.dumps(doc, indent=2))


@main.command()
@click.option("--rate", required=True, help="Arrival rate, e.g. 120/h.")
@click.option("--aht", required=True, help="Mean handle time, e.g. 6m.")
@click.option("--agents", type=click.IntRange(min=1, max=MAX_ERLANG_LOAD * 10), help="Agents (default: the fewest meeting the target).")
@click.option("--within", default="1h", show_default=True, help="Service-level threshold.")
@click.option("--target", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9, show_default=True)
@click.option("--patience", help="Mean patience (exponential) for Erlang A, e.g. 30m.")
def erlang(rate, aht, agents, within, target, patience):
    """Erlang C (and Erlang A with --patience): the analytic queue planners start from."""
    from .analytic import erlang_a, erlang_c, erlang_c_mean_wait, service_level, staff_for_service_level
    from .scenario.units import parse_duration, parse_rate

    def read(option: str, parse, text: str, positive: bool = True) -> float:
        try:
            value = parse(text)
        except ValueError as exc:
            fail(f"erlang: {option}: {exc}")
        if value < 0 or (positive and value == 0):
            fail(f"erlang: {option}: expected {'more than zero' if positive else 'zero or more'} (got '{text}')")
        return value

    lam = read("--rate", parse_rate, rate)
    mu = 1.0 / read("--aht", parse_duration, aht)
    t = read("--within", parse_duration, within, positive=False)
    theta = 1.0 / read("--patience", parse_duration, patience) if patience else None
    if not 0 < target < 1:   # NaN passes click's range check
        fail(f"erlang: --target: expected a share strictly between 0 and 1 (got {target})")
    if theta is not None and theta > 60.0:
        fail(f"erlang: --patience: expected at least 1s (got '{patience}')")
    load = lam / mu
    if not load <= MAX_ERLANG_LOAD * (1 + 1e-9):   # 1000000/h x 6m is 100000.00000000001
        fail(f"erlang: offered load {load:.3g} erlangs (--rate x --aht) is out of range: "
             f"this command computes loads up to {MAX_ERLANG_LOAD:,} erlangs")
    try:
        if agents is None:
            agents = staff_for_service_level(lam, mu, target, t)
            how = " (Erlang C: nobody gives up)" if theta else ""
            click.echo(f"fewest agents for {target * 100:g}% within {within}{how}: {agents}")
        click.echo(f"offered load {load:.2f} erlangs on {agents} agents (occupancy {load / agents:.1%})")
        if agents > load:
            click.echo(f"Erlang C: P(wait > 0) = {erlang_c(agents, load):.4f}, "
                       f"mean wait = {erlang_c_mean_wait(agents, lam, mu):.3f} min, "
                       f"P(wait <= {within}) = {service_level(agents, lam, mu, t):.4f}")
        else:
            click.echo("Erlang C: unstable (load >= agents): the queue grows without bound")
        if theta:
            a = erlang_a(agents, lam, mu, theta)
            # served within the threshold, as a run's SLA counts it: those who gave up are not
            click.echo(f"Erlang A: P(wait > 0) = {a.p_delay:.4f}, abandoned = {a.p_abandon:.4f}, "
                       f"mean wait = {a.mean_wait:.3f} min, served within {within} = {a.p_served_within(t):.4f}")
    except ValueError as exc:   # e.g. a queue too long to sum over, or no staffing reaching the target
        fail(f"erlang: {exc}")


if __name__ == "__main__":  # pragma: no cover
    main()
