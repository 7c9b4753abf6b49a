"""Frozen, validated models of a scenario file, one per section.

Everything here is in minutes and per-minute rates once validated; the YAML spellings (`15m`,
`120/h`, `08:00`, `mon-fri`) are parsed by the field validators. Unknown keys are refused with a
"did you mean" hint. Variants are made with `model_copy(update=...)`, never by mutation.
"""
from __future__ import annotations

import difflib
import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from . import units
from .fields import (MAX_AGENTS, MAX_CONCURRENCY, MAX_CV, MAX_INTERVALS, MAX_MENTIONS, MAX_SPAN, MIN_CV, YEARS,
                     Agents, CalendarTime, Clock, Count, Days, Duration, PositiveDuration, Rate, Share)
from .presets import DAILY_PROFILES, WEEKLY_PROFILES

STAGES = ("acknowledge", "resolve")


class Section(BaseModel):
    """Base of every section: frozen, unknown keys refused with a hint."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keys(cls, data):
        if isinstance(data, dict):
            known = {name for name in cls.model_fields} | {
                f.alias for f in cls.model_fields.values() if f.alias
            }
            for key in data:
                if key not in known:
                    raise PydanticCustomError(
                        "unknown_key", "unknown key{hint}", {"key": str(key), "hint": _hint(key, known)}
                    )
        elif data is None:
            return {}
        return data


def _check_shares(shares: dict[str, float], what: str) -> dict[str, float]:
    if not shares:
        raise ValueError(f"at least one {what} is needed")
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} shares must sum to 1 (they sum to {total:g})")
    return shares


class Followers(Section):
    median: float = Field(250.0, gt=0, description="median follower count of a mention's author")
    sigma: float = Field(1.8, ge=0, description="log-normal sigma of the follower count")


class Cascades(Section):
    branching: float = Field(description="mean direct follow-ons of a mention by an author of median reach", ge=0)
    reach_elasticity: float = Field(0.0, ge=0, description="branching scales as (followers/median)**elasticity")
    max_branching: float = Field(0.95, gt=0, lt=1, description="cap on any mention's branching; must be < 1")
    decay: PositiveDuration = Field(description="mean delay from a mention to each follow-on")
    breach_boost: float = Field(1.0, ge=1.0, description="branching multiplier once a complaint breaches")
    noise_reply_boost: float = Field(
        1.0, ge=1.0, description="branching multiplier once a noise mention is engaged (replied to)"
    )

    @model_validator(mode="after")
    def _subcritical(self):
        if self.branching >= 1.0:
            raise ValueError("branching must be below 1, or cascades never die out")
        if self.branching > self.max_branching:
            raise ValueError(f"branching {self.branching:g} exceeds max_branching {self.max_branching:g}")
        return self


class Incident(Section):
    at: str | float = Field(description="offset from minute 0 (`2d 19:00`, `50h`) or calendar time")
    mentions: float = Field(gt=0, le=MAX_MENTIONS, description="expected extra mentions")
    decay: PositiveDuration = Field(description="mean of the exponential decay of the burst")
    types: dict[str, Share] | None = Field(None, description="type mix of the burst (default: scenario mix)")
    channels: dict[str, Share] | None = Field(None, description="channel mix (default: scenario mix)")

    @field_validator("at", mode="before")
    @classmethod
    def _at_text(cls, value):
        if isinstance(value, bool):
            raise ValueError("expected an offset like 2d 19:00 or 50h, or a calendar time like 2026-01-07T19:00")
        if isinstance(value, datetime):
            return value.isoformat()
        return value

    @field_validator("types", "channels")
    @classmethod
    def _shares(cls, value, info):
        return None if value is None else _check_shares(value, info.field_name[:-1])


class Arrivals(Section):
    rate: Rate = Field(description="mean rate of the base stream over a week")
    daily_profile: str | list[float] = Field("flat", description="preset name or 24 hourly weights")
    weekly_profile: str | list[float] = Field("flat", description="preset name or 7 weights, Monday first")
    types: dict[str, Share] = Field(default_factory=lambda: {"complaint": 1.0})
    channels: dict[str, Share] = Field(default_factory=lambda: {"twitter": 1.0})
    followers: Followers = Field(default_factory=Followers)
    cascades: Cascades | None = None
    incidents: list[Incident] = Field(default_factory=list)

    @field_validator("rate")
    @classmethod
    def _positive(cls, value):
        if value <= 0:
            raise ValueError("rate must be positive")
        return value

    @field_validator("daily_profile", "weekly_profile")
    @classmethod
    def _profile(cls, value, info):
        presets, size = (DAILY_PROFILES, 24) if info.field_name == "daily_profile" else (WEEKLY_PROFILES, 7)
        if isinstance(value, str):
            if value not in presets:
                close = difflib.get_close_matches(value, presets, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ValueError(f"unknown preset '{value}'; expected one of {', '.join(presets)}{hint}")
            return value
        if len(value) != size or not all(math.isfinite(w) and w >= 0 for w in value) or sum(value) <= 0:
            raise ValueError(f"expected a preset name or {size} finite non-negative weights, not all zero")
        return value

    @field_validator("types", "channels")
    @classmethod
    def _shares(cls, value, info):
        return _check_shares(value, info.field_name[:-1])

    def daily_weights(self) -> tuple[float, ...]:
        return DAILY_PROFILES[self.daily_profile] if isinstance(self.daily_profile, str) else tuple(self.daily_profile)

    def weekly_weights(self) -> tuple[float, ...]:
        return WEEKLY_PROFILES[self.weekly_profile] if isinstance(self.weekly_profile, str) else tuple(self.weekly_profile)


class LogNormalDeadline(Section):
    median: PositiveDuration
    sigma: float = Field(0.8, ge=0)


class Patience(Section):
    mean: PositiveDuration = Field(description="mean of the exponential patience")


class Expectations(Section):
    """Per-mention deadlines; keys are a channel, a type or `default` (channel wins over type)."""

    acknowledge: dict[str, LogNormalDeadline] = Field(
        # Lithium/Millward Brown 2013: 53 % of Twitter users expecting a reply expect it within 1 h.
        default_factory=lambda: {"default": LogNormalDeadline(median=60.0, sigma=1.2)}
    )
    resolve: dict[str, LogNormalDeadline] = Field(
        default_factory=lambda: {"default": LogNormalDeadline(median=1440.0, sigma=1.0)}
    )
    patience: dict[str, Patience] = Field(default_factory=dict, description="empty: nobody abandons")


class SlaTarget(Section):
    within: PositiveDuration
    target: Share = 0.9


class Sla(Section):
    acknowledge: SlaTarget = Field(default_factory=lambda: SlaTarget(within=60.0, target=0.9))
    resolve: SlaTarget = Field(default_factory=lambda: SlaTarget(within=4320.0, target=0.8))
    clock: Literal["calendar", "business_hours"] = "calendar"
    business_hours: list["Block"] = Field(default_factory=list)

    @model_validator(mode="after")
    def _hours_given(self):
        if self.clock == "business_hours" and not self.business_hours:
            raise _at(("sla", "business_hours"), "clock `business_hours` needs at least one block (days, from, to)")
        return self


class Block(Section):
    days: Days = Field(description="weekdays of the block: mon-fri, sat-sun, ...")
    from_: Clock = Field(alias="from", description="start HH:MM")
    to: Clock = Field(description="end HH:MM; earlier than `from` wraps past midnight")
    agents: Agents = 1

    def intervals(self) -> list[tuple[float, float]]:
        """Minute-of-week intervals; a block wrapping midnight belongs to the day it starts."""
        length = (self.to - self.from_) % 1440 or 1440.0
        return [(d * 1440 + self.from_, d * 1440 + self.from_ + length) for d in self.days]


class Pool(Section):
    agents: Agents | None = Field(None, description="constant staffing (else `schedule`)")
    schedule: list[Block] | None = None
    channels: list[str] | None = Field(None, description="channels served (default: all)")
    stages: list[Literal["acknowledge", "resolve"]] = Field(default_factory=lambda: list(STAGES))
    concurrency: Count = Field(1, ge=1, le=MAX_CONCURRENCY, description="conversations one agent works at once")
    cost_per_hour: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _staffing(self):
        if (self.agents is None) == (self.schedule is None):
            raise ValueError("give either `agents` or `schedule`")
        if self.schedule:
            spans = sorted(
                (a, b, i) for i, block in enumerate(self.schedule) for a, b in block.intervals()
            )
            week = 7 * 1440
            # a night shift on Sunday wraps into Monday: compare each span with its successor, cyclically
            for (a, b, i), (c, _, j) in zip(spans, spans[1:] + [(s + week, e + week, k) for s, e, k in spans[:1]]):
                if c < b and not (i == j and len(spans) == 1):
                    raise ValueError(f"schedule blocks {i + 1} and {j + 1} overlap")
        return self


class HandleTime(Section):
    dist: Literal["exponential", "lognormal", "gamma", "fixed"] = "lognormal"
    mean: PositiveDuration
    cv: float | None = Field(None, ge=0, le=MAX_CV, description="coefficient of variation (lognormal, gamma)")

    @model_validator(mode="after")
    def _cv(self):
        if self.dist in ("lognormal", "gamma") and self.cv is not None and self.cv < MIN_CV:
            raise ValueError(f"a {self.dist} distribution needs cv of at least {MIN_CV:g}; "
                             "for a time that never varies, use `dist: fixed`")
        if self.dist in ("exponential", "fixed") and self.cv is not None:
            expected = 1.0 if self.dist == "exponential" else 0.0
            if abs(self.cv - expected) > 1e-9:
                article = "an" if self.dist == "exponential" else "a"
                raise ValueError(f"{article} {self.dist} distribution has cv {expected:g}; drop `cv` or change `dist`")
        return self

    @property
    def cv_value(self) -> float:
        return {"exponential": 1.0, "fixed": 0.0}.get(self.dist, self.cv if self.cv is not None else 1.0)


def _single_to_map(value):
    """`{dist: ..., mean: ...}` is shorthand for `{default: {...}}`."""
    if isinstance(value, dict) and ("mean" in value or "dist" in value):
        return {"default": value}
    return value


HandleMap = Annotated[dict[str, HandleTime], BeforeValidator(_single_to_map)]


class Handling(Section):
    # About 5 minutes per social enquiry (LiveAgent benchmark); a public acknowledgement is shorter.
    acknowledge: HandleMap = Field(
        default_factory=lambda: {"default": HandleTime(dist="lognormal", mean=2.0, cv=0.6)}
    )
    resolve: HandleMap = Field(
        default_factory=lambda: {"default": HandleTime(dist="lognormal", mean=5.0, cv=1.0)}
    )


class MoveChannel(Section):
    share: Share = Field(description="share of resolutions moved off the public channel")
    delay: Duration = Field(0.0, ge=0, description="time until the customer shows up on the new channel")
    follow_through: Share = Field(1.0, description="share of moved customers who follow through")


class Routing(Section):
    resolve: dict[str, str] = Field(default_factory=dict, description="type -> pool that resolves it")
    move_channel: MoveChannel | None = None


class Policy(Section):
    acknowledge: Literal["realtime", "batched", "with_resolution"] = "realtime"
    batch_times: list[Clock] | None = None
    batch_every: PositiveDuration | None = None
    priority: Literal["fifo", "followers", "deadline", "type"] = "fifo"
    type_order: list[str] | None = None
    respond_to: list[str] | None = Field(None, min_length=1, description="types that get a reply (default: all)")
    triage_accuracy: Share = 1.0

    @model_validator(mode="after")
    def _batched(self):
        if self.acknowledge == "batched" and not (self.batch_times or self.batch_every):
            raise ValueError("batched acknowledgement needs `batch_times` or `batch_every`")
        if self.batch_times and self.batch_every:
            raise ValueError("give `batch_times` or `batch_every`, not both")
        if self.batch_every is not None and self.batch_every < 1.0:
            raise _at(("policy", "batch_every"), "expected at least 1m (a sweep more often than every minute "
                      "is real-time acknowledgement: `acknowledge: realtime`)")
        return self


class Scenario(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="used as the output folder name")
    description: str = ""
    horizon: PositiveDuration = Field(description="simulated time after the warm-up")
    warmup: Duration = Field(0.0, ge=0)
    replications: Count = Field(10, ge=1)
    seed: Count = Field(0, ge=0)
    start: CalendarTime = Field(datetime(2026, 1, 5), description="calendar time of minute 0")
    report_interval: PositiveDuration = 60.0
    arrivals: Arrivals
    expectations: Expectations = Field(default_factory=Expectations)
    sla: Sla = Field(default_factory=Sla)
    pools: dict[str, Pool]
    handling: Handling = Field(default_factory=Handling)
    routing: Routing = Field(default_factory=Routing)
    policy: Policy = Field(default_factory=Policy)

    @field_validator("name")
    @classmethod
    def _folder_name(cls, value):
        if set(value) == {"."}:   # `.` and `..` name the outputs folder itself or its parent
            raise ValueError(f"'{value}' cannot name an output folder; use letters, digits, '_', '-' or '.'")
        return value

    @property
    def types(self) -> list[str]:
        names = list(self.arrivals.types)
        for incident in self.arrivals.incidents:
            names += [t for t in incident.types or {} if t not in names]
        return names

    @property
    def channels(self) -> list[str]:
        names = list(self.arrivals.channels)
        for incident in self.arrivals.incidents:
            names += [c for c in incident.channels or {} if c not in names]
        return names

    @property
    def answered_types(self) -> list[str]:
        """The types the team means to answer (`policy.respond_to`; all when not given), in
        the order of `types`."""
        respond = self.policy.respond_to or self.types
        return [t for t in self.types if t in respond]

    @property
    def end(self) -> float:
        return self.warmup + self.horizon

    @model_validator(mode="after")
    def _cross_checks(self):
        types, channels = set(self.types), set(self.channels)
        pools = self.pools
        if not pools:
            raise _at(("pools",), "at least one pool is needed")
        # names are written unquoted in mentions.csv and timeseries.csv, and read back by `story`
        named = [(("arrivals", "types"), self.arrivals.types), (("arrivals", "channels"), self.arrivals.channels),
                 (("pools",), pools)]
        for i, incident in enumerate(self.arrivals.incidents):
            named += [(("arrivals", "incidents", i, key), getattr(incident, key) or {}) for key in ("types", "channels")]
        for loc, names in named:
            for name in names:
                if not name.strip() or not name.isprintable() or any(c in name for c in ',"'):
                    raise _at(loc, f"{name!r}: expected a name that is not blank, without commas, double "
                                   "quotes, tabs or line breaks")
        for name, pool in pools.items():
            if _max_agents(pool) * pool.concurrency > MAX_AGENTS:
                raise _at(("pools", name), f"agents x concurrency above {MAX_AGENTS:,} conversations at once")
        for name, pool in pools.items():
            for ch in pool.channels or []:
                if ch not in channels:
                    raise _at(("pools", name, "channels"), f"unknown channel '{ch}'{_hint(ch, channels)}")
        for section in ("acknowledge", "resolve", "patience"):
            for key in getattr(self.expectations, section):
                if key != "default" and key not in types | channels:
                    raise _at(("expectations", section, key), f"not a channel, a type or 'default'{_hint(key, types | channels)}")
        for stage in STAGES:
            for key in getattr(self.handling, stage):
                if key != "default" and key not in types:
                    raise _at(("handling", stage, key), f"not a type or 'default'{_hint(key, types)}")
        for typ, pool in self.routing.resolve.items():
            if typ not in types:
                raise _at(("routing", "resolve", typ), f"unknown type{_hint(typ, types)}")
            if pool not in pools:
                raise _at(("routing", "resolve", typ), f"unknown pool '{pool}'{_hint(pool, pools)}")
            if "resolve" not in pools[pool].stages:
                raise _at(("routing", "resolve", typ), f"pool '{pool}' does not list the resolve stage")
            if _max_agents(pools[pool]) == 0:
                raise _at(("routing", "resolve", typ), f"pool '{pool}' has zero agents, so {typ} mentions are never resolved")
        if self.routing.move_channel is not None and self.policy.acknowledge == "with_resolution":
            raise _at(("routing", "move_channel"),
                      "a channel move follows a public acknowledgement; with policy.acknowledge: "
                      "with_resolution there is none (drop move_channel or acknowledge realtime/batched)")
        for key in ("respond_to", "type_order"):
            for typ in getattr(self.policy, key) or []:
                if typ not in types:
                    raise _at(("policy", key), f"unknown type '{typ}'{_hint(typ, types)}")
        for stage in self.stages_needed():
            if not any(_max_agents(p) > 0 for p in pools.values() if stage in p.stages):
                raise _at(("pools",), f"every pool serving the {stage} stage has zero agents")
            for ch in sorted(channels):
                serving = [n for n, p in pools.items() if stage in p.stages and (p.channels is None or ch in p.channels)]
                if not serving:
                    raise _at(("pools",), f"no pool serves the {stage} stage of channel '{ch}'")
                if not any(_max_agents(pools[n]) > 0 for n in serving):
                    names = ", ".join(f"'{n}'" for n in serving)
                    raise _at(("pools",), f"every pool serving the {stage} stage of channel '{ch}' has zero agents ({names})")
        for i, incident in enumerate(self.arrivals.incidents):
            try:
                offset = units.parse_offset(incident.at, self.start)
            except ValueError as exc:
                raise _at(("arrivals", "incidents", i, "at"), str(exc)) from None
            if offset < 0:
                raise _at(("arrivals", "incidents", i, "at"), f"'{incident.at}' is before minute 0 (start {self.start.isoformat()})")
        span = self.warmup + self.horizon
        if span > 0 and self.report_interval > span:
            raise _at(("report_interval",), "longer than warm-up plus horizon")
        if span > MAX_SPAN:
            raise _at(("horizon",), "warm-up plus horizon longer than a century")
        if span / self.report_interval > MAX_INTERVALS:
            raise _at(("report_interval",), f"more than {MAX_INTERVALS:,} intervals over warm-up plus horizon; "
                                            "choose a longer interval")
        if not YEARS[0] <= self.start.year <= YEARS[1]:
            raise _at(("start",), f"expected a calendar time between the years {YEARS[0]} and {YEARS[1]}")
        base, bursts = self.arrivals.rate * span, sum(i.mentions for i in self.arrivals.incidents)
        if base + bursts > MAX_MENTIONS:   # named at whichever brings more
            raise _at(("arrivals", "rate" if base >= bursts else "incidents"),
                      f"about {base + bursts:.3g} mentions a replication (base stream and incidents); "
                      f"caresim simulates up to {MAX_MENTIONS:.0e}")
        return self

    def stages_needed(self) -> tuple[str, ...]:
        return ("resolve",) if self.policy.acknowledge == "with_resolution" else STAGES


def _max_agents(pool: Pool) -> int:
    return pool.agents if pool.agents is not None else max((b.agents for b in pool.schedule or []), default=0)


def _hint(word: str, options) -> str:
    close = difflib.get_close_matches(str(word), sorted(options), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else f"; expected one of {', '.join(sorted(options))}"


def _at(loc: tuple, message: str) -> PydanticCustomError:
    return PydanticCustomError("located", "{message}", {"message": message, "loc": ".".join(map(str, loc))})


Sla.model_rebuild()
