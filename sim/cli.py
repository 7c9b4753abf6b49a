"""The `caresim` command: parse, call the library, print."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from .scenario import ScenarioError, load_scenario, scenario_files
from .scenario.models import Scenario

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


def load_all(paths: tuple[str, ...]) -> list[tuple[Path, Scenario]]:
    """Validate every file before anything runs: bad input never leaves partial output."""
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="caresim")
def main() -> None:
    """Staffing and SLA planning for social-media customer care, by simulation."""


@main.command()
@click.argument("scenarios", nargs=-1, required=True)
@click.option("-o", "--output", "output", type=click.Path(file_okay=False), help="Output folder (default outputs/<name>/; with several scenarios, one subfolder each).")
@click.option("--replications", type=click.IntRange(min=1), help="Override the scenario's replications.")
@click.option("--seed", type=click.IntRange(min=0), help="Override the scenario's seed.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Parallel processes for replications.")
@click.option("--no-report", is_flag=True, help="Skip plots and report.html.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def run(scenarios, output, replications, seed, workers, no_report, quiet):
    """Run SCENARIO files (or folders of them) and write their outputs."""
    from .output import write_outputs
    from .runner import RunawayArrivals, run as run_scenario

    loaded = load_all(scenarios)
    for path, scenario in loaded:
        if output is None:
            out = Path("outputs") / scenario.name
        else:
            out = Path(output) / scenario.name if len(loaded) > 1 else Path(output)
        started = time.perf_counter()
        try:
            result = run_scenario(scenario, replications=replications, seed=seed, workers=workers)
        except RunawayArrivals as exc:
            fail(f"{path}: arrivals.cascades: {exc}", code=1)
        write_outputs(result, out, report=not no_report)
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


@main.command()
@click.argument("scenarios", nargs=-1, required=True)
def validate(scenarios):
    """Check SCENARIO files without running them."""
    for path, scenario in load_all(scenarios):
        click.echo(f"ok: {path} ({scenario.name})")


@main.command()
def schema():
    """Print the JSON Schema of scenario files (for editor completion)."""
    doc = Scenario.model_json_schema(by_alias=True)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "caresim scenario"
    click.echo(json.dumps(doc, indent=2))


@main.command()
@click.option("--rate", required=True, help="Arrival rate, e.g. 120/h.")
@click.option("--aht", required=True, help="Mean handle time, e.g. 6m.")
@click.option("--agents", type=click.IntRange(min=1), help="Agents (default: the fewest meeting the target).")
@click.option("--within", default="1h", show_default=True, help="Service-level threshold.")
@click.option("--target", type=click.FloatRange(0, 1, max_open=True), default=0.9, show_default=True)
@click.option("--patience", help="Mean patience (exponential) for Erlang A, e.g. 30m.")
def erlang(rate, aht, agents, within, target, patience):
    """Erlang C (and Erlang A with --patience): the analytic queue planners start from."""
    from .analytic import erlang_a, erlang_c, erlang_c_mean_wait, service_level, staff_for_service_level
    from .scenario.units import parse_duration, parse_rate

    try:
        lam, mu = parse_rate(rate), 1.0 / parse_duration(aht)
        t = parse_duration(within)
        theta = 1.0 / parse_duration(patience) if patience else None
    except (ValueError, ZeroDivisionError) as exc:
        fail(f"erlang: {exc}")
    load = lam / mu
    if agents is None:
        agents = staff_for_service_level(lam, mu, target, t)
        click.echo(f"fewest agents for {target:.0%} within {within}: {agents}")
    click.echo(f"offered load {load:.2f} erlangs on {agents} agents (occupancy {load / agents:.1%})")
    if agents > load:
        click.echo(f"Erlang C: P(wait > 0) = {erlang_c(agents, load):.4f}, "
                   f"mean wait = {erlang_c_mean_wait(agents, lam, mu):.3f} min, "
                   f"P(wait <= {within}) = {service_level(agents, lam, mu, t):.4f}")
    else:
        click.echo("Erlang C: unstable (load >= agents): the queue grows without bound")
    if theta:
        a = erlang_a(agents, lam, mu, theta)
        click.echo(f"Erlang A: P(wait > 0) = {a.p_delay:.4f}, abandoned = {a.p_abandon:.4f}, "
                   f"mean wait = {a.mean_wait:.3f} min, P(wait <= {within}) = {a.p_wait_le(t):.4f}")


if __name__ == "__main__":  # pragma: no cover
    main()
