"""What the lean engine promises besides its results (issue 5): few SimPy events per mention,
random numbers drawn in blocks rather than one call per value, and with `--no-mentions` a
memory that does not grow with the horizon."""
from __future__ import annotations

import json
import tracemalloc
from collections import deque

import numpy as np
import pytest
import simpy

from helpers import REPO

from sim.analytic import erlang_a
from sim.runner import simulate
from sim.scenario import load_scenario

LAMBDA, AGENTS = 9.0, 10      # scenarios/mmc.yaml: 9 a minute, mean work 1 minute, 10 agents
Z = 4.5                       # as in test_distributions: two-sided normal tail 7e-6


def mmc(days: float, **changes):
    sc = load_scenario(REPO / "scenarios" / "mmc.yaml")
    return sc.model_copy(update={"horizon": days * 1440.0, "warmup": 0.0, **changes})


def counted_events(monkeypatch) -> list[int]:
    """A one-element list that counts the SimPy events processed from now on."""
    events = [0]
    step = simpy.Environment.step

    def counted(env):
        events[0] += 1
        return step(env)

    monkeypatch.setattr(simpy.Environment, "step", counted)
    return events


def events_per_mention(scenario, monkeypatch, replications: int = 8, per: str = "mentions") -> tuple[float, float]:
    """Mean SimPy events per mention (or per the count `per` of the replication's metrics) over
    replications (seeds 1, 2, ...), and its standard error."""
    events = counted_events(monkeypatch)
    ratios = []
    for seed in range(1, replications + 1):
        events[0] = 0
        rep = simulate(scenario, np.random.SeedSequence(seed), keep_mentions=False)
        ratios.append(events[0] / rep.metrics[per])
    return float(np.mean(ratios)), float(np.std(ratios, ddof=1) / np.sqrt(replications))


def expected_events_per_mention(abandon_rate: float) -> float:
    """One event per conversation (a mention served) and one per arrival that finds an agent
    idle to hear of it: (1 - P(abandon)) + (1 - P(delay)), by PASTA, from Erlang A (Erlang C
    without abandonment)."""
    q = erlang_a(AGENTS, LAMBDA, 1.0, abandon_rate)
    return 2.0 - q.p_abandon - q.p_delay


def test_an_mmc_mention_costs_one_event_plus_one_if_it_finds_an_agent_idle(monkeypatch):
    """1.33 events a mention at rho = 0.9, within Z standard errors over replications; a
    process per customer (the idiomatic SimPy model) would cost at least three."""
    mean, se = events_per_mention(mmc(4), monkeypatch)
    assert se < 0.01
    assert abs(mean - expected_events_per_mention(0.0)) < Z * se, (mean, se)


def test_giving_up_costs_no_event(monkeypatch):
    """Abandonment is lazy: a customer who gives up is skipped when an agent reaches them, so
    they cost no event of their own (a timer for each customer who waits would add P(delay)
    a mention: 0.47 here)."""
    from sim.scenario.models import Patience

    sc = mmc(4)
    impatient = sc.model_copy(update={"expectations": sc.expectations.model_copy(
        update={"patience": {"default": Patience(mean=2.0)}})})
    mean, se = events_per_mention(impatient, monkeypatch)
    assert erlang_a(AGENTS, LAMBDA, 1.0, 0.5).p_abandon > 0.03       # many give up
    assert se < 0.01
    assert abs(mean - expected_events_per_mention(0.5)) < Z * se, (mean, se)


def test_mentions_nobody_answers_cost_no_event(monkeypatch):
    """Noise left alone by triage is never walked in: half the mentions are noise, and the
    complaints alone (the same M/M/c) cost what the M/M/c's mentions cost."""
    sc = mmc(4)
    mixed = sc.model_copy(update={"arrivals": sc.arrivals.model_copy(
        update={"rate": 2 * LAMBDA, "types": {"complaint": 0.5, "noise": 0.5}})})
    assert mixed.policy.respond_to == ["complaint"]
    mean, se = events_per_mention(mixed, monkeypatch, per="answerable_mentions")
    assert se < 0.01
    assert abs(mean - expected_events_per_mention(0.0)) < Z * se, (mean, se)


