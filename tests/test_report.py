"""The report: PNGs and a self-contained, deterministic report.html from a run result."""
from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from sim import report
from sim.records import CSV_COLUMNS, OUTCOMES, MentionLog, Replication, TimeSeries
from sim.scenario import parse_scenario

METRICS = (
    "mentions", "acknowledged_share", "resolved_share", "abandoned_share", "ack_time_p50",
    "ack_time_p90", "resolve_time_p50", "resolve_time_p90", "ack_sla_attainment",
    "resolve_sla_attainment", "ack_breach_rate", "resolve_breach_rate", "cascade_mentions",
    "agent_hours", "cost", "utilization", "max_queue_length",
)
PNGS = ("queues.png", "ack_vs_expectation.png", "breach_by_hour.png", "arrivals.png", "breach_by_tier.png",
        "expectation_gap.png", "ack_vs_resolution.png")
FAIRNESS_METRICS = (
    "ack_breach_rate_type_noise", "ack_breach_rate_tier_ge100k", "ack_breach_rate_channel_twitter",
    "ack_breach_rate_tier_lt1k", "resolve_breach_rate_tier_lt1k", "ack_time_p50_tier_lt1k",
    "ack_breach_rate_tier_10k_100k", "ack_breach_rate_tier_1k_10k", "ack_breach_rate_channel_facebook",
    "ack_breach_rate_type_complaint",
)
CASCADE_METRICS = ("largest_cascade", "incident_mentions", "breach_caused_share")
SLA_METRICS = ("ack_sla_attainment_business_hours", "resolve_sla_attainment_business_hours")


def make_scenario():
    return parse_scenario({
        "name": "small",
        "description": "Two pools, a warm-up & <angle brackets> to escape.",
        "horizon": "2d",
        "warmup": "6h",
        "replications": 2,
        "seed": 7,
        "start": "2026-01-05T00:00",
        "report_interval": "1h",
        "arrivals": {"rate": "20/h", "types": {"complaint": 0.6, "noise": 0.4},
                     "channels": {"twitter": 0.7, "facebook": 0.3}},
        "expectations": {"acknowledge": {"twitter": {"median": "1h", "sigma": 0.8},
                                         "default": {"median": "4h", "sigma": 0.8}}},
        "sla": {"acknowledge": {"within": "1h", "target": 0.9}, "resolve": {"within": "1d", "target": 0.8}},
        "pools": {"social": {"schedule": [{"days": "mon-fri", "from": "08:00", "to": "20:00", "agents": 3}],
                             "stages": ["acknowledge"]},
                  "specialists": {"agents": 2, "stages": ["resolve"], "cost_per_hour": 40}},
        "policy": {"respond_to": ["complaint"]},
    })


