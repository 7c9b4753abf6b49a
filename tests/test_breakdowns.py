"""Breakdown tables on hand-made logs whose answers are worked out by hand."""
from __future__ import annotations

from datetime import datetime, timedelta

import math

import numpy as np
import pytest

from sim import breakdowns, cascades
from sim.records import OUTCOMES, MentionLog, TimeSeries
from sim.scenario import parse_scenario

from helpers import make_log

NAN = float("nan")
IGNORED = OUTCOMES.index("ignored")
RESOLVED = OUTCOMES.index("resolved")
ACKED = OUTCOMES.index("acknowledged")
OPEN = OUTCOMES.index("open")


def scenario(start: str = "2026-01-05T06:30"):
    return parse_scenario({
        "name": "hand",
        "horizon": "2d",
        "start": start,
        "arrivals": {"rate": "10/h"},
        "sla": {"acknowledge": {"within": "1h", "target": 0.9}},
        "pools": {"social": {"agents": 2}},
    })


def test_hour_of_day_counts_from_the_calendar_start():
    start = datetime(2026, 1, 5, 6, 30)
    times = np.array([0.0, 29.9, 30.0, 1050.0, 1440.0 + 17 * 60 + 30.0])
    assert breakdowns.hour_of_day(times, start).tolist() == [6, 6, 7, 0, 0]
    rng = np.random.default_rng(1)
    sample = rng.uniform(0, 3 * 1440, 200)
    expected = [(start + timedelta(minutes=float(m))).hour for m in sample]
    assert breakdowns.hour_of_day(sample, start).tolist() == expected


def test_breach_rate_by_hour_counts_decided_answerable_mentions():
    # start 06:30: arrivals at minute 0 and 20 fall in hour 6, 40 and 50 in hour 7, 1440 + 40 in
    # hour 7. Row 4 is noise (not answered): left out. Row 1 is undecided for acknowledgement (not
    # acknowledged, deadline after the end at 2880) and row 2 for resolution; row 5 is mis-triaged
    # and ignored.
    log = make_log(
        types=("complaint", "noise"),
        arrival=[0.0, 20.0, 40.0, 1480.0, 50.0, 45.0],
        type=[0, 0, 0, 0, 1, 0],
        ack_done=[70.0, NAN, 45.0, 1490.0, 55.0, NAN],
        ack_expected_by=[60.0, 3000.0, 100.0, 1500.0, 60.0, 50.0],
        ack_breached=[1, 0, 0, 0, 1, 1],
        resolve_done=[100.0, NAN, NAN, 1600.0, NAN, NAN],
        resolve_expected_by=[200.0, 30.0, 3000.0, 1550.0, 60.0, 100.0],
        resolve_breached=[0, 1, 0, 1, 1, 1],
        outcome=[RESOLVED, OPEN, ACKED, RESOLVED, IGNORED, IGNORED],
    )
    table = breakdowns.breach_rate_by_hour(log, scenario())
    assert table.hours.tolist() == list(range(24))
    assert table.counts[6] == 2 and table.counts[7] == 3 and table.counts.sum() == 5
    # acknowledgement decided: rows 0 (late), 2, 3 (in time), 5 (late); resolution: 0, 1, 3, 5
    assert (table.ack_counts[6], table.ack_counts[7]) == (1, 3)
    assert (table.resolve_counts[6], table.resolve_counts[7]) == (2, 2)
    assert table.ack_rate[6] == 1.0 and table.ack_rate[7] == pytest.approx(1 / 3)
    assert table.resolve_rate[6] == 0.5 and table.resolve_rate[7] == 1.0
    others = [h for h in range(24) if h not in (6, 7)]
    assert np.isnan(table.ack_rate[others]).all() and np.isnan(table.resolve_rate[others]).all()


def test_follower_tiers_put_an_edge_in_the_upper_tier():
    from sim.metrics import FOLLOWER_TIERS, follower_tier

    followers = [0, 999, 1000, 9999, 10_000, 99_999, 100_000, 10**7]
    assert follower_tier(np.array(followers)).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert FOLLOWER_TIERS == ("lt1k", "1k_10k", "10k_100k", "ge100k")
    assert breakdowns.tier_labels() == ("< 1k", "1k–10k", "10k–100k", "≥ 100k")


