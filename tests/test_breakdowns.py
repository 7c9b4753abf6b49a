"""Breakdown tables on hand-made logs whose answers are worked out by hand."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from sim import breakdowns
from sim.records import CSV_COLUMNS, OUTCOMES, TIME_COLUMNS, MentionLog, TimeSeries
from sim.scenario import parse_scenario

NAN = float("nan")
IGNORED = OUTCOMES.index("ignored")
RESOLVED = OUTCOMES.index("resolved")


def scenario(start: str = "2026-01-05T06:30"):
    return parse_scenario({
        "name": "hand",
        "horizon": "2d",
        "start": start,
        "arrivals": {"rate": "10/h"},
        "sla": {"acknowledge": {"within": "1h", "target": 0.9}},
        "pools": {"social": {"agents": 2}},
    })


def make_log(**given) -> MentionLog:
    """A log with the given columns; the rest filled with NaN times, zeros and `resolved`."""
    n = len(next(iter(given.values())))
    columns = {}
    for name in CSV_COLUMNS:
        if name in given:
            columns[name] = np.asarray(given[name])
        elif name in TIME_COLUMNS:
            columns[name] = np.full(n, NAN)
        elif name == "outcome":
            columns[name] = np.full(n, RESOLVED)
        elif name in ("ack_breached", "resolve_breached"):
            columns[name] = np.zeros(n, dtype=bool)
        else:
            columns[name] = np.zeros(n, dtype=int)
    return MentionLog(columns, ("twitter",), ("complaint",), ("social",))


def test_hour_of_day_counts_from_the_calendar_start():
    start = datetime(2026, 1, 5, 6, 30)
    times = np.array([0.0, 29.9, 30.0, 1050.0, 1440.0 + 17 * 60 + 30.0])
    assert breakdowns.hour_of_day(times, start).tolist() == [6, 6, 7, 0, 0]
    rng = np.random.default_rng(1)
    sample = rng.uniform(0, 3 * 1440, 200)
    expected = [(start + timedelta(minutes=float(m))).hour for m in sample]
    assert breakdowns.hour_of_day(sample, start).tolist() == expected


def test_breach_rate_by_hour_excludes_ignored_mentions():
    # start 06:30: arrivals at minute 0 and 20 fall in hour 6, 40 in hour 7, 1440 + 40 in hour 7.
    log = make_log(
        arrival=[0.0, 20.0, 40.0, 1480.0, 50.0],
        ack_breached=[1, 0, 1, 1, 1],
        resolve_breached=[0, 0, 1, 0, 1],
        outcome=[RESOLVED, RESOLVED, RESOLVED, RESOLVED, IGNORED],
    )
    table = breakdowns.breach_rate_by_hour(log, scenario())
    assert table.hours.tolist() == list(range(24))
    assert table.counts[6] == 2 and table.counts[7] == 2 and table.counts.sum() == 4
    assert table.ack_rate[6] == 0.5 and table.ack_rate[7] == 1.0
    assert table.resolve_rate[6] == 0.0 and table.resolve_rate[7] == 0.5
    others = [h for h in range(24) if h not in (6, 7)]
    assert np.isnan(table.ack_rate[others]).all() and np.isnan(table.resolve_rate[others]).all()


def test_breach_rate_by_followers_tiers():
    log = make_log(
        arrival=[0.0] * 6,
        followers=[50, 100, 150, 5000, 5000, 200_000],
        ack_breached=[0, 1, 1, 1, 0, 1],
        resolve_breached=[0, 0, 0, 1, 1, 0],
    )
    table = breakdowns.breach_rate_by_followers(log)
    assert table.labels == ("0–100", "100–1k", "1k–10k", "10k–100k", "≥ 100k")
    assert table.counts.tolist() == [1, 2, 2, 0, 1]
    np.testing.assert_array_equal(table.ack_rate, [0.0, 1.0, 0.5, NAN, 1.0])
    np.testing.assert_array_equal(table.resolve_rate, [0.0, 0.0, 1.0, NAN, 0.0])


def test_ack_time_distribution_counts_the_never_acknowledged():
    log = make_log(
        arrival=[0.0, 10.0, 20.0, 30.0, 40.0],
        ack_done=[5.0, 12.0, NAN, 90.0, 41.0],
        outcome=[RESOLVED, RESOLVED, OUTCOMES.index("abandoned"), RESOLVED, IGNORED],
    )
    dist = breakdowns.ack_time_distribution(log)
    assert dist.n == 4
    assert dist.x.tolist() == [2.0, 5.0, 60.0]
    assert dist.y.tolist() == [0.25, 0.5, 0.75]
    assert dist.at(4.99) == 0.25 and dist.at(5.0) == 0.5 and dist.at(1e9) == 0.75
    assert dist.at(1.0) == 0.0
    assert dist.reached == 0.75


def test_expectation_and_resolve_distributions():
    log = make_log(
        arrival=[0.0, 10.0, 20.0, 30.0],
        ack_expected_by=[60.0, 40.0, 140.0, 1000.0],
        resolve_expected_by=[100.0, 110.0, 120.0, 130.0],
        resolve_done=[30.0, NAN, 220.0, 31.0],
        outcome=[RESOLVED, RESOLVED, RESOLVED, IGNORED],
    )
    ack = breakdowns.expectation_distribution(log)
    assert ack.x.tolist() == [30.0, 60.0, 120.0] and ack.n == 3
    assert ack.at(60.0) == pytest.approx(2 / 3)
    resolve = breakdowns.expectation_distribution(log, "resolve")
    assert resolve.x.tolist() == [100.0, 100.0, 100.0]
    assert resolve.y.tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])
    done = breakdowns.resolve_time_distribution(log)
    assert done.x.tolist() == [30.0, 200.0] and done.reached == pytest.approx(2 / 3)


def test_empty_log_gives_empty_tables():
    log = make_log(arrival=np.zeros(0))
    table = breakdowns.breach_rate_by_hour(log, scenario())
    assert table.counts.sum() == 0 and np.isnan(table.ack_rate).all()
    dist = breakdowns.ack_time_distribution(log)
    assert dist.n == 0 and len(dist.x) == 0 and np.isnan(dist.at(10.0))


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