def make_replication(index: int, scenario, n: int = 120) -> Replication:
    rng = np.random.default_rng(index)
    arrival = np.sort(rng.uniform(scenario.warmup, scenario.end, n))
    outcome = rng.choice([OUTCOMES.index(o) for o in ("resolved", "acknowledged", "abandoned", "ignored")],
                         n, p=[0.6, 0.15, 0.05, 0.2])
    ack_done = arrival + rng.exponential(45.0, n)
    ack_done[np.isin(outcome, [OUTCOMES.index("abandoned"), OUTCOMES.index("ignored")])] = np.nan
    resolve_done = np.where(outcome == OUTCOMES.index("resolved"), ack_done + rng.exponential(300.0, n), np.nan)
    ack_expected_by = arrival + rng.lognormal(np.log(60.0), 0.8, n)
    resolve_expected_by = arrival + rng.lognormal(np.log(1440.0), 0.7, n)
    # a cascade 10 <- 11 <- 12, 10 <- 13 (sorted arrivals: parents come first); 40 <- 41
    parent = np.full(n, -1)
    parent[[11, 12, 13, 41]] = [10, 11, 10, 40]
    columns = {
        "replication": np.full(n, index), "id": np.arange(n), "parent_id": parent,
        "arrival": arrival, "channel": rng.integers(0, 2, n), "type": rng.integers(0, 2, n),
        "triaged_as": rng.integers(0, 2, n), "followers": rng.integers(1, 200_000, n),
        "origin": np.where(parent >= 0, 1, 0), "ack_expected_by": ack_expected_by,
        "resolve_expected_by": resolve_expected_by, "ack_start": ack_done - 2.0, "ack_done": ack_done,
        "resolve_start": resolve_done - 10.0, "resolve_done": resolve_done,
        "abandoned_at": np.where(outcome == OUTCOMES.index("abandoned"), arrival + 30.0, np.nan),
        "pool": np.where(outcome == OUTCOMES.index("ignored"), -1, 0), "outcome": outcome,
        "ack_breached": ~(ack_done <= ack_expected_by), "resolve_breached": ~(resolve_done <= resolve_expected_by),
    }
    assert set(columns) == set(CSV_COLUMNS)
    pools = ("social", "specialists")
    mentions = MentionLog(columns, ("twitter", "facebook"), ("complaint", "noise"), pools)
    times = np.arange(0.0, scenario.end, scenario.report_interval)
    t = np.concatenate([times, times])
    pool = np.repeat([0, 1], len(times))
    hour = (t / 60.0) % 24
    values = {
        "arrivals": np.tile(rng.poisson(20, len(times)).astype(float), 2),
        "ack_queue": np.where(pool == 0, rng.gamma(2.0, 2.0, len(t)), 0.0),
        "resolve_queue": np.where(pool == 1, rng.gamma(2.0, 3.0, len(t)), 0.0),
        "busy_agents": rng.uniform(0.0, 2.0, len(t)),
        "agents_on_duty": np.where(pool == 0, np.where((hour >= 8) & (hour < 20), 3.0, 0.0), 2.0),
    }
    series = TimeSeries(np.full(len(t), index), t, pool, values, pools)
    return Replication(index, mentions, series, {"social": 36.0, "specialists": 108.0}, {"specialists": 4320.0})


@dataclass(frozen=True)
class FakeRunResult:
    scenario: object
    seed: int
    replications: list
    summary: dict

    @property
    def mentions(self) -> MentionLog:
        return MentionLog.concat([r.mentions for r in self.replications])

    @property
    def series(self) -> TimeSeries:
        return TimeSeries.concat([r.series for r in self.replications])


@pytest.fixture(scope="module")
def result() -> FakeRunResult:
    scenario = make_scenario()
    summary = {name: {"mean": 0.5 + k, "ci_low": 0.4 + k, "ci_high": 0.6 + k} for k, name in enumerate(METRICS)}
    summary["acknowledged_share"] = {"mean": 0.8, "ci_low": 0.75, "ci_high": 0.85}
    summary["ack_sla_attainment"] = {"mean": 0.93, "ci_low": 0.91, "ci_high": 0.95}
    for k, name in enumerate(FAIRNESS_METRICS + CASCADE_METRICS + SLA_METRICS):
        summary[name] = {"mean": 0.05 * k, "ci_low": 0.04 * k, "ci_high": 0.06 * k}
    summary["ack_sla_attainment_business_hours"] = {"mean": 0.95, "ci_low": 0.93, "ci_high": 0.97}
    summary["some_new_metric"] = {"mean": 12.5, "ci_low": float("nan"), "ci_high": float("nan")}
    return FakeRunResult(scenario, 7, [make_replication(i, scenario) for i in range(2)], summary)


def test_write_report_writes_the_plots_and_a_self_contained_page(result, tmp_path):
    report.write_report(result, tmp_path)
    for name in PNGS:
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(PNGS)
    links = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page, flags=re.IGNORECASE)
    assert links and all(link.startswith("data:image/png;base64,") for link in links)
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower()
    for name in METRICS + FAIRNESS_METRICS + CASCADE_METRICS + SLA_METRICS + ("some_new_metric",):
        assert f"<code>{name}</code>" in page
    assert "&lt;angle brackets&gt;" in page and "<angle" not in page
    assert "name: small" in page  # the scenario echoed as YAML


