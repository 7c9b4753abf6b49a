"""The report's figures drawn on two cores (`sim.report.drawing`): the same bytes as one process
draws, in the order asked, and a child that fails costs nothing but time."""
from __future__ import annotations

import os
import sys
import threading

import pytest
from matplotlib.figure import Figure

from sim.report.drawing import COST, _half, _may_fork, draw
from sim.report.plots import figure_png

fork_only = pytest.mark.skipif(not hasattr(os, "fork") or not sys.platform.startswith("linux"),
                               reason="drawing in a forked child is for Linux")


def bars(k: int):
    def make() -> Figure:
        fig = Figure(figsize=(3, 2))
        fig.add_subplot().bar(range(k + 1), range(k + 1))
        return fig
    return make


FIGURES = {f"figure-{k}.png": bars(k) for k in range(5)}


def signed(tmp_path, figures):
    """The figures, each noting in a file which process drew it."""
    log = tmp_path / "drawn-by"

    def noting(name, make):
        def make_and_note() -> Figure:
            with open(log, "a", encoding="utf-8") as f:
                f.write(f"{name} {os.getpid()}\n")
            return make()
        return make_and_note

    return {name: noting(name, make) for name, make in figures.items()}, log


def drawers(log) -> dict[str, int]:
    return {name: int(pid) for name, pid in (line.split() for line in log.read_text(encoding="utf-8").splitlines())}


@fork_only
def test_two_processes_draw_the_bytes_one_draws_in_the_order_asked(tmp_path):
    one = draw(FIGURES, parallel=False)
    figures, log = signed(tmp_path, FIGURES)
    two = draw(figures, parallel=True)
    assert list(two) == list(FIGURES) == list(one)
    assert two == one
    assert len(set(one.values())) == len(FIGURES)      # five different pictures, not one five times
    assert one["figure-3.png"] == figure_png(bars(3)())
    # each figure drawn once, the child's share by the child
    by = drawers(log)
    assert sorted(by) == sorted(FIGURES)
    assert {name for name, pid in by.items() if pid != os.getpid()} == _half(list(FIGURES))


@fork_only
def test_no_fork_to_be_had_draws_everything_here(monkeypatch):
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    before = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(os, "fork", no_fork)
    assert draw(FIGURES, parallel=True) == draw(FIGURES, parallel=False)
    assert len(os.listdir("/proc/self/fd")) == before   # the pipe closed again


@fork_only
def test_children_reaped_by_the_system_still_hand_their_figures_over(tmp_path, monkeypatch):
    import signal

    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # as some launchers leave it
    try:
        figures, log = signed(tmp_path, FIGURES)
        assert draw(figures, parallel=True) == draw(FIGURES, parallel=False)
    finally:
        signal.signal(signal.SIGCHLD, previous)
    assert any(pid != os.getpid() for pid in drawers(log).values())


@fork_only
def test_a_child_that_fails_leaves_its_figures_to_this_process():
    parent = os.getpid()

    def fails_in_a_child() -> Figure:
        if os.getpid() != parent:
            raise RuntimeError("only in the child")
        return bars(7)()

    victim = sorted(_half(list(FIGURES)))[0]          # a figure the child draws
    figures = {**FIGURES, victim: fails_in_a_child}
    images = draw(figures, parallel=True)
    assert list(images) == list(FIGURES)
    assert images == {**draw(FIGURES, parallel=False), victim: figure_png(bars(7)())}


@fork_only
def test_a_failure_here_leaves_no_child_behind(monkeypatch):
    parent = os.getpid()
    forked = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)

    def fails_here() -> Figure:
        if os.getpid() == parent:
            raise RuntimeError("only in this process")
        return bars(1)()

    mine = sorted(set(FIGURES) - _half(list(FIGURES)))[0]   # a figure this process draws
    with pytest.raises(RuntimeError, match="only in this process"):
        draw({**FIGURES, mine: fails_here}, parallel=True)
    assert len(forked) == 1
    with pytest.raises(ChildProcessError):   # the child was waited for: it is gone
        os.waitpid(forked[0], os.WNOHANG)


def test_the_split_balances_the_known_costs():
    names = list(COST)
    theirs = _half(names)
    loads = [sum(COST[n] for n in names if (n in theirs) == side) for side in (False, True)]
    assert abs(loads[0] - loads[1]) <= max(COST.values()) / 2
    assert 0 < len(theirs) < len(names)


def test_no_fork_while_another_thread_runs():
    assert _may_fork() == (sys.platform.startswith("linux") and threading.active_count() == 1
                           and len(os.listdir("/proc/self/task")) == 1 and len(os.sched_getaffinity(0)) >= 2)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not _may_fork()
    finally:
        stop.set()
        thread.join()
