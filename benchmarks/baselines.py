"""Reference M/M/c models that caresim's throughput is measured against.

Three implementations of the same queue (Poisson arrivals, exponential work, `servers` servers,
first come first served, optionally exponential patience with reneging):

- `run_idiomatic_simpy`: the textbook SimPy model (one process per customer, as in SimPy's
  `bank_renege` example), random numbers drawn one call at a time;
- `run_ciw_mmc`: the same queue in Ciw;
- `run_heapq_mmc`: a bare `heapq` event loop with pre-drawn random numbers, the pure-Python ceiling.

Each `run_xxx(arrival_rate, service_mean, servers, horizon, seed, patience_mean=None)` returns
`(customers_completed, seconds)`: customers who left the system before `horizon` (served, or
reneged when `patience_mean` is given) and the wall-clock seconds the run took. Time units are the
caller's (caresim uses minutes). The matching `simulate_xxx` functions return an `Outcome` with the
waits, for the sanity check against Erlang C / Erlang A in `__main__`.
"""
from __future__ import annotations

import heapq
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import simpy


@dataclass(frozen=True)
class Outcome:
    """What one run of a reference model produced."""

    served: int  # customers whose service ended before the horizon
    reneged: int  # customers who ran out of patience before the horizon
    waits: np.ndarray  # time in queue of every customer who left (served: until service; reneged: until leaving)
    served_waits: np.ndarray  # time in queue of the served customers
    seconds: float  # wall-clock time of the run, result bookkeeping excluded

    @property
    def completed(self) -> int:
        return self.served + self.reneged


def _outcome(served_waits: list[float], reneged_waits: list[float], seconds: float) -> Outcome:
    served = np.asarray(served_waits, dtype=float)
    reneged = np.asarray(reneged_waits, dtype=float)
    return Outcome(len(served), len(reneged), np.concatenate([served, reneged]), served, seconds)


# --- idiomatic SimPy ---------------------------------------------------------------------------


def simulate_idiomatic_simpy(
    arrival_rate: float, service_mean: float, servers: int, horizon: float, seed: int,
    patience_mean: float | None = None,
) -> Outcome:
    """The textbook SimPy M/M/c: a source process spawns one process per customer."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    counter = simpy.Resource(env, capacity=servers)
    served_waits: list[float] = []
    reneged_waits: list[float] = []

    def customer(env: simpy.Environment, counter: simpy.Resource):
        arrive = env.now
        with counter.request() as req:
            if patience_mean is None:
                yield req
            else:
                patience = rng.exponential(patience_mean)
                results = yield req | env.timeout(patience)
                if req not in results:
                    reneged_waits.append(env.now - arrive)
                    return
            wait = env.now - arrive
            yield env.timeout(rng.exponential(service_mean))
            served_waits.append(wait)

    def source(env: simpy.Environment, counter: simpy.Resource):
        while True:
            yield env.timeout(rng.exponential(1.0 / arrival_rate))
            env.process(customer(env, counter))

    env.process(source(env, counter))
    env.run(until=horizon)
    return _outcome(served_waits, reneged_waits, time.perf_counter() - start)


def run_idiomatic_simpy(
    arrival_rate: float, service_mean: float, servers: int, horizon: float, seed: int,
    patience_mean: float | None = None,
) -> tuple[int, float]:
    out = simulate_idiomatic_simpy(arrival_rate, service_mean, servers, horizon, seed, patience_mean)
    return out.completed, out.seconds


# --- Ciw ---------------------------------------------------------------------------------------


def simulate_ciw_mmc(
    arrival_rate: float, service_mean: float, servers: int, horizon: float, seed: int,
    patience_mean: float | None = None,
) -> Outcome:
    """The same M/M/c in Ciw; reneging through `reneging_time_distributions`."""
    import ciw  # optional dependency (the `bench` extra)

    start = time.perf_counter()
    # Ciw draws from the global `random` module: seeding it is Ciw's own API.
    ciw.seed(seed)
    kwargs = {}
    if patience_mean is not None:
        kwargs["reneging_time_distributions"] = [ciw.dists.Exponential(rate=1.0 / patience_mean)]
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=arrival_rate)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / service_mean)],
        number_of_servers=[servers],
        **kwargs,
    )
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(horizon)
    seconds = time.perf_counter() - start
    served_waits, reneged_waits = [], []
    for record in sim.get_all_records():
        if record.record_type == "service" and record.service_end_date <= horizon:
            served_waits.append(record.waiting_time)
        elif record.record_type == "renege" and record.exit_date <= horizon:
            reneged_waits.append(record.waiting_time)
    return _outcome(served_waits, reneged_waits, seconds)


def run_ciw_mmc(
    arrival_rate: float, service_mean: float, servers: int, horizon: float, seed: int,
    patience_mean: float | None = None,
) -> tuple[int, float]:
    out = simulate_ciw_mmc(arrival_rate, service_mean, servers, horizon, seed, patience_mean)
    return out.completed, out.seconds


# --- bare heapq event loop ---------------------------------------------------------------------

_ARRIVAL, _DEPARTURE, _RENEGE = 0, 1, 2


def _arrival_times(rng: np.random.Generator, rate: float, horizon: float) -> np.ndarray:
    """Poisson arrival times in [0, horizon), drawn in vectorised blocks."""
    blocks, last = [], 0.0
    block = int(rate * horizon * 1.05) + 100
    while last < horizon:
        times = last + np.cumsum(rng.exponential(1.0 / rate, block))
        blocks.append(times)
        last = float(times[-1])
    times = np.concatenate(blocks)
    return times[times < horizon]


def simulate_heapq_mmc(
    arrival_rate: float, service_mean: float, servers: int, horizon: float, seed: int,
    patience_mean: float | None = None,
) -> Outcome:
    """M/M/c as a bare event loop over a heap of (time, kind, customer); the pure-Python ceiling."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    arrivals = _arrival_times(rng, arrival_rate, horizon).tolist()
    n = len(arrivals)
    services = rng.exponential(service_mean, n).tolist()
    patience = rng.exponential(patience_mean, n).tolist() if patience_mean is not None else None
    service_start = [-1.0] * n  # -1: not (yet) in service
    gone = [False] * n  # reneged
    queue: deque[int] = deque()
    free = servers
    served_waits: list[float] = []
    reneged_waits: list[float] = []
    events: list[tuple[float, int, int]] = [(arrivals[0], _ARRIVAL, 0)] if n else []
    push, pop = heapq.heappush, heapq.heappop
    while events:
        now, kind, i = pop(events)
        if now >= horizon:
            break
        if kind == _ARRIVAL:
            if i + 1 < n:
                push(events, (arrivals[i + 1], _ARRIVAL, i + 1))
            if free:
                free -= 1
                service_start[i] = now
                push(events, (now + services[i], _DEPARTURE, i))
            else:
                queue.append(i)
                if patience is not None:
                    push(events, (now + patience[i], _RENEGE, i))
        elif kind == _DEPARTURE:
            served_waits.append(service_start[i] - arrivals[i])
            while queue and gone[queue[0]]:
                queue.popleft()
            if queue:
                j = queue.popleft()
                service_start[j] = now
                push(events, (now + services[j], _DEPARTURE, j))
            else:
                free += 1
        elif service_start[i] < 0.0:  # a renege event of a customer still waiting
            gone[i] = True
            reneged_waits.append(now - arrivals[i])
    return _outcome(served_waits, reneged_waits, time.perf_counter() - start)


