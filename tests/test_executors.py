"""Same scenario, same seed: the same bytes whatever the executor (issue 5).

Each replication's seed is fixed before it is dispatched and results are put back in replication
order, so one process, a pool of local processes and a Dask cluster must write identical
`summary.json`, `timeseries.csv` and `mentions.csv`.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from helpers import REPLICATIONS, REPO, SEED, every_input_scenario

from sim.output import mentions_csv, summary_json, timeseries_csv
from sim.runner import ReplicationFailed, _simulate_task, execute, replication_seeds, run
from sim.scenario import dump_scenario



def outputs(result) -> dict[str, str]:
    return {
        "summary.json": summary_json(result),
        "timeseries.csv": timeseries_csv(result.series),
        "mentions.csv": mentions_csv(result.mentions),
    }


@pytest.fixture(scope="module")
def scenario():
    return every_input_scenario()


@pytest.fixture(scope="module")
def one_process(scenario):
    return outputs(run(scenario, seed=SEED, workers=1))


def assert_same_bytes(got: dict[str, str], expected: dict[str, str]) -> None:
    for name, text in expected.items():
        assert got[name].encode() == text.encode(), f"{name} differs"


def test_reference_run_is_not_trivial(one_process):
    assert one_process["mentions.csv"].count("\n") > 2000
    assert ",cascade," in one_process["mentions.csv"] and ",incident," in one_process["mentions.csv"]
    assert '"breach_caused_share"' in one_process["summary.json"]


def test_same_run_twice_gives_the_same_bytes(scenario, one_process):
    assert_same_bytes(outputs(run(scenario, seed=SEED, workers=1)), one_process)


def test_local_processes_give_the_same_bytes(scenario, one_process):
    finished = []
    result = run(scenario, seed=SEED, workers=2, on_done=lambda rep: finished.append(rep.index))
    assert sorted(finished) == list(range(REPLICATIONS))  # progress: one call per replication
    assert [rep.index for rep in result.replications] == list(range(REPLICATIONS))
    assert_same_bytes(outputs(result), one_process)


def test_dask_local_cluster_gives_the_same_bytes(scenario, one_process):
    pytest.importorskip("distributed", reason="the Dask executor needs the optional `distributed` package")
    finished = []
    result = run(scenario, seed=SEED, workers=2, dask="local", on_done=lambda rep: finished.append(rep.index))
    assert sorted(finished) == list(range(REPLICATIONS))
    assert_same_bytes(outputs(result), one_process)


def _worker_settings(task, records_to=None):
    """A task reporting the Dask settings its worker runs with, and the command line of the
    process it was started from where the system tells (no replication)."""
    import dask

    from sim.distributed import CLUSTER_SETTINGS
    parent = Path(f"/proc/{os.getppid()}/cmdline")
    return SimpleNamespace(index=task[2], mentions=None, trim=os.environ.get("MALLOC_TRIM_THRESHOLD_"),
                           settings={key: dask.config.get(key) for key in CLUSTER_SETTINGS},
                           parent=parent.read_bytes() if parent.exists() else None)


def test_dask_local_workers_run_with_the_cluster_settings(monkeypatch):
    """The cluster `--dask local` starts runs as `CLUSTER_SETTINGS` says: its workers with
    1 s ticks, no profiler and Dask's low malloc trim threshold undone, its scheduler without
    work stealing or the active memory manager. Dask's defaults would each cost time. Its
    workers are forked from a fork server that has Dask loaded, not spawned."""
    distributed = pytest.importorskip("distributed", reason="the Dask executor needs the optional `distributed` package")
    from sim.distributed import CLUSTER_SETTINGS, run_on_dask

    clusters = []

    class Recorded(distributed.LocalCluster):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            clusters.append(self)

    monkeypatch.setattr(distributed, "LocalCluster", Recorded)
    seen = []
    run_on_dask(_worker_settings, [(None, None, i, False) for i in range(2)], "local", 2, seen.append)
    assert len(seen) == 2
    forked = "forkserver" in multiprocessing.get_all_start_methods()
    for worker in seen:
        assert worker.settings == CLUSTER_SETTINGS
        assert worker.trim is None
        if forked and worker.parent is not None:   # forked from a server with Dask and the task loaded
            assert b"multiprocessing.forkserver" in worker.parent and b"'distributed'" in worker.parent
    [cluster] = clusters
    assert "stealing" not in cluster.scheduler.extensions
    assert not cluster.scheduler.extensions["amm"].running


def test_the_documented_cluster_settings_are_the_ones_used():
    """docs/scaling.md gives the settings for a cluster of one's own as a Dask configuration
    file: the same as `--dask local` uses."""
    from sim.distributed import CLUSTER_SETTINGS

    text = (REPO / "docs" / "scaling.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "MALLOC_TRIM_THRESHOLD_" in b)

    def flat(tree, prefix=""):
        for key, value in tree.items():
            if isinstance(value, dict):
                yield from flat(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    assert dict(flat(yaml.safe_load(block))) == CLUSTER_SETTINGS


@pytest.fixture(scope="module")
def cluster():
    """A running Dask cluster reached by its address, as `--dask tcp://host:8786` reaches one."""
    distributed = pytest.importorskip("distributed", reason="the Dask executor needs the optional `distributed` package")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c.scheduler_address


def test_dask_scheduler_address_gives_the_same_bytes(scenario, one_process, cluster, monkeypatch):
    """The cluster's workers are on this machine: their records come back through files (as
    those of local processes do), and the bytes are the same."""
    import sim.spool

    spooled = []
    unspooled = sim.spool.unspooled
    monkeypatch.setattr(sim.spool, "unspooled", lambda rep: (
        spooled.append(isinstance(rep.mentions, sim.spool.SpooledLog)), unspooled(rep))[1])
    assert_same_bytes(outputs(run(scenario, seed=SEED, dask=cluster)), one_process)
    assert spooled == [True] * REPLICATIONS


def test_records_take_files_only_from_workers_that_read_ours(cluster, tmp_path, monkeypatch):
    """Workers prove they share this machine's files by reading back a token written here; any
    other answer (a worker elsewhere) sends the records through Dask."""
    distributed = pytest.importorskip("distributed")
    from sim.distributed import _workers_share_files

    with distributed.Client(cluster) as client:
        assert _workers_share_files(client, str(tmp_path))
        assert list(tmp_path.iterdir()) == []          # the token is gone again
        real_run = client.run
        monkeypatch.setattr(client, "run", lambda fn, path: {**real_run(fn, path), "tcp://elsewhere:1": None})
        assert not _workers_share_files(client, str(tmp_path))


def test_results_come_straight_from_workers_that_answer(cluster, monkeypatch):
    """On a cluster reached by its address, results skip the scheduler only when every worker
    accepts a connection from here."""
    distributed = pytest.importorskip("distributed")
    from sim.distributed import _workers_answer

    with distributed.Client(cluster) as client:
        assert _workers_answer(client)
        monkeypatch.setattr(client, "scheduler_info", lambda: {"workers": {"tcp://127.0.0.1:1": {}}})
        assert not _workers_answer(client)


@pytest.mark.parametrize("executor", ["one process", "local processes", "dask", "dask local"])
def test_a_failing_replication_is_named(scenario, executor, request):
    """Replication 3 is given no seed sequence, so it raises inside the replication; whatever
    the executor, the error names it (after Dask's retries), so it can be rerun alone."""
    tasks = [(scenario, seed, i, False) for i, seed in enumerate(replication_seeds(SEED, 3))]
    tasks.append((scenario, None, 3, False))
    if executor == "dask":
        kwargs = {"dask": request.getfixturevalue("cluster")}
    elif executor == "dask local":
        pytest.importorskip("distributed", reason="the Dask executor needs the optional `distributed` package")
        kwargs = {"dask": "local", "workers": 2}
    else:
        kwargs = {"workers": 1 if executor == "one process" else 2}
    with pytest.raises(ReplicationFailed, match=r"replication 3 of 'executors' failed"):
        execute(tasks, **kwargs)


def _dies_the_first_time(task, records_to=None):
    """Replication task whose worker process dies (as a machine going down would) the first time
    it is tried; the marker file says whether it has been."""
    marker, _, _, inner = task
    if not os.path.exists(marker):
        with open(marker, "w"):
            pass
        os._exit(1)
    return _simulate_task(inner, records_to)


def test_a_replication_whose_worker_dies_is_run_again(scenario, cluster, tmp_path):
    """A worker dies in the middle of a sweep: Dask restarts it and runs its replication again
    elsewhere, and the results are those of one process, since each replication carries its
    own seed."""
    from sim.distributed import run_on_dask

    seeds = replication_seeds(SEED, 2)
    tasks = [(str(tmp_path / f"tried-{i}"), None, i, (scenario, seed, i, False)) for i, seed in enumerate(seeds)]
    done = []
    run_on_dask(_dies_the_first_time, tasks, cluster, 2, done.append)
    assert sorted(rep.index for rep in done) == [0, 1]
    for rep in done:
        alone = _simulate_task((scenario, seeds[rep.index], rep.index, False))
        assert json.dumps(rep.metrics) == json.dumps(alone.metrics)   # NaN-proof equality


def _dies_at_one(task, records_to=None):
    """Replication 1's worker process dies (killed, out of memory); the others run."""
    if task[2] == 1:
        os._exit(1)
    return _simulate_task(task, records_to)


def test_a_local_worker_that_dies_is_reported_with_its_replication(scenario, monkeypatch):
    """Local processes: a worker killed under a replication ends the run with an error naming
    the replications left unfinished, not the pool's bare BrokenProcessPool."""
    import sim.runner

    monkeypatch.setattr(sim.runner, "_simulate_task", _dies_at_one)   # the forked workers see it too
    tasks = [(scenario, seed, i, False) for i, seed in enumerate(replication_seeds(SEED, 2))]
    with pytest.raises(ReplicationFailed, match=r"worker process died with replications .*1.* of 'executors' unfinished"):
        execute(tasks, workers=2)


@pytest.mark.parametrize("executor", [{"workers": 2}, {"workers": 2, "dask": "local"}])
def test_streamed_statistics_are_the_same_whatever_the_executor(scenario, executor):
    """With records not kept (`--no-mentions`) the histograms and running sums travel instead:
    the summary and time series are still the bytes of one process."""
    if "dask" in executor:
        pytest.importorskip("distributed", reason="the Dask executor needs the optional `distributed` package")
    one = run(scenario, seed=SEED, workers=1, keep_mentions=False)
    other = run(scenario, seed=SEED, keep_mentions=False, **executor)
    assert one.mentions is None and other.mentions is None
    assert summary_json(other) == summary_json(one)
    assert timeseries_csv(other.series) == timeseries_csv(one.series)


@pytest.mark.parametrize("executor", [{"workers": 2}, {"workers": 2, "dask": "local"}])
def test_progress_is_reported_as_replications_finish(scenario, executor):
    """Two replications on two workers, the first twenty times as long: it is reported last, so
    progress follows the replications that finish rather than the order they were given in."""
    if "dask" in executor:
        pytest.importorskip("distributed", reason="the Dask executor needs the optional `distributed` package")
    long = scenario.model_copy(update={"horizon": 20 * scenario.horizon})
    seeds = replication_seeds(SEED, 2)
    tasks = [(long, seeds[0], 0, False), (scenario, seeds[1], 1, False)]
    finished = []
    execute(tasks, on_done=lambda rep: finished.append(rep.index), **executor)
    assert finished == [1, 0]


def _always_dies(task, records_to=None):
    os._exit(1)


def test_a_replication_that_kills_every_worker_it_meets_is_named(cluster):
    """Dask gives up on a replication whose worker died more often than allowed: the error names
    that replication, so it can be rerun alone."""
    from sim.distributed import run_on_dask

    with pytest.raises(ReplicationFailed, match=r"replication 7 failed on the cluster .*rerun it alone"):
        run_on_dask(_always_dies, [(None, None, 7, None)], cluster, 2, lambda rep: None)


@pytest.mark.parametrize("command", ["run", "compare"])
def test_workers_default_to_every_core(scenario, tmp_path, monkeypatch, command):
    """Without `--workers`, `caresim run` and `caresim compare` run replications on every core,
    as the option's help says."""
    import sim.runner
    from click.testing import CliRunner

    from sim.cli import main

    seen = []
    real = sim.runner.run

    def spy(*args, **kwargs):
        seen.append(kwargs["workers"])
        return real(*args, **kwargs)

    monkeypatch.setattr(sim.runner, "run", spy)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    path = tmp_path / "s.yaml"
    path.write_text(dump_scenario(scenario), encoding="utf-8")
    files = [str(path)] if command == "run" else [str(path), str(path)]
    done = CliRunner().invoke(main, [command, *files, "-o", str(tmp_path / "out"), "--replications", "2",
                                     "--no-report", "--quiet"])
    assert done.exit_code == 0, done.output
    assert seen == [3] * len(files)


def test_caresim_run_on_dask_local_writes_what_one_process_writes(scenario, tmp_path):
    """`caresim run --dask local` end to end, as a user types it (a process of its own, the
    cluster started and closed by the command): the output folder holds the same bytes as
    `--workers 1` writes, report aside."""
    import subprocess
    import sys

    pytest.importorskip("distributed")
    path = tmp_path / "s.yaml"
    path.write_text(dump_scenario(scenario), encoding="utf-8")
    folders = {}
    for name, options in (("one", ["--workers", "1"]), ("dask", ["--dask", "local", "--workers", "2"])):
        folders[name] = tmp_path / name
        done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(path), "-o", str(folders[name]),
                               "--seed", str(SEED), "--no-report", "--quiet", *options],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in folders["one"].iterdir())
    assert written == sorted(p.name for p in folders["dask"].iterdir())
    assert {"summary.json", "mentions.csv", "timeseries.csv"} <= set(written)
    for name in written:
        assert (folders["dask"] / name).read_bytes() == (folders["one"] / name).read_bytes(), f"{name} differs"


