"""The mentions the engine holds, as columns.

A mention is known to the engine by its *ref*: its position in registration order (ids are not
in that order: cascade follow-ons due after their window are registered when their window
comes). Columns the engine reads or writes on every event are Python lists, indexed by
`ref - lo` (scalar access to NumPy arrays is slow on the hot path; list columns are filled and
read back in one C-level call each, far cheaper than a small object per mention). Columns only
the settlement needs stay NumPy arrays. When the collector has settled every mention up to some
ref, that prefix is dropped from every column and `lo` moves on; when many settled mentions sit
behind one still in play (a resolution starved for days), the table is compacted instead and
the mentions left are renumbered (`compact`). So memory follows the mentions in play, not the
horizon.
"""
from __future__ import annotations

import heapq
import math
from operator import itemgetter
from typing import Callable, Iterable

import numpy as np

# Stages of a piece of work: acknowledgement, resolution, or both at once (with_resolution).
ACK, RESOLVE, BOTH = 0, 1, 2
# What happens after the first reply (drawn at arrival): resolve here, move to another channel
# first (and follow through), or move and never follow through (dropped).
STAY, MOVE, DROP = 0, 1, 2
# The list columns, by who reads them. Hot: the engine on every event (work1 is the first
# reply's work, the resolution's under with_resolution; first is the first-reply pool, -1 when
# ignored by triage). Keys: the priority queues (only for a keyed priority). Recorded: times the
# engine records, NaN until they happen. Loop: the closed loop's own.
HOT = ("gives_up", "work1", "res_work", "first", "res_pool", "move")
KEYS = ("key_ack", "key_res")
RECORDED = ("ack_start", "ack_done", "res_ready", "res_start", "res_done")
LOOP = ("type", "branching", "arrival", "ack_due", "boosted", "ids")
NAN = math.nan


