"""mentions.csv written while the run goes on (`caresim run --no-report`): the same bytes as the
records kept in memory and written at the end, with the records never held.

The streamed rows are released a window at a time, once no mention still to settle arrived
before them; the order of the file (replication, arrival, id) must come out the same whatever
the order in which mentions settle, and whichever worker writes each replication's piece.
"""
from __future__ import annotations

import io
import math
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import REPLICATIONS, SEED, every_input_scenario, make_log

from sim.cli import main
from sim.mentions_csv import HEADER, CsvWriterProcess, MentionsCsvStream, open_stream
from sim.output import join_files, mentions_csv, summary_json
from sim.records import CSV_COLUMNS
from sim.runner import run
from sim.scenario import dump_scenario


@pytest.fixture(scope="module")
def scenario():
    return every_input_scenario()


@pytest.fixture(scope="module")
def kept(scenario):
    return run(scenario, seed=SEED)


@pytest.mark.parametrize("executor", [{"workers": 1}, {"workers": 2}, {"workers": 2, "dask": "local"}],
                         ids=["one process", "local processes", "dask local"])
def test_streamed_pieces_are_the_kept_records(scenario, kept, tmp_path, executor):
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


forking = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the writer process is forked on Linux only")
from_server = pytest.mark.skipif("forkserver" not in multiprocessing.get_all_start_methods(),
                                 reason="multiprocessing has no fork server here")


@pytest.mark.parametrize("writer", ["inline", "thread", pytest.param("fork", marks=forking),
                                    pytest.param("forkserver", marks=from_server)])
def test_rows_come_out_in_order_whatever_the_settling_order(writer, tmp_path):
    """Mentions settle in their own time (arrival + a delay, some long), so records come out of
    arrival order, and some arrive at the same moment (then by id); released window by window
    at the earliest arrival still to settle, as the collector does: the bytes of the whole log
    sorted in memory, whoever writes them. A release never writes a row that arrived at or
    after it. The forked writer is tried from a fresh process: this one may run threads left by
    earlier tests, which a fork must not copy (`open_stream` never forks then)."""
    path = tmp_path / "mentions.csv"
    if writer != "fork":
        check_streamed_order(writer, path)
        return
    code = f"import pathlib, test_mentions_stream as t\nt.check_streamed_order('fork', pathlib.Path({str(path)!r}))\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr


