"""Records of replications run in local worker processes come back through files, not the pipe.

A month of records is some 60 MB of NumPy columns. Sent back through `ProcessPoolExecutor`'s
pipe, 64 KB at a time, it costs the calling process about a tenth of a second of CPU per
replication, taken from the workers on a small machine. Instead the worker saves each column
as a `.npy` file in a folder the caller made for the run, and the caller maps the files
(copy-on-write, so the columns behave as ordinary arrays) and removes them at once: the data
crosses over through the page cache, at the cost of one write.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from .records import MentionLog, Replication


@dataclass(frozen=True)
class SpooledLog:
    """Where a replication's record columns were saved, and what names their codes stand for."""

    paths: dict[str, str]
    channels: tuple[str, ...]
    types: tuple[str, ...]
    pools: tuple[str, ...]


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
    """`task_fn`, whose result's records are saved in `folder` (picklable, for a process pool)."""
    return partial(_run_spooled, task_fn, str(folder))


def _run_spooled(task_fn, folder: str, task) -> Replication:
    rep = task_fn(task)
    log = rep.mentions
    if log is None:
        return rep
    paths = {}
    try:
        for name, column in log.columns.items():
            paths[name] = os.path.join(folder, f"{rep.index}-{name}.npy")
            np.save(paths[name], column)
    except OSError:                 # no room for the files: the records take the pipe after all
        for path in paths.values():
            if os.path.exists(path):
                os.remove(path)
        return rep
    return replace(rep, mentions=SpooledLog(paths, log.channels, log.types, log.pools))


def unspooled(rep: Replication) -> Replication:
    """The replication with its records read back; their files are gone afterwards."""
    log = rep.mentions
    if not isinstance(log, SpooledLog):
        return rep
    columns = {name: _take(path) for name, path in log.paths.items()}
    return replace(rep, mentions=MentionLog(columns, log.channels, log.types, log.pools))


def _take(path: str) -> np.ndarray:
    try:
        column = np.asarray(np.load(path, mmap_mode="c"))   # mapped: no copy until written to
        os.remove(path)                         # the mapping outlives the name (POSIX)
    except OSError:                             # a system that will not remove a mapped file
        column = np.load(path)
        os.remove(path)
    return column
