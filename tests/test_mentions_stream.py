"""mentions.csv written while the run goes on (`caresim run --no-report`): the same bytes as the
records kept in memory and written at the end, with the records never held.

The streamed rows are released a window at a time, once no mention still to settle arrived
before them; the order of the file (replication, arrival, id) must come out the same whatever
the order in which mentions settle, and whichever worker writes each replication's piece.
"""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from helpers import make_log
from test_executors import REPLICATIONS, SEED, scenario  # noqa: F401  (a fixture)

from sim.cli import main
from sim.mentions_csv import HEADER, MentionsCsvStream
from sim.output import join_files, mentions_csv, summary_json
from sim.records import CSV_COLUMNS
from sim.runner import run


@pytest.fixture(scope="module")
def kept(scenario):  # noqa: F811
    return run(scenario, seed=SEED)


@pytest.mark.parametrize("executor", [{"workers": 1}, {"workers": 2}, {"workers": 2, "dask": "local"}],
                         ids=["one process", "local processes", "dask local"])
def test_streamed_pieces_are_the_kept_records(scenario, kept, tmp_path, executor):  # noqa: F811
    """Cascades with the closed loop, a warm-up, an incident, two stages, channel moves: the
    pieces joined (written by whichever worker ran each replication: the workers of a
    `LocalCluster` too) are the bytes of the kept records, and the summary (largest_cascade
    included, counted on the way) is the same."""
    if "dask" in executor:
        pytest.importorskip("distributed", reason="the Dask executor needs the optional `distributed` package")
    streamed = run(scenario, seed=SEED, mentions_to=tmp_path, **executor)
    assert streamed.mentions is None
    assert len(streamed.mentions_parts) == REPLICATIONS
    joined = tmp_path / "mentions.csv"
    join_files(list(streamed.mentions_parts), joined)
    assert joined.read_text(encoding="utf-8") == mentions_csv(kept.mentions)
    assert summary_json(streamed) == summary_json(kept)
    assert "largest_cascade" in streamed.summary and streamed.summary["largest_cascade"]["mean"] > 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mentions.csv"]   # the pieces are gone


def _records(log, rows):
    return {k: np.asarray(log[k])[rows] for k in CSV_COLUMNS}


@pytest.mark.parametrize("threaded", [False, True])
def test_rows_come_out_in_order_whatever_the_settling_order(threaded):
    """Mentions settle in their own time (arrival + a delay, some long), so records come out of
    arrival order, and some arrive at the same moment (then by id); released window by window
    at the earliest arrival still to settle, as the collector does: the bytes of the whole log
    sorted in memory. A release never writes a row that arrived at or after it."""
    rng = np.random.default_rng(5)
    n = 2000
    arrival = np.round(rng.uniform(0, 100, n), 1)          # rounded: many ties
    settles = arrival + rng.exponential(5.0, n) * (1 + 20 * (rng.random(n) < 0.05))
    log = make_log(arrival=arrival, id=rng.permutation(n), ack_done=settles, followers=rng.integers(0, 10_000, n))
    f = io.BytesIO()
    stream = MentionsCsvStream(f, log.channels, log.types, log.pools, threaded=threaded)
    releases = 0
    for w1 in np.arange(10.0, settles.max() + 20.0, 10.0):
        now = (settles >= w1 - 10.0) & (settles < w1)
        stream.add(_records(log, rng.permutation(np.flatnonzero(now))))
        waiting = arrival[settles >= w1]
        before = min(w1, waiting.min()) if len(waiting) else w1
        stream.release(before)
        if not threaded:
            times = [float(line.split(",")[3]) for line in f.getvalue().decode().splitlines()]
            assert all(t < before for t in times[releases:])
            releases = len(times)
    stream.close()
    order = np.lexsort((np.asarray(log["id"]), arrival))
    want = mentions_csv(log.select(order)).encode()
    assert HEADER + f.getvalue() == want


def test_a_writer_failure_is_raised_not_lost():
    """The thread that writes meets a full disk: the run hears of it."""

    class Full(io.RawIOBase):
        def write(self, b):
            raise OSError(28, "No space left on device")

    log = make_log(arrival=np.arange(10.0))
    stream = MentionsCsvStream(Full(), log.channels, log.types, log.pools)
    stream.add(_records(log, np.arange(10)))
    with pytest.raises(OSError, match="No space"):
        stream.release(math.inf)
        stream.close()


def test_command_without_report_streams_the_same_file(scenario, tmp_path):  # noqa: F811
    """`caresim run --no-report` writes mentions.csv as the run goes; the file is the one a run
    drawing its report writes from the records it keeps, and nothing is left beside it."""
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario.model_dump(mode="json", by_alias=True), sort_keys=False), encoding="utf-8")
    runner = CliRunner()
    for out, extra in (("streamed", ["--no-report", "--workers", "2"]), ("kept", [])):
        done = runner.invoke(main, ["run", str(path), "-o", str(tmp_path / out), "--seed", str(SEED),
                                    "--quiet", *extra])
        assert done.exit_code == 0, done.output
    for name in ("mentions.csv", "summary.json", "timeseries.csv"):
        assert (tmp_path / "streamed" / name).read_bytes() == (tmp_path / "kept" / name).read_bytes(), name
    assert not (tmp_path / "streamed" / "report.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", "s.yaml", "streamed"]

