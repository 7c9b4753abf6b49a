"""Streaming statistics (`--no-mentions`) agree with the full records (issue 5).

Without per-mention records, counts, shares and rates are kept as running sums and must be
exactly those of the records; quantiles come from a fixed log-spaced histogram
(`LogHistogram`), whose stated accuracy is relative: the value it reports lies within
`RELATIVE_ACCURACY` of an order statistic next to the exact quantile's rank.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.metrics import FOLLOWER_TIERS, LogHistogram, answerable, follower_tier, replication_metrics
from sim.output import summary_json, timeseries_csv
from sim.runner import run
from sim.scenario import parse_scenario

SEED = 77
# needs the cascade trees, i.e. the records: a streamed run does not report it
RECORDS_ONLY = {"largest_cascade"}
ACC = LogHistogram.RELATIVE_ACCURACY
QUANTILE = re.compile(r"^(ack_time|resolve_time|ack_expectation)_p(50|90)(?:_(tier|channel|type)_(.+))?$")
DATA = {
    "name": "streaming", "horizon": "4d", "warmup": "12h", "seed": 1, "replications": 3,
    "start": "2026-01-05T00:00", "report_interval": "30m",
    "arrivals": {
        "rate": "30/h", "daily_profile": "retail",
        "types": {"complaint": 0.35, "question": 0.3, "praise": 0.1, "noise": 0.25},
        "channels": {"twitter": 0.6, "facebook": 0.3, "instagram": 0.1},
        "followers": {"median": 400, "sigma": 2.0},
        "cascades": {"branching": 0.2, "reach_elasticity": 0.2, "max_branching": 0.8, "decay": "30m",
                     "breach_boost": 2.0},
    },
    "expectations": {"acknowledge": {"twitter": {"median": "1h", "sigma": 1.0},
                                     "default": {"median": "3h", "sigma": 1.0}},
                     "resolve": {"default": {"median": "1d", "sigma": 1.0}},
                     "patience": {"default": {"mean": "6h"}}},
    "sla": {"acknowledge": {"within": "1h", "target": 0.9}, "resolve": {"within": "1d", "target": 0.8}},
    "pools": {"social": {"schedule": [{"days": "daily", "from": "07:00", "to": "23:00", "agents": 3},
                                      {"days": "daily", "from": "23:00", "to": "07:00", "agents": 1}]},
              "specialists": {"schedule": [{"days": "mon-fri", "from": "08:00", "to": "20:00", "agents": 2}],
                              "stages": ["resolve"]}},
    "handling": {"acknowledge": {"dist": "lognormal", "mean": "1.5m", "cv": 0.6},
                 "resolve": {"complaint": {"dist": "lognormal", "mean": "10m", "cv": 1.0},
                             "default": {"dist": "exponential", "mean": "3m"}}},
    "routing": {"resolve": {"complaint": "specialists"},
                "move_channel": {"share": 0.3, "delay": "30m", "follow_through": 0.8}},
    "policy": {"respond_to": ["complaint", "question", "praise"], "triage_accuracy": 0.95},
}


@pytest.fixture(scope="module")
def scenario():
    return parse_scenario(DATA)


@pytest.fixture(scope="module")
def kept(scenario):
    return run(scenario, seed=SEED, keep_mentions=True)


@pytest.fixture(scope="module")
def streamed(scenario):
    return run(scenario, seed=SEED, keep_mentions=False)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def sample(name: str, log, scenario) -> tuple[np.ndarray, float]:
    """The values a quantile metric is read from, sorted, and its probability."""
    stage, q, group, label = QUANTILE.match(name).groups()
    a = log.select(answerable(log, scenario))
    column = {"ack_time": "ack_done", "resolve_time": "resolve_done", "ack_expectation": "ack_expected_by"}[stage]
    values = a[column] - a["arrival"]
    if group == "tier":
        values = values[follower_tier(a["followers"]) == FOLLOWER_TIERS.index(label)]
    elif group == "channel":
        values = values[a["channel"] == list(log.channels).index(label)]
    elif group == "type":
        values = values[a["type"] == list(log.types).index(label)]
    return np.sort(values[~np.isnan(values)]), int(q) / 100


def test_streamed_run_keeps_no_records(kept, streamed):
    assert streamed.mentions is None
    assert all(rep.mentions is None for rep in streamed.replications)
    assert len(kept.mentions) > 6000


def test_time_series_are_identical(kept, streamed):
    assert timeseries_csv(streamed.series) == timeseries_csv(kept.series)


def test_counts_shares_rates_and_costs_are_exact(scenario, kept, streamed):
    compared = 0
    for rep_kept, rep_streamed in zip(kept.replications, streamed.replications):
        exact = replication_metrics(scenario, rep_kept)
        approx = replication_metrics(scenario, rep_streamed)
        # the same metrics, in the same order
        assert list(approx) == [name for name in exact if name not in RECORDS_ONLY]
        for name, value in exact.items():
            if not QUANTILE.match(name) and name not in RECORDS_ONLY:
                assert same(approx[name], value), name
                compared += 1
    for name in ("mentions", "cascade_mentions", "acknowledged_share", "resolved_share", "abandoned_share",
                 "ack_sla_attainment", "resolve_breach_rate", "cost", "utilization", "max_queue_length",
                 "breach_caused_share"):
        assert name in exact
        assert same(streamed.summary[name]["mean"], kept.summary[name]["mean"]), name
        assert same(streamed.summary[name]["ci_low"], kept.summary[name]["ci_low"]), name
    assert compared >= 3 * 35


def brackets(scenario, kept) -> dict[str, list[tuple[float, float]]]:
    """Per quantile metric, per replication: the order statistics beside the exact rank."""
    out: dict[str, list[tuple[float, float]]] = {}
    for rep in kept.replications:
        for name in replication_metrics(scenario, rep):
            if QUANTILE.match(name):
                x, q = sample(name, rep.mentions, scenario)
                pos = (len(x) - 1) * q
                out.setdefault(name, []).append((x[math.floor(pos)], x[math.ceil(pos)]) if len(x) else (math.nan,) * 2)
    return out


def test_quantiles_within_the_sketchs_accuracy(scenario, kept, streamed):
    checked = 0
    for rep_kept, rep_streamed in zip(kept.replications, streamed.replications):
        exact = replication_metrics(scenario, rep_kept)
        approx = replication_metrics(scenario, rep_streamed)
        for name in exact:
            if not QUANTILE.match(name):
                continue
            x, q = sample(name, rep_kept.mentions, scenario)
            if len(x) == 0:
                assert math.isnan(exact[name]) and math.isnan(approx[name]), name
                continue
            # the exact quantile lies between the order statistics beside rank (n - 1) q (it is one
            # of them, or, with linear interpolation, between them) ...
            pos = (len(x) - 1) * q
            low, high = x[math.floor(pos)], x[math.ceil(pos)]
            assert low <= exact[name] <= high, (name, low, high, exact[name])
            # ... and the streamed one within the stated accuracy of that bracket
            assert low / (1 + ACC) * (1 - 1e-12) <= approx[name] <= high * (1 + ACC) * (1 + 1e-12), \
                (name, low, high, approx[name])
            # precisely: the sketch reads the bin of order statistic ceil(q n), at its geometric centre
            r = max(math.ceil(q * len(x)), 1)
            assert abs(approx[name] / x[r - 1] - 1) <= ACC * (1 + 1e-9), (name, x[r - 1], approx[name])
            checked += 1
    assert checked >= 3 * 15


def test_quantile_summaries_within_the_accuracy(scenario, kept, streamed):
    """Each replication's value lies in its widened bracket, so the mean over replications lies
    in the mean of the brackets."""
    for name, pairs in brackets(scenario, kept).items():
        pairs = [p for p in pairs if not math.isnan(p[0])]
        if not pairs:
            continue
        low = np.mean([p[0] for p in pairs]) / (1 + ACC)
        high = np.mean([p[1] for p in pairs]) * (1 + ACC)
        assert low * (1 - 1e-12) <= streamed.summary[name]["mean"] <= high * (1 + 1e-12), name


def test_summaries_name_the_same_metrics(kept, streamed):
    assert list(streamed.summary) == [name for name in kept.summary if name not in RECORDS_ONLY]
    assert summary_json(streamed).count('"mean"') == len(streamed.summary)


# ---------------------------------------------------------------- the report's breakdowns

def equal_with_nan(a, b) -> bool:
    return np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True)


def test_records_kept_or_streamed_to_a_file_leave_no_tally(scenario, kept, tmp_path):
    assert kept.breakdown is None and all(rep.breakdown is None for rep in kept.replications)
    short = scenario.model_copy(update={"horizon": 1440.0})
    to_file = run(short, seed=SEED, replications=2, keep_mentions=False, mentions_to=tmp_path)
    assert to_file.mentions_parts and to_file.breakdown is None
    # nor does a run whose report nobody draws (`caresim run --no-mentions --no-report`)
    unread = run(short, seed=SEED, replications=2, keep_mentions=False, breakdowns=False)
    assert unread.breakdown is None
    assert run(short, seed=SEED, replications=2, keep_mentions=False).breakdown is not None


def test_tally_counts_the_sla_on_business_hours_as_the_records_do():
    from sim.breakdown_tally import ack_picture

    sla = {**DATA["sla"], "acknowledge": {"within": "5m", "target": 0.9}}
    hours = {"clock": "business_hours", "business_hours": [{"days": "mon-fri", "from": "09:00", "to": "17:00"}]}
    business, calendar = (parse_scenario({**DATA, "horizon": "3d", "replications": 2, "sla": {**sla, **extra}})
                          for extra in (hours, {}))
    kept_b, streamed_b = (run(business, seed=SEED, keep_mentions=keep) for keep in (True, False))
    got, want = ack_picture(streamed_b.breakdown, business), ack_picture(kept_b.mentions, business)
    assert got.attainment == want.attainment
    # the clock matters in this run: on the calendar, night replies miss the 5 minutes
    assert got.attainment > ack_picture(kept_b.mentions, calendar).attainment + 0.05


def test_hourly_breaches_tallied_as_the_records_give_them(scenario, kept, streamed):
    from sim.breakdowns import breach_rate_by_hour

    tally = streamed.breakdown
    assert tally.replications == 3
    got, want = tally.hourly(), breach_rate_by_hour(kept.mentions, scenario)
    for field in want._fields:
        assert equal_with_nan(getattr(got, field), getattr(want, field)), field
    # every answerable mention counted once, in some hour; some hours without a decided one
    assert got.counts.sum() == len(kept.mentions.select(answerable(kept.mentions, scenario)))
    assert np.isfinite(got.ack_rate).sum() >= 20 and 0 < np.nanmax(got.ack_rate)


@pytest.mark.parametrize("kind", ["tier", "channel", "type"])
def test_fairness_groups_tallied_as_the_records_give_them(scenario, kept, streamed, kind):
    from sim.breakdown_tally import group_breakdown

    (got, reps_got), (want, reps_want) = (group_breakdown(source, scenario, kind)
                                          for source in (streamed.breakdown, kept.mentions))
    assert reps_got == reps_want == 3
    assert got.keys == want.keys and got.labels == want.labels
    for field in ("count", "acknowledged_share", "ack_breach_rate", "resolve_breach_rate"):
        assert equal_with_nan(getattr(got, field), getattr(want, field)), field
    log = kept.mentions.select(answerable(kept.mentions, scenario))
    groups = {"tier": follower_tier(log["followers"]), "channel": log["channel"], "type": log["type"]}[kind]
    ack_time = log["ack_done"] - log["arrival"]
    checked = 0
    for g in range(len(want.keys)):
        x = np.sort(ack_time[(groups == g) & ~np.isnan(ack_time)])
        for q, name in ((0.5, "ack_time_p50"), (0.9, "ack_time_p90")):
            value = getattr(got, name)[g]
            if not len(x):
                assert math.isnan(value) and math.isnan(getattr(want, name)[g])
                continue
            low, high = order_statistic_bracket(x, q)
            assert low / (1 + ACC) <= value <= high * (1 + ACC), (kind, g, name, low, high, value)
            checked += 1
    assert checked >= 4


def test_runs_nobody_wrote_in_count_in_the_mentions_per_run():
    """A replication without a single mention still counts in the report's "mentions per run",
    from the records (where it leaves no row) as from the tally."""
    from sim.breakdown_tally import run_breakdowns

    quiet = parse_scenario({**DATA, "horizon": "2h", "warmup": "0h", "replications": 8,
                            "arrivals": {**DATA["arrivals"], "rate": "0.5/h"}})
    kept_run, streamed_run = (run(quiet, seed=3, keep_mentions=keep) for keep in (True, False))
    sizes = [len(rep.mentions) for rep in kept_run.replications]
    assert 0 in sizes and sum(sizes) > 0        # the case in point: some runs had no mention
    answered = len(kept_run.mentions.select(answerable(kept_run.mentions, quiet)))
    for result in (kept_run, streamed_run):
        breakdowns = run_breakdowns(result)
        assert breakdowns.replications == 8
        assert breakdowns.group_stats("channel").count.sum() == answered > 0
    import sim

    assert sim.run(quiet, seed=3)._breakdowns().replications == 8   # the notebook's figures count the same


def test_tallies_add_up_over_replications(scenario, streamed):
    from sim.breakdown_tally import BreakdownTally

    tallies = [rep.breakdown for rep in streamed.replications]
    whole = BreakdownTally.merged(tallies)
    assert whole.replications == 3
    assert np.array_equal(whole.hourly().counts, sum(t.hourly().counts for t in tallies))
    first = tallies[0].hourly().counts.copy()
    BreakdownTally.merged(tallies)
    assert np.array_equal(tallies[0].hourly().counts, first)   # the inputs are left as they were


def test_week_breaches_and_the_hour_that_hurts_tallied_as_the_records_give_them(scenario, kept, streamed):
    from sim.expectation_gap import breach_rate_by_hour_of_week
    from sim.report.summary_text import hardest_hour_sentence

    got, want = streamed.breakdown.week_breaches(), breach_rate_by_hour_of_week(kept.mentions, scenario)
    for field in want._fields:
        assert equal_with_nan(getattr(got, field), getattr(want, field)), field
    sentence = hardest_hour_sentence(streamed.breakdown, scenario)
    assert sentence.startswith("Customers are let down most on")
    assert sentence == hardest_hour_sentence(kept.mentions, scenario)


def test_acknowledgement_picture_tallied_as_the_records_give_it(scenario, kept, streamed):
    from sim.breakdown_tally import ack_picture

    got, want = ack_picture(streamed.breakdown, scenario), ack_picture(kept.mentions, scenario)
    # the shares in the figure's box: exact
    for name in ("attainment", "expected_within_sla", "never_acked"):
        assert getattr(got, name) == getattr(want, name), name
    assert 0 < got.attainment < 1 and 0 < got.expected_within_sla < 1 and 0 < got.never_acked < 1
    # the curves: each bin's cumulative share between the records' at the bin's two edges
    half = 1 + ACC
    for tallied, exact in ((got.acked, want.acked), (got.expected, want.expected)):
        assert tallied.n == exact.n and len(tallied.x) >= 100
        assert tallied.y[-1] == pytest.approx(exact.reached, abs=1e-12)
        for centre, share in zip(tallied.x[tallied.x > 0], tallied.y[tallied.x > 0]):
            assert exact.at(centre / half * (1 - 1e-9)) - 1e-12 <= share <= exact.at(centre * half * (1 + 1e-9)) + 1e-12


def kept_log_of(result):
    """A log of no rows with the run's categories (what `add` takes)."""
    from sim.records import MentionLog, empty_columns

    sc = result.scenario
    return MentionLog(empty_columns(), tuple(sc.channels), tuple(sc.types), tuple(sc.pools))