def test_quantiles_are_the_summarys_inverted_cdf():
    # the smallest value with at least a share q at or below it: no interpolation
    assert breakdowns.quantile(np.array([10.0, 90.0]), 0.5) == 10.0
    assert breakdowns.quantile(np.array([10.0, 20.0, 45.0, 90.0, NAN]), 0.5) == 20.0
    assert breakdowns.quantile(np.array([10.0, 20.0, 45.0, 90.0]), 0.9) == 90.0
    assert np.isnan(breakdowns.quantile(np.array([NAN]), 0.5))


def answering(*types: str):
    """A scenario whose team answers `types` of complaint and noise."""
    return parse_scenario({
        "name": "hand", "horizon": "2d",
        "arrivals": {"rate": "10/h", "types": {"complaint": 0.7, "noise": 0.3}},
        "pools": {"social": {"agents": 2}},
        "policy": {"respond_to": list(types)},
    })


def test_ack_time_distribution_counts_the_never_acknowledged():
    # row 4 is noise, not answered: left out; row 5, a complaint mis-triaged and ignored, counts
    log = make_log(
        types=("complaint", "noise"),
        arrival=[0.0, 10.0, 20.0, 30.0, 40.0, 50.0],
        type=[0, 0, 0, 0, 1, 0],
        ack_done=[5.0, 12.0, NAN, 90.0, 41.0, NAN],
        outcome=[RESOLVED, RESOLVED, OUTCOMES.index("abandoned"), RESOLVED, IGNORED, IGNORED],
    )
    dist = breakdowns.ack_time_distribution(log, answering("complaint"))
    assert dist.n == 5
    assert dist.x.tolist() == [2.0, 5.0, 60.0]
    assert dist.y.tolist() == pytest.approx([0.2, 0.4, 0.6])
    assert dist.at(4.99) == pytest.approx(0.2) and dist.at(5.0) == pytest.approx(0.4)
    assert dist.at(1.0) == 0.0 and dist.at(1e9) == pytest.approx(0.6)
    assert dist.reached == pytest.approx(0.6)
    assert breakdowns.ack_time_distribution(log, answering("complaint", "noise")).n == 6


def test_expectation_and_resolve_distributions():
    log = make_log(
        types=("complaint", "noise"),
        arrival=[0.0, 10.0, 20.0, 30.0],
        type=[0, 0, 0, 1],
        ack_expected_by=[60.0, 40.0, 140.0, 1000.0],
        resolve_expected_by=[100.0, 110.0, 120.0, 130.0],
        resolve_done=[30.0, NAN, 220.0, 31.0],
        outcome=[RESOLVED, IGNORED, RESOLVED, RESOLVED],
    )
    sc = answering("complaint")
    ack = breakdowns.expectation_distribution(log, sc)
    assert ack.x.tolist() == [30.0, 60.0, 120.0] and ack.n == 3
    assert ack.at(60.0) == pytest.approx(2 / 3)
    resolve = breakdowns.expectation_distribution(log, sc, "resolve")
    assert resolve.x.tolist() == [100.0, 100.0, 100.0]
    assert resolve.y.tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])
    done = breakdowns.resolve_time_distribution(log, sc)
    assert done.x.tolist() == [30.0, 200.0] and done.reached == pytest.approx(2 / 3)


def test_empty_log_gives_empty_tables():
    log = make_log(arrival=np.zeros(0))
    table = breakdowns.breach_rate_by_hour(log, scenario())
    assert table.counts.sum() == 0 and np.isnan(table.ack_rate).all()
    dist = breakdowns.ack_time_distribution(log, scenario())
    assert dist.n == 0 and len(dist.x) == 0 and np.isnan(dist.at(10.0))
    assert np.isnan(breakdowns.sla_attainment(log, scenario()))


