"""Staffing details: who takes work, who leaves at a shift end, how overtime is paid."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.runner import run
from sim.scenario import parse_scenario
from sim.scenario.units import parse_duration


def scenario(pools: dict, **extra) -> dict:
    doc = {
        "name": "s", "horizon": "1d", "replications": 1, "seed": 1,
        "arrivals": {"rate": "6/h"},
        "handling": {"resolve": {"dist": "fixed", "mean": "5m"}},
        "policy": {"acknowledge": "with_resolution"},
        "pools": pools,
    }
    doc.update(extra)
    return doc


def test_a_pool_never_staffed_takes_no_work():
    """The first pool in the file has nobody: the work goes to the one that has agents."""
    sc = parse_scenario(scenario({"empty": {"agents": 0}, "team": {"agents": 2}}))
    log = run(sc, seed=1).mentions
    assert len(log) > 100
    assert np.all(log["pool"] == list(sc.pools).index("team"))
    assert np.isnan(log["resolve_done"]).sum() <= 2          # only work still in hand at the end


BEFORE_NINE = [0] * 8 + [1] + [0] * 15     # every mention arrives 08:00-09:00: a backlog at 09:00


def test_overtime_is_paid_per_agent_until_the_last_conversation_ends():
    """One agent with concurrency 2 on 09:00-10:00 takes two 85-minute conversations at 09:00:
    the first alone (85 min, ends 10:25), the second beside it (1.5 x 85, ends 11:07.5). The
    agent is paid its hour plus 67.5 minutes of overtime, once, not per slot."""
    doc = scenario({"team": {"schedule": [{"days": "daily", "from": "09:00", "to": "10:00", "agents": 1}],
                             "concurrency": 2}},
                   horizon="14h", handling={"resolve": {"dist": "fixed", "mean": "85m"}},
                   arrivals={"rate": "40/h", "daily_profile": BEFORE_NINE})
    rep = run(parse_scenario(doc), seed=3).replications[0]
    done = np.sort(rep.mentions["resolve_done"][~np.isnan(rep.mentions["resolve_done"])])
    assert done.tolist() == pytest.approx([600 + 25.0, 600 + 67.5])
    assert rep.agent_hours["team"] == pytest.approx((60 + 67.5) / 60)


def test_overtime_runs_through_a_gap_between_shifts():
    """09:00-10:00 and 10:30-11:00, 115-minute conversations and a backlog: the first runs
    09:00-10:55 through the gap (paid), the second 10:55-12:50 past the end of the day's last
    shift (paid from 11:00): 90 min scheduled + 30 + 110 min overtime."""
    doc = scenario({"team": {"schedule": [{"days": "daily", "from": "09:00", "to": "10:00", "agents": 1},
                                          {"days": "daily", "from": "10:30", "to": "11:00", "agents": 1}]}},
                   horizon="14h", handling={"resolve": {"dist": "fixed", "mean": "115m"}},
                   arrivals={"rate": "40/h", "daily_profile": BEFORE_NINE})
    rep = run(parse_scenario(doc), seed=1).replications[0]
    done = np.sort(rep.mentions["resolve_done"][~np.isnan(rep.mentions["resolve_done"])])
    assert done.tolist() == pytest.approx([655.0, 770.0])
    assert rep.agent_hours["team"] == pytest.approx((90 + 30 + 110) / 60)


def test_idle_agents_leave_first_at_a_shift_end():
    """Of two agents, agent 1 is in a conversation and agent 0 idle when staffing drops to one:
    the busy one stays on duty (renumbered 0) and the idle one leaves, so nobody is paid
    overtime while a colleague sits idle."""
    from sim.engine.model import CareModel

    sc = parse_scenario(scenario({"team": {"agents": 2}}))
    pool = CareModel(sc, 0.0).pools[0]
    pool.set_on_duty(2, 0.0)
    busy_slot = next(a for a in pool.agents if a.k == 1)
    busy_slot.job, pool.busy[1] = 7, 1
    pool.idle = [a for a in pool.agents if a.k == 0]
    pool.set_on_duty(1, 60.0)
    assert busy_slot.k == 0 and not busy_slot.off
    idle_slot = next(a for a in pool.agents if a is not busy_slot)
    assert idle_slot.k == 1 and idle_slot.off
    assert pool.idle == [] and pool.busy == [1, 0] and pool.overtime_since == [None, None]


def test_durations_with_several_units():
    assert parse_duration("1h30m") == 90.0
    assert parse_duration("1m30s") == 1.5
    assert parse_duration("2d 12h") == 3600.0


def test_scenarios_with_the_same_name_get_their_own_folders(tmp_path):
    doc = scenario({"team": {"agents": 2}}, horizon="2h")
    import yaml

    for stem in ("a", "b"):
        (tmp_path / f"{stem}.yaml").write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(main, ["run", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"),
                                       "-o", str(tmp_path / "out"), "--no-report", "-q", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "a" / "summary.json").exists()
    assert (tmp_path / "out" / "b" / "summary.json").exists()