@pytest.fixture(scope="module")
def compared(scenario):
    """The executor scenario and one with a second specialist, compared in one process."""
    from sim.comparison import compare, comparison_json

    pools = dict(scenario.pools)
    pools["specialists"] = pools["specialists"].model_copy(update={"agents": 2})
    pair = [scenario, scenario.model_copy(update={"name": "two_specialists", "pools": pools})]
    return pair, comparison_json(compare(pair, seed=SEED, workers=1))


@pytest.mark.parametrize("executor", [{"workers": 2}, {"workers": 2, "dask": "local"}])
def test_compared_scenarios_give_the_same_bytes_whatever_the_executor(compared, executor):
    """Compared scenarios run on the executors replications run on (issue 5): the same
    comparison, byte for byte, as in one process."""
    from sim.comparison import compare, comparison_json

    if "dask" in executor:
        pytest.importorskip("distributed")
    pair, one_process = compared
    assert '"two_specialists"' in one_process
    assert comparison_json(compare(pair, seed=SEED, **executor)) == one_process


def test_caresim_compare_takes_dask(scenario, tmp_path, monkeypatch):
    """`caresim compare … --dask ADDRESS` hands the address to the comparison, as `run` does."""
    import sim.comparison
    from click.testing import CliRunner

    from sim.cli import main

    seen = []
    real = sim.comparison.compare

    def spy(*args, **kwargs):
        seen.append(kwargs["dask"])
        return real(*args, **{**kwargs, "dask": None})

    monkeypatch.setattr(sim.comparison, "compare", spy)
    path = tmp_path / "s.yaml"
    path.write_text(dump_scenario(scenario), encoding="utf-8")
    done = CliRunner().invoke(main, ["compare", str(path), str(path), "-o", str(tmp_path / "out"), "--replications", "2",
                                     "--dask", "tcp://scheduler:8786", "--no-report", "--quiet"])
    assert done.exit_code == 0, done.output
    assert seen == ["tcp://scheduler:8786"]