def test_report_tables_agree_with_the_summary_on_a_run():
    """One replication with mentions not answered, mis-triaged and undecided at the horizon:
    the hourly breach rates pooled with their counts give the summary's breach rates, and the
    SLA figure's attainment is the summary's, because they count the same mentions."""
    from sim.expectation_gap import breach_rate_by_hour_of_week
    from sim.metrics import answerable
    from sim.report import ack_vs_expectation_figure
    from sim.runner import run

    sc = parse_scenario({
        "name": "agree", "horizon": "3d", "warmup": "6h", "seed": 3, "start": "2026-01-07T10:30",
        "arrivals": {"rate": "20/h", "types": {"complaint": 0.5, "question": 0.2, "noise": 0.3}},
        "expectations": {"acknowledge": {"default": {"median": "1h", "sigma": 0.8}},
                         "resolve": {"default": {"median": "8h", "sigma": 0.8}}},
        "sla": {"acknowledge": {"within": "1h", "target": 0.9}, "resolve": {"within": "1d", "target": 0.8}},
        "pools": {"social": {"schedule": [{"days": "daily", "from": "08:00", "to": "20:00", "agents": 2}]}},
        "policy": {"respond_to": ["complaint", "question"], "triage_accuracy": 0.9},
    })
    result = run(sc, replications=1)
    log, summary = result.mentions, result.summary
    a = log.select(answerable(log, sc))
    for stage in ("ack", "resolve"):
        # the summary's rule, written out: a breach counts once the expectation is decided,
        # its deadline fallen by the end of the run
        breached = np.asarray(a[f"{stage}_breached"])
        decided = breached | (a[f"{stage}_expected_by"] <= sc.end)
        assert (~decided).any() and breached[decided].mean() == pytest.approx(summary[f"{stage}_breach_rate"]["mean"])
        for table in (breakdowns.breach_rate_by_hour(log, sc), breach_rate_by_hour_of_week(log, sc)):
            rate, counts = getattr(table, f"{stage}_rate"), getattr(table, f"{stage}_counts")
            assert counts.sum() == decided.sum()
            assert np.nansum(rate * counts) / counts.sum() == pytest.approx(breached[decided].mean())
    assert (np.asarray(log["outcome"])[answerable(log, sc)] == IGNORED).any()   # mis-triaged, counted
    attained = summary["ack_sla_attainment"]["mean"]
    assert breakdowns.sla_attainment(log, sc) == pytest.approx(attained)
    assert breakdowns.sla_attainment(log, sc, "resolve") == pytest.approx(summary["resolve_sla_attainment"]["mean"])
    texts = [t.get_text() for t in ack_vs_expectation_figure(log, sc).axes[0].texts]
    assert any(f"acknowledged within the SLA time: {attained:.1%}" in t for t in texts)


def test_queue_series_mean_over_replications_per_time_and_pool():
    # Two replications x two pools x two intervals; replication 1 lacks pool 1 at time 15.
    series = TimeSeries(
        replication=np.array([0, 0, 0, 0, 1, 1, 1]),
        time=np.array([0.0, 15.0, 0.0, 15.0, 0.0, 15.0, 0.0]),
        pool=np.array([0, 0, 1, 1, 0, 0, 1]),
        values={
            "ack_queue": np.array([1.0, 2.0, 10.0, 20.0, 3.0, 6.0, 30.0]),
            "arrivals": np.array([4.0, 5.0, 4.0, 5.0, 6.0, 7.0, 6.0]),
        },
        pools=("social", "specialists"),
    )
    mean = breakdowns.queue_series_mean(series)
    assert mean.time.tolist() == [0.0, 15.0]
    assert mean.pools == ("social", "specialists")
    np.testing.assert_array_equal(mean.values["ack_queue"], [[2.0, 4.0], [20.0, 20.0]])
    np.testing.assert_array_equal(mean.total("ack_queue"), [22.0, 24.0])
    np.testing.assert_array_equal(mean.total("arrivals"), [5.0, 6.0])
    assert breakdowns.replication_count(series) == 2


