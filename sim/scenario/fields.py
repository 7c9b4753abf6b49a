"""The field types of scenario files, and the bounds of what a scenario may ask for.

A field type parses its YAML spelling (`15m`, `120/h`, `08:00`, `mon-fri`) into minutes, rates
per minute, times of day or weekdays, and writes it back in a form that loads again
(`scenario.yaml`, the report); what it cannot read is reported with the unit it expected.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from . import units

# Bounds beyond which a scenario describes no care team, and the run would exhaust memory or
# time (or the floating point of a handling time) before saying anything about one.
MAX_AGENTS = 100_000        # agents in one pool at one time
MAX_CONCURRENCY = 100       # conversations one agent works at once
MIN_CV, MAX_CV = 0.001, 100.0   # a handling time's coefficient of variation (lognormal, gamma)
MAX_SPAN = 100 * 365.25 * 1440  # minutes of warm-up plus horizon: a century
MAX_INTERVALS = 10_000_000      # report intervals over warm-up plus horizon
MAX_MENTIONS = 1e9              # expected mentions of one replication (base stream and incidents)
# The years `start` may fall in: a run lasts up to a century, and the report's dates end in 9999.
YEARS = (1, 8899)


def _wrap(parse):
    def validator(value):
        try:
            return parse(value)
        except ValueError as exc:
            raise PydanticCustomError("unit", str(exc)) from None

    return validator


Duration = Annotated[
    float,
    BeforeValidator(_wrap(units.parse_duration)),
    WithJsonSchema({"type": ["string", "number"], "pattern": r"^\s*[\d.]+\s*(s|m|min|h|d|w)?", "description": "duration: 90s, 15m, 2h, 3d, 1w (bare number = minutes)"}),
]
# Written back (`scenario.yaml`, the report) in a form that loads again: durations as bare
# minutes, rates per minute, times of day as HH:MM, weekdays by name.
Rate = Annotated[
    float,
    BeforeValidator(_wrap(units.parse_rate)),
    PlainSerializer(lambda v: f"{v!r}/m", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^[\d.]+\s*/\s*(s|m|min|h|d|w)$", "description": "rate: 120/h, 2000/d, 2.5/m"}),
]
Clock = Annotated[
    float,
    BeforeValidator(_wrap(units.parse_clock)),
    PlainSerializer(lambda v: f"{int(v) // 60:02d}:{int(v) % 60:02d}", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,2}:\d{2}$", "description": "time of day HH:MM"}),
]
Days = Annotated[
    tuple[int, ...],
    BeforeValidator(_wrap(units.parse_days)),
    PlainSerializer(lambda v: ",".join(units.WEEKDAYS[d] for d in v), return_type=str, when_used="json"),
    WithJsonSchema({"type": ["string", "array"], "description": "weekdays: mon-fri, sat-sun, mon,wed, daily"}),
]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


def _whole_number(value):
    # YAML's `true` would otherwise count as 1 agent (or replication, or seed)
    if isinstance(value, bool):
        raise ValueError("expected a whole number, not true or false")
    return value


def _calendar_time(value):
    # a number, even quoted, would otherwise be read as seconds since 1970
    if isinstance(value, (bool, int, float)) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("expected a calendar time like 2026-01-05T00:00")
    if isinstance(value, str):   # YAML's own form allows a space before the offset: 08:00:00 +02:00
        value = _SPACED_OFFSET.sub(r"\1", value.strip())
    return value


_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
_SPACED_OFFSET = re.compile(r"\s+(Z|[-+]\d\d(:?\d\d)?)$")
Count = Annotated[int, BeforeValidator(_whole_number)]
# constraints ahead of the validator: so written, a union with None keeps them in the JSON Schema
Agents = Annotated[int, Field(ge=0, le=MAX_AGENTS), BeforeValidator(_whole_number)]
PositiveDuration = Annotated[Duration, Field(gt=0.0)]
CalendarTime = Annotated[datetime, BeforeValidator(_calendar_time)]
