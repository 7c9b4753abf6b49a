"""Policy comparison under common random numbers: run scenarios on the same seeds, pair the
replications, and state each difference with its confidence interval in plain words.

Replication i of every scenario gets the same child of `SeedSequence(seed)`, and inside it the
same per-stream children (`STREAMS` of `sim.arrivals.source`, then one generator per attribute), so
scenarios with the same arrivals section, start, warm-up and horizon see the same base and
incident customers with the same expectations, patience and work quantiles. Differences are
then taken replication by replication (`sim.metrics.paired_difference`): the customers'
randomness cancels and the interval is much narrower than for independent runs.
"""
from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .differences import Difference, difference, format_estimate, metric_words, verdict
from .expectation_gap import HourOfWeekBreaches
from .records import Replication
from .scenario.models import Scenario

if TYPE_CHECKING:  # the report reads comparisons without importing the engine
    from .runner import RunResult

# The metrics of the output contract: the terminal table and the report's main table.
CORE_METRICS = (
    "mentions", "cascade_mentions", "acknowledged_share", "resolved_share", "abandoned_share",
    "ack_time_p50", "ack_time_p90", "resolve_time_p50", "resolve_time_p90", "ack_sla_attainment",
    "resolve_sla_attainment", "ack_breach_rate", "resolve_breach_rate", "agent_hours", "cost",
    "utilization", "max_queue_length",
)


# ---------------------------------------------------------------------------------------------
# Running a comparison


@dataclass(frozen=True, repr=False)
class Comparison:
    """Scenarios run on the same seeds; the first is the reference every other is paired with."""

    labels: tuple[str, ...]
    results: tuple[RunResult, ...]
    seed: int
    replications: int

    def __repr__(self) -> str:
        return (f"<caresim comparison {' vs '.join(self.labels)}: {self.replications} replications, "
                f"seed {self.seed}>")

    @cached_property
    def per_replication(self) -> tuple[tuple[dict[str, float], ...], ...]:
        """Every metric of every replication, per scenario."""
        return tuple(tuple(r.per_replication) for r in self.results)

    @cached_property
    def metrics(self) -> tuple[str, ...]:
        """Metric names: the reference's order, then any only other scenarios have."""
        names: list[str] = []
        for result in self.results:
            names += [k for k in result.summary if k not in names]
        return tuple(names)

    @cached_property
    def differences(self) -> tuple[dict[str, Difference], ...]:
        """Per scenario (the reference's own entry is empty), metric -> paired difference."""
        base = self.per_replication[0]
        out: list[dict[str, Difference]] = [{}]
        for reps in self.per_replication[1:]:
            out.append({
                name: difference([m.get(name, math.nan) for m in base], [m.get(name, math.nan) for m in reps])
                for name in self.metrics
            })
        return tuple(out)

    @cached_property
    def same_arrivals(self) -> tuple[bool, ...]:
        """Whether each scenario's arrivals, start, warm-up and horizon equal the reference's:
        then the same customers arrive (cascades driven by the closed loop aside)."""
        def key(s: Scenario) -> str:  # as text: the order of types and channels matters to the draws
            return json.dumps([s.arrivals.model_dump(mode="json"), s.start.isoformat(), s.warmup, s.horizon])

        ref = key(self.results[0].scenario)
        return tuple(key(r.scenario) == ref for r in self.results)

    @property
    def reference(self) -> str:
        return self.labels[0]

    def stats(self, index: int, name: str) -> dict[str, float]:
        nan = {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan}
        return self.results[index].summary.get(name, nan)

    def verdict(self, index: int, name: str) -> str:
        """The difference of scenario `index` to the reference in words ('' for the reference)."""
        if index == 0:
            return ""
        return verdict(self.labels[index], name, self.differences[index][name])

    def hour_of_week(self, index: int) -> HourOfWeekBreaches:
        """Breach rates of scenario `index` by hour of the week of arrival (`sim.expectation_gap`),
        from its records or, when it kept none, its tally."""
        from .breakdown_tally import breakdown_source, week_breakdown

        result = self.results[index]
        source = breakdown_source(result)
        if source is None:
            raise ValueError(f"{self.labels[index]} kept neither its records nor a tally of them "
                             "(breakdowns=False): its hours of the week cannot be drawn")
        return week_breakdown(source, result.scenario)

    def table(self, metrics: Sequence[str] = CORE_METRICS) -> str:
        """The printable table `caresim compare` shows (`metrics=self.metrics` for all)."""
        return comparison_table(self, metrics)

    def plot_cost_vs_breach(self):
        """Cost against breach rates, one point per scenario with CI bars (a matplotlib Figure)."""
        from .report.compare import cost_vs_breach_figure

        return cost_vs_breach_figure(self)

    def plot_breach_by_hour_of_week(self):
        """Breach rates by hour of week, a line per scenario (a matplotlib Figure)."""
        from .report.compare import hour_of_week_figure

        return hour_of_week_figure(self)

    def write(self, out_dir: str | Path | None = None, report: bool = True) -> Path:
        """Write the comparison's files, as `caresim compare` does (default outputs/compare-…/)."""
        return write_comparison(self, default_output(self.labels) if out_dir is None else out_dir, report)