def check_streamed_order(writer: str, path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 2000
    arrival = np.round(rng.uniform(0, 100, n), 1)          # rounded: many ties
    settles = arrival + rng.exponential(5.0, n) * (1 + 20 * (rng.random(n) < 0.05))
    log = make_log(arrival=arrival, id=rng.permutation(n), ack_done=settles, followers=rng.integers(0, 10_000, n))
    path.write_bytes(HEADER)
    if writer in ("fork", "forkserver"):
        stream = CsvWriterProcess(path, log.channels, log.types, log.pools, writer)
    else:
        stream = MentionsCsvStream(open(path, "ab"), log.channels, log.types, log.pools,
                                   threaded=writer == "thread", owns_file=True)
    releases = 1
    for w1 in np.arange(10.0, settles.max() + 20.0, 10.0):
        now = (settles >= w1 - 10.0) & (settles < w1)
        stream.add(_records(log, rng.permutation(np.flatnonzero(now))))
        waiting = arrival[settles >= w1]
        before = min(w1, waiting.min()) if len(waiting) else w1
        stream.release(before)
        if writer == "inline":
            stream.file.flush()
            times = [float(line.split(",")[3]) for line in path.read_text().splitlines()[1:]]
            assert all(t < before for t in times[releases - 1:])
            releases = len(times) + 1
    stream.close()
    order = np.lexsort((np.asarray(log["id"]), arrival))
    assert path.read_bytes() == mentions_csv(log.select(order)).encode()


def test_the_writer_is_a_process_only_with_a_core_to_spare(tmp_path):
    """With a core to spare the rows are written by a process of their own: forked when this
    process runs no other thread (forking one that does can copy a lock some thread holds),
    else from the fork server; with none, by the simulating thread itself."""
    log = make_log(arrival=np.arange(3.0))
    path = tmp_path / "m.csv"
    inline = open_stream(path, log.channels, log.types, log.pools, spare_core=False)
    assert isinstance(inline, MentionsCsvStream) and inline.queue is None
    inline.close()
    assert inline.file.closed
    if "forkserver" in multiprocessing.get_all_start_methods():
        stop = threading.Event()
        other = threading.Thread(target=stop.wait)
        other.start()
        try:
            served = open_stream(path, log.channels, log.types, log.pools, spare_core=True)
        finally:
            stop.set()
            other.join()
        assert isinstance(served, CsvWriterProcess)
        assert served.method == "forkserver"
        served.close()
    if sys.platform.startswith("linux"):   # in a fresh process: this one may run threads of earlier tests
        code = ("from sim.mentions_csv import open_stream\n"
                f"w = open_stream({str(path)!r}, ['twitter'], ['complaint'], ['team'], spare_core=True)\n"
                "print(type(w).__name__, w.method)\n"
                "w.close()\n")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert done.stdout.split() == ["CsvWriterProcess", "fork"], done.stderr


@from_server
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full, a device that is always full")
def test_a_writer_process_failure_is_raised_not_lost():
    """The process that writes meets a full disk: the run hears of it, with the disk's error.
    (From the fork server: this process may run threads of earlier tests, see above.)"""
    log = make_log(arrival=np.arange(10.0))
    stream = CsvWriterProcess("/dev/full", log.channels, log.types, log.pools, "forkserver")
    with pytest.raises(OSError, match="No space"):
        stream.add(_records(log, np.arange(10)))
        stream.release(math.inf)
        stream.close()
    assert not stream.child.is_alive()


@from_server
def test_a_writer_process_that_dies_is_reported(tmp_path):
    """Killed (out of memory, say): the next rows handed over fail with what happened, not
    with a broken pipe, and nothing is left running."""
    log = make_log(arrival=np.arange(10.0))
    stream = CsvWriterProcess(tmp_path / "m.csv", log.channels, log.types, log.pools, "forkserver")
    stream.child.kill()
    stream.child.join()
    with pytest.raises(RuntimeError, match="ended unexpectedly"):
        for _ in range(100):     # a pipe can take a few before it knows
            stream.add(_records(log, np.arange(10)))
            stream.release(math.inf)
        stream.close()


@from_server
def test_a_run_that_fails_stops_its_writer(tmp_path):
    """The simulation fails mid-run: the writer is stopped at once, leaves in good order, and
    the file holds the rows released before the failure and nothing after."""
    log = make_log(arrival=np.arange(10.0))
    path = tmp_path / "m.csv"
    path.write_bytes(HEADER)
    stream = CsvWriterProcess(path, log.channels, log.types, log.pools, "forkserver")
    stream.add(_records(log, np.arange(10)))
    stream.release(5.0)                        # rows arrived at 0..4 are final
    started = time.monotonic()
    stream.close_quietly()
    assert time.monotonic() - started < 10
    assert stream.child.exitcode == 0
    assert path.read_bytes() == mentions_csv(log.select(np.arange(5))).encode()


@from_server
def test_records_of_other_column_types_are_refused(tmp_path):
    """The writer reads each column's raw bytes by the types of the first record: a later
    record of other types would be misread, so it is refused."""
    log = make_log(arrival=np.arange(10.0))
    stream = CsvWriterProcess(tmp_path / "m.csv", log.channels, log.types, log.pools, "forkserver")
    try:
        stream.add(_records(log, np.arange(5)))
        other = _records(log, np.arange(5, 10))
        other["id"] = other["id"].astype(np.int32)
        with pytest.raises(ValueError, match="differ"):
            stream.add(other)
    finally:
        stream.close_quietly()


@forking
def test_a_writer_process_outlives_no_parent(tmp_path):
    """The simulating process dies without a word: its writer reads the end of the pipe and
    leaves rather than waiting for rows forever."""
    code = ("import os\n"
            "from sim.mentions_csv import CsvWriterProcess\n"
            f"w = CsvWriterProcess({str(tmp_path / 'm.csv')!r}, ['twitter'], ['complaint'], ['team'])\n"
            "print(w.child.pid, flush=True)\n"
            "os._exit(0)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.strip())
    def running() -> bool:   # a zombie waiting for its new parent to reap it has left too
        try:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 20
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(), "the writer process outlived its parent"


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


def test_command_without_report_streams_the_same_file(scenario, tmp_path):
    """`caresim run --no-report` writes mentions.csv as the run goes; the file is the one a run
    drawing its report writes from the records it keeps, and nothing is left beside it."""
    path = tmp_path / "s.yaml"
    path.write_text(dump_scenario(scenario), encoding="utf-8")
    runner = CliRunner()
    for out, extra in (("streamed", ["--no-report", "--workers", "2"]), ("kept", [])):
        done = runner.invoke(main, ["run", str(path), "-o", str(tmp_path / out), "--seed", str(SEED),
                                    "--quiet", *extra])
        assert done.exit_code == 0, done.output
    # one process, as a fresh command: the rows written by a process forked for them on Linux
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(path), "-o", str(tmp_path / "one"),
                           "--seed", str(SEED), "--quiet", "--no-report", "--workers", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for name in ("mentions.csv", "summary.json", "timeseries.csv"):
        for out in ("streamed", "one"):
            assert (tmp_path / out / name).read_bytes() == (tmp_path / "kept" / name).read_bytes(), (out, name)
    assert not (tmp_path / "streamed" / "report.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", "one", "s.yaml", "streamed"]

