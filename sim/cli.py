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


if __name__ == "__main__":  # pragma: no cover
    main()
