"""Analytic queueing formulas planners check simulations against: Erlang B, Erlang C, Erlang A.

All rates are per minute, times in minutes. Erlang C is the M/M/c queue (Poisson arrivals,
exponential work, c agents, first come first served, nobody leaves); Erlang A (Palm 1943) adds
exponential patience, M/M/c+M. Erlang A is solved here as its birth-death chain, truncated where
the remaining probability mass is negligible, so it holds for any load, overloaded ones included.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import gammaln, logsumexp
from scipy.stats import poisson

# Probability mass allowed beyond the truncated state space of the Erlang A chain.
_TAIL = 1e-15
_MAX_STATES = 10_000_000


def _check_servers(servers: int) -> int:
    if isinstance(servers, bool) or not isinstance(servers, (int, np.integer)) or servers < 1:
        raise ValueError(f"servers must be a whole number >= 1, got {servers!r}")
    return int(servers)


def _check_rate(value: float, name: str, allow_zero: bool = False) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return value


def _check_time(t: float, name: str = "t") -> float:
    t = float(t)
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"{name} must be a finite time >= 0 (minutes), got {t!r}")
    return t


def erlang_b(servers: int, offered_load: float) -> float:
    """Blocking probability of M/M/c/c (Erlang B), by the stable recursion
    B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))  (e.g. Cooper, Introduction to Queueing Theory, 1981)."""
    c = _check_servers(servers)
    a = _check_rate(offered_load, "offered_load", allow_zero=True)
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in M/M/c (Erlang C): C = c B / (c - a (1 - B)), with B the
    Erlang B blocking probability and a = lambda / mu < c the offered load in erlangs."""
    c = _check_servers(servers)
    a = _check_rate(offered_load, "offered_load", allow_zero=True)
    if a >= c:
        raise ValueError(
            f"Erlang C needs offered load < servers (a stable queue); got load {a:g} erlangs for {c} servers"
        )
    return _p_delay(c, a, erlang_b(c, a))


def _p_delay(c: int, a: float, b: float) -> float:
    """Erlang C from Erlang B: C = c B / (c - a (1 - B))."""
    return c * b / (c - a * (1.0 - b))


def _answered_within(p_delay: float, c: int, lam: float, mu: float, t: float) -> float:
    """P(W <= t) in M/M/c, given the probability of waiting."""
    return 1.0 - p_delay * math.exp(-(c * mu - lam) * t)


def _mmc_args(servers: int, arrival_rate: float, service_rate: float) -> tuple[int, float, float]:
    c = _check_servers(servers)
    lam = _check_rate(arrival_rate, "arrival_rate", allow_zero=True)
    mu = _check_rate(service_rate, "service_rate")
    return c, lam, mu


def erlang_c_wait_cdf(t: float, servers: int, arrival_rate: float, service_rate: float) -> float:
    """P(W <= t) for the FCFS M/M/c queue: 1 - C exp(-(c mu - lambda) t)."""
    t = _check_time(t)
    c, lam, mu = _mmc_args(servers, arrival_rate, service_rate)
    return _answered_within(erlang_c(c, lam / mu), c, lam, mu, t)


