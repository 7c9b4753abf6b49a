"""The report's figures drawn on two cores where a core is spare.

Drawing the report takes about as long as simulating a short scenario (1.2 s of the 2 s of
`make run`), one figure after another in one process. Where this process may fork safely
(Linux, no other thread running) and has a second core, a forked child draws some of the
figures while this process draws the others, and hands its PNG bytes back through a pipe. The
bytes are those one process would draw; if the child fails, its figures are drawn here.
"""
from __future__ import annotations

import os
import pickle
import sys
import threading
from typing import Callable

from matplotlib.figure import Figure

from .plots import figure_png

# Relative drawing time of the figures (measured on the baseline report), to split them evenly;
# a figure not named counts as 1.
COST = {"expectation_gap.png": 4.0, "ack_vs_resolution.png": 2.3, "ack_vs_expectation.png": 1.8,
        "breach_by_hour.png": 1.4, "queues.png": 1.2, "arrivals.png": 1.0, "breach_by_tier.png": 1.0}


def draw(figures: dict[str, Callable[[], Figure]], parallel: bool | None = None) -> dict[str, bytes]:
    """PNG bytes of each figure (`name -> function drawing it`), in the order given. `parallel`:
    None decides by the machine (see the module), False draws them all here."""
    if parallel is None:
        parallel = _may_fork()
    if not parallel or len(figures) < 2:
        return {name: figure_png(make()) for name, make in figures.items()}
    theirs = _half(list(figures))
    child = _fork_drawing(figures, theirs)
    try:
        images = {name: figure_png(make()) for name, make in figures.items() if name not in theirs}
    except BaseException:
        _reap(child)
        raise
    images.update(_collect(child, figures, theirs))
    return {name: images[name] for name in figures}


def _may_fork() -> bool:
    """Forking is safe (Linux, this process running no other thread) and a core is spare."""
    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return False
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except (AttributeError, OSError):
        return (os.cpu_count() or 1) >= 2


def _half(names: list[str]) -> set[str]:
    """The names a child draws: the costliest first, each to the lighter side."""
    mine, theirs, loads = [], [], [0.0, 0.0]
    for name in sorted(names, key=lambda n: -COST.get(n, 1.0)):
        side = 0 if loads[0] <= loads[1] else 1
        (mine, theirs)[side].append(name)
        loads[side] += COST.get(name, 1.0)
    return set(theirs)


def _fork_drawing(figures: dict[str, Callable[[], Figure]], theirs: set[str]) -> tuple[int, int]:
    """Fork a child drawing `theirs`: its pid and the read end of the pipe it answers on."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                                  # the child: draw, hand the bytes over, leave
        code = 1
        try:
            os.close(read)
            data = pickle.dumps({name: figure_png(figures[name]()) for name in figures if name in theirs})
            with os.fdopen(write, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)                        # no atexit handlers, no flushing of the parent's buffers
    os.close(write)
    return pid, read


def _reap(child: tuple[int, int]) -> None:
    """Stop waiting for the child (this process failed): it meets a closed pipe and leaves."""
    pid, read = child
    os.close(read)
    os.waitpid(pid, 0)


def _collect(child: tuple[int, int], figures: dict[str, Callable[[], Figure]], theirs: set[str]) -> dict[str, bytes]:
    """The child's images; drawn here instead if it failed."""
    pid, read = child
    with os.fdopen(read, "rb") as source:
        data = source.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        try:
            return pickle.loads(data)
        except Exception:   # noqa: BLE001 - a child that died mid-write: draw its figures here
            pass
    return {name: figure_png(figures[name]()) for name in figures if name in theirs}