def test_complaints_answered_in_time_cost_the_closed_loop_no_event(monkeypatch):
    """The closed loop watches every complaint's deadline with one pending event at the
    earliest still in question: when every complaint is answered in time, it adds a handful
    of events a day to what the same run costs with the loop open, not one a complaint."""
    from sim.scenario.models import Cascades, LogNormalDeadline

    sc = mmc(4, arrivals=mmc(1).arrivals.model_copy(update={"rate": 6.0}))
    far = sc.expectations.model_copy(update={"acknowledge": {"default": LogNormalDeadline(median=2880.0, sigma=0.1)}})
    events = counted_events(monkeypatch)
    counts, metrics = [], []
    for boost in (1.0, 2.0):
        cascades = Cascades(branching=0.3, decay=30.0, breach_boost=boost)
        looped = sc.model_copy(update={"expectations": far,
                                       "arrivals": sc.arrivals.model_copy(update={"cascades": cascades})})
        events[0] = 0
        metrics.append(simulate(looped, np.random.SeedSequence(1), keep_mentions=False).metrics)
        counts.append(events[0])
    assert metrics[1]["ack_breach_rate"] == 0.0 and metrics[1]["mentions"] == metrics[0]["mentions"] > 30_000
    assert 0 <= counts[1] - counts[0] <= 2 * 4, counts


class CountingGenerator:
    """A NumPy generator that counts the calls made of it and the values they return."""

    calls = 0
    values = 0

    def __init__(self, generator: np.random.Generator):
        self.generator = generator

    def __getattr__(self, name):
        method = getattr(self.generator, name)

        def counted(*args, **kwargs):
            out = method(*args, **kwargs)
            CountingGenerator.calls += 1
            CountingGenerator.values += np.size(out)
            return out
        return counted


@pytest.mark.parametrize("name, days", [("mmc", (2, 8)), ("viral_outage_no_loop", (2, 8))])
def test_random_numbers_are_drawn_in_blocks(name, days, monkeypatch):
    """Without the closed loop, the generator is called a few times a day (a block per stream
    and window, a few per cascade generation), not once per mention: calls per simulated day
    stay put as the horizon and the mentions grow."""
    default_rng = np.random.default_rng
    monkeypatch.setattr(np.random, "default_rng", lambda *a, **k: CountingGenerator(default_rng(*a, **k)))
    per_day = []
    for d in days:
        CountingGenerator.calls = CountingGenerator.values = 0
        sc = load_scenario(REPO / "scenarios" / f"{name}.yaml")
        sc = sc.model_copy(update={"horizon": d * 1440.0, "warmup": 0.0})
        mentions = simulate(sc, np.random.SeedSequence(1), keep_mentions=False).metrics["mentions"]
        assert CountingGenerator.values > 5 * mentions     # every mention's inputs came through them
        assert CountingGenerator.calls < mentions / 20
        per_day.append(CountingGenerator.calls / d)
    assert per_day[1] < 1.2 * per_day[0]


def peak_traced_bytes(scenario, keep: bool) -> int:
    tracemalloc.start()
    try:
        simulate(scenario, np.random.SeedSequence(1), keep_mentions=keep)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_without_records_does_not_grow_with_the_horizon():
    """With `--no-mentions` a replication holds the mentions in play and running statistics:
    its peak memory (Python and NumPy allocations) over 16 days is that of 4 days, while the
    records kept the usual way grow with the horizon, as this measure shows."""
    short, long = (mmc(d, arrivals=mmc(1).arrivals.model_copy(update={"rate": 3.0}),
                       pools={"team": mmc(1).pools["team"].model_copy(update={"agents": 4})}) for d in (4, 16))
    simulate(short, np.random.SeedSequence(2), keep_mentions=False)   # lazy imports and caches first
    streamed = [peak_traced_bytes(sc, keep=False) for sc in (short, long)]
    kept = [peak_traced_bytes(sc, keep=True) for sc in (short, long)]
    assert streamed[1] < 1.15 * streamed[0], streamed
    assert kept[1] > 2.0 * kept[0], kept


