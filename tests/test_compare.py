"""Comparisons on common random numbers: exact zeros against oneself, paired intervals narrower
than unpaired ones, verdicts in words, and the files `caresim compare` writes."""
from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import write_yaml
from scipy import stats

import sim
from sim.cli import main
from sim.comparison import (
    CORE_METRICS,
    compare,
    comparison_csv,
    unique_labels,
    write_comparison,
)
from sim.differences import Difference, format_estimate, verdict
from sim.metrics import paired_difference, unpaired_difference
from sim.progress import Progress, format_seconds, render
from sim.scenario import parse_scenario

SMALL = {
    "name": "small",
    "horizon": "2d",
    "warmup": "6h",
    "replications": 3,
    "seed": 11,
    "start": "2026-01-07T10:30",  # a Wednesday
    "arrivals": {"rate": "20/h", "types": {"complaint": 0.5, "question": 0.2, "noise": 0.3},
                 "channels": {"twitter": 0.7, "facebook": 0.3},
                 "cascades": {"branching": 0.2, "decay": "30m", "breach_boost": 2.0}},
    "expectations": {"acknowledge": {"twitter": {"median": "1h", "sigma": 0.8},
                                     "default": {"median": "3h", "sigma": 0.8}},
                     "patience": {"default": {"mean": "8h"}}},
    "sla": {"acknowledge": {"within": "1h", "target": 0.9}, "resolve": {"within": "1d", "target": 0.8}},
    "pools": {"social": {"agents": 2, "stages": ["acknowledge", "resolve"], "cost_per_hour": 30}},
    "handling": {"acknowledge": {"dist": "lognormal", "mean": "2m", "cv": 0.6},
                 "resolve": {"default": {"dist": "exponential", "mean": "6m"}}},
    "policy": {"respond_to": ["complaint", "question"]},
}
SHORT = {"horizon": "3d", "warmup": "1d"}
ONE_MORE_AGENT = {"pools": {
    "social": {"schedule": [{"days": "daily", "from": "07:00", "to": "15:00", "agents": 4},
                            {"days": "daily", "from": "15:00", "to": "23:00", "agents": 4}]},
    "specialists": {"schedule": [{"days": "daily", "from": "08:00", "to": "20:00", "agents": 4}]},
}}


def small(**changes):
    return parse_scenario({**SMALL, **changes})


@pytest.fixture(scope="module")
def baseline_pair():
    """scenarios/baseline.yaml against the same with one more agent per shift, short horizon."""
    base = sim.variant("scenarios/baseline.yaml", SHORT)
    plus = sim.variant("scenarios/baseline.yaml", {**SHORT, **ONE_MORE_AGENT}, name="plus_one")
    return compare([base, plus], replications=6)


# --- statistics ------------------------------------------------------------------------------


def test_paired_difference_is_the_interval_of_the_differences():
    a, b = [1.0, 2.0, 4.0, 7.0], [2.0, 2.5, 5.5, 8.0]
    mean, lo, hi = paired_difference(a, b)
    d = np.subtract(b, a)
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert mean == pytest.approx(d.mean())
    assert (lo, hi) == pytest.approx((d.mean() - half, d.mean() + half))


def test_paired_difference_drops_pairs_with_nan():
    mean, lo, hi = paired_difference([1.0, math.nan, 3.0, 4.0], [2.0, 5.0, 4.0, math.nan])
    assert mean == 1.0 and lo == 1.0 and hi == 1.0


def test_unpaired_difference_is_welch():
    a, b = [1.0, 2.0, 4.0, 7.0, 3.0], [2.0, 2.5, 5.5, 8.0]
    mean, lo, hi = unpaired_difference(a, b)
    res = stats.ttest_ind(b, a, equal_var=False)
    ci = res.confidence_interval(0.95)
    assert mean == pytest.approx(np.mean(b) - np.mean(a))
    assert (lo, hi) == pytest.approx((ci.low, ci.high))


# --- words -----------------------------------------------------------------------------------


def test_verdicts_in_plain_words():
    slower = Difference(42.0, 38.0, 47.0, 10.0, 70.0, False)
    assert verdict("batched", "ack_time_p50", slower) == "batched acknowledges slower (median): +42 min [+38, +47]"
    faster = Difference(-0.05, -0.07, -0.03, -0.1, 0.0, False)
    assert verdict("b", "ack_breach_rate", faster) == "b breaches fewer acknowledgement expectations: −5 pp [−7, −3]"
    unclear = Difference(1.5, -0.5, 3.5, -9.0, 12.0, False)
    assert verdict("b", "cost", unclear).startswith("no clear difference: +2 [")
    same = Difference(0.0, 0.0, 0.0, 0.0, 0.0, True)
    assert verdict("b", "cost", same) == "no difference (equal in every replication)"
    grouped = Difference(-0.1, -0.2, -0.05, -0.3, 0.1, False)
    assert verdict("b", "ack_breach_rate_channel_twitter", grouped).startswith(
        "b breaches fewer acknowledgement expectations, on twitter: −10 pp [−20, −5]")


