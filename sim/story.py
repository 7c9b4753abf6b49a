"""One customer's experience told in words, from a run's records (`caresim story`).

`tell(log, i, info)` turns row `i` of a `MentionLog` into a few sentences: when and where the
customer wrote, when they were acknowledged and resolved (or gave up, were ignored, or were
still waiting at the end), each against the deadline they themselves expected. `pick` chooses
the row: a given mention, the one let down the most, or a seeded random one. Clock times are
the scenario calendar's, cut to the minute.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from .expectation_gap import WEEKDAY_NAMES, worst_mention
from .records import ORIGINS, OUTCOMES, MentionLog
from .rundir import RunInfo, answered

CHANNEL_VERBS = {"twitter": "Tweeted", "x": "Posted on X", "facebook": "Posted on Facebook",
                 "instagram": "Commented on Instagram"}
MASS_NOUNS = ("praise", "noise", "feedback", "spam", "information", "advice")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


class StoryError(Exception):
    """The mention asked for is not in the records."""


def channel_verb(channel: str) -> str:
    """`Tweeted`, `Posted on Facebook`, `Commented on Instagram`, else `Wrote on <channel>`."""
    return CHANNEL_VERBS.get(channel.lower(), f"Wrote on {channel}")


def moment(start: datetime, minutes: float) -> datetime:
    """The calendar time `minutes` after `start`, cut to the whole minute."""
    return start + timedelta(minutes=math.floor(minutes))


def clock(start: datetime, minutes: float, day: bool = True) -> str:
    """`20:07 on Tuesday 6 January` (or just `20:07`)."""
    t = moment(start, minutes)
    text = f"{t:%H:%M}"
    return f"{text} on {WEEKDAY_NAMES[t.weekday()]} {t.day} {MONTHS[t.month - 1]}" if day else text


def span(minutes: float) -> str:
    """A duration in words: `45 seconds`, `7 minutes`, `2 hours 15 minutes`, `3 days 4 hours`."""
    def unit(n: int, word: str) -> str:
        return f"{n} {word}" if n == 1 else f"{n} {word}s"

    if minutes < 59.5 / 60:   # under a minute once rounded to the second
        return unit(max(1, round(minutes * 60)), "second")
    if minutes < 59.5:
        return unit(round(minutes), "minute")
    if minutes < 1440 - 0.5:
        h, m = divmod(round(minutes), 60)
        return unit(h, "hour") + (f" {unit(m, 'minute')}" if m else "")
    d, h = divmod(round(minutes / 60), 24)
    return unit(d, "day") + (f" {unit(h, 'hour')}" if h else "")


def between(a: float, b: float) -> str:
    """The time from `a` to `b` in words, agreeing with the clock times printed for them (both
    cut to the minute), or in seconds under a minute."""
    return span(b - a) if b - a < 1 else span(math.floor(b) - math.floor(a))


def _against(taken: float, expected: float, what: str) -> str:
    """`within the 1 hour they expected` or `2 hours later than the 1 hour they expected`."""
    if taken <= expected:
        return f"within the {span(expected)} they expected{what}"
    return f"{span(taken - expected)} later than the {span(expected)} they expected{what}"


@dataclass(frozen=True)
class Story:
    """A customer's story: a heading naming the row, and the sentences."""

    heading: str
    sentences: tuple[str, ...]

    def text(self) -> str:
        return " ".join(self.sentences)