class MentionTable:
    """Columns of the registered mentions, refs `lo .. lo + len - 1`."""

    def __init__(self, first_pool: np.ndarray, res_pool: np.ndarray, both: bool, move_share: float,
                 follow_through: float, keys, branching_of: Callable[[np.ndarray], np.ndarray] | None):
        self.first_pool_of, self.res_pool_of = first_pool, res_pool   # [channel, triaged_as]
        self.both, self.move_share, self.follow_through = both, move_share, follow_through
        # the closed loop reads a few columns of its own, one of them each mention's branching
        # ratio (`branching_of`: followers -> ratios), worked out for the whole batch at registration
        self.branching_of = branching_of
        self.loop = branching_of is not None
        self.lo = 0
        # `keys`: the stage key functions (or None), for acknowledge and resolve. One key for both
        # stages (reach, type order): one column, read under both names
        self.shared_key = keys[0] is not None and keys[0] is keys[1]
        # (column, key function) of each key column filled at registration
        self.key_columns = [(name, f) for name, f in zip(KEYS, keys) if f is not None][:1 if self.shared_key else 2]
        # One piece of work for both stages: its resolution starts and ends with its first reply,
        # and it never waits to be resolved. The engine records the first reply only.
        self.recorded_columns = RECORDED[:2] if both else RECORDED
        # the list columns in use, all filled by `add` and cut together by `drop`
        keyed = tuple(name for name, _ in self.key_columns)
        self.columns = HOT + keyed + self.recorded_columns + (LOOP if self.loop else ())
        for name in HOT + KEYS + RECORDED + LOOP:
            setattr(self, name, [])
        if self.shared_key:
            self.key_res = self.key_ack
        if both:
            self.res_start, self.res_done, self.res_ready = self.ack_start, self.ack_done, None
        # settlement columns, NumPy: one array per registered batch until `static` joins them
        self._static: dict[str, np.ndarray] | None = None
        self._batches: list[dict[str, np.ndarray]] = []

    def __len__(self) -> int:
        return len(self.gives_up)

    @property
    def end(self) -> int:
        """The ref the next registered mention gets."""
        return self.lo + len(self.gives_up)

    def add(self, m: dict[str, np.ndarray]) -> tuple[int, dict[str, np.ndarray]]:
        """Register a batch of mentions (columns as drawn, plus `id`, `parent_id`, `origin`);
        returns the ref of its first mention (the others follow in order) and the batch's
        settlement columns (deadlines, first-reply pool with -1 for ignored by triage, ...)."""
        first_ref = self.end
        arrival = m["arrival"]
        n = len(arrival)
        ch, tri = m["channel"], m["triaged_as"]
        first, res_pool = self.first_pool_of[ch, tri], self.res_pool_of[ch, tri]
        move = np.where(m["u_move"] < self.move_share,
                        np.where(m["u_follow"] < self.follow_through, MOVE, DROP), STAY)
        ack_due, res_due = arrival + m["ack_expect"], arrival + m["resolve_expect"]
        gives_up = arrival + m["patience"]
        self.gives_up += gives_up.tolist()
        self.work1 += (m["resolve_work"] if self.both else m["ack_work"]).tolist()
        self.res_work += m["resolve_work"].tolist()
        self.first += first.tolist()
        self.res_pool += res_pool.tolist()
        self.move += move.tolist()
        for name, key in self.key_columns:
            getattr(self, name).extend(key(m["followers"], tri, ack_due, res_due).tolist())
        nans = [NAN] * n
        for name in self.recorded_columns:
            getattr(self, name).extend(nans)
        if self.loop:
            self.type += m["type"].tolist()
            self.branching += self.branching_of(m["followers"]).tolist()
            self.arrival += arrival.tolist()
            self.ack_due += ack_due.tolist()
            self.boosted += [False] * n
            self.ids += m["id"].tolist()
        static = {
            "id": m["id"], "parent_id": m["parent_id"], "origin": m["origin"], "arrival": arrival,
            "channel": ch, "type": m["type"], "triaged_as": tri, "followers": m["followers"],
            "ack_expected_by": ack_due, "resolve_expected_by": res_due, "gives_up": gives_up,
            "first_pool": first, "res_pool": res_pool, "move": move,
        }
        self._batches.append(static)
        return first_ref, static

    def static(self) -> dict[str, np.ndarray]:
        """Settlement columns of every registered mention, in ref order."""
        if self._batches:
            parts = ([self._static] if self._static is not None else []) + self._batches
            self._static = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            self._batches = []
        return self._static or {}

    def recorded(self) -> dict[str, np.ndarray]:
        """The times the engine recorded, in ref order (NaN where not yet)."""
        times = {name: np.array(getattr(self, name), dtype=float) for name in self.recorded_columns}
        if self.both:
            times["res_ready"] = np.full(len(times["ack_start"]), NAN)
            times["res_start"], times["res_done"] = times["ack_start"].copy(), times["ack_done"].copy()
        return times

    def compact(self, keep: np.ndarray) -> "Renumbering":
        """Forget every mention where `keep` is False (all settled), wherever it stands, and
        number the others afresh from `end` on, in the same order (so that no ref still held
        anywhere can name another mention). Returns the renumbering, which whoever holds refs
        applies (`CareModel.compact`)."""
        rows = np.flatnonzero(keep)
        end = self.end                       # read before the columns are cut
        static = self.static()
        self._static = {name: v[rows] for name, v in static.items()}
        # one C-level gather a column (`itemgetter` of one index gives the item, not a tuple)
        pick = rows.tolist()
        take = itemgetter(*pick) if len(pick) > 1 else lambda column: [column[i] for i in pick]
        for name in self.columns:            # in place: under `both` two names share a column
            column = getattr(self, name)
            column[:] = take(column)
        new = np.full(len(keep), -1, dtype=np.int64)
        new[rows] = end + np.arange(len(rows))
        renumbering = Renumbering(self.lo, new)
        self.lo = end
        return renumbering

    def drop(self, k: int) -> None:
        """Forget the first `k` mentions (all settled)."""
        if k <= 0:
            return
        self.static()
        self._static = {name: v[k:] for name, v in self._static.items()}
        for name in self.columns:
            del getattr(self, name)[:k]
        self.lo += k


class Renumbering:
    """Old ref -> new ref after `MentionTable.compact`; -1 for a mention forgotten (settled).

    `new[j]` is the new ref of old ref `lo + j`, as an array (for lines of refs renumbered in
    NumPy) and as a list (for one ref at a time)."""

    def __init__(self, lo: int, new: np.ndarray):
        self.lo, self.new_array, self.new_list = lo, new, new.tolist()

    def __call__(self, ref: int) -> int:
        j = ref - self.lo
        return self.new_list[j] if 0 <= j < len(self.new_list) else -1

    def kept(self, refs: Iterable[int]) -> list[int]:
        """The new refs of those of `refs` still in the table, in order."""
        j = np.fromiter(refs, dtype=np.int64) - self.lo
        inside = (j >= 0) & (j < len(self.new_array))
        new = self.new_array[j[inside]]
        return new[new >= 0].tolist()

    def heap(self, entries: list[tuple]) -> list[tuple]:
        """A heap of (time or key, sequence, ref, ...) entries, renumbered: those of forgotten
        mentions left out, the rest in the same order (time or key and sequence decide it)."""
        kept = [(e[0], e[1], new, *e[3:]) for e in entries if (new := self(e[2])) >= 0]
        heapq.heapify(kept)
        return kept