def test_time_distributions_tallied_as_the_records_give_them(scenario, kept, streamed):
    from sim.breakdown_tally import time_distributions

    got, want = time_distributions(streamed.breakdown, scenario), time_distributions(kept.mentions, scenario)
    for name in got._fields:
        tallied, exact = getattr(got, name), getattr(want, name)
        assert tallied.n == exact.n and tallied.weights.sum() == len(exact.x), name
        assert tallied.reached == pytest.approx(exact.reached, abs=1e-12), name
        for q in (0.5, 0.9, 0.99):
            low, high = order_statistic_bracket(exact.x, q)
            assert low / (1 + ACC) <= tallied.quantile(q) <= high * (1 + ACC), (name, q)
        # a record's Ecdf reads its quantiles as the summary does
        assert exact.quantile(0.5) == float(np.quantile(exact.x, 0.5, method="inverted_cdf"))
    assert 0 < got.resolve.reached < got.ack.reached < 1


def test_tally_travels_without_the_scenario(scenario, streamed):
    import pickle

    tally = streamed.replications[0].breakdown
    again = pickle.loads(pickle.dumps(tally))
    assert again._scenario is None and again._clock is None
    with pytest.raises(RuntimeError, match="read, not added to"):
        again.add(kept_log_of(streamed))
    assert len(pickle.dumps(tally)) < 400_000
    for field in ("counts", "ack_rate", "resolve_counts"):
        assert equal_with_nan(getattr(again.hourly(), field), getattr(tally.hourly(), field))
    assert again.ack_picture().attainment == tally.ack_picture().attainment


