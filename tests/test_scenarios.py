"""Golden and smoke tests of the scenario files shipped in `scenarios/`.

Every file must validate and run; runs are shortened (two days, no warm-up; longer where a
scenario's story needs it) so the whole module stays fast. Each run must account for every
mention exactly once, and a few scenarios must still tell their story: the outage brings
incident and cascade mentions and the closed loop adds follow-ons, the marketing intern ignores
complaints, batched acknowledgements wait for a sweep, and the influencer-first team answers
large accounts faster than small ones.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.records import ORIGINS, OUTCOMES
from sim.runner import run
from sim.scenario import load_scenario

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
FILES = sorted(SCENARIO_DIR.glob("*.yaml"))
NAMES = [f.stem for f in FILES]
OUT = {name: k for k, name in enumerate(OUTCOMES)}
DAY = 1440.0

# Horizon of the shortened runs, in days (warm-up 0). The outage happens on day 2 at 19:00, so
# its run covers the evening and night after it; the intern's brand is so small that two days
# would hold only a handful of complaints.
HORIZON_DAYS = {"viral_outage": 3.5, "viral_outage_no_loop": 3.5, "marketing_intern": 14}


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
def shortened_run(name: str):
    scenario = load_scenario(SCENARIO_DIR / f"{name}.yaml")
    days = HORIZON_DAYS.get(name, 2)
    short = scenario.model_copy(update={"horizon": days * DAY, "warmup": 0.0})
    return short, run(short, replications=2, seed=1)


@pytest.mark.parametrize("name", NAMES)
def test_runs_and_accounts_for_every_mention(name):
    scenario, result = shortened_run(name)
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


def _origin_count(log, origin: str) -> int:
    return int((np.asarray(log["origin"]) == ORIGINS.index(origin)).sum())


def test_viral_outage_brings_incident_and_cascade_mentions():
    scenario, result = shortened_run("viral_outage")
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
    _, loop = shortened_run("viral_outage")
    _, open_loop = shortened_run("viral_outage_no_loop")
    for with_loop, without in zip(loop.replications, open_loop.replications):
        # same seed, so the same base and incident mentions (common random numbers)
        assert _origin_count(with_loop.mentions, "incident") == _origin_count(without.mentions, "incident")
        assert _origin_count(with_loop.mentions, "base") == _origin_count(without.mentions, "base")
    assert (loop.summary["cascade_mentions"]["mean"]
            > open_loop.summary["cascade_mentions"]["mean"] * 1.1)


def test_marketing_intern_ignores_complaints():
    _, result = shortened_run("marketing_intern")
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
    scenario, result = shortened_run("batched")
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
    _, result = shortened_run("influencer_priority")
    log = result.mentions
    followers = np.asarray(log["followers"])
    wait = np.asarray(log["ack_done"]) - np.asarray(log["arrival"])
    served = ~np.isnan(wait)
    top = served & (followers >= 10_000)
    bottom = served & (followers < 100)
    assert top.sum() >= 20 and bottom.sum() >= 200
    assert wait[top].mean() < 0.5 * wait[bottom].mean(), (wait[top].mean(), wait[bottom].mean())


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_scenario_as_written_back_loads_again(path):
    """The `scenario.yaml` a run writes (every default filled in) is itself a valid scenario
    file, equal to the one it came from."""
    import yaml

    from sim.scenario import dump_scenario, load_scenario, parse_scenario

    scenario = load_scenario(path)
    written = dump_scenario(scenario)      # the writer of a run's scenario.yaml
    assert parse_scenario(yaml.safe_load(written)) == scenario
