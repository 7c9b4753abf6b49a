"""Records of local worker processes come back through files: the same columns, no file left."""
from __future__ import annotations

import numpy as np

from helpers import REPO

from sim.runner import _simulate_task, replication_seeds
from sim.scenario import load_scenario
from sim.spool import SpooledLog, spooling, unspooled


def one_day():
    baseline = load_scenario(REPO / "scenarios" / "baseline.yaml")
    return baseline.model_copy(update={"horizon": 1440.0, "warmup": 0.0})


def test_records_come_back_whole_and_leave_no_file(tmp_path):
    scenario = one_day()
    task = (scenario, replication_seeds(3, 1)[0], 0, True)
    direct = _simulate_task(task)
    sent = spooling(_simulate_task, tmp_path)(task)
    assert isinstance(sent.mentions, SpooledLog) and len(list(tmp_path.iterdir())) == len(direct.mentions.columns)
    back = unspooled(sent)
    assert list(tmp_path.iterdir()) == []
    assert back.mentions.columns.keys() == direct.mentions.columns.keys() and len(direct.mentions) > 100
    for name, column in direct.mentions.columns.items():
        np.testing.assert_array_equal(back.mentions[name], column, err_msg=name)
        assert back.mentions[name].dtype == column.dtype
    back.mentions["arrival"][0] = -1.0          # ordinary arrays: writable, private to this process
    assert back.metrics == direct.metrics


def test_streamed_replications_pass_through(tmp_path):
    scenario = one_day()
    rep = spooling(_simulate_task, tmp_path)((scenario, replication_seeds(3, 1)[0], 0, False))
    assert rep.mentions is None and unspooled(rep) is rep and list(tmp_path.iterdir()) == []


def test_records_take_the_pipe_when_the_folder_will_not_take_them(tmp_path):
    scenario = one_day()
    missing = tmp_path / "gone"                 # saving there fails
    rep = spooling(_simulate_task, missing)((scenario, replication_seeds(3, 1)[0], 0, True))
    assert not isinstance(rep.mentions, SpooledLog) and len(rep.mentions) > 100
    assert unspooled(rep) is rep


def test_a_folder_that_fills_up_mid_run_costs_a_rerun_not_the_records(tmp_path, monkeypatch):
    """The disk fills while a replication writes its records: what it wrote is removed, the
    replication runs again keeping its records (same seed, same records), and they come back
    whole."""
    import sim.spool

    scenario = one_day().model_copy(update={"horizon": 3 * 1440.0})
    task = (scenario, replication_seeds(3, 1)[0], 0, True)
    direct = _simulate_task(task)
    real = sim.spool.RecordFiles.release
    calls = []

    def fills_up(self, before):
        calls.append(before)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(self, before)

    monkeypatch.setattr(sim.spool.RecordFiles, "release", fills_up)
    sent = spooling(_simulate_task, tmp_path)(task)
    assert len(calls) == 2                       # the second day's rows met the full disk
    back = unspooled(sent)
    assert list(tmp_path.iterdir()) == []
    for name, column in direct.mentions.columns.items():
        np.testing.assert_array_equal(back.mentions[name], column, err_msg=name)
    assert back.metrics == direct.metrics


def test_a_replication_nobody_arrived_in_comes_back_as_an_empty_log(tmp_path):
    """No row, no file: the caller gets the empty log, with the columns and types a replication
    keeping its records in memory gives."""
    scenario = one_day().model_copy(update={"horizon": 1.0})   # a minute of a quiet night
    task = (scenario, replication_seeds(3, 1)[0], 0, True)
    direct = _simulate_task(task)
    assert len(direct.mentions) == 0
    sent = spooling(_simulate_task, tmp_path)(task)
    assert isinstance(sent.mentions, SpooledLog) and list(tmp_path.iterdir()) == []
    back = unspooled(sent).mentions
    assert list(back.columns) == list(direct.mentions.columns)
    assert all(back[name].dtype == column.dtype and len(back[name]) == 0 for name, column in direct.mentions.columns.items())
