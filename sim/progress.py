"""A one-line progress bar on stderr with an estimate of the time left; no dependencies.

It stays silent unless the stream is a terminal, and appears only once the work has taken
longer than `delay` seconds, so quick runs, pipes, logs and tests never see it. A background
thread redraws it twice a second so the elapsed time moves even while one long replication runs.
"""
from __future__ import annotations

import shutil
import sys
import threading
import time
from contextlib import contextmanager
from typing import TextIO

BAR_WIDTH = 24


def format_seconds(seconds: float) -> str:
    """A duration in seconds as `42 s`, `3 min 05 s` or `1 h 12 min`."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def render(done: int, total: int, elapsed: float, label: str = "", unit: str = "replications",
           width: int = 80) -> str:
    """The bar's text: label, bar, count, elapsed time and (once something is done) time left."""
    share = done / total if total else 1.0
    filled = int(round(share * BAR_WIDTH))
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    left = ""
    if 0 < done < total:
        left = f", about {format_seconds(elapsed / done * (total - done))} left"
    counts = f"{done}/{total} {unit}, {format_seconds(elapsed)}{left}"
    room = max(width - 1, 20)
    text = f"[{bar}] {counts}"
    if len(text) + len(label) + 1 > room:  # narrow terminal: drop the bar, then shorten the label
        text = counts
    if label:
        keep = room - len(text) - 1
        if keep < len(label):
            label = label[: max(keep - 1, 0)] + "…" if keep > 1 else ""
        text = f"{label} {text}" if label else text
    return text[:room]


class Progress:
    """Counts finished units (replications) out of `total` and draws the bar on `stream`.

    `enabled=None` means: only when `stream` is a terminal. Use as a context manager, call
    `advance()` as units finish, `clear()` before printing to the same terminal.
    """

    def __init__(self, total: int, label: str = "", unit: str = "replications",
                 stream: TextIO | None = None, enabled: bool | None = None,
                 delay: float = 2.0, interval: float = 0.5):
        self.total, self.label, self.unit = total, label, unit
        self.stream = sys.stderr if stream is None else stream
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.delay, self.interval = delay, interval
        self.done = 0
        self.started = time.monotonic()
        self._shown = False
        self._width = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()   # stops the redrawing thread (closed, or paused)
        self._closed = False
        self._thread: threading.Thread | None = None
        if self.enabled:
            self._start_ticking()

    def _start_ticking(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, name="caresim-progress", daemon=True)
        self._thread.start()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def advance(self, n: int = 1, label: str | None = None) -> None:
        """Count `n` more finished units; optionally change the label (e.g. the scenario)."""
        with self._lock:
            self.done = min(self.total, self.done + n)
            if label is not None:
                self.label = label
            self._draw()

    def advancer(self, labels: list[str], per_label: int):
        """`on_done(label, rep)` for runs of `per_label` units under each label in turn: counts
        one unit and labels the bar with the run going on next."""
        def done(_label, _rep) -> None:
            self.advance(label=labels[min((self.done + 1) // per_label, len(labels) - 1)])
        return done

    def set_label(self, label: str) -> None:
        with self._lock:
            self.label = label
            self._draw()

    def clear(self) -> None:
        """Erase the bar (it comes back at the next redraw)."""
        with self._lock:
            self._erase()

    def close(self) -> None:
        """Stop redrawing and erase the bar."""
        self._closed = True
        self._stop_ticking()
        with self._lock:
            self._erase()

    @contextmanager
    def paused(self):
        """No redrawing thread inside (the bar still redraws on `advance` and `set_label`): this
        process may then fork safely, as the report's drawing does (`sim.report.drawing`)."""
        ticking = self._thread is not None
        self._stop_ticking()
        try:
            yield self
        finally:
            if ticking and not self._closed:
                self._start_ticking()

    def _stop_ticking(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                self._draw()

    def _draw(self) -> None:
        if not self.enabled or self._closed:
            return
        elapsed = time.monotonic() - self.started
        if not self._shown and elapsed < self.delay:
            return
        columns = shutil.get_terminal_size((80, 24)).columns
        text = render(self.done, self.total, elapsed, self.label, self.unit, columns)
        pad = " " * max(0, self._width - len(text))
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self._shown, self._width = True, len(text)

    def _erase(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._shown, self._width = False, 0
