"""Golden and smoke tests of the scenario files shipped in `scenarios/` and of the shared
example scenarios (`../shared/examples/`, beside the repository, when present).

Every file must validate and run; runs are shortened (two days, no warm-up; longer where a
scenario's story needs it) so the whole module stays fast. Each run must account for every
mention exactly once, `caresim run` must write its outputs with a value wherever the output
contract promises one, and a few scenarios must still tell their story: the outage brings
incident and cascade mentions and the closed loop adds follow-ons, the marketing intern ignores
complaints, batched acknowledgements wait for a sweep, and the influencer-first team answers
large accounts faster than small ones.
"""
from __future__ import annotations

import csv
import json
import math
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import REPO, example_params

from sim.cli import main
from sim.records import CSV_COLUMNS, ORIGINS, OUTCOMES, SERIES_COLUMNS, TIME_COLUMNS
from sim.runner import run
from sim.scenario import load_scenario

SCENARIO_DIR = REPO / "scenarios"
FILES = sorted(SCENARIO_DIR.glob("*.yaml"))
NAMES = [f.stem for f in FILES]
OUT = {name: k for k, name in enumerate(OUTCOMES)}
DAY = 1440.0

# Horizon of the shortened runs, in days (warm-up 0): 3.5 by default, so that the 72-hour
# resolution SLA window of the first half-day's mentions closes within the run (a shorter run
# cannot tell whether any resolution met it). The outages (shipped and reference) happen on day 2
# at 19:00, so their runs cover the evening and night after them; the intern's brand is so small
# that a few days would hold only a handful of complaints.
SHORT_DAYS = 3.5
HORIZON_DAYS = {"marketing_intern": 14}


# every scenario file that must run: the shipped ones, then the shared examples
ALL_FILES = [pytest.param(p, id=p.stem) for p in FILES] + example_params()


def test_scenarios_found():
    assert {"baseline", "viral_outage", "viral_outage_no_loop", "realtime", "batched",
            "influencer_priority", "marketing_intern", "airline_247", "mmc"} <= set(NAMES)


@pytest.mark.parametrize("path", FILES, ids=NAMES)
def test_validates(path):
    scenario = load_scenario(path)
    assert scenario.name == path.stem, "a scenario's name should match its file name"


def test_validate_command_accepts_the_folder():
    result = CliRunner().invoke(main, ["validate", str(SCENARIO_DIR)])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok:") == len(FILES)


@lru_cache(maxsize=None)
def shortened_run(path: Path):
    scenario = load_scenario(path)
    days = HORIZON_DAYS.get(path.stem, SHORT_DAYS)
    short = scenario.model_copy(update={"horizon": days * DAY, "warmup": 0.0})
    return short, run(short, replications=2, seed=1)


def shipped(name: str):
    return shortened_run(SCENARIO_DIR / f"{name}.yaml")


@pytest.mark.parametrize("path", ALL_FILES)
def test_runs_and_accounts_for_every_mention(path):
    scenario, result = shortened_run(path)
    assert len(result.replications) == 2
    counts = []
    for rep in result.replications:
        log = rep.mentions
        n = len(log)
        assert n > 0
        outcome = np.asarray(log["outcome"])
        assert outcome.min() >= 0 and outcome.max() < len(OUTCOMES)
        assert np.bincount(outcome, minlength=len(OUTCOMES)).sum() == n
        assert len(np.unique(log["id"])) == n
        arrival = np.asarray(log["arrival"])
        assert arrival.min() >= 0.0 and arrival.max() < scenario.horizon
        counts.append(n)
    summary = result.summary
    assert summary["mentions"]["mean"] == pytest.approx(np.mean(counts))
    for key in ("acknowledged_share", "resolved_share", "abandoned_share", "ack_breach_rate"):
        value = summary[key]["mean"]
        assert 0.0 <= value <= 1.0, (key, value)
    assert summary["cost"]["mean"] >= 0.0


