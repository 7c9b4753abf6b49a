"""Trainer and executive views: the executive summary, the expectation-gap tables and charts,
and `caresim animate`."""
from __future__ import annotations

import math
import re
import shutil
from datetime import datetime, timedelta

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure
from PIL import Image

from sim import expectation_gap as gap
from sim import report
from sim.cli import main
from sim.records import OUTCOMES, MentionLog
from sim.report.animate import frame_indices
from sim.report.summary_text import (
    duration_adjective, duration_words, executive_summary, percent, sla_sentence,
)
from sim.runner import run
from sim.scenario import parse_scenario

from helpers import make_log as _make_log


def make_log(**given) -> MentionLog:
    return _make_log(("twitter", "facebook"), ("complaint", "question", "noise"), **given)

NAN = math.nan


def scenario(**changes):
    doc = {
        "name": "trainer",
        "horizon": "14d",
        "start": "2026-01-05T00:00",   # a Monday
        "replications": 2,
        "seed": 5,
        "arrivals": {"rate": "12/h", "types": {"complaint": 0.5, "question": 0.2, "noise": 0.3},
                     "channels": {"twitter": 0.7, "facebook": 0.3}},
        "expectations": {"acknowledge": {"default": {"median": "1h", "sigma": 1.0}},
                         "resolve": {"default": {"median": "6h", "sigma": 1.0}},
                         "patience": {"default": {"mean": "3h"}}},
        "sla": {"acknowledge": {"within": "1h", "target": 0.9}},
        "pools": {"social": {"schedule": [{"days": "daily", "from": "08:00", "to": "20:00", "agents": 2}]}},
        "routing": {"move_channel": {"share": 0.2, "delay": "30m", "follow_through": 0.6}},
        "policy": {"respond_to": ["complaint", "question"]},
    }
    doc.update(changes)
    return parse_scenario(doc)


def hourly_log() -> MentionLog:
    """Ten mentions in every hour of two weeks, one in ten late; Tuesdays 20:00 all forty late
    (twenty more that hour); Wednesday 03:00 holds 5 mentions, all late, too few to name."""
    arrival, late = [], []
    for week in range(2):
        for hour in range(168):
            n = {44: 20, 51: 0}.get(hour, 10)   # hour 44: Tuesday 20:00; 51: Wednesday 03:00
            for k in range(n):
                arrival.append(week * 10080 + hour * 60 + k * 60 / max(n, 1))
                late.append(hour == 44 or k == 0)
            if hour == 51 and week == 0:
                arrival += [week * 10080 + hour * 60 + k for k in range(5)]
                late += [True] * 5
    arrival, late = np.array(arrival), np.array(late)
    done = arrival + np.where(late, 90.0, 5.0)
    return make_log(arrival=arrival, ack_done=done, ack_expected_by=arrival + 60.0,
                    resolve_done=done + 60, resolve_expected_by=arrival + 1440.0, ack_breached=late)


SUMMARY = {
    "cost": {"mean": 20_000.0, "ci_low": 19_000.0, "ci_high": 21_000.0},
    "agent_hours": {"mean": 1_000.0, "ci_low": 990.0, "ci_high": 1_010.0},
    "mentions": {"mean": 5_000.0, "ci_low": NAN, "ci_high": NAN},
    "answerable_mentions": {"mean": 3_000.0, "ci_low": NAN, "ci_high": NAN},
    "ack_breach_rate": {"mean": 0.31, "ci_low": 0.3, "ci_high": 0.32},
    "ack_time_p50": {"mean": 7.0, "ci_low": 6.0, "ci_high": 8.0},
    "ack_expectation_p50": {"mean": 60.0, "ci_low": 59.0, "ci_high": 61.0},
    "resolve_breach_rate": {"mean": 0.4, "ci_low": 0.38, "ci_high": 0.42},
    "resolve_time_p50": {"mean": 2880.0, "ci_low": 2800.0, "ci_high": 2900.0},
    "resolved_share": {"mean": 0.8, "ci_low": 0.79, "ci_high": 0.81},
    "ack_sla_attainment": {"mean": 0.92, "ci_low": 0.91, "ci_high": 0.93},
}


# --- Executive summary ------------------------------------------------------------------------


def test_executive_summary_by_hand():
    sentences = executive_summary(SUMMARY, hourly_log(), scenario())
    assert sentences == [
        "Staffing costs 10,000 a week (95 % CI 9,500–10,500), 500 agent-hours, for about 2,500 "
        "mentions a week, 1,500 of which the team means to answer.",
        "69 % of the customers the team answers got a first reply as fast as they expected (the "
        "median reply came after 7 minutes; the median customer expected one within 1 hour).",
        "60 % had their problem resolved within the time they expected; the median resolution took "
        "2 days, and 20 % were not resolved by the end of the run.",
        "Customers are let down most on Tuesdays 20:00–21:00: 100 % of the mentions arriving then "
        "were acknowledged later than their authors expected, against 11 % over the whole week.",
        "The team met its 1-hour acknowledgement SLA for 92 % of mentions, beating its 90 % target, "
        "yet 31 % of customers were answered later than they expected: customers want faster "
        "replies than the SLA promises.",
    ]