def test_format_estimate_units():
    assert format_estimate("resolve_time_p90", 420.0, 396.0, 444.0) == "7.0 h [6.6, 7.4]"
    assert format_estimate("acknowledged_share", 0.93, 0.926, 0.934) == "93.0% [92.6, 93.4]"
    assert format_estimate("cost", 43741.2, 43640.0, 43842.0) == "43,741 [43,640, 43,842]"
    assert format_estimate("cost", math.nan, math.nan, math.nan) == "—"


def test_unique_labels():
    assert unique_labels(["a", "b", "a", "a"]) == ["a", "b", "a-2", "a-3"]


# --- common random numbers -------------------------------------------------------------------


def test_a_scenario_against_its_copy_differs_by_exactly_zero():
    scenario = small()
    copy = parse_scenario(dict(SMALL))
    cmp = compare([scenario, copy], replications=3)
    assert cmp.labels == ("small", "small-2")
    diffs = cmp.differences[1]
    assert set(diffs) == set(cmp.metrics) and set(CORE_METRICS) <= set(diffs)
    checked = 0
    for name, d in diffs.items():
        base = [m.get(name, math.nan) for m in cmp.per_replication[0]]
        if sum(not math.isnan(v) for v in base) < 2:
            continue
        assert (d.mean, d.ci_low, d.ci_high) == (0.0, 0.0, 0.0), name
        assert d.identical and cmp.verdict(1, name) == "no difference (equal in every replication)"
        checked += 1
    assert checked >= len(CORE_METRICS)
    rows = list(csv.DictReader(io.StringIO(comparison_csv(cmp))))
    assert all(float(r["diff_mean"]) == 0.0 for r in rows if r["scenario"] == "small-2" and r["diff_mean"])


def test_different_arrivals_are_flagged(tmp_path):
    busier = {**SMALL, "name": "busier", "arrivals": {**SMALL["arrivals"], "rate": "25/h"}}
    a = write_yaml(tmp_path / "a.yaml", SMALL)
    b = write_yaml(tmp_path / "b.yaml", busier)
    res = CliRunner().invoke(main, ["compare", str(a), str(b), "-o", str(tmp_path / "out"),
                                    "--replications", "2", "--no-report"])
    assert res.exit_code == 0, res.output
    assert "note: arrivals, start, warm-up or horizon of busier differ from small" in res.output
    doc = json.loads((tmp_path / "out" / "comparison.json").read_text(encoding="utf-8"))
    assert [s["same_arrivals_as_reference"] for s in doc["scenarios"]] == [True, False]


def test_same_seed_gives_the_same_customers(baseline_pair):
    ref, plus = (r.mentions for r in baseline_pair.results)
    base = ref["origin"] == 0
    other = plus["origin"] == 0
    for column in ("replication", "arrival", "channel", "type", "followers", "ack_expected_by", "resolve_expected_by"):
        assert np.array_equal(ref[column][base], plus[column][other]), column
    assert baseline_pair.same_arrivals == (True, True)


def test_paired_intervals_are_narrower_than_unpaired(baseline_pair):
    diffs = baseline_pair.differences[1]
    for name in ("ack_breach_rate", "resolve_breach_rate", "ack_time_p50", "ack_time_p90",
                 "ack_sla_attainment", "abandoned_share", "mentions"):
        d = diffs[name]
        assert d.ci_high - d.ci_low < d.unpaired_high - d.unpaired_low, name
    # one more agent per shift: clearly faster acknowledgement at a clearly higher cost
    assert diffs["ack_time_p50"].ci_high < 0 and diffs["cost"].ci_low > 0
    assert baseline_pair.verdict(1, "ack_time_p50").startswith("plus_one acknowledges faster (median): −")
    assert baseline_pair.verdict(1, "cost").startswith("plus_one costs more: +")


# --- files and command line ------------------------------------------------------------------


