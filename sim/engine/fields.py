"""Positions in the engine's per-mention state (one list per mention, `CareModel.m[id]`)."""
from __future__ import annotations

import math

NAN = math.nan
# Fixed at arrival:
(ARRIVAL, TYPE, CHANNEL, TRIAGED, FOLLOWERS, ACK_DUE, RES_DUE, GIVES_UP, ACK_WORK, RES_WORK,
 U_MOVE, U_FOLLOW, ORIGIN, PARENT,
 # recorded by the engine (NaN until they happen):
 ACK_START, ACK_DONE, RES_READY, RES_START, RES_DONE, DROPPED, BOOSTED) = range(21)
RECORDED = (NAN, NAN, NAN, NAN, NAN, False, False)
# Stages of a piece of work: acknowledgement, resolution, or both at once (with_resolution).
ACK, RESOLVE, BOTH = 0, 1, 2