def test_executive_summary_without_records_or_figures():
    sentences = executive_summary({}, None, scenario(horizon="2d"))
    assert len(sentences) == 5
    assert sentences[0].startswith("Staffing costs — a week at this 2-day run's pace")
    assert "cannot be named" in sentences[3]
    assert all(s.endswith(".") for s in sentences)


@pytest.mark.parametrize("attained, felt, words", [
    (0.95, 0.30, "beating its 90 % target, yet 30 % of customers"),
    (0.80, 0.05, "short of its 90 % target, while only 5 % of customers"),
    (0.85, 0.16, "short of its 90 % target, and about as many customers (16 %)"),
])
def test_sla_against_what_customers_felt(attained, felt, words):
    summary = {"ack_sla_attainment": {"mean": attained}, "ack_breach_rate": {"mean": felt}}
    assert words in sla_sentence(summary, scenario())


def test_plain_numbers():
    assert [percent(x) for x in (0.0, 0.001, 0.5, 0.996, 1.0)] == ["0 %", "under 1 %", "50 %", "over 99 %", "100 %"]
    assert [duration_words(m) for m in (0.5, 1.0, 7.25, 90.0, 4320.0)] == [
        "30 seconds", "1 minute", "7.2 minutes", "1.5 hours", "3 days"]
    assert [duration_adjective(m) for m in (60.0, 30.0, 4320.0, 90.0, 0.5)] == [
        "1-hour", "30-minute", "3-day", "1.5-hour", "30-second"]


# --- Hours of the week ------------------------------------------------------------------------


def test_hour_of_week_follows_the_calendar():
    start = datetime(2026, 1, 7, 6, 30)   # a Wednesday
    times = np.random.default_rng(2).uniform(0, 3 * 10080, 300)
    expected = [(start + timedelta(minutes=float(m))).weekday() * 24 + (start + timedelta(minutes=float(m))).hour
                for m in times]
    assert gap.hour_of_week(times, start).tolist() == expected
    assert gap.hour_of_week_name(44) == "Tuesdays 20:00–21:00"
    assert gap.hour_of_week_name(167, plural=False) == "Sunday 23:00–00:00"


def test_breach_rate_by_hour_of_week_pools_to_the_overall_rate():
    log = hourly_log()
    table = gap.breach_rate_by_hour_of_week(log, scenario())
    assert table.ack_counts[44] == 40 and table.ack_rate[44] == 1.0
    assert table.ack_counts[51] == 5 and table.ack_rate[51] == 1.0
    # decided: the deadline fell by the end of the run (the last hour's are still ahead)
    decided = np.asarray(log["ack_expected_by"]) <= scenario().end
    late = np.asarray(log["ack_breached"])[decided]
    assert 0 < (~decided).sum() < 10 and table.ack_counts.sum() == decided.sum()
    assert np.nansum(table.ack_rate * table.ack_counts) / table.ack_counts.sum() == pytest.approx(late.mean())
    assert gap.hardest_hour(table.ack_rate, table.ack_counts) == 44


def test_hardest_hour_needs_enough_mentions_and_breaks_ties_by_volume():
    rates = np.array([0.5, 1.0, 1.0, 0.996, np.nan])
    assert gap.hardest_hour(rates, np.array([100, 10, 60, 80, 0])) == 3   # 99.6 % ties with 100 %, busier
    assert gap.hardest_hour(rates, np.array([100, 10, 60, 20, 0])) == 2
    assert gap.hardest_hour(rates, np.array([5, 5, 5, 5, 0])) is None
    assert gap.hardest_hour(rates, np.zeros(5)) is None


# --- The expectation-gap sample ---------------------------------------------------------------


def test_gap_strata_by_hand():
    o = {name: OUTCOMES.index(name) for name in OUTCOMES}
    log = make_log(
        arrival=np.zeros(7),
        ack_done=np.array([5, 5, 90, 5, NAN, NAN, 5.0]),
        resolve_done=np.array([50, 900, 200, NAN, NAN, NAN, NAN]),
        ack_breached=np.array([0, 0, 1, 0, 1, 0, 0], dtype=bool),
        resolve_breached=np.array([0, 1, 0, 1, 1, 0, 0], dtype=bool),
        outcome=np.array([o["resolved"], o["resolved"], o["resolved"], o["dropped"], o["abandoned"], o["open"],
                          o["acknowledged"]]),
    )
    assert gap.gap_stratum(log).tolist() == [0, 1, 2, 3, 3, -1, -1]


@pytest.fixture(scope="module")
def small_run():
    return run(scenario(horizon="3d", warmup="6h"), workers=1)