def test_queue_series_mean_marks_missing_cells_and_whole_team_rows():
    series = TimeSeries(
        replication=np.array([0, 0, 0]),
        time=np.array([0.0, 15.0, 0.0]),
        pool=np.array([-1, -1, 0]),
        values={"resolve_queue": np.array([1.0, 2.0, 5.0])},
        pools=("social",),
    )
    mean = breakdowns.queue_series_mean(series)
    assert mean.pools == ("all", "social")
    assert mean.values["resolve_queue"][0].tolist() == [1.0, 2.0]
    assert mean.values["resolve_queue"][1, 0] == 5.0 and np.isnan(mean.values["resolve_queue"][1, 1])
    assert mean.total("resolve_queue").tolist() == [6.0, 2.0]


# --- Fairness ---------------------------------------------------------------------------------

TYPES = ("complaint", "noise", "praise")
CHANNELS = ("twitter", "facebook")


def fairness_scenario():
    return parse_scenario({
        "name": "fair",
        "horizon": "2d",
        "arrivals": {"rate": "10/h", "types": {"complaint": 0.5, "noise": 0.3, "praise": 0.2},
                     "channels": {"twitter": 0.6, "facebook": 0.4}},
        "pools": {"social": {"agents": 2}},
        "policy": {"respond_to": ["complaint", "praise"]},
    })


def fairness_log(replication: int = 0) -> MentionLog:
    """Eight mentions, all arriving at 0. Row 4 is noise (not answered: left out everywhere);
    row 1's resolution and row 5's acknowledgement and resolution are undecided (not served,
    deadline after the end of the run at 2880); row 2 is a praise mention mis-triaged and ignored."""
    return make_log(
        channels=CHANNELS, types=TYPES,
        replication=np.full(8, replication),
        arrival=np.zeros(8),
        followers=[500, 999, 1000, 5000, 9999, 50_000, 100_000, 250_000],
        type=[0, 0, 2, 0, 1, 0, 2, 0],
        channel=[0, 1, 0, 0, 0, 1, 1, 0],
        ack_done=[10.0, 90.0, NAN, 20.0, 3.0, NAN, 5.0, 45.0],
        ack_expected_by=[60.0, 60.0, 30.0, 60.0, 60.0, 3000.0, 60.0, 30.0],
        ack_breached=np.array([0, 1, 1, 0, 0, 0, 0, 1], dtype=bool),
        resolve_done=[100.0, NAN, NAN, 400.0, NAN, NAN, 50.0, NAN],
        resolve_expected_by=[1000.0, 3000.0, 500.0, 300.0, 100.0, 3000.0, 100.0, 100.0],
        resolve_breached=np.array([0, 0, 1, 1, 1, 0, 0, 1], dtype=bool),
        outcome=[RESOLVED, ACKED, IGNORED, RESOLVED, IGNORED, OPEN, RESOLVED, ACKED],
    )


def assert_stats(stats, count, acknowledged, ack_rate, resolve_rate, p50, p90):
    assert stats.count.tolist() == count
    np.testing.assert_allclose(stats.acknowledged_share, acknowledged)
    np.testing.assert_allclose(stats.ack_breach_rate, ack_rate)
    np.testing.assert_allclose(stats.resolve_breach_rate, resolve_rate)
    np.testing.assert_allclose(stats.ack_time_p50, p50)
    np.testing.assert_allclose(stats.ack_time_p90, p90)


def test_by_follower_tier_by_hand():
    stats = breakdowns.by_follower_tier(fairness_log(), fairness_scenario())
    assert stats.keys == ("lt1k", "1k_10k", "10k_100k", "ge100k")
    assert stats.labels == ("< 1k", "1k–10k", "10k–100k", "≥ 100k")
    # < 1k: rows 0, 1 (ack times 10, 90; row 1's resolution undecided)
    # 1k-10k: rows 2, 3 (row 4 is noise); 10k-100k: row 5, nothing decided; >= 100k: rows 6, 7
    assert_stats(stats, [2, 2, 1, 2], [1.0, 0.5, 0.0, 1.0], [0.5, 0.5, NAN, 0.5], [0.0, 1.0, NAN, 0.5],
                 [10.0, 20.0, NAN, 5.0], [90.0, 20.0, NAN, 45.0])


