"""`mentions.csv`: the records as CSV bytes, from a log in memory or streamed while a run goes on.

Streaming (`MentionsCsvStream`) writes each replication's rows as the run settles them, so the
records need not be kept (the run still holds some 45 bytes per mention, for exact quantiles
and the cascade trees, against several hundred for a record held and sorted), and on a machine
with a core to spare the rows are formatted and written by a thread of their own while the
simulation goes on (NumPy lets go of the interpreter lock inside its loops). The bytes are
those of the log in memory: rows by arrival, then id.
"""
from __future__ import annotations

import math
import queue
import threading
from typing import BinaryIO, Iterator

import numpy as np

from . import csv_bytes
from .records import CSV_COLUMNS, MentionLog, category_names, final_rows

TIME_DECIMALS = 4
# Rows formatted at a time: bounds the byte matrices (a few hundred bytes a row) in memory.
CSV_CHUNK = 50_000
HEADER = (",".join(CSV_COLUMNS) + "\n").encode("utf-8")


def _cells(log: MentionLog, lo: int, hi: int) -> list[np.ndarray]:
    cat = category_names(log.channels, log.types, log.pools)
    cols = []
    for name in CSV_COLUMNS:
        v = log[name][lo:hi]
        if name in cat:
            cols.append(csv_bytes.names(v, cat[name]))
        elif v.dtype.kind == "f":
            cols.append(csv_bytes.fixed(v, TIME_DECIMALS))
        elif v.dtype.kind == "b":
            cols.append(csv_bytes.flags(v))
        else:
            cols.append(csv_bytes.integers(v, blank_negative=name == "parent_id"))
    return cols


def row_chunks(log: MentionLog) -> Iterator[bytes]:
    """The log's rows as CSV bytes, `CSV_CHUNK` rows at a time (no header)."""
    for lo in range(0, len(log), CSV_CHUNK):
        yield csv_bytes.rows_bytes(_cells(log, lo, lo + CSV_CHUNK))


class MentionsCsvStream:
    """Rows of one replication, written to `file` in order as they become final.

    `add(record)` hands over settled records (columns as in `CSV_COLUMNS`, any order);
    `release(before)` says no record yet to come arrived before `before`, so every row held that
    arrived earlier is final: sorted, formatted and written. `close()` writes the rest. With
    `threaded`, all but the handing over happens on the writer's thread.
    """

    def __init__(self, file: BinaryIO, channels, types, pools, threaded: bool = True):
        self.file = file
        self.names = (tuple(channels), tuple(types), tuple(pools))
        self.batch: list[dict[str, np.ndarray]] = []     # handed over since the last release
        self.pending: list[dict[str, np.ndarray]] = []   # the writer's: held, not yet final
        self.error: BaseException | None = None
        self.queue: queue.Queue | None = None
        if threaded:
            self.queue = queue.Queue(maxsize=4)   # bounds the rows waiting to be written
            self.thread = threading.Thread(target=self._drain, name="mentions.csv", daemon=True)
            self.thread.start()

    def add(self, record: dict[str, np.ndarray]) -> None:
        if len(record["arrival"]):
            self.batch.append(record)

    def release(self, before: float) -> None:
        if self.error is not None:
            raise self.error
        batch, self.batch = self.batch, []
        if self.queue is None:
            self._take(batch, before)
        else:
            self.queue.put((batch, before))

    def close(self) -> None:
        """Write what is left and wait for the writer; re-raises what the writer met."""
        try:
            self.release(math.inf)
        finally:
            self._stop()
        if self.error is not None:
            raise self.error

    def close_quietly(self) -> None:
        """Stop the writer without writing the rest (the run failed)."""
        self.batch = []
        self._stop()

    def _stop(self) -> None:
        if self.queue is not None:
            self.queue.put(None)
            self.thread.join()

    def _take(self, batch: list[dict[str, np.ndarray]], before: float) -> None:
        rows, self.pending = final_rows(self.pending + batch, before)
        if rows is not None:
            for chunk in row_chunks(MentionLog({k: rows[k] for k in CSV_COLUMNS}, *self.names)):
                self.file.write(chunk)

    def _drain(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is not None:
                continue                     # keep taking what comes so `release` never blocks
            try:
                self._take(*item)
            except BaseException as exc:     # noqa: BLE001 - handed to the simulating thread
                self.error = exc
