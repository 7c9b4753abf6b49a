"""Summary metrics on hand-made logs: business-hours clock, censoring, fairness groups."""
from __future__ import annotations

import math

import numpy as np
import pytest

from sim.metrics import MentionStats, business_clock, follower_tier
from sim.records import OUTCOMES, MentionLog
from sim.runner import run
from sim.scenario import ScenarioError, parse_scenario
from sim.scenario.models import Block

NAN = math.nan


def office_hours():
    return [Block.model_validate({"days": "mon-fri", "from": "09:00", "to": "17:00"})]


def test_business_clock_counts_only_open_minutes():
    clock = business_clock(office_hours(), 0.0)  # minute 0 = Monday 00:00
    t = np.array([0.0, 540.0, 600.0, 1020.0, 1440 + 540.0, 5 * 1440.0, 7 * 1440 + 600.0])
    assert clock(t).tolist() == [0.0, 0.0, 60.0, 480.0, 480.0, 2400.0, 2460.0]


def test_business_clock_from_a_midweek_start_and_missing_times():
    clock = business_clock(office_hours(), 3 * 1440.0 + 600.0)  # Thursday 10:00
    out = clock(np.array([0.0, 420.0, 1440.0, 4 * 1440.0, NAN]))
    # Thu 10:00 -> 17:00 is 420 business minutes; Fri 10:00 is 480 after; Mon 10:00 is 960
    assert out[:4].tolist() == [0.0, 420.0, 480.0, 960.0]
    assert math.isnan(out[4])


def scenario(**extra):
    doc = {
        "name": "t", "horizon": "1d", "replications": 1,
        "arrivals": {"rate": "1/h", "types": {"complaint": 0.5, "noise": 0.5}},
        "pools": {"team": {"agents": 1}},
        "sla": {"acknowledge": {"within": "1h", "target": 0.9}},
        "policy": {"respond_to": ["complaint"]},
    }
    doc.update(extra)
    return parse_scenario(doc)


def log(rows: list[dict]) -> MentionLog:
    cols = {}
    defaults = {"replication": 0, "parent_id": -1, "channel": 0, "triaged_as": 0, "followers": 100,
                "origin": 0, "ack_start": NAN, "ack_done": NAN, "resolve_start": NAN,
                "resolve_done": NAN, "abandoned_at": NAN, "pool": 0}
    for k, name in enumerate(("replication", "id", "parent_id", "arrival", "channel", "type", "triaged_as",
                              "followers", "origin", "ack_expected_by", "resolve_expected_by", "ack_start",
                              "ack_done", "resolve_start", "resolve_done", "abandoned_at", "pool", "outcome",
                              "ack_breached", "resolve_breached")):
        values = [r.get(name, defaults.get(name)) for r in rows]
        if name in ("ack_breached", "resolve_breached"):
            cols[name] = np.array(values, dtype=bool)
        elif isinstance(values[0], float) or name in ("arrival",):
            cols[name] = np.array(values, dtype=float)
        else:
            cols[name] = np.array(values)
    return MentionLog(cols, ("twitter",), ("complaint", "noise"), ("team",))


def row(i, arrival, ack_done, due, outcome, typ=0, followers=100, resolve_done=NAN):
    breached = (ack_done > due) or (math.isnan(ack_done) and due <= 1440.0)
    return {"id": i, "arrival": arrival, "type": typ, "ack_expected_by": due, "resolve_expected_by": 1e9,
            "ack_start": ack_done, "ack_done": ack_done, "resolve_done": resolve_done,
            "followers": followers, "outcome": OUTCOMES.index(outcome), "ack_breached": breached,
            "resolve_breached": False}


def test_shares_breaches_and_censoring_by_hand():
    sc = scenario()
    rows = [
        row(0, 0.0, 30.0, 60.0, "acknowledged"),                    # met SLA and expectation
        row(1, 0.0, 90.0, 60.0, "acknowledged", followers=5000),    # late on both
        row(2, 100.0, NAN, 200.0, "open"),                          # never: deadline passed -> breach
        row(3, 1430.0, NAN, 1500.0, "open"),                        # undecided at the horizon
        row(4, 10.0, NAN, 20.0, "ignored", typ=1),                  # noise: not answerable
    ]
    m = MentionStats(sc, exact=True).add(log(rows)).metrics()
    assert m["mentions"] == 5 and m["answerable_mentions"] == 4
    assert m["acknowledged_share"] == 0.5
    assert m["open_share"] == 0.5
    # breach: rows 1 and 2 breached, row 0 met, row 3 undecided -> 2 / 3
    assert m["ack_breach_rate"] == pytest.approx(2 / 3)
    # SLA 1 h: row 0 met, rows 1, 2 missed, row 3's window still open at the horizon -> 1 / 3
    assert m["ack_sla_attainment"] == pytest.approx(1 / 3)
    assert m["ack_time_p50"] == 30.0      # inverted CDF: the smallest value with F >= 0.5
    assert m["ack_breach_rate_tier_1k_10k"] == 1.0
    assert m["ack_breach_rate_tier_lt1k"] == pytest.approx(1 / 2)
    assert math.isnan(m["ack_breach_rate_tier_ge100k"])
    assert "ack_breach_rate_type_noise" not in m          # noise is not answered: no group