# The output contract's metrics (SPEC, summary.json "at least"); every scenario here answers and
# resolves some mentions, so each has a value and an interval.
CONTRACT_METRICS = (
    "mentions", "acknowledged_share", "resolved_share", "abandoned_share", "ack_time_p50", "ack_time_p90",
    "resolve_time_p50", "resolve_time_p90", "ack_sla_attainment", "resolve_sla_attainment", "ack_breach_rate",
    "resolve_breach_rate", "cascade_mentions", "agent_hours", "cost", "utilization", "max_queue_length",
)
# Cells of mentions.csv that must hold a time, by outcome (an empty cell is a time that never came).
REQUIRED_TIMES = {
    "resolved": ("ack_start", "ack_done", "resolve_start", "resolve_done"),
    "acknowledged": ("ack_start", "ack_done"),
    "dropped": ("ack_start", "ack_done"),
    "abandoned": ("abandoned_at",),
    "ignored": (),
    "open": (),
}


def shortened_file(path: Path, folder: Path) -> Path:
    """A copy of the file, as written but for its horizon (and no warm-up), like `shortened_run`:
    the command reads the text users have, comments, quoting and all."""
    text = path.read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^horizon:.*$", f"horizon: {HORIZON_DAYS.get(path.stem, SHORT_DAYS) * DAY:g}m", text)
    assert n == 1, "one top-level horizon"
    text = re.sub(r"(?m)^warmup:.*$", "warmup: 0", text)
    copy = folder / path.name
    copy.write_text(text, encoding="utf-8")
    return copy


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def number(cell: str) -> float:
    value = float(cell)
    assert math.isfinite(value), cell
    return value


@pytest.mark.parametrize("path", ALL_FILES)
def test_command_writes_every_output(tmp_path, path):
    """`caresim run` on each file (shortened): every output file written, the contract's metrics
    all with a value, and no NaN or empty cell in mentions.csv or timeseries.csv where the
    contract promises a value."""
    source = shortened_file(path, tmp_path)
    out = tmp_path / "out"
    # the reference example uses every section: its report is drawn too (about a second); the
    # report's own tests cover the others
    report = path.stem == "reference"
    args = ["run", str(source), "-o", str(out), "--replications", "2", "--seed", "1", "--workers", "1", "-q"]
    result = CliRunner().invoke(main, args + ([] if report else ["--no-report"]))
    assert result.exit_code == 0, result.output
    written = {p.name for p in out.iterdir()}
    assert {"summary.json", "mentions.csv", "timeseries.csv", "scenario.yaml"} <= written
    assert ("report.html" in written) == report and any(n.endswith(".png") for n in written) == report
    if report:
        assert (out / "report.html").stat().st_size > 10_000

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    scenario = load_scenario(source)
    assert (summary["scenario"], summary["seed"], summary["replications"]) == (scenario.name, 1, 2)
    metrics = summary["metrics"]
    for key in CONTRACT_METRICS:
        m = metrics[key]
        assert None not in m.values(), (key, m)           # NaN is written as null
        assert m["ci_low"] <= m["mean"] <= m["ci_high"], (key, m)
    assert metrics["mentions"]["mean"] > 0
    assert load_scenario(out / "scenario.yaml") == scenario

    header, rows = read_csv(out / "mentions.csv")
    assert header == list(CSV_COLUMNS)
    assert len(rows) == round(2 * metrics["mentions"]["mean"])
    for row in rows:
        for column in ("id", "arrival", "ack_expected_by", "resolve_expected_by", "followers"):
            number(row[column])
        for column in TIME_COLUMNS:
            if row[column] != "":
                number(row[column])
        for column in REQUIRED_TIMES[row["outcome"]]:
            assert row[column] != "", (row["id"], row["outcome"], column)
            number(row[column])
        assert row["ack_breached"] in ("0", "1") and row["resolve_breached"] in ("0", "1")
    assert {row["replication"] for row in rows} == {"0", "1"}

    header, rows = read_csv(out / "timeseries.csv")
    assert header[:3] == ["replication", "time", "pool"] and header[3:] == list(SERIES_COLUMNS)
    bins = math.ceil(scenario.horizon / scenario.report_interval - 1e-9)
    assert len(rows) == 2 * len(scenario.pools) * bins
    for row in rows:
        for column in ("time", *SERIES_COLUMNS):
            number(row[column])


