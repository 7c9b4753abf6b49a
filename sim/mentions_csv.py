"""`mentions.csv`: the records as CSV bytes, from a log in memory or streamed while a run goes on.

Streaming (`open_stream`) writes each replication's rows as the run settles them, so the
records need not be kept (the run still holds some 45 bytes per mention, for exact quantiles
and the cascade trees, against several hundred for a record held and sorted). On a machine with
a core to spare the rows are sorted, formatted and written by a process of their own
(`CsvWriterProcess`) while the simulation goes on. The bytes are those of the log in memory:
rows by arrival, then id.
"""
from __future__ import annotations

import math
import multiprocessing
import queue
import signal
import sys
import threading
from typing import BinaryIO, Iterator

import numpy as np

from . import csv_bytes
from .records import CSV_COLUMNS, HeldRecords, MentionLog, category_names

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
    `threaded`, all but the handing over happens on the writer's thread; with `owns_file`, the
    file is closed with the stream.
    """

    def __init__(self, file: BinaryIO, channels, types, pools, threaded: bool = True, owns_file: bool = False):
        self.file = file
        self.owns_file = owns_file
        self.names = (tuple(channels), tuple(types), tuple(pools))
        self.batch: list[dict[str, np.ndarray]] = []     # handed over since the last release
        self.held = HeldRecords()                        # the writer's: not yet final
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
        if self.owns_file:
            self.file.close()

    def _take(self, batch: list[dict[str, np.ndarray]], before: float) -> None:
        for record in batch:
            self.held.add(record)
        rows = self.held.take(before)
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


def open_stream(path: str, channels, types, pools, spare_core: bool):
    """A stream of rows appended to the file at `path` (its header already written).

    With a core to spare, a writer process: forked where that is safe (Linux, this process
    running no other thread), else started from multiprocessing's fork server; a writer thread
    where neither can be had. With no core to spare, the simulating thread writes the rows."""
    if spare_core and not multiprocessing.current_process().daemon:   # a daemon may not have children
        if sys.platform.startswith("linux") and threading.active_count() == 1:
            return CsvWriterProcess(path, channels, types, pools, "fork")
        if "forkserver" in multiprocessing.get_all_start_methods():
            return CsvWriterProcess(path, channels, types, pools, "forkserver")
    return MentionsCsvStream(open(path, "ab"), channels, types, pools, threaded=spare_core, owns_file=True)


class CsvWriterProcess:
    """`MentionsCsvStream`'s interface, with the sorting, formatting and writing done by a child
    process that appends to the file at `path`, the records reaching it through a pipe (some
    150 bytes a row).

    Not a thread: the simulation never lets go of the interpreter lock of its own accord, so a
    writer thread waits a switch interval (5 ms) to take it back after each of its NumPy calls,
    falls behind and ends up writing while the simulation waits for room in its queue. The
    child has a core and an interpreter of its own. A forked child is ready at once; one from
    the fork server first loads NumPy (about 0.1 s, while the simulation starts).
    """

    def __init__(self, path: str, channels, types, pools, method: str = "fork"):
        self.method = method     # how the child is started: "fork" or "forkserver"
        ctx = multiprocessing.get_context(method)
        rows_in, self.rows = ctx.Pipe(duplex=False)
        self.answer, answer_out = ctx.Pipe(duplex=False)
        _widen(self.rows)
        names = (tuple(channels), tuple(types), tuple(pools))
        self.child = ctx.Process(target=_child, args=(rows_in, self.rows, answer_out, str(path), names),
                                 name="mentions.csv writer", daemon=True)
        self.child.start()
        rows_in.close()       # the child's ends: its exit then reads as a broken pipe here
        answer_out.close()
        self.columns: list[tuple[str, str]] | None = None

    def add(self, record: dict[str, np.ndarray]) -> None:
        if not len(record["arrival"]):
            return
        columns = [(k, v.dtype.str) for k, v in record.items()]
        if self.columns is None:
            self.columns = columns
            self._send(columns)
        elif columns != self.columns:   # the child reads raw bytes by the first record's types
            raise ValueError(f"record columns {columns} differ from the first record's {self.columns}")
        self._send("rows")
        for name, _ in self.columns:
            self._send(np.ascontiguousarray(record[name]), raw=True)

    def release(self, before: float) -> None:
        self._send(float(before))

    def close(self) -> None:
        """Write what is left and wait for the child; raises what it met."""
        self._send(None)
        error = self._answer()
        self.child.join()
        self.rows.close()
        self.answer.close()
        if error is not None:
            raise error

    def close_quietly(self) -> None:
        """Stop the child without writing the rest (the run failed)."""
        self.rows.close()    # the child reads the end of the pipe and leaves
        self.child.join(timeout=10)
        if self.child.is_alive():
            self.child.kill()
            self.child.join()
        self.answer.close()

    def _send(self, message, raw: bool = False) -> None:
        try:
            if raw:
                self.rows.send_bytes(message)
            else:
                self.rows.send(message)
        except OSError:              # the child has gone: say why
            error = self._answer()
            self.close_quietly()
            raise (error or self._died()) from None

    def _answer(self) -> BaseException | None:
        """What the child said it met (None: nothing), once it has finished or died."""
        try:
            return self.answer.recv()
        except (EOFError, OSError):
            return self._died()
        except Exception as exc:   # noqa: BLE001 - an answer that does not unpickle here
            return RuntimeError(f"the process writing mentions.csv failed: {exc!r}")

    def _died(self) -> RuntimeError:
        self.child.join(timeout=10)
        return RuntimeError(f"the process writing mentions.csv ended unexpectedly (exit code {self.child.exitcode})")


def _widen(conn) -> None:
    """A 1 MB pipe (Linux's default ceiling for users) instead of 64 kB: a day of rows passes in
    a few writes rather than hundreds of turns between the two processes."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass


def _child(rows, parent_end, answer, path: str, names) -> None:
    parent_end.close()        # else a parent that died would never read as the end of the pipe
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is the parent's to handle
    try:
        stream = MentionsCsvStream(open(path, "ab"), *names, threaded=False, owns_file=True)
        columns = []
        while True:
            message = rows.recv()
            if isinstance(message, list):
                columns = message
            elif message == "rows":
                stream.add({name: np.frombuffer(rows.recv_bytes(), dtype) for name, dtype in columns})
            elif message is None:
                stream.close()
                try:
                    answer.send(None)
                except OSError:   # the parent has gone
                    pass
                return
            else:
                stream.release(message)
    except EOFError:          # the parent stopped the run
        return
    except BaseException as exc:  # noqa: BLE001 - handed to the parent
        try:
            answer.send(exc)
        except OSError:       # the parent has gone
            pass
        except Exception:     # noqa: BLE001 - an exception that does not pickle
            try:
                answer.send(RuntimeError(f"writing mentions.csv: {exc!r}"))
            except OSError:
                pass
