"""The NumPy CSV writer gives exactly the bytes of plain Python formatting.

The reference below is the straightforward cell-by-cell formatting the writer replaced; every
comparison is of the whole text, so a single differing byte fails.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import make_log

import sim.mentions_csv
from sim import csv_bytes, output
from sim.records import CSV_COLUMNS, ORIGINS, OUTCOMES, SERIES_COLUMNS, TIME_COLUMNS, MentionLog, TimeSeries
from sim.runner import run
from sim.scenario import parse_scenario


def ref_times(values) -> list[str]:
    return ["" if x != x else f"{x:.4f}" for x in values.tolist()]


def ref_names(codes, names) -> list[str]:
    return ["" if c < 0 else list(names)[c] for c in codes.tolist()]


def ref_mentions_csv(log: MentionLog) -> str:
    cat = {"channel": log.channels, "type": log.types, "triaged_as": log.types, "pool": log.pools,
           "origin": ORIGINS, "outcome": OUTCOMES}
    cols = []
    for name in CSV_COLUMNS:
        v = log[name]
        if name in cat:
            cols.append(ref_names(v, cat[name]))
        elif v.dtype.kind == "f":
            cols.append(ref_times(v))
        elif v.dtype.kind == "b":
            cols.append(["1" if x else "0" for x in v.tolist()])
        elif name == "parent_id":
            cols.append(["" if x < 0 else str(x) for x in v.tolist()])
        else:
            cols.append([str(x) for x in v.tolist()])
    return "\n".join([",".join(CSV_COLUMNS)] + [",".join(row) for row in zip(*cols)]) + "\n"


def ref_timeseries_csv(series: TimeSeries) -> str:
    cols = [
        [str(x) for x in series.replication.tolist()],
        ref_times(series.time),
        ref_names(series.pool, series.pools),
        *(ref_times(series.values[k]) if k != "arrivals" else [str(int(x)) for x in series.values[k].tolist()]
          for k in SERIES_COLUMNS),
    ]
    header = ",".join(("replication", "time", "pool", *SERIES_COLUMNS))
    return "\n".join([header] + [",".join(r) for r in zip(*cols)]) + "\n"


def assert_same_text(got: str, want: str) -> None:
    if got != want:   # name the first difference rather than print megabytes
        at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        line = want.count("\n", 0, at) + 1
        raise AssertionError(f"line {line}: got {got[at - 40:at + 40]!r}, want {want[at - 40:at + 40]!r}")


def assert_writes_reference(log: MentionLog, tmp_path) -> None:
    want = ref_mentions_csv(log)
    assert_same_text(output.mentions_csv(log), want)
    path = tmp_path / "mentions.csv"
    output.write_mentions_csv(log, path)
    assert path.read_bytes() == want.encode("utf-8")


# Rounding ties (exact in binary, or the nearest double to one), values whose rounding carries
# into the whole part, extremes of size, signed zero and non-finite values.
AWKWARD = [
    math.nan, 0.0, -0.0, 5e-5, 0.00005, 2.5e-5, 1.5e-4, 1.23455, 0.03125, 0.00015625, 1.00005,
    0.99995, 9.99995, 99.99995, 43199.99995, 123456.78905, 1e6, 1e6 + 0.00005, 0.1, 0.2, 0.3,
    0.49999999, 1e-300, 5e-324, 2.0 ** 40 + 0.5, 1e10, 1e11 - 0.00005, 1e11, 1e15, 2.0 ** 53, 1e16,
    1e20, 1.7976931348623157e308, math.inf, -math.inf, -1.5, -0.00004, -0.00005, -123.45675,
]


def awkward_floats(n: int, seed: int = 1) -> np.ndarray:
    """AWKWARD, then values at and beside ten-thousandth ties at every scale, then random ones."""
    rng = np.random.default_rng(seed)
    k = np.floor(10.0 ** rng.uniform(0, 14, n)) + 0.5
    ties = k / 1e4
    beside = np.concatenate([ties, np.nextafter(ties, 0), np.nextafter(ties, np.inf)])
    random = np.concatenate([10.0 ** rng.uniform(-9, 11, n), rng.uniform(0, 50_000, n)])
    values = np.concatenate([AWKWARD, beside, random, -random[:100]])
    return values[rng.permutation(values.size)]


def test_fixed_point_matches_python_at_ties_and_extremes():
    values = awkward_floats(20_000)
    for decimals in range(0, 7):
        got = csv_bytes.rows_bytes([csv_bytes.fixed(values, decimals)]).decode()
        want = "".join(("" if x != x else f"{x:.{decimals}f}") + "\n" for x in values.tolist())
        assert_same_text(got, want)


def test_integers_of_every_width_and_sign():
    values = np.array([0, 1, 9, 10, 99, 100, 65_535, 65_536, 2**31 - 1, 2**32 - 1, 2**32, 10**18,
                       2**63 - 1, -1, -10, -(2**63)], dtype=np.int64)
    got = csv_bytes.rows_bytes([csv_bytes.integers(values), csv_bytes.integers(values, blank_negative=True)])
    want = "".join(f"{x},{x if x >= 0 else ''}\n" for x in values.tolist())
    assert got.decode() == want
    top = np.array([2**64 - 1, 0], dtype=np.uint64)
    assert csv_bytes.rows_bytes([csv_bytes.integers(top)]) == b"18446744073709551615\n0\n"


def test_awkward_log_writes_the_reference_bytes(tmp_path, monkeypatch):
    n = 3_000
    times = awkward_floats(n // 4, seed=2)[:n]
    n = times.size
    rng = np.random.default_rng(3)
    ints = np.array([0, 7, 10, 99, 12_345, 2**31, 2**40, 2**63 - 1])
    log = make_log(
        channels=("twitter", "café", "x"), types=("complaint", "question"), pools=("social", "back office"),
        id=rng.choice(ints, n), parent_id=rng.choice(np.append(ints, [-1, -5]), n),
        replication=rng.integers(0, 12, n), followers=rng.choice(np.append(ints, [-1, -123_456]), n),
        channel=rng.integers(-1, 3, n), type=rng.integers(-1, 2, n), triaged_as=rng.integers(-1, 2, n),
        pool=rng.integers(-1, 2, n), origin=rng.integers(0, len(ORIGINS), n),
        outcome=rng.integers(0, len(OUTCOMES), n), ack_breached=rng.random(n) < 0.5,
        resolve_breached=rng.random(n) < 0.5,
        **{name: times[rng.permutation(n)] for name in TIME_COLUMNS},
    )
    monkeypatch.setattr(sim.mentions_csv, "CSV_CHUNK", 7)   # rows across many chunk boundaries
    assert_writes_reference(log, tmp_path)


@pytest.fixture(scope="module")
def simulated():
    path = Path(__file__).resolve().parent.parent / "scenarios" / "viral_outage.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(horizon="3d", warmup="6h", replications=2)
    return run(parse_scenario(data))


def test_simulated_log_writes_the_reference_bytes(simulated, tmp_path):
    log = simulated.mentions
    assert len(log) > 1_000 and (log["parent_id"] >= 0).any() and np.isnan(log["abandoned_at"]).any()
    assert_writes_reference(log, tmp_path)


def test_simulated_timeseries_writes_the_reference_text(simulated):
    assert_same_text(output.timeseries_csv(simulated.series), ref_timeseries_csv(simulated.series))


def test_empty_log_is_the_header_alone(tmp_path):
    log = make_log(id=np.zeros(0, dtype=int))
    assert output.mentions_csv(log) == ",".join(CSV_COLUMNS) + "\n"
    assert_writes_reference(log, tmp_path)