def test_by_channel_by_hand():
    stats = breakdowns.by_channel(fairness_log(), fairness_scenario())
    assert stats.keys == stats.labels == CHANNELS
    # twitter: rows 0, 2, 3, 7, ack times 10, 20, 45; facebook: rows 1, 5, 6, ack times 90, 5
    assert_stats(stats, [4, 3], [0.75, 2 / 3], [0.5, 0.5], [0.75, 0.0], [20.0, 5.0], [45.0, 90.0])


def test_by_type_by_hand_leaves_out_types_not_answered():
    stats = breakdowns.by_type(fairness_log(), fairness_scenario())
    assert stats.keys == TYPES
    # complaint: rows 0, 1, 3, 5, 7 (ack times 10, 20, 45, 90); noise: none; praise: rows 2, 6
    assert_stats(stats, [5, 0, 2], [0.8, NAN, 0.5], [0.5, NAN, 0.5], [2 / 3, NAN, 0.5],
                 [20.0, NAN, 5.0], [90.0, NAN, 5.0])


def test_fairness_pools_replications():
    log = MentionLog.concat([fairness_log(0), fairness_log(1)])
    stats = breakdowns.by_follower_tier(log, fairness_scenario())
    assert stats.count.tolist() == [4, 4, 2, 4]
    np.testing.assert_allclose(stats.ack_breach_rate, [0.5, 0.5, NAN, 0.5])


def test_fairness_tables_agree_with_the_summary_metrics():
    from sim.metrics import replication_metrics
    from sim.records import Replication

    scenario = fairness_scenario()
    log = fairness_log()
    rep = Replication(0, log, None, {"social": 1.0}, {"social": 0.0},
                      {"busy_hours": 0.5, "max_queue_length": 1.0})
    metrics = replication_metrics(scenario, rep)
    for dim, stats in (("tier", breakdowns.by_follower_tier(log, scenario)),
                       ("channel", breakdowns.by_channel(log, scenario)),
                       ("type", breakdowns.by_type(log, scenario))):
        for i, key in enumerate(stats.keys):
            if stats.count[i] == 0:
                continue
            for stage, rates in (("ack", stats.ack_breach_rate), ("resolve", stats.resolve_breach_rate)):
                value = metrics[f"{stage}_breach_rate_{dim}_{key}"]
                assert value == pytest.approx(rates[i], nan_ok=True), (stage, dim, key)
            # the same quantile definition: exact sample values, no interpolation
            assert metrics[f"ack_time_p50_{dim}_{key}"] == pytest.approx(stats.ack_time_p50[i], nan_ok=True)


# --- Cascades ---------------------------------------------------------------------------------

ABANDONED = OUTCOMES.index("abandoned")


def cascade_log() -> MentionLog:
    """Replication 1 (rows first, shuffled): 0 <- 1 <- 3, 0 <- 2. Replication 0: 0 <- 1 <- 2 <- 5;
    3's parent 9 arrived in the warm-up (not in the log), 3 <- 4; 6 alone."""
    rows = [
        # replication, id, parent, arrival, followers, type, channel, origin, outcome, ack_breached
        (1, 2, 0, 30.0, 10, 0, 0, 1, RESOLVED, 0),
        (1, 0, -1, 10.0, 40_000, 2, 1, 2, ABANDONED, 1),
        (0, 0, -1, 5.0, 100, 0, 0, 0, ACKED, 1),
        (0, 1, 0, 6.0, 20, 0, 0, 1, RESOLVED, 0),
        (1, 1, 0, 20.0, 30, 0, 0, 1, RESOLVED, 0),
        (0, 2, 1, 7.0, 30, 0, 0, 1, RESOLVED, 0),
        (0, 3, 9, 8.0, 700, 2, 1, 1, RESOLVED, 0),
        (0, 4, 3, 9.0, 40, 0, 0, 1, RESOLVED, 0),
        (0, 5, 2, 9.5, 50, 0, 0, 1, RESOLVED, 0),
        (0, 6, -1, 11.0, 60, 1, 0, 0, IGNORED, 1),
        (1, 3, 1, 40.0, 5, 0, 0, 1, RESOLVED, 0),
    ]
    cols = list(zip(*rows))
    names = ("replication", "id", "parent_id", "arrival", "followers", "type", "channel", "origin",
             "outcome", "ack_breached")
    given = {name: np.asarray(col) for name, col in zip(names, cols)}
    given["ack_breached"] = given["ack_breached"].astype(bool)
    return make_log(channels=CHANNELS, types=TYPES, **given)