def test_report_has_the_cascade_and_fairness_sections(result):
    page = report.render_html(result, {})
    for heading in ("Arrivals and viral cascades", "Fairness"):
        assert f">{heading}</h2>" in page
    for heading in ("10 largest cascades", "By the author&#x27;s follower tier", "By channel", "By type"):
        assert f"<h3>{heading}</h3>" in page
    cascades = page[page.index("<h3>10 largest cascades</h3>"):page.index(">Fairness</h2>")]
    # two cascades per replication: sizes 4 and 2, listed largest first
    assert [int(s) for s in re.findall(r'<td class="num">(\d+)</td><td>(?:<span|yes|no)', cascades)] == [4, 4, 2, 2]
    assert "replication: 4, 4 mentions" in cascades
    fairness = page[page.index(">Fairness</h2>"):page.index(">Scenario</h2>")]
    for label in ("&lt; 1k", "1k–10k", "10k–100k", "≥ 100k", "twitter", "facebook", "complaint"):
        assert f"<td>{label}</td>" in fairness
    assert "<td>noise</td>" not in fairness and "left out: noise" in fairness  # respond_to: complaint


def test_summary_table_groups_new_metrics(result):
    table = report.summary_table(result.summary, result.scenario)
    groups = re.findall(r'<tr class="group"><td colspan="5">([^<]*)</td>', table)
    assert groups == ["Volume", "Outcomes", "Speed", "SLA and customer expectations",
                      "Viral cascades and incidents", "Staffing and cost", "Fairness: by follower tier",
                      "Fairness: by channel", "Fairness: by mention type", "Other"]
    names = re.findall(r"<code>([^<]*)</code>", table)

    def section(title: str) -> list[str]:
        start = table.index(f">{title}</td>")
        end = table.find('class="group"', start)
        return re.findall(r"<code>([^<]*)</code>", table[start:end if end > 0 else len(table)])

    assert section("Fairness: by follower tier") == [
        "ack_breach_rate_tier_lt1k", "resolve_breach_rate_tier_lt1k", "ack_time_p50_tier_lt1k",
        "ack_breach_rate_tier_1k_10k", "ack_breach_rate_tier_10k_100k", "ack_breach_rate_tier_ge100k"]
    assert section("Fairness: by channel") == ["ack_breach_rate_channel_twitter", "ack_breach_rate_channel_facebook"]
    assert section("Fairness: by mention type") == ["ack_breach_rate_type_complaint", "ack_breach_rate_type_noise"]
    assert section("Viral cascades and incidents") == [
        "cascade_mentions", "incident_mentions", "largest_cascade", "breach_caused_share"]
    assert section("Other") == ["some_new_metric"]
    assert names.index("ack_sla_attainment_business_hours") == names.index("ack_sla_attainment") + 1
    assert "acknowledgement later than the customer expected, for authors with &lt; 1k followers" in table
    row = table[table.index("<code>ack_sla_attainment_business_hours</code>"):]
    assert "business-hours clock" in table and 'class="ok"' in row.split("</tr>")[0]


def test_report_is_byte_identical_when_written_twice(result, tmp_path):
    report.write_report(result, tmp_path / "a")
    report.write_report(result, tmp_path / "b")
    for name in PNGS + ("report.html",):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_summary_formatting():
    assert report.format_metric("acknowledged_share", [0.8123, 0.8, float("nan")]) == ["81.2%", "80.0%", "—"]
    assert report.format_metric("ack_time_p90", [42.0, 40.5]) == ["42.0 min", "40.5 min"]
    assert report.format_metric("resolve_time_p50", [180.0, 150.0]) == ["3.0 h", "2.5 h"]
    assert report.format_metric("resolve_time_p90", [4320.0, 2880.0]) == ["3.0 d", "2.0 d"]
    assert report.format_metric("cost", [12345.6, 999.5]) == ["12,346", "999.5"]
    assert report.format_metric("mentions", [3456.0, 12.25]) == ["3,456", "12.2"]
    assert report.format_metric("ack_breach_rate", [0.25]) == ["25.0%"]
    assert report.format_metric("ack_breach_rate_tier_lt1k", [0.25]) == ["25.0%"]
    assert report.format_metric("resolve_breach_rate_channel_time", [0.5]) == ["50.0%"]
    assert report.format_metric("ack_time_p50_type_complaint", [42.0]) == ["42.0 min"]
    assert report.format_metric("ack_expectation_p50", [180.0]) == ["3.0 h"]
    assert report.format_metric("largest_cascade", [1234.0, 12.5]) == ["1,234", "12.5"]
    assert report.format_metric("ack_sla_attainment_business_hours", [0.9]) == ["90.0%"]
    assert report.fairness_parts("ack_breach_rate_channel_type_x") == ("ack_breach_rate", "channel", "type_x")
    assert report.fairness_parts("some_tier_thing") is None
    assert report.format_duration(60.0) == "1 h" and report.format_duration(4320.0) == "3 d"
    assert report.format_duration(7.5) == "7.5 min" and report.format_duration(0.5) == "30 s"


