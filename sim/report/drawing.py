"""The report's figures drawn on two cores where a core is spare.

Drawing the report takes about as long as simulating a short scenario (1.2 s of the 2.3 s of
`make run`), one figure after another in one process. Where this process may fork safely
(Linux, a single thread, Python's or a library's) and has a second core, a forked child draws
some of the figures while this process draws the others, and hands its PNG bytes back through
a pipe. The bytes are those one process would draw. Whatever goes wrong with the child (no fork
to be had, a child that fails or is killed) only costs time: its figures are drawn here.
"""
from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from typing import Callable

from matplotlib.figure import Figure

from .plots import figure_png

# Relative drawing time of the figures (measured on the baseline report), to split them evenly;
# a figure not named counts as 1.
COST = {"expectation_gap.png": 4.0, "ack_vs_resolution.png": 2.3, "ack_vs_expectation.png": 1.8,
        "breach_by_hour.png": 1.4, "queues.png": 1.2, "arrivals.png": 1.0, "breach_by_tier.png": 1.0}
HEADER = 8   # bytes of the length the child writes before its pickle


def draw(figures: dict[str, Callable[[], Figure]], parallel: bool | None = None) -> dict[str, bytes]:
    """PNG bytes of each figure (`name -> function drawing it`), in the order given. `parallel`:
    None decides by the machine (see the module), False draws them all here."""
    if parallel is None:
        parallel = _may_fork()
    theirs = _half(list(figures)) if parallel and len(figures) > 1 else set()
    child, mask = _Child.start(figures, theirs) if theirs else (None, None)
    if child is None:
        return _drawn(figures, set(figures))
    try:
        # Ctrl-C was held back over the fork, so that it could not land before `child` was known
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        images = _drawn(figures, set(figures) - theirs)
        drawn = child.images()
    except BaseException:
        child.stop()
        raise
    images.update(drawn if drawn is not None and set(drawn) == theirs else _drawn(figures, theirs))
    return {name: images[name] for name in figures}


def _drawn(figures: dict[str, Callable[[], Figure]], names: set[str]) -> dict[str, bytes]:
    """PNG bytes of the figures named, drawn in this process, in `figures`' order."""
    return {name: figure_png(make()) for name, make in figures.items() if name in names}


def _may_fork() -> bool:
    """Forking is safe (Linux, one thread in this process: a thread of a library's, a BLAS pool,
    counts too) and a core is spare."""
    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return False
    try:
        if len(os.listdir("/proc/self/task")) != 1:
            return False
        return len(os.sched_getaffinity(0)) >= 2
    except (AttributeError, OSError):
        return False


def _half(names: list[str]) -> set[str]:
    """The names a child draws: taken costliest first, each to the side with less to draw."""
    mine, theirs, loads = [], [], [0.0, 0.0]
    for name in sorted(names, key=lambda n: -COST.get(n, 1.0)):
        side = 0 if loads[0] <= loads[1] else 1
        (mine, theirs)[side].append(name)
        loads[side] += COST.get(name, 1.0)
    return set(theirs)


class _Child:
    """A forked child drawing some figures, and the read end of the pipe it answers on."""

    def __init__(self, pid: int, read: int):
        self.pid, self.read = pid, read
        self.waited = False

    @classmethod
    def start(cls, figures: dict[str, Callable[[], Figure]], theirs: set[str]):
        """(the child drawing `theirs`, the signal mask to restore), or (None, None) where no
        pipe or fork could be had. Ctrl-C stays blocked in this process until the caller
        restores the mask."""
        try:
            read, write = os.pipe()
        except OSError:
            return None, None
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pid = os.fork()
        except OSError:                       # no process to be had (limits, memory)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.close(read)
            os.close(write)
            return None, None
        if pid == 0:
            _draw_and_leave(figures, theirs, read, write, mask)
        os.close(write)
        return cls(pid, read), mask

    def images(self) -> dict[str, bytes] | None:
        """The child's images, once it has drawn them (None if it failed)."""
        with os.fdopen(self.read, "rb") as source:
            self.read = -1
            data = source.read()
        self._wait()
        if len(data) < HEADER or int.from_bytes(data[:HEADER], "little") != len(data) - HEADER:
            return None                      # the child died before it had said everything
        try:
            return pickle.loads(data[HEADER:])
        except Exception:   # noqa: BLE001 - whatever the bytes are, the figures are drawn here
            return None

    def stop(self) -> None:
        """This process gave up (an error, Ctrl-C): end the child now."""
        if not self.waited:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.read >= 0:
            os.close(self.read)
            self.read = -1
        self._wait()

    def _wait(self) -> None:
        if self.waited:
            return
        self.waited = True
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:            # reaped already (SIGCHLD ignored): nothing to wait for
            pass


def _draw_and_leave(figures, theirs: set[str], read: int, write: int, mask) -> None:
    """The child's life: draw `theirs`, write them to the pipe, and leave without running
    anything of the parent's (no atexit, no flushing of buffers it inherited)."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)   # Ctrl-C ends the child at once, quietly
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(read)
        data = pickle.dumps(_drawn(figures, theirs))
        with os.fdopen(write, "wb") as out:
            out.write(len(data).to_bytes(HEADER, "little") + data)
        code = 0
    finally:
        os._exit(code)