def test_compare_command_writes_its_files(tmp_path):
    a = write_yaml(tmp_path / "lean.yaml", {**SMALL, "name": "lean"})
    b = write_yaml(tmp_path / "staffed.yaml", {**SMALL, "name": "staffed",
                                               "pools": {"social": {**SMALL["pools"]["social"], "agents": 4}}})
    out = tmp_path / "cmp"
    res = CliRunner().invoke(main, ["compare", str(a), str(b), "-o", str(out), "--replications", "3", "--seed", "5"])
    assert res.exit_code == 0, res.output
    assert "lean vs staffed: 3 replications each, seed 5" in res.output
    assert "staffed acknowledges faster (median): −" in res.output
    assert "staffed costs more: +" in res.output
    names = {p.name for p in out.iterdir()}
    assert {"comparison.json", "comparison.csv", "report.html", "cost_vs_breach.png",
            "breach_by_hour_of_week.png", "scenarios"} <= names
    doc = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert doc["reference"] == "lean" and doc["seed"] == 5 and doc["replications"] == 3
    lean, staffed = doc["scenarios"]
    assert "difference" not in lean and set(staffed["difference"]) == set(staffed["metrics"])
    ack = staffed["difference"]["ack_time_p50"]
    assert ack["ci_high"] < 0 and ack["verdict"].startswith("staffed acknowledges faster")
    rows = list(csv.DictReader(io.StringIO((out / "comparison.csv").read_text(encoding="utf-8"))))
    assert {r["scenario"] for r in rows} == {"lean", "staffed"}
    assert len(rows) == 2 * len(staffed["metrics"])
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 2
    assert "staffed acknowledges faster (median)" in page
    # the executive summary comes first: each scenario's sentences, then the paired verdicts
    brief = page[page.index('id="in-brief"'):page.index("<h2>Summary</h2>")]
    assert "<h3>lean</h3>" in brief and "<h3>staffed</h3>" in brief
    assert brief.count("Staffing costs") == 2
    assert "Against lean: staffed costs more: +" in brief
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_compare_default_folder_and_file_stems(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_yaml(tmp_path / "one.yaml", SMALL)
    write_yaml(tmp_path / "two.yaml", SMALL)  # the same scenario name twice: told apart by file
    res = CliRunner().invoke(main, ["compare", "one.yaml", "two.yaml", "--replications", "2", "--no-report", "-q"])
    assert res.exit_code == 0, res.output
    assert res.output == ""
    out = tmp_path / "outputs" / "compare-one-two"
    assert (out / "comparison.json").exists() and not (out / "report.html").exists()


def test_compare_needs_two_scenarios(tmp_path):
    a = write_yaml(tmp_path / "a.yaml", SMALL)
    res = CliRunner().invoke(main, ["compare", str(a)])
    assert res.exit_code == 2 and "at least two scenarios" in res.output


def test_compare_bad_file_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_yaml(tmp_path / "a.yaml", SMALL)
    write_yaml(tmp_path / "b.yaml", {**SMALL, "horizon": "2 parsecs"})
    res = CliRunner().invoke(main, ["compare", "a.yaml", "b.yaml"])
    assert res.exit_code == 2 and "b.yaml" in res.output and "horizon" in res.output
    assert not (tmp_path / "outputs").exists()


def test_failed_write_leaves_no_folder(tmp_path, monkeypatch):
    cmp = compare([small(), small(name="other")], replications=2)

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr("sim.report.compare.write_comparison_report", broken)
    with pytest.raises(RuntimeError):
        write_comparison(cmp, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


# --- progress --------------------------------------------------------------------------------


def test_progress_text():
    assert format_seconds(42) == "42 s" and format_seconds(185) == "3 min 05 s"
    text = render(3, 12, 30.0, "baseline", width=100)
    assert text.startswith("baseline [") and text.endswith("3/12 replications, 30 s, about 1 min 30 s left")
    narrow = render(3, 12, 30.0, "a-rather-long-scenario-name", width=60)
    assert len(narrow) <= 59 and narrow.endswith("about 1 min 30 s left") and narrow.startswith("a-rather")


def test_progress_silent_off_a_terminal():
    stream = io.StringIO()
    with Progress(4, stream=stream, delay=0.0) as bar:
        for _ in range(4):
            bar.advance()
    assert stream.getvalue() == ""


def test_progress_draws_and_erases_on_a_terminal():
    stream = io.StringIO()
    with Progress(4, "x", stream=stream, enabled=True, delay=0.0, interval=60) as bar:
        bar.advance()
        assert "1/4 replications" in stream.getvalue()
    assert stream.getvalue().endswith("\r")  # erased at the end


def test_paused_progress_runs_no_thread_and_ticks_again_after():
    import threading

    others = threading.active_count()                   # what earlier tests may have left running
    stream = io.StringIO()
    with Progress(4, "x", stream=stream, enabled=True, delay=0.0, interval=60) as bar:
        assert threading.active_count() == others + 1
        with bar.paused():
            assert threading.active_count() == others   # no thread of the bar's: a fork is safe
            bar.advance()                               # still drawn, by the caller
            assert "1/4 replications" in stream.getvalue()
        assert threading.active_count() == others + 1
    assert threading.active_count() == others
    quiet = Progress(4, stream=io.StringIO())           # off a terminal: no thread to pause or restart
    with quiet.paused():
        pass
    assert threading.active_count() == others