def run_heapq_mmc(
    arrival_rate: float, service_mean: float, servers: int, horizon: float, seed: int,
    patience_mean: float | None = None,
) -> tuple[int, float]:
    out = simulate_heapq_mmc(arrival_rate, service_mean, servers, horizon, seed, patience_mean)
    return out.completed, out.seconds


MODELS = {
    "idiomatic SimPy": simulate_idiomatic_simpy,
    "Ciw": simulate_ciw_mmc,
    "heapq loop": simulate_heapq_mmc,
}


# --- theory for the sanity check ----------------------------------------------------------------


def erlang_c(servers: int, load: float) -> float:
    """Probability of waiting in M/M/c with offered load `load` = lambda / mu (Erlang C)."""
    term, total = 1.0, 1.0
    for k in range(1, servers):
        term *= load / k
        total += term
    last = term * load / servers / (1.0 - load / servers)
    return last / (total + last)


def erlang_a(arrival_rate: float, service_mean: float, servers: int, patience_mean: float) -> tuple[float, float, float]:
    """(P(wait > 0), P(abandon), mean time in queue) of M/M/c+M (Palm), from the birth-death chain."""
    mu, theta = 1.0 / service_mean, 1.0 / patience_mean
    weights = [1.0]
    n = 0
    while True:
        n += 1
        weights.append(weights[-1] * arrival_rate / (min(n, servers) * mu + max(n - servers, 0) * theta))
        if n > servers and weights[-1] < 1e-16 * sum(weights):
            break
    p = np.asarray(weights) / sum(weights)
    queue = float(sum(max(k - servers, 0) * pk for k, pk in enumerate(p)))
    return float(p[servers:].sum()), theta * queue / arrival_rate, queue / arrival_rate


def _check(rate: float = 9.0, mean: float = 1.0, servers: int = 10, horizon: float = 3 * 1440,
           patience: float | None = None, seeds: tuple[int, ...] = (1, 2, 3)) -> None:
    load = rate * mean
    if patience is None:
        p_wait = erlang_c(servers, load)
        theory = (p_wait, 0.0, p_wait * mean / (servers - load))
        label = "Erlang C"
    else:
        theory = erlang_a(rate, mean, servers, patience)
        label = "Erlang A"
    title = f"M/M/{servers}, lambda={rate:g}, mean work={mean:g}" + (f", mean patience={patience:g}" if patience else "")
    print(f"\n{title}; horizon {horizon:g}, seeds {list(seeds)} pooled")
    print(f"{'model':<18}{'customers':>10}{'P(wait>0)':>11}{'P(abandon)':>11}{'mean wait':>11}{'cust/s':>10}")
    for name, simulate in MODELS.items():
        outs = [simulate(rate, mean, servers, horizon, s, patience) for s in seeds]
        waits = np.concatenate([o.waits for o in outs])
        done = sum(o.completed for o in outs)
        reneged = sum(o.reneged for o in outs)
        speed = done / sum(o.seconds for o in outs)
        print(f"{name:<18}{done:>10}{np.mean(waits > 0):>11.4f}{reneged / done:>11.4f}{waits.mean():>11.4f}{speed:>10,.0f}")
    print(f"{label:<18}{'':>10}{theory[0]:>11.4f}{theory[1]:>11.4f}{theory[2]:>11.4f}")


if __name__ == "__main__":
    # Sanity: each model is a correct M/M/c (waits vs Erlang C) and M/M/c+M (abandonment vs Erlang A).
    # Heavy traffic (rho = 0.9) makes single runs noisy: expect agreement within a few per cent.
    _check()
    _check(patience=10.0)