def test_tallied_figures_are_the_figures_of_the_records(scenario, kept, streamed):
    from sim.report.plots import breach_by_hour_figure, breach_by_tier_figure, figure_png

    for draw in (breach_by_hour_figure, breach_by_tier_figure):
        assert figure_png(draw(streamed.breakdown, scenario)) == figure_png(draw(kept.mentions, scenario)), draw


def test_streamed_report_draws_the_breakdowns(tmp_path, streamed):
    from sim.output import write_outputs

    write_outputs(streamed, tmp_path / "out")
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    for name in ("ack_vs_expectation.png", "ack_vs_resolution.png", "breach_by_hour.png", "breach_by_tier.png",
                 "queues.png", "arrivals.png"):
        assert (tmp_path / "out" / name).is_file(), name
    assert not (tmp_path / "out" / "expectation_gap.png").exists()
    assert "By channel" in page and "By type" in page and "tallied as mentions settled" in page
    assert "Customers are let down most on" in page and "cannot be named" not in page
    # what still needs the records says so: the cascades table, the customers' own stories
    assert "so the largest cascades cannot be listed" in page
    assert "so the customers' own timelines cannot be drawn" in page
    assert "so this breakdown cannot be drawn" not in page


# ---------------------------------------------------------------- the sketch on its own