def test_cascade_roots_follow_parents_within_a_replication():
    log = cascade_log()
    roots = cascades.cascade_roots(log)
    root_ids = [(int(log["replication"][r]), int(log["id"][r])) for r in roots]
    assert root_ids == [(1, 0), (1, 0), (0, 0), (0, 0), (1, 0), (0, 0), (0, 3), (0, 3), (0, 0), (0, 6), (1, 0)]


def test_cascade_sizes_by_hand():
    every = cascades.cascade_sizes(MentionLog.concat([cascade_log()]))
    assert every.replication.tolist() == [0, 0, 0, 1]
    assert every.root_id.tolist() == [0, 3, 6, 0]
    assert every.size.tolist() == [4, 2, 1, 4]
    assert every.root_followers.tolist() == [100, 700, 60, 40_000]
    assert every.root_type == ("complaint", "praise", "noise", "praise")
    assert every.root_channel == ("twitter", "facebook", "twitter", "facebook")
    assert every.root_origin == ("base", "cascade", "base", "incident")
    assert every.root_arrival.tolist() == [5.0, 8.0, 11.0, 10.0]
    assert every.root_ack_breached.tolist() == [True, False, True, True]
    assert every.root_neglected.tolist() == [False, False, True, True]
    assert every.root_outcome == ("acknowledged", "resolved", "ignored", "abandoned")
    assert every.size.sum() == len(cascade_log())


def test_largest_cascades_order_ties_and_minimum_size():
    log = cascade_log()
    top = cascades.largest_cascades(log)
    assert list(zip(top.replication.tolist(), top.root_id.tolist(), top.size.tolist())) == [
        (0, 0, 4), (1, 0, 4), (0, 3, 2)]
    two = cascades.largest_cascades(log, k=2)
    assert two.root_id.tolist() == [0, 0] and two.replication.tolist() == [0, 1]
    assert len(cascades.largest_cascades(log, k=10, min_size=1)) == 4
    assert cascades.largest_cascade_size(log) == {0: 4, 1: 4}


def test_cascades_of_a_long_chain_and_of_nothing():
    n = 1000
    chain = make_log(arrival=np.arange(n, dtype=float), parent_id=np.arange(n) - 1)
    assert cascades.cascade_roots(chain).tolist() == [0] * n
    assert cascades.largest_cascade_size(chain) == {0: n}
    empty = make_log(arrival=np.zeros(0))
    assert len(cascades.cascade_sizes(empty)) == 0
    assert len(cascades.largest_cascades(empty)) == 0
    assert cascades.largest_cascade_size(empty) == {}


def test_cascade_cycle_is_an_error():
    log = make_log(arrival=[0.0, 1.0, 2.0], parent_id=[1, 2, 0])
    with pytest.raises(ValueError, match="cycle"):
        cascades.cascade_roots(log)


# --- Arrivals per interval --------------------------------------------------------------------


def profiled_scenario(start: str = "2026-01-05T06:30", weekly=None):
    daily = [1.0] * 24
    daily[6] = 2.0
    return parse_scenario({
        "name": "profile",
        "horizon": "2d",
        "start": start,
        "report_interval": "1h",
        "arrivals": {"rate": "10/h", "daily_profile": daily, "weekly_profile": weekly or "flat"},
        "pools": {"social": {"agents": 2}},
    })


def test_expected_base_arrivals_by_hand():
    # weights normalised by their mean 25/24: hour 6 runs at 10/h x 48/25 = 0.32/min, the rest at
    # 0.16/min; minute 0 is 06:30, so [0, 30) is in hour 6 and a whole day brings 240.
    sc = profiled_scenario()
    expected = breakdowns.expected_base_arrivals(sc, np.array([0.0, 30.0, 90.0, 1470.0]))
    np.testing.assert_allclose(expected, [9.6, 9.6, 240.0 - 19.2 + 9.6])


