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


@fork_only
def test_two_processes_draw_the_bytes_one_draws_in_the_order_asked():
    one = draw(FIGURES, parallel=False)
    two = draw(FIGURES, parallel=True)
    assert list(two) == list(FIGURES) == list(one)
    assert two == one
    assert len(set(one.values())) == len(FIGURES)      # five different pictures, not one five times
    assert one["figure-3.png"] == figure_png(bars(3)())


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
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not _may_fork()
    finally:
        stop.set()
        thread.join()