def brand(days: int):
    """`benchmarks/memory.py`'s brand at a tenth of its size: a retail day, cascades with the
    closed loop, patience, four types."""
    from sim.scenario import parse_scenario

    return parse_scenario({
        "name": "brand", "horizon": f"{days}d", "warmup": 0, "report_interval": "1h",
        "arrivals": {"rate": "2000/d", "daily_profile": "retail",
                     "types": {"complaint": 0.3, "question": 0.3, "praise": 0.1, "noise": 0.3},
                     "channels": {"twitter": 0.6, "facebook": 0.4},
                     "cascades": {"branching": 0.1, "decay": "30m", "breach_boost": 1.5}},
        "expectations": {"patience": {"default": {"mean": "6h"}}},
        "pools": {"team": {"agents": 7}},
        "handling": {"acknowledge": {"dist": "lognormal", "mean": "1m", "cv": 0.5},
                     "resolve": {"dist": "lognormal", "mean": "4m", "cv": 1.0}},
        "policy": {"respond_to": ["complaint", "question", "praise"]},
    })


def test_memory_of_a_brand_with_cascades_does_not_grow_with_the_horizon():
    """The same with cascades, the closed loop and patience (the year the memory benchmark
    runs): the closed loop's watch list and the follow-ons due in later windows hold no more
    over 16 days than over 4."""
    simulate(brand(1), np.random.SeedSequence(2), keep_mentions=False)    # lazy imports and caches first
    streamed = [peak_traced_bytes(brand(d), keep=False) for d in (4, 16)]
    kept = [peak_traced_bytes(brand(d), keep=True) for d in (4, 16)]
    assert streamed[1] < 1.15 * streamed[0], streamed
    assert kept[1] > 2.0 * kept[0], kept


def starved(days: str = "6d", **changes):
    """Resolutions starve: acknowledgements come first and the one team cannot keep up, so a
    complaint may wait for days while the noise around it (ignored, settled at once) and the
    acknowledgements come and go. Every engine path that holds a ref is in play: follow-ons
    scheduled by the closed loop, channel moves on a timer, abandonment."""
    from helpers import variant

    base = {
        "name": "starved", "horizon": days, "warmup": 0, "seed": 3, "replications": 1,
        "arrivals": {"rate": "40/h", "types": {"complaint": 0.25, "noise": 0.75},
                     "cascades": {"branching": 0.3, "decay": "1h", "breach_boost": 2.0}},
        "expectations": {"patience": {"default": {"mean": "6h"}}},
        "pools": {"social": {"agents": 2}},
        "handling": {"acknowledge": {"dist": "exponential", "mean": "3m"},
                     "resolve": {"dist": "exponential", "mean": "14m"}},
        "routing": {"move_channel": {"share": 0.3, "delay": "30m", "follow_through": 0.8}},
        "policy": {"acknowledge": "realtime", "respond_to": ["complaint"]},
    }
    return variant(base, **changes)


def table_sizes(scenario, monkeypatch, compact_at: int) -> tuple[list[tuple[int, int]], int, object]:
    """(table length, unsettled mentions) after each window, the number of compactions, and
    the replication, with tables compacted past `compact_at` held mentions."""
    from sim.engine import collect, model

    monkeypatch.setattr(collect, "COMPACT_AT", compact_at)
    sizes, compactions = [], [0]
    collect_window, compact = collect.Collector.collect, model.CareModel.compact

    def counted_compact(self, keep):
        compactions[0] += 1
        return compact(self, keep)

    def measured_collect(self, w0, w1):
        collect_window(self, w0, w1)
        sizes.append((len(self.model.table), int((~self.settled).sum())))

    monkeypatch.setattr(model.CareModel, "compact", counted_compact)
    monkeypatch.setattr(collect.Collector, "collect", measured_collect)
    rep = simulate(scenario, np.random.SeedSequence(1), keep_mentions=True)
    monkeypatch.undo()
    return sizes, compactions[0], rep


