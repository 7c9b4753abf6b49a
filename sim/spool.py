"""Records of replications run in local worker processes come back through files, not the pipe.

A month of records is some 60 MB of NumPy columns. Sent back through `ProcessPoolExecutor`'s
pipe, 64 KB at a time, it costs the calling process about a tenth of a second of CPU per
replication, taken from the workers on a small machine. Instead the worker writes each column
to a file in a folder the caller made for the run, and the caller maps the files (copy-on-write,
so the columns behave as ordinary arrays) and removes them at once: the data crosses over
through the page cache, at the cost of one write. A simulated replication writes its records
there as they become final (`RecordFiles`), rather than holding them all and writing them at
the end: a month of records is then never held, nor sorted and copied whole.
"""
from __future__ import annotations

import math
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from .records import HeldRecords, MentionLog, Replication, empty_columns


@dataclass(frozen=True)
class SpooledLog:
    """Where a replication's record columns were written (raw bytes, `rows` values of each
    column's dtype), and what names their codes stand for."""

    paths: dict[str, str]
    dtypes: dict[str, str]
    rows: int
    channels: tuple[str, ...]
    types: tuple[str, ...]
    pools: tuple[str, ...]


class RecordFiles:
    """A `simulate` sink that appends a replication's records, as they become final (in the
    order of `mentions.csv`), to one file per column in `folder`."""

    def __init__(self, folder: str, index: int):
        self.prefix = os.path.join(folder, f"{index}-")
        self.files: dict = {}
        self.dtypes: dict[str, str] = {}
        self.rows = 0
        self.held = HeldRecords()
        self.add = self.held.add

    def release(self, before: float) -> None:
        rows = self.held.take(before)
        if rows is None:
            return
        for name, column in rows.items():
            if name not in self.files:
                self.files[name] = open(self.prefix + name, "wb")
                self.dtypes[name] = column.dtype.str
            elif column.dtype.str != self.dtypes[name]:
                raise ValueError(f"column {name} changed type: {column.dtype} after {self.dtypes[name]}")
            self.files[name].write(np.ascontiguousarray(column).data)
        self.rows += len(rows["arrival"])

    def close(self, channels, types, pools) -> SpooledLog:
        """Write the rest; where the columns are (no files if there were no records)."""
        self.release(math.inf)
        paths = {name: f.name for name, f in self.files.items()}
        for f in self.files.values():
            f.close()
        return SpooledLog(paths, dict(self.dtypes), self.rows, tuple(channels), tuple(types), tuple(pools))

    def discard(self) -> None:
        for f in self.files.values():
            f.close()
        _remove(f.name for f in self.files.values())


@dataclass(frozen=True)
class Spool:
    """`task_fn` saves its records in `folder`; `done` gets the replication with them read back."""

    task_fn: Callable
    done: Callable
    folder: str


@contextmanager
def through_files(task_fn, done):
    """A `Spool` for workers that share this machine's files, around `task_fn` and `done`; the
    folder, made for the run, goes at exit."""
    with tempfile.TemporaryDirectory(prefix="caresim-") as folder:
        yield Spool(spooling(task_fn, folder), lambda rep: done(unspooled(rep)), folder)


def spooling(task_fn, folder: str | Path):
    """`task_fn`, told it may write its records to `folder` (picklable, for a process pool).

    A task function takes the task and, where workers share this machine's files, the folder
    its records may be written to (`records_to`); it returns a replication whose records are
    there (a `SpooledLog`, written as they became final by `RecordFiles`), or in memory where
    the folder would not take them (they then take the pipe)."""
    return partial(task_fn, records_to=str(folder))


def _remove(paths) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)


def unspooled(rep: Replication) -> Replication:
    """The replication with its records read back; their files are gone afterwards."""
    log = rep.mentions
    if not isinstance(log, SpooledLog):
        return rep
    if not log.rows:                  # nobody arrived: no file, an empty log as records kept give
        columns = empty_columns()
    else:
        columns = {name: _take(path, np.dtype(log.dtypes[name]), log.rows) for name, path in log.paths.items()}
    return replace(rep, mentions=MentionLog(columns, log.channels, log.types, log.pools))


def _take(path: str, dtype: np.dtype, rows: int) -> np.ndarray:
    try:
        # mapped: no copy until written to
        column = np.asarray(np.memmap(path, dtype=dtype, mode="c", shape=(rows,)))
        os.remove(path)                         # the mapping outlives the name (POSIX)
    except OSError:                             # a system that will not remove a mapped file
        column = np.fromfile(path, dtype=dtype, count=rows)
        os.remove(path)
    return column