def order_statistic_bracket(x: np.ndarray, q: float) -> tuple[float, float]:
    x = np.sort(x)
    pos = (len(x) - 1) * q
    return x[math.floor(pos)], x[math.ceil(pos)]


@pytest.mark.parametrize("q", [0.01, 0.1, 0.5, 0.9, 0.99, 0.999])
@pytest.mark.parametrize("n", [1, 2, 7, 1000, 100_000])
def test_histogram_quantile_within_stated_accuracy(q, n):
    rng = np.random.default_rng(n)
    x = np.exp(rng.normal(2.0, 2.5, n))  # minutes, from well under a second to days
    hist = LogHistogram()
    hist.add(x)
    low, high = order_statistic_bracket(x, q)
    got = hist.quantile(q)
    assert low / (1 + ACC) <= got <= high * (1 + ACC), (low, high, got)
    # the order statistic it reads: rank ceil(q n), from the centre of its bin
    x_r = np.sort(x)[max(math.ceil(q * n), 1) - 1]
    assert abs(got / x_r - 1) <= ACC * (1 + 1e-9), (x_r, got)


def test_stated_accuracy_is_half_a_bin():
    assert ACC == pytest.approx(10 ** (0.5 / LogHistogram.PER_DECADE) - 1)
    assert ACC < 0.006


