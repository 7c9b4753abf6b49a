"""Cascade trees in the records: which mention started each cascade, and how large it grew.

Pure functions of a `MentionLog`, shared by the summary metrics (`largest_cascade`) and the
report's "largest cascades" table; and `CascadeTally`, which counts cascade sizes from records
handed over a batch at a time, for runs that do not keep them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .records import ORIGINS, OUTCOMES, MentionLog


@dataclass(frozen=True)
class Cascades:
    """One entry per cascade (a root mention and all its descendants present in the log).

    A root is a mention without a parent in the log: a base or incident mention, or a follow-on
    whose ancestors arrived during the warm-up (then its earliest ancestor in the log).
    """

    replication: np.ndarray
    root_id: np.ndarray
    root_arrival: np.ndarray
    root_followers: np.ndarray
    root_type: tuple[str, ...]
    root_channel: tuple[str, ...]
    root_origin: tuple[str, ...]
    root_outcome: tuple[str, ...]
    root_ack_breached: np.ndarray   # the root's author expected an acknowledgement sooner
    root_neglected: np.ndarray      # the root was ignored by triage or abandoned
    size: np.ndarray                # root + descendants in the log

    def __len__(self) -> int:
        return len(self.size)

    def take(self, index: np.ndarray) -> "Cascades":
        """The cascades at positions `index`, in that order."""
        index = np.asarray(index, dtype=np.int64)
        picked = {}
        for name, value in vars(self).items():
            picked[name] = tuple(value[i] for i in index) if isinstance(value, tuple) else value[index]
        return Cascades(**picked)


def cascade_roots(mentions: MentionLog) -> np.ndarray:
    """Position (in the log) of each mention's cascade root, following `parent_id` within its
    replication; a parent missing from the log ends the chain."""
    n = len(mentions)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rep = np.asarray(mentions["replication"], dtype=np.int64)
    ids = np.asarray(mentions["id"], dtype=np.int64)
    parent = np.asarray(mentions["parent_id"], dtype=np.int64)
    # one integer key per (replication, id); a parent is found by its key among the sorted keys
    width = int(max(ids.max(), parent.max(), 0)) + 1
    key = rep * width + ids
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]
    parent_key = rep * width + parent
    pos = np.minimum(np.searchsorted(sorted_keys, parent_key), n - 1)
    found = (parent >= 0) & (sorted_keys[pos] == parent_key)
    up = np.where(found, order[pos], np.arange(n, dtype=np.int64))
    # pointer jumping: each pass doubles the distance climbed, so log2(depth) passes suffice
    for _ in range(64):
        nxt = up[up]
        if np.array_equal(nxt, up):
            return up
        up = nxt
    raise ValueError("parent_id chains form a cycle")


class CascadeTally:
    """Cascade sizes counted as mentions come in arrival order (a parent always before its
    follow-ons), for runs that keep no records: the same roots as `cascade_roots`, holding a
    root and a count per mention id rather than every record, and no sort at the end."""

    IN_BATCH = -2          # `root_of` while a batch is worked out: in it, root not yet known

    def __init__(self):
        self.root_of = np.full(1024, -1, dtype=np.int64)   # by id: its root's id; -1: not in the log
        self.size = np.zeros(1024, dtype=np.int64)         # by root id

    def add(self, ids: np.ndarray, parents: np.ndarray) -> None:
        """Mentions that arrived after every mention added before, in arrival order."""
        if not len(ids):
            return
        top = int(max(ids.max(), parents.max())) + 1
        if top > len(self.root_of):
            grow = max(top, 2 * len(self.root_of)) - len(self.root_of)
            self.root_of = np.concatenate([self.root_of, np.full(grow, -1, dtype=np.int64)])
            self.size = np.concatenate([self.size, np.zeros(grow, dtype=np.int64)])
        root_of = self.root_of
        root_of[ids] = self.IN_BATCH
        # the parent's root where it came earlier; its own id where it has no parent in the log
        up = np.where(parents >= 0, root_of[np.maximum(parents, 0)], -1)
        later = up == self.IN_BATCH
        root_of[ids[~later]] = np.where(up[~later] >= 0, up[~later], ids[~later])
        rows = np.flatnonzero(later)   # parents in this batch: resolved generation by generation
        while len(rows):
            up = root_of[parents[rows]]
            known = up >= 0
            if not known.any():
                raise ValueError("parent_id chains form a cycle")
            root_of[ids[rows[known]]] = up[known]
            rows = rows[~known]
        roots = root_of[ids]
        self.size[:roots.max() + 1] += np.bincount(roots)

    def largest(self) -> int:
        return int(self.size.max())


def cascade_sizes(mentions: MentionLog) -> Cascades:
    """Every cascade of the log (single mentions included, size 1), by replication and root id."""
    roots = cascade_roots(mentions)
    unique, size = np.unique(roots, return_counts=True)
    rep = np.asarray(mentions["replication"], dtype=np.int64)[unique]
    ids = np.asarray(mentions["id"], dtype=np.int64)[unique]
    order = np.lexsort((ids, rep))
    r = unique[order]
    outcome = np.asarray(mentions["outcome"], dtype=np.int64)[r]
    neglected = np.isin(outcome, [OUTCOMES.index("ignored"), OUTCOMES.index("abandoned")])
    return Cascades(
        replication=rep[order],
        root_id=ids[order],
        root_arrival=np.asarray(mentions["arrival"], dtype=float)[r],
        root_followers=np.asarray(mentions["followers"], dtype=np.int64)[r],
        root_type=tuple(mentions.types[k] for k in np.asarray(mentions["type"])[r]),
        root_channel=tuple(mentions.channels[k] for k in np.asarray(mentions["channel"])[r]),
        root_origin=tuple(ORIGINS[k] for k in np.asarray(mentions["origin"])[r]),
        root_outcome=tuple(OUTCOMES[k] for k in outcome),
        root_ack_breached=np.asarray(mentions["ack_breached"], dtype=bool)[r],
        root_neglected=neglected,
        size=size[order].astype(np.int64),
    )


def largest_cascades(mentions: MentionLog, k: int = 10, min_size: int = 2) -> Cascades:
    """The `k` largest cascades of at least `min_size` mentions, largest first (ties: earlier
    replication, then smaller root id first)."""
    every = cascade_sizes(mentions)
    order = np.lexsort((every.root_id, every.replication, -every.size))
    order = order[every.size[order] >= min_size]
    return every.take(order[:k])


def largest_cascade_size(mentions: MentionLog) -> dict[int, int]:
    """Size of the largest cascade (root included) in each replication present in the log."""
    roots, size = np.unique(cascade_roots(mentions), return_counts=True)
    rep = np.asarray(mentions["replication"], dtype=np.int64)[roots]
    return {int(r): int(size[rep == r].max()) for r in np.unique(rep)}