def erlang_c_mean_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean wait in queue of all arrivals in M/M/c: E[W] = C / (c mu - lambda)."""
    c, lam, mu = _mmc_args(servers, arrival_rate, service_rate)
    return erlang_c(c, lam / mu) / (c * mu - lam)


def service_level(servers: int, arrival_rate: float, service_rate: float, within: float) -> float:
    """Share of arrivals answered within `within` minutes under Erlang C (the call-centre SL)."""
    return erlang_c_wait_cdf(within, servers, arrival_rate, service_rate)


def staff_for_service_level(arrival_rate: float, service_rate: float, target: float, within: float) -> int:
    """Fewest agents c with Erlang C service level P(W <= within) >= target (Erlang C staffing).

    Walks c upward from the smallest stable value, updating Erlang B by its recursion, so large
    loads cost O(c) in all.
    """
    lam = _check_rate(arrival_rate, "arrival_rate")
    mu = _check_rate(service_rate, "service_rate")
    within = _check_time(within, "within")
    target = float(target)
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must be a share strictly between 0 and 1, got {target!r}")
    a = lam / mu
    c = math.floor(a) + 1                    # smallest c with a < c
    b = erlang_b(c, a)
    limit = c + 100_000
    while c <= limit:
        if _answered_within(_p_delay(c, a, b), c, lam, mu, within) >= target:
            return c
        c += 1
        b = a * b / (c + a * b)
    raise ValueError(f"no staffing up to {limit} agents reaches target {target:g}")


POISSON_BLOCK = 4096   # Poisson weights computed at a time by `_poisson_weights`


def _poisson_weights(mean: float, last: int):
    """P(N = k) for k = 0 … `last`, N Poisson with `mean`, a block at a time: over a long time
    there can be billions of them, and the caller usually stops within a few thousand."""
    for first in range(0, last + 1, POISSON_BLOCK):
        yield from poisson.pmf(np.arange(first, min(first + POISSON_BLOCK, last + 1)), mean)


@dataclass(frozen=True)
class ErlangA:
    """Steady state of M/M/c+M (Erlang A, Palm 1943): `servers` agents, Poisson arrivals at
    `arrival_rate`, exponential work at `service_rate` and patience at `abandon_rate` (per minute).

    `p_delay` = P(an arrival waits at all), `p_abandon` = share of arrivals who abandon,
    `mean_wait` = mean time in queue of all arrivals (until service or abandonment),
    `mean_queue` = time-average number waiting, `utilization` = busy share of the agents.
    """

    servers: int
    arrival_rate: float
    service_rate: float
    abandon_rate: float
    p_delay: float
    p_abandon: float
    mean_wait: float
    mean_queue: float
    utilization: float
    # P(an arrival finds k others waiting ahead of it and all agents busy), k = 0, 1, ...
    queue_ahead: np.ndarray = field(repr=False, compare=False)

    def _tagged(self, t: float) -> tuple[float, float, float]:
        """(served by t, abandoned by t, still waiting at t) for an arrival, counting immediate service.

        With k waiting ahead, the arrival's position drops at rate c mu + k theta (a service at the
        head, or one of those ahead leaving) and it is served at rate c mu once first; it leaves
        itself at rate theta. This pure-death chain is solved exactly by uniformization (Jensen's
        method; Grassmann 1977) with Poisson weights truncated at mass < 1e-15.
        """
        t = _check_time(t)
        immediate = 1.0 - self.p_delay
        p = self.queue_ahead.copy()
        if t == 0.0 or p.size == 0:
            return float(immediate), 0.0, float(p.sum())
        c, mu, theta = self.servers, self.service_rate, self.abandon_rate
        ahead = np.arange(p.size)
        advance = c * mu + ahead * theta               # rate at which position k moves on
        uniform = float(advance[-1] + theta)
        stay = 1.0 - (advance + theta) / uniform
        move = advance / uniform
        mean = uniform * t
        last = int(mean + 12.0 * math.sqrt(mean) + 40)
        served = abandoned = 0.0
        served_t = abandoned_t = waiting_t = used = 0.0
        for w in _poisson_weights(mean, last):
            waiting = float(p.sum())
            if waiting < 1e-17:                     # nobody left waiting, to within 1e-17
                break
            served_t += w * served
            abandoned_t += w * abandoned
            waiting_t += w * waiting
            used += w
            served += p[0] * move[0]
            abandoned += waiting * theta / uniform
            shifted = p * stay
            shifted[:-1] += p[1:] * move[1:]
            p = shifted
        # The Poisson mass not yet used (beyond `last`: < 1e-15, or once the chain has emptied)
        # sees the chain as it stands now.
        rest = max(0.0, 1.0 - used)
        served_t += rest * served
        abandoned_t += rest * abandoned
        waiting_t += rest * float(p.sum())
        return float(immediate + served_t), float(abandoned_t), float(waiting_t)

    def p_wait_le(self, t: float) -> float:
        """P(W <= t) with W the time an arrival spends waiting, until served or until it abandons."""
        return 1.0 - self._tagged(t)[2]

    def p_served_within(self, t: float) -> float:
        """Share of all arrivals served after waiting at most t (abandoners count as not served)."""
        return self._tagged(t)[0]

    def p_abandon_within(self, t: float) -> float:
        """Share of all arrivals who abandon within t of arriving."""
        return self._tagged(t)[1]


def _queue_log_weights(c: int, lam: float, mu: float, theta: float) -> np.ndarray:
    """log(pi_{c+j} / pi_c) for j = 0..J, J large enough that the mass beyond is < _TAIL of pi_c.

    Birth-death balance: pi_{c+j} = pi_{c+j-1} lambda / (c mu + j theta).
    """
    size = 1024
    while True:
        j = np.arange(1, size + 1, dtype=float)
        log_ratio = math.log(lam) - np.log(c * mu + j * theta)
        logs = np.concatenate(([0.0], np.cumsum(log_ratio)))
        # Ratios decrease in j, so once ratio r < 1 the tail after j is at most pi_j r / (1 - r).
        r = np.exp(log_ratio)
        below = r < 1.0
        bound = np.full(size, np.inf)
        bound[below] = logs[1:][below] + log_ratio[below] - np.log1p(-r[below])
        ok = below & (bound < math.log(_TAIL) + logs.max())
        if ok.any():
            return logs[: int(np.argmax(ok)) + 2]
        if size >= _MAX_STATES:
            raise ValueError("the Erlang A queue is too close to instability to be solved numerically")
        size *= 4


def erlang_a(servers: int, arrival_rate: float, service_rate: float, abandon_rate: float) -> ErlangA:
    """Solve Erlang A (M/M/c+M) exactly from its birth-death chain.

    States n = customers present; birth rate lambda, death rate min(n, c) mu + max(n - c, 0) theta.
    By PASTA an arrival sees the stationary law: P(delay) = P(N >= c); by the rate balance of
    abandonments, P(abandon) = theta E[Q] / lambda; by Little, mean wait = E[Q] / lambda
    (Mandelbaum & Zeltyn 2007, "Service engineering in action: the Palm/Erlang-A queue").
    With abandon_rate 0 it is Erlang C, which needs lambda < c mu.
    """
    c, _, mu = _mmc_args(servers, arrival_rate, service_rate)
    lam = _check_rate(arrival_rate, "arrival_rate")   # here it must be positive
    theta = _check_rate(abandon_rate, "abandon_rate", allow_zero=True)
    if theta == 0.0 and lam >= c * mu:
        raise ValueError(
            f"without abandonment the queue needs arrival_rate < servers x service_rate; "
            f"got {lam:g} >= {c} x {mu:g}"
        )
    a = lam / mu
    n = np.arange(c + 1)
    log_low = n * math.log(a) - gammaln(n + 1)          # pi_n / pi_0 for n <= c
    log_high = log_low[-1] + _queue_log_weights(c, lam, mu, theta)[1:]
    logs = np.concatenate((log_low, log_high))
    probs = np.exp(logs - logsumexp(logs))
    waiting_states = probs[c:]                           # n = c, c+1, ...: all agents busy
    queue = np.arange(waiting_states.size, dtype=float)
    mean_queue = float(queue @ waiting_states)
    busy = float(n[:c] @ probs[:c]) + c * float(waiting_states.sum())
    return ErlangA(
        servers=c,
        arrival_rate=lam,
        service_rate=mu,
        abandon_rate=theta,
        p_delay=float(waiting_states.sum()),
        p_abandon=theta * mean_queue / lam,
        mean_wait=mean_queue / lam,
        mean_queue=mean_queue,
        utilization=busy / c,
        queue_ahead=waiting_states,
    )
