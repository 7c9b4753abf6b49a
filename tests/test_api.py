"""The notebook API: `sim.run` on a file, a mapping or a Scenario; arrays, tables and figures."""
from __future__ import annotations

import csv
import io
import math
import subprocess
import sys

import numpy as np
import pytest
import yaml
from matplotlib.figure import Figure

import sim
from sim.output import mentions_csv
from sim.records import CSV_COLUMNS, ORIGINS, OUTCOMES
from sim.runner import RunResult
from sim.scenario import ScenarioError, parse_scenario

SCENARIO = {
    "name": "api",
    "horizon": "1d",
    "warmup": "4h",
    "replications": 2,
    "seed": 3,
    "arrivals": {"rate": "30/h", "types": {"complaint": 0.5, "question": 0.2, "noise": 0.3},
                 "channels": {"twitter": 0.6, "facebook": 0.4}},
    "pools": {"social": {"schedule": [{"days": "daily", "from": "06:00", "to": "22:00", "agents": 3}],
                         "stages": ["acknowledge"]},
              "specialists": {"agents": 2, "stages": ["resolve"], "cost_per_hour": 40}},
    "policy": {"respond_to": ["complaint", "question"]},
}


@pytest.fixture(scope="module")
def result():
    return sim.run(SCENARIO, progress=False)


def test_run_returns_a_result(result):
    assert isinstance(result, sim.Result) and isinstance(result, RunResult)
    assert len(result.replications) == 2 and result.seed == 3
    assert repr(result).startswith("<caresim result 'api': 2 replications, seed 3")
    assert len(result.per_replication) == 2


def test_file_mapping_and_scenario_give_the_same_run(tmp_path, result):
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(SCENARIO, sort_keys=False), encoding="utf-8")  # order of types matters
    for source in (str(path), path, parse_scenario(SCENARIO)):
        other = sim.run(source, progress=False)
        assert other.summary.keys() == result.summary.keys()
        for name, stats in other.summary.items():
            assert all(a == b or (math.isnan(a) and math.isnan(b))
                       for a, b in zip(stats.values(), result.summary[name].values())), name


def test_overrides(result):
    other = sim.run(SCENARIO, replications=1, seed=9, progress=False)
    assert len(other.replications) == 1 and other.seed == 9


def test_bad_sources():
    with pytest.raises(TypeError, match="file path, a mapping or a Scenario"):
        sim.load(42)
    with pytest.raises(ScenarioError, match="horizon"):
        sim.load({**SCENARIO, "horizon": "-1d"})


def test_variant_reads_files_as_load_does(tmp_path):
    """A variant's base file is read by the same rules as `load`: a key given twice is an error,
    not silently the last value, and `20:00` stays a time of day (not base-60 1200)."""
    twice = tmp_path / "twice.yaml"
    twice.write_text(yaml.safe_dump(SCENARIO, sort_keys=False) + "seed: 3\nseed: 4\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="duplicate key"):
        sim.variant(twice, {"replications": 1})
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="expected a mapping"):
        sim.variant(listed, {})
    clock = tmp_path / "clock.yaml"
    clock.write_text("name: x\nstarts: 20:00\n", encoding="utf-8")
    assert sim.api.scenario_data(clock)["starts"] == "20:00"


def test_variant_merges_key_by_key(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump(SCENARIO, sort_keys=False), encoding="utf-8")
    v = sim.variant(path, {"pools": {"specialists": {"agents": 5}}}, name="more")
    assert v.name == "more" and v.pools["specialists"].agents == 5
    assert v.pools["social"].schedule == sim.load(path).pools["social"].schedule
    assert sim.variant(SCENARIO, {"policy": {"priority": "fifo"}}).policy.respond_to == ["complaint", "question"]


def test_mentions_array_has_the_csv_columns(result):
    array = result.mentions_array()
    assert array.dtype.names == CSV_COLUMNS
    assert len(array) == len(result.mentions)
    for name in ("channel", "type", "triaged_as", "pool", "origin", "outcome"):
        assert array.dtype[name].kind == "U", name
    assert set(array["channel"]) <= {"twitter", "facebook"}
    assert set(array["origin"]) <= set(ORIGINS) and set(array["outcome"]) <= set(OUTCOMES)
    assert array["arrival"].dtype == np.float64 and array["ack_breached"].dtype == bool
    rows = list(csv.DictReader(io.StringIO(mentions_csv(result.mentions))))
    for k in (0, len(rows) // 2, len(rows) - 1):
        row, rec = rows[k], array[k]
        for name in ("id", "replication", "channel", "type", "pool", "outcome", "origin"):
            assert row[name] == str(rec[name]), name
        assert float(row["arrival"]) == pytest.approx(rec["arrival"], abs=1e-4)
        assert (row["ack_done"] == "") == bool(np.isnan(rec["ack_done"]))


def test_series_array(result):
    array = result.series_array()
    assert array.dtype.names[:3] == ("replication", "time", "pool")
    assert set(array["pool"]) <= {"social", "specialists", ""}


def test_summary_table(result):
    rows = result.summary_table()
    assert [r["metric"] for r in rows] == list(result.summary)
    assert {"metric", "words", "mean", "ci_low", "ci_high"} <= set(rows[0])
    text = result.summary_table(text=True)
    assert text.splitlines()[0].startswith("metric") and "ack_breach_rate" in text
    assert "staff cost" in result.core_table()


def test_to_pandas(result):
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install pandas"):
            result.to_pandas()
    else:
        frame = result.to_pandas()
        assert list(frame.columns) == list(CSV_COLUMNS) and len(frame) == len(result.mentions)


def test_plots_return_figures(result):
    for fig in (result.plot_queues(), result.plot_ack_vs_expectation(), result.plot_breach_by_hour()):
        assert isinstance(fig, Figure)


def test_api_compare():
    cmp = sim.compare([SCENARIO, {**SCENARIO, "name": "more"}], replications=2, progress=False)
    assert isinstance(cmp, sim.Comparison) and cmp.labels == ("api", "more")
    assert "vs api" in cmp.table()
    assert isinstance(cmp.plot_cost_vs_breach(), Figure)
    assert isinstance(cmp.plot_breach_by_hour_of_week(), Figure)


def test_import_sim_stays_light():
    code = "import sim, sys; assert 'sim.runner' not in sys.modules and 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_cli_stays_light():
    # commands load what they need; NumPy must not be loaded yet when the CLI sets its BLAS threads
    code = "import sim.cli, sys; assert not {'numpy', 'pydantic', 'sim.runner'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_notebook_runs_and_comparisons_take_a_dask_address(monkeypatch):
    """`sim.run(..., dask=ADDRESS)` and `sim.compare(..., dask=ADDRESS)` run their replications
    where the command's `--dask` would."""
    import sim.api

    seen = []
    real_run = sim.api._run

    def spy(*args, **kwargs):
        seen.append(kwargs.get("dask"))
        return real_run(*args, **{**kwargs, "dask": None})

    monkeypatch.setattr(sim.api, "_run", spy)
    monkeypatch.setattr("sim.runner.run", spy)   # what the comparison calls
    data = {"name": "tiny", "horizon": "2h", "replications": 2, "arrivals": {"rate": "30/h"},
            "pools": {"team": {"agents": 2}}}
    sim.run(data, dask="tcp://scheduler:8786", progress=False)
    sim.compare([data, data], dask="local", progress=False)
    assert seen == ["tcp://scheduler:8786", "local", "local"]
