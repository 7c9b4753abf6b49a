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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forking to draw is for Linux")
def test_forks_only_with_one_thread_of_any_kind_and_a_spare_core(monkeypatch):
    """Python's threads, a library's threads (a BLAS pool: /proc/self/task) and the cores each
    decide: the pytest process's own threads would otherwise decide for it."""
    def machine(python_threads: int, os_threads: int, cores: int) -> bool:
        monkeypatch.setattr(threading, "active_count", lambda: python_threads)
        monkeypatch.setattr(os, "listdir", lambda path: [str(k) for k in range(os_threads)])
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
        return _may_fork()

    assert machine(1, 1, 2)
    assert not machine(2, 1, 2)          # a thread of ours (the progress bar's)
    assert not machine(1, 3, 2)          # a library's threads
    assert not machine(1, 1, 1)          # no core to spare


def test_a_thread_running_here_forbids_the_fork():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not _may_fork()
    finally:
        stop.set()
        thread.join()


@pytest.fixture(scope="module")
def baseline_short():
    import sim

    return sim.load("scenarios/baseline.yaml").model_copy(update={"horizon": 2 * 1440.0, "warmup": 0.0})


@fork_only
@pytest.mark.parametrize("keep", [True, False], ids=["records", "tally"])
def test_a_real_report_drawn_on_two_cores_is_the_one_drawn_on_one(baseline_short, monkeypatch, keep):
    import sim.report.drawing as drawing
    from sim.report import render_plots
    from sim.runner import run

    result = run(baseline_short, replications=2, keep_mentions=keep)
    images = {}
    for parallel in (False, True):
        monkeypatch.setattr(drawing, "_may_fork", lambda parallel=parallel: parallel)
        images[parallel] = render_plots(result)
    assert list(images[True]) == list(images[False]) and len(images[True]) >= 6
    assert images[True] == images[False]


def test_the_tally_is_the_same_whatever_the_executor(baseline_short):
    """Issue 5: identical results whatever the executor, the report of a --no-mentions run too."""
    from sim.report import render_plots
    from sim.runner import run

    one, two = (render_plots(run(baseline_short, replications=3, keep_mentions=False, workers=w)) for w in (1, 2))
    assert set(one) == {"queues.png", "arrivals.png", "ack_vs_expectation.png", "ack_vs_resolution.png",
                        "breach_by_hour.png", "breach_by_tier.png"}
    assert one == two
