"""Durations, rates, times of day and weekday ranges as written in scenario files.

Internally every time is in minutes and every rate is per minute.
"""
from __future__ import annotations

import math
import re
from datetime import datetime

MINUTES = {"s": 1 / 60, "sec": 1 / 60, "m": 1.0, "min": 1.0, "h": 60.0, "d": 1440.0, "w": 10080.0}
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_PART = re.compile(rf"\s*({_NUMBER})\s*(sec|min|s|m|h|d|w)(?![a-z])\s*")
_CLOCK = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def parse_duration(value: object) -> float:
    """`90s`, `15m`, `2h`, `3d`, `1w`, `1h30m` or a bare number of minutes -> minutes."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 90s, 15m, 2h, 3d or 1w")
    if isinstance(value, (int, float)):
        return _finite(float(value), value)
    if not isinstance(value, str):
        raise ValueError("expected a duration like 90s, 15m, 2h, 3d or 1w")
    text = value.strip().lower()
    try:
        return _finite(float(text), value)
    except ValueError:
        pass
    total, pos = 0.0, 0
    while pos < len(text):
        match = _PART.match(text, pos)
        if not match:
            raise ValueError(f"'{value}' is not a duration; expected e.g. 90s, 15m, 2h, 3d, 1w or 1h30m")
        total += float(match.group(1)) * MINUTES[match.group(3)]
        pos = match.end()
    if pos == 0:
        raise ValueError("expected a duration like 90s, 15m, 2h, 3d or 1w")
    return _finite(total, value)   # each part may be finite and their sum in minutes not (1e306w)


def _finite(number: float, value: object) -> float:
    if not math.isfinite(number):
        raise ValueError(f"'{value}' is not a duration; expected a finite one like 90s, 15m, 2h, 3d or 1w")
    return number


def parse_rate(value: object) -> float:
    """`120/h`, `2000/d`, `2.5/m` -> mentions per minute."""
    if not isinstance(value, str) or "/" not in value:
        raise ValueError(f"'{value}' is not a rate; expected a count per unit like 120/h, 2000/d or 2.5/m")
    count_text, _, unit = value.partition("/")
    unit = unit.strip().lower()
    try:
        count = float(count_text)
    except ValueError:
        raise ValueError(f"'{value}' is not a rate; expected a count per unit like 120/h") from None
    if unit not in MINUTES:
        raise ValueError(f"'{value}': unknown time unit '{unit}'; expected one of s, m, h, d, w")
    rate = count / MINUTES[unit]
    if not math.isfinite(rate):   # an infinite count, or a finite one per second past the floats per minute (1e308/s)
        raise ValueError(f"'{value}' is not a rate; expected a finite count per unit like 120/h")
    return rate


def parse_clock(value: object) -> float:
    """`08:00` -> minutes after midnight (`24:00` allowed as the end of a day)."""
    match = _CLOCK.match(str(value).strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"'{value}' is not a time of day; expected HH:MM such as 08:00")
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    if minutes > 1440:
        raise ValueError(f"'{value}' is past 24:00")
    return float(minutes)


def parse_days(value: object) -> tuple[int, ...]:
    """`mon-fri`, `sat-sun`, `mon,wed`, `daily` or a list of those -> weekday indices (Monday = 0)."""
    items = value if isinstance(value, list) else [value]
    days: set[int] = set()
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"'{item}' is not a day range; expected e.g. mon-fri, sat-sun or daily")
        for part in item.lower().replace(" ", "").split(","):
            if part in ("daily", "all", "mon-sun"):
                days.update(range(7))
                continue
            first, dash, last = part.partition("-")
            if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
                raise ValueError(f"'{part}' is not a day range; expected e.g. mon-fri, sat-sun or daily")
            a = WEEKDAYS.index(first)
            b = WEEKDAYS.index(last) if last else a
            days.update(range(a, b + 1) if b >= a else [*range(a, 7), *range(0, b + 1)])
    if not days:   # `days: []`: a block that never happens would staff nobody, silently
        raise ValueError("expected at least one day, e.g. mon-fri, sat-sun or daily")
    return tuple(sorted(days))


def _minutes_between(start: datetime, moment: datetime) -> float:
    if (start.tzinfo is None) != (moment.tzinfo is None):
        raise ValueError(f"'{moment.isoformat()}' and the scenario start must both carry a time zone, or neither")
    return (moment - start).total_seconds() / 60.0


def parse_offset(value: object, start: datetime) -> float:
    """`2d 19:00`, `50h`, or a calendar time `2026-01-07T19:00` -> minutes since minute 0."""
    if isinstance(value, datetime):
        return _minutes_between(start, value)
    if isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is not None:
            return _minutes_between(start, moment)
        head, _, clock = text.rpartition(" ")
        if head and _CLOCK.match(clock):
            return parse_duration(head) + parse_clock(clock)
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError(
            f"'{value}' is not a time; expected an offset like 2d 19:00 or 50h, or a calendar time like 2026-01-07T19:00"
        ) from None