def unique_labels(names: Sequence[str]) -> list[str]:
    """Names made unique by a `-2`, `-3`, … suffix on repeats."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else f"{name}-{seen[name]}"
        while label in out:
            seen[name] += 1
            label = f"{name}-{seen[name]}"
        out.append(label)
    return out


def compare(scenarios: Sequence[Scenario], replications: int | None = None, seed: int | None = None,
            workers: int = 1, labels: Sequence[str] | None = None,
            on_done: Callable[[str, Replication], None] | None = None, dask: str | None = None,
            keep_mentions: bool = True, breakdowns: bool = True) -> Comparison:
    """Run every scenario with the same seed and replication count (default: the first
    scenario's) and pair their replications; the first scenario is the reference. Replications
    run as `sim.runner.run` runs them: `workers` local processes, or a Dask cluster (`dask`:
    its address, or "local"). With `keep_mentions=False` no scenario keeps its records: the
    statistics stream (quantiles within 0.6 %) and, with `breakdowns`, what the report needs is
    tallied."""
    from .runner import ReplicationFailed, RunawayArrivals, run

    if len(scenarios) < 2:
        raise ValueError("a comparison needs at least two scenarios")
    first = scenarios[0]
    n = first.replications if replications is None else replications
    seed = first.seed if seed is None else seed
    labels = unique_labels(list(labels) if labels is not None else [s.name for s in scenarios])
    results = []
    for label, scenario in zip(labels, scenarios):
        done = (lambda rep, label=label: on_done(label, rep)) if on_done else None
        try:
            results.append(run(scenario, replications=n, seed=seed, workers=workers, on_done=done, dask=dask,
                               keep_mentions=keep_mentions, breakdowns=breakdowns))
        except (RunawayArrivals, ReplicationFailed) as exc:
            exc.label = label  # which scenario ran away or failed
            raise
    return Comparison(tuple(labels), tuple(results), seed, n)


# ---------------------------------------------------------------------------------------------
# Text outputs


def _clean(x: float) -> float | None:
    return None if not math.isfinite(x) else x + 0.0  # + 0.0 turns -0.0 into 0.0


def comparison_json(cmp: Comparison) -> str:
    """comparison.json: per scenario every metric's mean and CI, and the paired difference to
    the reference with its CI, the unpaired CI for contrast, and the verdict."""
    scenarios = []
    for i, (label, result) in enumerate(zip(cmp.labels, cmp.results)):
        entry = {
            "label": label,
            "scenario": result.scenario.name,
            "same_arrivals_as_reference": cmp.same_arrivals[i],
            "metrics": {k: {s: _clean(v) for s, v in cmp.stats(i, k).items()} for k in cmp.metrics},
        }
        if i:
            entry["difference"] = {
                k: {"mean": _clean(d.mean), "ci_low": _clean(d.ci_low), "ci_high": _clean(d.ci_high),
                    "unpaired_ci_low": _clean(d.unpaired_low), "unpaired_ci_high": _clean(d.unpaired_high),
                    "verdict": cmp.verdict(i, k)}
                for k, d in cmp.differences[i].items()
            }
        scenarios.append(entry)
    doc = {"reference": cmp.reference, "seed": cmp.seed, "replications": cmp.replications,
           "common_random_numbers": True, "scenarios": scenarios}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _cell(x: float) -> str:
    return "" if not math.isfinite(x) else repr(x + 0.0)


CSV_HEADER = ("metric", "scenario", "mean", "ci_low", "ci_high", "diff_mean", "diff_ci_low", "diff_ci_high",
              "unpaired_ci_low", "unpaired_ci_high", "verdict")


def comparison_csv(cmp: Comparison) -> str:
    """comparison.csv: one row per metric and scenario; difference columns empty for the reference."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for name in cmp.metrics:
        for i, label in enumerate(cmp.labels):
            s = cmp.stats(i, name)
            row = [name, label, _cell(s["mean"]), _cell(s["ci_low"]), _cell(s["ci_high"])]
            if i:
                d = cmp.differences[i][name]
                row += [_cell(d.mean), _cell(d.ci_low), _cell(d.ci_high), _cell(d.unpaired_low),
                        _cell(d.unpaired_high), cmp.verdict(i, name)]
            else:
                row += [""] * 6
            writer.writerow(row)
    return buffer.getvalue()


def comparison_table(cmp: Comparison, metrics: Sequence[str] = CORE_METRICS) -> str:
    """The terminal table: per metric, each scenario's mean [95 % CI] and its verdict against the reference."""
    rows = [("metric", "scenario", "mean [95 % CI]", f"vs {cmp.reference}")]
    for name in metrics:
        if name not in cmp.metrics:
            continue
        for i, label in enumerate(cmp.labels):
            s = cmp.stats(i, name)
            rows.append((metric_words(name) if i == 0 else "", label,
                         format_estimate(name, s["mean"], s["ci_low"], s["ci_high"]), cmp.verdict(i, name)))
    widths = [max(len(r[c]) for r in rows) for c in range(3)]
    lines = ["  ".join(r[c].ljust(widths[c]) for c in range(3)) + "  " + r[3] for r in rows]
    lines.insert(1, "-" * min(max(len(line) for line in lines), 120))
    return "\n".join(line.rstrip() for line in lines)


def default_output(labels: Sequence[str]) -> Path:
    return Path("outputs") / ("compare-" + "-".join(labels))


def write_comparison(cmp: Comparison, out_dir: str | Path, report: bool = True) -> Path:
    """Write comparison.json, comparison.csv, each scenario's YAML, and (with `report`) the plots
    and report.html into `out_dir`, atomically: a temporary folder renamed into place."""
    from .output import atomic_folder, scenario_yaml

    with atomic_folder(out_dir) as tmp:
        (tmp / "comparison.json").write_text(comparison_json(cmp), encoding="utf-8")
        (tmp / "comparison.csv").write_text(comparison_csv(cmp), encoding="utf-8")
        (tmp / "scenarios").mkdir()
        for label, result in zip(cmp.labels, cmp.results):
            (tmp / "scenarios" / f"{label}.yaml").write_text(scenario_yaml(result), encoding="utf-8")
        if report:
            from .report.compare import write_comparison_report

            write_comparison_report(cmp, tmp)
    return Path(out_dir)