def test_settled_mentions_behind_a_starved_one_are_forgotten(monkeypatch):
    """A replication holds the mentions in play, not every mention since the oldest still
    waiting: past `COMPACT_AT` the settled ones are dropped wherever they stand."""
    from sim.engine.collect import COMPACT_AT

    sc = starved(days="8d", arrivals={"rate": "200/h", "types": {"complaint": 0.05, "noise": 0.95},
                                      "cascades": {"branching": 0.3, "decay": "1h", "breach_boost": 2.0}})
    sizes, compactions, _ = table_sizes(sc, monkeypatch, COMPACT_AT)
    assert compactions > 0
    assert all(held <= COMPACT_AT + 2 * unsettled for held, unsettled in sizes), sizes
    # without compaction the oldest waiting complaint holds everything after it
    never, _, _ = table_sizes(sc, monkeypatch, 10**9)
    assert max(held for held, _ in never[:-1]) > 3 * max(held for held, _ in sizes)


@pytest.mark.parametrize("changes", [
    {}, {"policy": {"priority": "followers"}}, {"policy": {"acknowledge": "batched", "batch_every": "2h"}},
    {"policy": {"acknowledge": "batched", "batch_every": "2h"}, "pools": {"social": {"agents": 1, "concurrency": 2}}},
    {"policy": {"priority": "type", "type_order": ["complaint", "noise"]}},
    {"policy": {"priority": "deadline", "acknowledge": "with_resolution"}, "routing": {}},
], ids=["realtime", "followers", "batched", "batched-concurrency", "type", "with_resolution"])
def test_compacting_the_table_changes_no_result(changes, monkeypatch):
    """Compaction renumbers the refs held in queues, agents, timers and the loop's watch list;
    a replication compacted whenever its table holds more settled mentions than unsettled ones
    gives the records and statistics of one never compacted, bit for bit."""
    from sim.output import mentions_csv, summary_json

    sc = starved(**changes)
    _, often, every = table_sizes(sc, monkeypatch, 0)
    _, never, none = table_sizes(sc, monkeypatch, 10**9)
    assert often >= 3 and never == 0
    assert json.dumps(every.metrics, sort_keys=True) == json.dumps(none.metrics, sort_keys=True)   # NaN too
    assert mentions_csv(every.mentions) == mentions_csv(none.mentions)


@pytest.mark.parametrize("both", [False, True])
def test_compaction_keeps_the_rest_in_order_under_refs_never_used_before(both):
    """The mentions left keep their columns and order and take refs from the table's old end
    on, so a ref held from before can never name another mention; under `with_resolution` the
    resolution times still share the first reply's column."""
    from sim.engine.table import MentionTable

    table = MentionTable(np.array([[0]]), np.array([[0]]), both, 0.0, 1.0, (None, None), None)
    n = 10
    batch = {name: np.zeros(n) for name in ("ack_expect", "resolve_expect", "patience", "ack_work",
                                            "resolve_work", "u_move", "u_follow")}
    batch |= {"arrival": np.arange(n, dtype=float), "channel": np.zeros(n, dtype=np.int64),
              "triaged_as": np.zeros(n, dtype=np.int64), "type": np.zeros(n, dtype=np.int64),
              "followers": np.ones(n, dtype=np.int64), "id": np.arange(100, 100 + n),
              "parent_id": np.full(n, -1), "origin": np.zeros(n, dtype=np.int64)}
    table.add(batch)
    table.drop(2)                                   # refs 2..9 left; the next would be 10
    table.ack_start[:] = [float(k) for k in range(n - 2)]
    keep = np.zeros(n - 2, dtype=bool)
    keep[[1, 5, 6]] = True
    renumbering = table.compact(keep)
    assert [renumbering(ref) for ref in range(12)] == [-1] * 3 + [10] + [-1] * 3 + [11, 12] + [-1] * 3
    assert renumbering.kept(deque([8, 3, 4, 7, 3, 0, 99])) == [12, 10, 11, 10]   # order kept, the rest gone
    assert table.lo == 10 and table.end == 13 and len(table) == 3
    assert table.ack_start == [1.0, 5.0, 6.0]
    assert list(table.static()["id"]) == [103, 107, 108]
    assert (table.res_start is table.ack_start) == both
    # down to one mention, then to none
    table.compact(np.array([False, True, False]))
    assert table.lo == 13 and table.ack_start == [5.0] and list(table.static()["id"]) == [107]
    table.compact(np.array([False]))
    assert table.lo == 14 and len(table) == 0 and table.ack_start == []
    assert (table.res_start is table.ack_start) == both