def test_expected_base_arrivals_match_the_rate_integral_across_a_week_end():
    from sim.arrivals.base import hourly_rates, rate_at, week_offset

    sc = profiled_scenario("2026-01-11T22:10", weekly=[1, 1, 1, 1, 1, 2, 3])   # a Sunday night
    edges = np.array([0.0, 37.0, 110.0, 1000.0, 2880.0])
    table = hourly_rates(sc.arrivals.rate, sc.arrivals.daily_weights(), sc.arrivals.weekly_weights())
    minutes = np.arange(0.0, 2880.0) + 0.5   # the rate is constant within each whole minute here
    rates = rate_at(minutes, table, week_offset(sc.start))
    numeric = [rates[(minutes >= a) & (minutes < b)].sum() for a, b in zip(edges[:-1], edges[1:])]
    np.testing.assert_allclose(breakdowns.expected_base_arrivals(sc, edges), numeric)


def test_interval_edges_end_at_the_horizon():
    sc = profiled_scenario()   # horizon 2 d, no warm-up, 1 h intervals
    assert breakdowns.interval_edges(np.array([360.0, 420.0, 480.0]), sc).tolist() == [360.0, 420.0, 480.0, 540.0]
    assert breakdowns.interval_edges(np.array([2760.0, 2850.0]), sc).tolist() == [2760.0, 2850.0, 2880.0]
    assert len(breakdowns.interval_edges(np.zeros(0), sc)) == 0


def test_arrivals_by_origin_is_a_mean_per_replication():
    log = make_log(
        replication=[0, 0, 0, 1, 1, 1],
        arrival=[1.0, 2.0, 12.0, 5.0, 15.0, 25.0],
        origin=[0, 1, 1, 0, 2, 0],
    )
    counts = breakdowns.arrivals_by_origin(log, np.array([0.0, 10.0, 20.0]), 2)
    np.testing.assert_array_equal(counts, [[1.0, 0.0], [0.5, 0.5], [0.0, 0.5]])   # 25.0 is past the end
    np.testing.assert_array_equal(breakdowns.arrivals_by_origin(log, np.array([0.0, 30.0]), 4),
                                  [[0.75], [0.5], [0.25]])


def test_only_closed_windows_and_fallen_deadlines_count():
    """Attainment and breach rates count a mention once its SLA window closed, or its deadline
    fell, by the horizon: a mention served early near the end counts neither way, like one still
    waiting there, so the end of a run flatters nothing."""
    from sim.metrics import expectation_decided, sla_met

    sc = scenario()                                  # ends at 2880; acknowledgement SLA 1 h
    log = make_log(arrival=[100.0, 2850.0, 2850.0], ack_done=[130.0, 2855.0, NAN],
                   ack_expected_by=[160.0, 2900.0, 2900.0], ack_breached=[False, False, False])
    met, decided = sla_met(log, sc, "ack")
    assert decided.tolist() == [True, False, False] and met.tolist() == [True, False, False]
    assert expectation_decided(np.asarray(log["ack_breached"]), np.asarray(log["ack_expected_by"]),
                               sc.end).tolist() == [True, False, False]


def test_a_run_shorter_than_the_sla_window_reports_no_attainment():
    """A 2-day run cannot tell whether any resolution met a 72-hour SLA: no figure, not 100 %,
    with the records kept or streamed."""
    from sim.runner import run

    sc = parse_scenario({"name": "short", "horizon": "2d", "arrivals": {"rate": "20/h"},
                         "sla": {"resolve": {"within": "72h", "target": 0.8}}, "pools": {"social": {"agents": 2}}})
    for keep in (True, False):
        summary = run(sc, replications=2, keep_mentions=keep).summary
        assert math.isnan(summary["resolve_sla_attainment"]["mean"])
        assert 0.5 < summary["ack_sla_attainment"]["mean"] <= 1.0
