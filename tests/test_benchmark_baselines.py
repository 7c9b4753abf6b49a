"""The reference models of the benchmarks (benchmarks/baselines.py) are the queue they claim to be.

Every speed ratio in docs/performance.md divides by one of them; a reference that simulated a
different queue (the wrong work, no reneging) would make every ratio wrong without a test
noticing. Each is held to Erlang C (no patience) and Erlang A (patience), from `sim.analytic`,
not from the benchmark's own formulas.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

from helpers import REPO

from sim.analytic import erlang_a

sys.path.insert(0, str(REPO / "benchmarks"))
import baselines  # noqa: E402

RATE, MEAN, SERVERS, HORIZON, SEEDS = 8.0, 1.0, 10, 2 * 1440.0, (1, 2, 3)   # load 0.8, ~69,000 customers


@pytest.mark.parametrize("model", list(baselines.MODELS))
@pytest.mark.parametrize("patience", [None, 10.0])
def test_reference_model_is_the_mmc_queue(model, patience):
    """P(wait > 0) within 0.03 and the mean wait within 12 % of theory, pooled over three seeds
    (at load 0.8 the pooled standard errors are about a third of that); with patience, the
    abandonment share within 0.01 and within 15 % of theory (about 4.5 pooled standard errors).
    Work 10 % too long moves P(wait) by 0.1 and the mean wait by half, and a model that ignored
    patience would abandon nobody."""
    if model == "Ciw":
        pytest.importorskip("ciw", reason="Ciw is in the `bench` extra")
    outs = [baselines.MODELS[model](RATE, MEAN, SERVERS, HORIZON, seed, patience) for seed in SEEDS]
    waits = np.concatenate([o.waits for o in outs])
    done = sum(o.completed for o in outs)
    reneged = sum(o.reneged for o in outs)
    theory = erlang_a(SERVERS, RATE, 1.0 / MEAN, 0.0 if patience is None else 1.0 / patience)
    assert done > 60_000
    assert abs(np.mean(waits > 0) - theory.p_delay) < 0.03
    assert abs(waits.mean() / theory.mean_wait - 1.0) < 0.12
    assert abs(reneged / done - theory.p_abandon) < 0.01
    if patience is not None:
        assert reneged > 0
        # and relative to theory's 1.4 %: patience of 5 or 20 minutes moves it by 60 % or 40 %
        assert abs(reneged / done / theory.p_abandon - 1.0) < 0.15