def test_streamed_statistics_equal_one_batch():
    sc = scenario()
    rows = [row(i, float(i), float(i) + 5 + i % 7, float(i) + 8, "acknowledged", followers=10 ** (i % 6))
            for i in range(200)]
    whole = MentionStats(sc).add(log(rows)).metrics()
    parts = MentionStats(sc)
    for k in range(0, 200, 30):
        parts.add(log(rows[k:k + 30]))
    assert parts.metrics() == whole


def test_follower_tiers():
    assert follower_tier(np.array([0, 999, 1000, 9999, 10_000, 99_999, 100_000])).tolist() == [0, 0, 1, 1, 2, 2, 3]


def test_business_hours_run_with_unserved_mentions():
    """Regression: a time that never came (NaN) once crashed the business-hours clock."""
    sc = parse_scenario({
        "name": "bh", "horizon": "2d", "replications": 2,
        "arrivals": {"rate": "30/h"}, "pools": {"social": {"agents": 1}},
        "sla": {"clock": "business_hours",
                "business_hours": [{"days": "mon-fri", "from": "09:00", "to": "17:00"}]},
    })
    s = run(sc, seed=3).summary
    assert s["ack_sla_attainment"]["mean"] == s["ack_sla_attainment_business_hours"]["mean"]
    # customers' clocks run at night: the calendar SLA looks worse than the business one
    assert s["ack_sla_attainment_calendar"]["mean"] < s["ack_sla_attainment_business_hours"]["mean"]


def test_move_channel_needs_a_public_acknowledgement():
    with pytest.raises(ScenarioError) as err:
        scenario(routing={"move_channel": {"share": 0.5}}, policy={"acknowledge": "with_resolution"})
    assert err.value.key == "routing.move_channel"


def test_a_run_where_nobody_arrives(tmp_path):
    """Regression: a replication without a single mention once looked like a streamed one (no
    records) and lost its `mentions` metric. It must be an empty log, counted as 0, and the
    whole command (report included) must cope."""
    import yaml
    from click.testing import CliRunner

    from sim.cli import main

    doc = {"name": "quiet", "horizon": "1d", "replications": 3, "seed": 1,
           "arrivals": {"rate": "0.001/d"}, "pools": {"team": {"agents": 1}}}
    result = run(parse_scenario(doc))
    assert [len(r.mentions) for r in result.replications] == [0, 0, 0]
    assert result.summary["mentions"] == {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    assert math.isnan(result.summary["acknowledged_share"]["mean"])
    path = tmp_path / "quiet.yaml"
    path.write_text(yaml.safe_dump(doc))
    out = CliRunner().invoke(main, ["run", str(path), "-o", str(tmp_path / "out"), "--workers", "1", "-q"])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "out" / "mentions.csv").read_text().count("\n") == 1   # the header only
    assert (tmp_path / "out" / "report.html").exists()


def test_intervals_stay_within_what_a_metric_can_be():
    from sim.metrics import summarize

    reps = [{"resolved_share": v, "ack_breach_rate": 1.0 - v, "mentions": 3 * v} for v in (0.0, 0.0, 0.03)]
    s = summarize(reps)
    assert s["resolved_share"]["ci_low"] == 0.0 < s["resolved_share"]["ci_high"]
    assert s["ack_breach_rate"]["ci_high"] == 1.0 > s["ack_breach_rate"]["ci_low"]
    assert s["mentions"]["ci_low"] == 0.0
    assert s["resolved_share"]["mean"] == pytest.approx(0.01)   # the mean itself is untouched


def test_growing_array_holds_what_was_appended():
    """Appended in pieces across several doublings (and empty pieces): the concatenation."""
    from sim.records import GrowingArray

    rng = np.random.default_rng(3)
    pieces = [rng.normal(size=k) for k in (0, 5, 1500, 0, 3000, 7, 20_000)]
    grown = GrowingArray(float)
    for i, piece in enumerate(pieces):
        grown.extend(piece)
        assert np.array_equal(grown.array(), np.concatenate(pieces[:i + 1]))
    labels = GrowingArray(np.int8)
    labels.extend(np.array([-1, 3, 127]))
    assert labels.array().dtype == np.int8 and labels.array().tolist() == [-1, 3, 127]
