"""caresim: staffing and SLA planning for social-media customer care, by simulation.

For notebooks: `sim.run(scenario, replications=…)`, `sim.compare([a, b, …])`, `sim.load(path)`
and `sim.variant(path, changes)` (see `sim.api`). They are imported on first use, so
`import sim` stays cheap for the command line.
"""
from __future__ import annotations

_API = ("run", "compare", "load", "variant", "Result", "Comparison")


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])


__all__ = list(_API)