def _origin_count(log, origin: str) -> int:
    return int((np.asarray(log["origin"]) == ORIGINS.index(origin)).sum())


def test_viral_outage_brings_incident_and_cascade_mentions():
    scenario, result = shipped("viral_outage")
    at = 2 * DAY + 19 * 60.0                      # `at: 2d 19:00`, start at midnight
    for rep in result.replications:
        log = rep.mentions
        assert _origin_count(log, "incident") > 1000
        assert _origin_count(log, "cascade") > 0
        incident = np.asarray(log["origin"]) == ORIGINS.index("incident")
        assert np.asarray(log["arrival"])[incident].min() >= at
    # the outage overwhelms the team: far more breaches among the incident mentions than before
    log = result.mentions
    arrival = np.asarray(log["arrival"])
    answered = np.asarray(log["outcome"]) != OUT["ignored"]
    breached = np.asarray(log["ack_breached"]).astype(bool)
    before = answered & (arrival < at)
    outage = answered & (np.asarray(log["origin"]) == ORIGINS.index("incident"))
    assert breached[outage].mean() > breached[before].mean() + 0.3


def test_closed_loop_adds_cascade_mentions():
    _, loop = shipped("viral_outage")
    _, open_loop = shipped("viral_outage_no_loop")
    for with_loop, without in zip(loop.replications, open_loop.replications):
        # same seed, so the same base and incident mentions (common random numbers)
        assert _origin_count(with_loop.mentions, "incident") == _origin_count(without.mentions, "incident")
        assert _origin_count(with_loop.mentions, "base") == _origin_count(without.mentions, "base")
    assert (loop.summary["cascade_mentions"]["mean"]
            > open_loop.summary["cascade_mentions"]["mean"] * 1.1)


def test_marketing_intern_ignores_complaints():
    _, result = shipped("marketing_intern")
    log = result.mentions
    complaint = np.asarray(log["type"]) == log.types.index("complaint")
    outcome = np.asarray(log["outcome"])
    assert complaint.sum() > 100
    ignored = (outcome[complaint] == OUT["ignored"]).mean()
    assert ignored > 0.6, f"only {ignored:.0%} of complaints ignored"
    # what the intern means to answer mostly gets an answer (or its author gives up waiting)
    question = np.asarray(log["type"]) == log.types.index("question")
    assert (outcome[question] == OUT["ignored"]).mean() < 0.4


def test_batched_acknowledges_only_in_sweeps():
    scenario, result = shipped("batched")
    start = scenario.start
    midnight = -(start.hour * 60.0 + start.minute)
    days = int(scenario.end // DAY) + 2
    sweeps = np.sort([midnight + d * DAY + c for d in range(days) for c in scenario.policy.batch_times])
    log = result.mentions
    ack_start = np.asarray(log["ack_start"])
    done = ~np.isnan(ack_start)
    assert done.sum() > 100
    ack_start, arrival = ack_start[done], np.asarray(log["arrival"])[done]
    last_sweep = sweeps[np.searchsorted(sweeps, ack_start, side="right") - 1]
    # each first reply starts at or after the first sweep following its mention's arrival
    assert np.all(last_sweep >= arrival)
    assert np.all(ack_start >= last_sweep)


def test_influencer_priority_answers_large_accounts_first():
    _, result = shipped("influencer_priority")
    log = result.mentions
    followers = np.asarray(log["followers"])
    wait = np.asarray(log["ack_done"]) - np.asarray(log["arrival"])
    served = ~np.isnan(wait)
    top = served & (followers >= 10_000)
    bottom = served & (followers < 100)
    assert top.sum() >= 20 and bottom.sum() >= 200
    assert wait[top].mean() < 0.5 * wait[bottom].mean(), (wait[top].mean(), wait[bottom].mean())


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_scenario_as_written_back_loads_again(path):
    """The `scenario.yaml` a run writes (every default filled in) is itself a valid scenario
    file, equal to the one it came from."""
    import yaml

    from sim.scenario import dump_scenario, load_scenario, parse_scenario

    scenario = load_scenario(path)
    written = dump_scenario(scenario)      # the writer of a run's scenario.yaml
    assert parse_scenario(yaml.safe_load(written)) == scenario