def tell(log: MentionLog, i: int, info: RunInfo) -> Story:
    """The story of row `i` of `log`."""
    row = {name: log[name][i] for name in log.columns}
    start, end = info.start, info.end
    arrival = float(row["arrival"])
    channel, kind = log.channels[int(row["channel"])], log.types[int(row["type"])]
    triaged = log.types[int(row["triaged_as"])]
    outcome, origin = OUTCOMES[int(row["outcome"])], ORIGINS[int(row["origin"])]
    ack, res = float(row["ack_done"]), float(row["resolve_done"])
    ack_due, res_due = float(row["ack_expected_by"]) - arrival, float(row["resolve_expected_by"]) - arrival
    pool = log.pools[int(row["pool"])] if int(row["pool"]) >= 0 else ""
    followers = int(row["followers"])
    day0 = moment(start, arrival).date()

    def at(minutes: float) -> str:   # the day only when it is not the day of the mention
        return clock(start, minutes, day=moment(start, minutes).date() != day0)

    said = [f"{channel_verb(channel)} at {clock(start, arrival)} with {followers:,} "
            f"follower{'s' * (followers != 1)} — {with_article(kind)}."]
    parent = int(row["parent_id"])
    if origin == "cascade" and parent >= 0:
        # a parent from the warm-up is not in the records: say so rather than name a missing id
        same_run = np.asarray(log["replication"]) == row["replication"]
        source = (f"mention {parent}" if ((np.asarray(log["id"]) == parent) & same_run).any()
                  else f"a mention of the warm-up (id {parent})")
        said.append(f"It was a follow-on of {source} in a viral cascade.")
    elif origin == "incident":
        said.append("It came in the burst of mentions after an incident.")
    if outcome == "ignored":
        mistake = " by mistake" if triaged != kind else ""
        said.append(f"Triaged as {triaged}{mistake}, a type the team does not answer, so nobody replied.")
        said.append(_never("reply", ack_due, arrival, end, at(end)))
        return Story(_heading(row, kind, channel, outcome), tuple(said))
    if triaged != kind:
        said.append(f"Triaged as {triaged} by mistake.")
    together = math.isfinite(ack) and ack == res and float(row["ack_start"]) == float(row["resolve_start"])
    if together:   # acknowledgement with the resolution: one reply does both
        said.append(f"Answered and resolved in one reply at {at(ack)}, {between(arrival, ack)} after the "
                    f"mention — {_against(ack - arrival, ack_due, ' for a reply')}, and "
                    f"{_against(res - arrival, res_due, ' for a resolution')}.")
    elif math.isfinite(ack):
        said.append(f"Acknowledged at {at(ack)}, {between(arrival, ack)} after the mention — "
                    f"{_against(ack - arrival, ack_due, '')}.")
    if outcome == "resolved" and not together:
        team = f" by the {pool} team" if pool else ""
        said.append(f"Resolved{team} at {at(res)}, {between(arrival, res)} after the mention — "
                    f"{_against(res - arrival, res_due, ' for a resolution')}.")
    elif outcome == "acknowledged":
        said.append(f"Still waiting for a resolution when the simulation ended at {at(end)}, "
                    f"{between(arrival, end)} after the mention — {_pending(res_due, end - arrival, 'a resolution')}.")
    elif outcome == "dropped":
        said.append("Asked to carry on in another channel (a private message, e-mail or phone), they "
                    f"never followed through, so it was never resolved — they had expected a "
                    f"resolution within {span(res_due)}.")
    elif outcome == "abandoned":
        gave_up = float(row["abandoned_at"])
        waited = gave_up - arrival
        if waited >= ack_due:
            verdict = f"{span(waited - ack_due)} past the {span(ack_due)} they expected"
        else:
            verdict = f"before even the {span(ack_due)} they expected had passed"
        said.append(f"Gave up waiting at {at(gave_up)}, after {between(arrival, gave_up)} without a reply — {verdict}.")
        said.append(f"It was never resolved; they had expected a resolution within {span(res_due)}.")
    elif outcome == "open":
        said.append(f"Still without a reply when the simulation ended at {at(end)}, "
                    f"{between(arrival, end)} after the mention — {_pending(ack_due, end - arrival, 'a reply')}.")
    return Story(_heading(row, kind, channel, outcome), tuple(said))


def _never(what: str, due: float, arrival: float, end: float, ended: str) -> str:
    if end - arrival >= due:
        return (f"They had expected a {what} within {span(due)}; when the simulation ended at {ended}, "
                f"{between(arrival, end)} after the mention, they had still heard nothing.")
    return (f"They expected a {what} within {span(due)}; the simulation ended at {ended}, "
            f"{between(arrival, end)} after the mention, before that deadline.")


def _pending(due: float, waited: float, what: str) -> str:
    if waited >= due:
        return f"{span(waited - due)} past the {span(due)} they expected for {what}"
    return f"they had expected {what} within {span(due)}, not yet passed"


def _heading(row: dict, kind: str, channel: str, outcome: str) -> str:
    return f"Mention {int(row['id'])} of replication {int(row['replication'])} ({kind}, {channel}): {outcome}"


def with_article(kind: str) -> str:
    """`a complaint`, `an enquiry`, but `praise`, `noise` (mass nouns take no article)."""
    if kind.lower() in MASS_NOUNS:
        return kind
    return f"{'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}"


def gap_note(log: MentionLog, i: int, info: RunInfo) -> str:
    """Why `--worst` picked row `i`: how far past their resolution deadline the customer was."""
    done = float(log["resolve_done"][i])
    due = float(log["resolve_expected_by"][i])
    if math.isfinite(done):
        late = done - due
        return (f"resolved {span(late)} after the deadline they expected" if late > 0
                else "resolved within the time they expected")
    if info.end > due:
        return f"unresolved at the end of the run, {span(info.end - due)} past the deadline they expected"
    return f"unresolved at the end of the run, {span(due - info.end)} before the deadline they expected"


def pick(log: MentionLog, info: RunInfo, mention: int | None = None, replication: int | None = None,
         how: str = "worst", seed: int = 0) -> int:
    """Row of `log` to tell: mention `mention` (of `replication`, default the first that has it),
    else by `how`: `worst` (largest gap from the customer's resolution deadline to the resolution
    or the end of the run) or `random` (seeded), among the mentions the team means to answer."""
    reps = np.asarray(log["replication"])
    in_rep = np.ones(len(log), dtype=bool) if replication is None else reps == replication
    if replication is not None and not in_rep.any():
        present = ", ".join(str(r) for r in np.unique(reps)[:10])
        raise StoryError(f"no replication {replication} in the records (replications: {present})")
    if mention is not None:
        hits = np.flatnonzero(in_rep & (np.asarray(log["id"]) == mention))
        if len(hits) == 0:
            where = f" in replication {replication}" if replication is not None else ""
            raise StoryError(f"no mention with id {mention}{where} in the records")
        return int(hits[np.argmin(reps[hits])])
    among = in_rep & answered(log, info)
    if not among.any():
        raise StoryError("no mention the team means to answer in the records")
    if how == "random":
        rows = np.flatnonzero(among)
        return int(rows[np.random.default_rng(seed).integers(len(rows))])
    best = worst_mention(log, info.end, among)
    if best is None:
        raise StoryError("no mention with a resolution deadline in the records")
    return best


__all__ = ["Story", "StoryError", "between", "channel_verb", "clock", "gap_note", "moment", "pick", "span", "tell",
           "with_article"]