def test_sla_verdict_in_summary_table(result):
    table = report.summary_table(result.summary, result.scenario)
    assert "target 90% within 1 h" in table and 'class="ok"' in table


def test_figures_are_figures_and_leave_global_state_alone(result):
    before = dict(matplotlib.rcParams)
    figures = [
        report.queues_figure(result.series, result.scenario),
        report.ack_vs_expectation_figure(result.mentions, result.scenario),
        report.breach_by_hour_figure(result.mentions, result.scenario),
        report.arrivals_figure(result.series, result.mentions, result.scenario),
        report.breach_by_tier_figure(result.mentions, result.scenario),
    ]
    assert all(isinstance(fig, Figure) for fig in figures)
    assert all(report.figure_png(fig).startswith(b"\x89PNG") for fig in figures)
    assert dict(matplotlib.rcParams) == before


def test_plots_survive_an_empty_run(result):
    empty = result.mentions.select(np.zeros(len(result.mentions), dtype=bool))
    series = result.series
    nothing = TimeSeries(series.replication[:0], series.time[:0], series.pool[:0],
                         {k: v[:0] for k, v in series.values.items()}, series.pools)
    for fig in (report.ack_vs_expectation_figure(empty, result.scenario),
                report.breach_by_hour_figure(empty, result.scenario),
                report.queues_figure(nothing, result.scenario),
                report.arrivals_figure(nothing, empty, result.scenario),
                report.arrivals_figure(series, empty, result.scenario),
                report.breach_by_tier_figure(empty, result.scenario)):
        assert report.figure_png(fig).startswith(b"\x89PNG")


def test_report_without_mention_records(result, tmp_path):
    from dataclasses import replace

    streamed = FakeRunResult(result.scenario, result.seed,
                             [replace(r, mentions=None) for r in result.replications], result.summary)
    report.write_report(streamed, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["arrivals.png", "queues.png"]
    # the summary's hardest hour, the trainer's views, cascades and fairness
    assert page.count("Mention records were not kept") == 4


def test_cascade_table_by_hand():
    from datetime import datetime

    assert report.calendar_time(datetime(2026, 1, 5), 2 * 1440 + 19 * 60 + 42) == "Wed 2026-01-07 19:42"
    scenario = make_scenario()
    n = 4
    columns = {name: np.zeros(n, dtype=int) for name in CSV_COLUMNS}
    columns.update({
        "id": np.arange(n), "parent_id": np.array([-1, 0, 1, -1]), "followers": np.array([25_000, 1, 2, 3]),
        "arrival": np.array([2 * 1440 + 19 * 60.0, 1.0, 2.0, 3.0]),
        "outcome": np.array([OUTCOMES.index("abandoned"), 0, 0, 0]),
        "ack_breached": np.array([True, False, False, False]),
    })
    log = MentionLog(columns, ("twitter", "facebook"), ("complaint", "noise"), ("social",))
    table = report.largest_cascades_table(log, scenario)
    assert table.count("<tr>") == 2  # header and one cascade of 3 (the lone mention is no cascade)
    for cell in ("Wed 2026-01-07 19:00", "25,000 followers", "complaint, twitter", ">3<", "yes (abandoned)"):
        assert cell in table
    none = report.largest_cascades_table(log.select(np.array([False, False, False, True])), scenario)
    assert "No cascades" in none


def test_report_does_not_import_pyplot():
    code = "import sys, sim.report; assert 'matplotlib.pyplot' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