def test_histogram_on_known_values():
    hist = LogHistogram()
    hist.add(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    for q, value in ((0.2, 1.0), (0.5, 3.0), (0.8, 4.0), (1.0, 100.0)):
        # a bin [a, a * 10**(1/200)) is read at its geometric centre: within ACC either way
        assert value / (1 + ACC) * (1 - 1e-12) <= hist.quantile(q) <= value * (1 + ACC) * (1 + 1e-12)
    assert math.isnan(LogHistogram().quantile(0.5))


def test_histogram_ignores_nan_and_reads_tiny_values_as_zero():
    hist = LogHistogram()
    hist.add(np.array([np.nan, 0.0, 0.0, np.nan, 5.0]))
    assert hist.counts.sum() == 3
    assert hist.quantile(0.5) == 0.0  # below 1e-4 minutes (6 ms) a time reads as 0
    assert 5.0 / (1 + ACC) <= hist.quantile(1.0) <= 5.0 * (1 + ACC)


def test_histograms_merge_by_adding_counts():
    rng = np.random.default_rng(3)
    parts = [rng.lognormal(1.0, 1.5, size) for size in (10, 5_000, 20_000)]
    whole, merged = LogHistogram(), LogHistogram()
    whole.add(np.concatenate(parts))
    for part in parts:
        h = LogHistogram()
        h.add(part)
        merged.counts += h.counts
    np.testing.assert_array_equal(merged.counts, whole.counts)
    for q in (0.1, 0.5, 0.9, 0.99):
        assert merged.quantile(q) == whole.quantile(q)
    # adding batch by batch into one histogram is the same merge
    streamed = LogHistogram()
    for part in parts:
        streamed.add(part)
    np.testing.assert_array_equal(streamed.counts, whole.counts)


# ---------------------------------------------------------------- the command

def test_cli_no_mentions_writes_no_mentions_csv(tmp_path):
    import yaml

    data = {**DATA, "horizon": "2d", "replications": 2}
    path = tmp_path / "streaming.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    runner = CliRunner()
    for flag, out in (("--no-mentions", tmp_path / "streamed"), (None, tmp_path / "kept")):
        args = ["run", str(path), "-o", str(out), "--workers", "1", "--no-report", "--quiet"]
        result = runner.invoke(main, args + ([flag] if flag else []))
        assert result.exit_code == 0, result.output
    assert (tmp_path / "streamed" / "summary.json").is_file()
    assert (tmp_path / "streamed" / "timeseries.csv").is_file()
    assert not (tmp_path / "streamed" / "mentions.csv").exists()
    assert (tmp_path / "kept" / "mentions.csv").is_file()
    assert (tmp_path / "streamed" / "timeseries.csv").read_bytes() == (tmp_path / "kept" / "timeseries.csv").read_bytes()


def test_compare_without_records_reports_what_the_records_give(tmp_path):
    import json

    from helpers import write_yaml

    lean = {**DATA, "name": "lean", "horizon": "2d", "replications": 3}
    lean["pools"] = {**DATA["pools"], "social": {"schedule": [{"days": "daily", "from": "00:00", "to": "24:00",
                                                               "agents": 2}]}}
    paths = [write_yaml(tmp_path / f"{data['name']}.yaml", data)
             for data in ({**DATA, "horizon": "2d", "replications": 3}, lean)]
    outs = {}
    for flag in ("--no-mentions", None):
        outs[flag] = tmp_path / ("streamed" if flag else "kept")
        args = ["compare", *map(str, paths), "-o", str(outs[flag]), "--workers", "1", "--quiet"]
        result = CliRunner().invoke(main, args + ([flag] if flag else []))
        assert result.exit_code == 0, result.output
    streamed, kept = outs["--no-mentions"], outs[None]
    # the report's tables of the records, from the tallies
    assert (streamed / "breach_by_hour_of_week.png").read_bytes() == (kept / "breach_by_hour_of_week.png").read_bytes()
    brief = re.compile(r"Customers are let down most on[^<]*")
    page_streamed, page_kept = ((out / "report.html").read_text(encoding="utf-8") for out in (streamed, kept))
    assert brief.findall(page_streamed) == brief.findall(page_kept) and len(brief.findall(page_kept)) == 2
    # and the statistics the streaming summary promises: exact but for quantiles
    docs = [json.loads((out / "comparison.json").read_text(encoding="utf-8")) for out in (streamed, kept)]
    for a, b in zip(docs[0]["scenarios"], docs[1]["scenarios"]):
        for name in ("mentions", "acknowledged_share", "ack_breach_rate", "cost"):
            assert a["metrics"][name] == b["metrics"][name], name
        # every metric, as docs/compare.md promises: exact but for quantiles, largest_cascade left out
        assert set(a["metrics"]) == set(b["metrics"]) - RECORDS_ONLY and RECORDS_ONLY <= set(b["metrics"])
        for name, stats in a["metrics"].items():
            if not QUANTILE.match(name):
                assert stats == b["metrics"][name], name
            elif stats["mean"] is not None:
                assert abs(stats["mean"] - b["metrics"][name]["mean"]) <= ACC * 1.01 * b["metrics"][name]["mean"], name


def test_a_comparison_with_nothing_to_draw_from_says_so(scenario):
    from sim.comparison import compare

    short = scenario.model_copy(update={"horizon": 720.0})
    cmp = compare([short, short], replications=2, keep_mentions=False, breakdowns=False)
    with pytest.raises(ValueError, match="neither its records nor a tally"):
        cmp.hour_of_week(0)