def test_expectation_gap_sample_is_spread_deterministic_and_answerable(small_run):
    log, sc = small_run.mentions, small_run.scenario
    positions, strata = gap.expectation_gap_sample(log, sc, k=30)
    again = gap.expectation_gap_sample(log, sc, k=30)
    assert np.array_equal(positions, again[0]) and np.array_equal(strata, again[1])
    assert len(positions) == 30 and len(set(positions.tolist())) == 30
    assert (np.asarray(log["replication"])[positions] == 0).all()
    assert {log.types[t] for t in np.asarray(log["type"])[positions]} <= {"complaint", "question"}
    assert np.array_equal(strata, gap.gap_stratum(log)[positions])
    assert (np.diff(strata) >= 0).all() and set(strata.tolist()) == {0, 1, 2, 3}
    few, _ = gap.expectation_gap_sample(log.select(np.arange(len(log)) < 12), sc, k=30)
    assert len(few) <= 12
    assert len(gap.expectation_gap_sample(log.select(np.zeros(len(log), bool)), sc)[0]) == 0


def test_trainer_figures_are_deterministic_and_survive_an_empty_log(small_run):
    log, sc = small_run.mentions, small_run.scenario
    for draw in (report.expectation_gap_figure, report.ack_vs_resolution_figure):
        fig = draw(log, sc)
        assert isinstance(fig, Figure)
        assert report.figure_png(fig) == report.figure_png(draw(log, sc))
        empty = log.select(np.zeros(len(log), dtype=bool))
        assert report.figure_png(draw(empty, sc)).startswith(b"\x89PNG")
    labels = [t.get_text() for t in report.expectation_gap_figure(log, sc).axes[0].get_yticklabels()]
    assert all(re.fullmatch(r"(complaint|question) · (twitter|facebook) · [\d,]+ followers?", t) for t in labels)


def test_report_opens_with_the_executive_summary_and_embeds_the_trainer_views(small_run, tmp_path):
    report.write_report(small_run, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    brief = page[page.index('id="in-brief"'):page.index("<h2>Summary</h2>")]
    assert brief.count("<li>") == 5 and "Staffing costs" in brief and "&nbsp;%" in brief
    for name in ("expectation_gap.png", "ack_vs_resolution.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    assert ">The expectation gap, customer by customer</h2>" in page
    assert 'alt="Fast first replies, slow resolutions"' in page
    assert "caresim story" in page


# --- caresim animate --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, small_run):
    from sim.output import write_outputs

    return write_outputs(small_run, tmp_path_factory.mktemp("anim") / "out", report=False)


def test_animate_writes_a_gif_with_many_frames(run_dir, tmp_path):
    out = tmp_path / "q.gif"
    result = CliRunner().invoke(main, ["animate", str(run_dir), "-o", str(out), "--hours", "24", "--fps", "5"])
    assert result.exit_code == 0, result.output
    with Image.open(out) as gif:
        assert gif.format == "GIF" and gif.n_frames == 24   # hourly intervals over 24 hours
        assert gif.info["duration"] == 200
    again = tmp_path / "again.gif"
    CliRunner().invoke(main, ["animate", str(run_dir), "-o", str(again), "--hours", "24", "--fps", "5"])
    assert again.read_bytes() == out.read_bytes()
    default = CliRunner().invoke(main, ["animate", str(run_dir), "--replication", "1"])
    assert default.exit_code == 0 and (run_dir / "queue.gif").is_file()
    with Image.open(run_dir / "queue.gif") as gif:
        assert gif.n_frames == 72   # the whole 3-day horizon


@pytest.mark.parametrize("args, message", [
    (("--replication", "7"), "no replication 7"),
    (("-o", "queue.txt"), "expected a .gif or .mp4"),
])
def test_animate_bad_requests_exit_2(run_dir, tmp_path, args, message):
    args = tuple(str(tmp_path / a) if a.endswith(".txt") else a for a in args)
    result = CliRunner().invoke(main, ["animate", str(run_dir), *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


@pytest.mark.skipif(shutil.which("ffmpeg") is not None, reason="ffmpeg is installed: MP4 works")
def test_animate_mp4_without_ffmpeg_says_so(run_dir, tmp_path):
    result = CliRunner().invoke(main, ["animate", str(run_dir), "-o", str(tmp_path / "q.mp4")])
    assert result.exit_code == 2 and "ffmpeg" in result.output


def test_animate_without_a_run_folder(tmp_path):
    result = CliRunner().invoke(main, ["animate", str(tmp_path)])
    assert result.exit_code == 2 and "no scenario.yaml" in result.output


def test_frame_indices_keep_the_ends_and_the_limit():
    assert frame_indices(50).tolist() == list(range(50))
    many = frame_indices(1000, 200)
    assert len(many) == 200 and many[0] == 0 and many[-1] == 999 and (np.diff(many) > 0).all()
