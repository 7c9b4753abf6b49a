"""The report's figures, drawn from the breakdown tables (`sim.breakdowns`).

Each function returns a `matplotlib.figure.Figure` bound to an Agg canvas; nothing touches
pyplot or the global rcParams, so drawing a report leaves no state behind. Styling is set on
each artist.
"""
from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator, PercentFormatter

from .. import breakdowns
from ..breakdown_tally import Breakdowns, ack_picture, group_breakdown, hourly_breakdown
from ..records import ORIGINS, MentionLog, TimeSeries

DPI = 110
ACK_COLOR = "#1f5fa8"
RESOLVE_COLOR = "#d9782d"
EXPECT_COLOR = "#7a7a7a"
STAFF_COLORS = ("#2e8b57", "#8e44ad", "#a0522d", "#5f9ea0", "#b8860b", "#708090")
TEXT_COLOR = "#222222"
GRID = {"color": "#dddddd", "linewidth": 0.8}
# Log-axis ticks for durations, in minutes.
DURATION_TICKS = (
    (0.25, "15 s"), (0.5, "30 s"), (1, "1 min"), (2, "2 min"), (5, "5 min"), (15, "15 min"),
    (30, "30 min"), (60, "1 h"), (120, "2 h"), (240, "4 h"), (480, "8 h"), (1440, "1 d"),
    (2880, "2 d"), (4320, "3 d"), (10080, "1 w"), (20160, "2 w"), (43200, "30 d"),
)


def format_duration(minutes: float) -> str:
    """A duration in minutes as short words: `45 s`, `7.5 min`, `1 h`, `36 h`, `3 d`."""
    if not np.isfinite(minutes):
        return "—"
    if minutes < 1:
        return f"{minutes * 60:.3g} s"
    if minutes < 60:
        return f"{minutes:.3g} min"
    if minutes < 2880 and minutes % 1440:
        return f"{minutes / 60:.3g} h"
    return f"{minutes / 1440:.3g} d"


def _figure(width: float = 10.0, height: float = 4.8) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _style(ax, grid: str = "y") -> None:
    """Light spines and ticks, a grid along `grid` (`y`, `x` or `both`) behind the data."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#999999")
    ax.tick_params(colors=TEXT_COLOR, labelsize=9)
    ax.grid(True, axis=grid, **GRID)
    ax.set_axisbelow(True)


def _title(fig: Figure, ax, title: str, subtitle: str) -> None:
    fig.suptitle(title, fontsize=13, fontweight="bold", color=TEXT_COLOR)
    ax.set_title(subtitle, fontsize=9, color="#555555")


def _no_data(ax, text: str = "no mentions to show") -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#777777")


def _calendar(scenario, minutes: np.ndarray) -> np.ndarray:
    """Minutes since minute 0 as wall-clock datetime64 values (time zone dropped)."""
    start = np.datetime64(scenario.start.replace(tzinfo=None), "ms")
    return start + np.round(np.asarray(minutes, dtype=float) * 60_000).astype("timedelta64[ms]")


def _series_figure(series: TimeSeries, scenario, title: str, subtitle: str):
    """A figure for a time series over calendar time: (figure, axes, the series averaged over
    replications, or None when nothing was recorded). `subtitle`, after the scenario's name,
    may use `{reps}` and `{interval}`."""
    fig = _figure(10.5, 5.0)
    ax = fig.add_subplot()
    _style(ax)
    reps = breakdowns.replication_count(series) if len(series.time) else 0
    runs = f"{reps} replication{'s' * (reps != 1)}"
    _title(fig, ax, title, f"{scenario.name}: "
           + subtitle.format(reps=runs, interval=format_duration(scenario.report_interval)))
    if len(series.time) == 0:
        _no_data(ax, "no time series recorded")
        return fig, ax, None
    return fig, ax, breakdowns.queue_series_mean(series)


def _calendar_axis(ax, x: np.ndarray) -> None:
    locator = AutoDateLocator(minticks=4, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel("calendar time", color=TEXT_COLOR)


def _stairs(values: np.ndarray) -> np.ndarray:
    """Step values with the last repeated, to draw `where="post"` steps up to the last edge."""
    return np.append(values, values[-1])


def queues_figure(series: TimeSeries, scenario) -> Figure:
    """Acknowledgement and resolution queues over time (mean over replications), agents on duty per pool.

    The series starts at the end of the warm-up (`sim.engine.collect`), as the metrics do.
    """
    fig, ax, mean = _series_figure(
        series, scenario, "Queues and staffing over time",
        "waiting mentions, mean over {reps} per {interval} interval; agents on duty on the right axis")
    if mean is None:
        return fig
    step = np.append(mean.time, min(mean.time[-1] + scenario.report_interval, max(scenario.end, mean.time[-1])))
    x = _calendar(scenario, step)
    lines = []
    for name, label, color in (("ack_queue", "waiting for acknowledgement", ACK_COLOR),
                               ("resolve_queue", "waiting for resolution", RESOLVE_COLOR)):
        if name in mean.values:
            lines += ax.step(x, _stairs(mean.total(name)), where="post", color=color, linewidth=1.0, label=label)
    ax.set_ylabel("mentions waiting", color=TEXT_COLOR)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    _calendar_axis(ax, x)

    if "agents_on_duty" in mean.values:
        staff = ax.twinx()
        ax.set_zorder(staff.get_zorder() + 1)  # queues drawn over the staffing lines
        ax.patch.set_visible(False)
        for side in ("top", "left"):
            staff.spines[side].set_visible(False)
        staff.spines["right"].set_color("#999999")
        staff.tick_params(colors=TEXT_COLOR, labelsize=9)
        for i, pool in enumerate(mean.pools):
            lines += staff.step(x, _stairs(mean.values["agents_on_duty"][i]), where="post",
                                color=STAFF_COLORS[i % len(STAFF_COLORS)], linewidth=1.0,
                                linestyle=(0, (4, 2)), alpha=0.9, label=f"agents on duty: {pool}")
        top = np.nanmax(mean.values["agents_on_duty"]) if np.isfinite(mean.values["agents_on_duty"]).any() else 1
        staff.set_ylim(0, max(1.0, top) * 1.15)
        staff.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
        staff.set_ylabel("agents on duty", color=TEXT_COLOR)
    fig.legend(handles=lines, loc="outside lower center", fontsize=8.5, frameon=False,
               ncol=len(lines) if len(lines) <= 5 else 3)
    return fig


def _duration_axis(ax, low: float, high: float) -> None:
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ticks = [(t, label) for t, label in DURATION_TICKS if low <= t <= high]
    if len(ticks) > 9:  # keep every other tick, but always 1 h and 1 d where shown
        ticks = [tick for k, tick in enumerate(ticks) if k % 2 == 0 or tick[0] in (60, 1440)]
    ax.xaxis.set_major_locator(FixedLocator([t for t, _ in ticks]))
    ax.set_xticklabels([label for _, label in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.grid(True, axis="x", **GRID)


def _ecdf_steps(dist: breakdowns.Ecdf, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.clip(dist.x, low, high)
    return np.concatenate([[low], x, [high]]), np.concatenate([[0.0], dist.y, [dist.y[-1] if len(dist.y) else 0.0]])


def ack_vs_expectation_figure(mentions: MentionLog | Breakdowns, scenario) -> Figure:
    """Acknowledgement times against what customers expected (empirical CDFs, log time), with the
    SLA; from the records or, for a run that kept none, its `BreakdownTally` (the curves then
    step from one `LogHistogram` time bin, 1.2 % wide, to the next)."""
    fig = _figure(10.0, 5.0)
    ax = fig.add_subplot()
    _style(ax)
    sla = scenario.sla.acknowledge
    _title(fig, ax, "How fast we acknowledged, and how fast customers expected it",
           f"{scenario.name}: share of the mentions the team means to answer, all replications pooled; "
           f"company SLA: {sla.target:.0%} within {format_duration(sla.within)}")
    picture = ack_picture(mentions, scenario)
    acked, expected = picture.acked, picture.expected
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    ax.set_ylabel("share of mentions (cumulative)", color=TEXT_COLOR)
    ax.set_xlabel("time after the mention (log scale)", color=TEXT_COLOR)
    values = np.concatenate([acked.x, expected.x, [sla.within]])
    positive = values[values > 0]
    low = max(0.25, float(positive.min()) / 1.5) if len(positive) else 1.0
    high = max(float(values.max()) * 1.5, low * 10)
    _duration_axis(ax, low, high)
    if acked.n == 0:
        _no_data(ax)
    else:
        ax.step(*_ecdf_steps(expected, low, high), where="post", color=EXPECT_COLOR, linewidth=1.6,
                linestyle=(0, (5, 2)), label="customer expected a reply within")
        ax.step(*_ecdf_steps(acked, low, high), where="post", color=ACK_COLOR, linewidth=2.0,
                label="acknowledged within")
    ax.axvline(sla.within, color=TEXT_COLOR, linewidth=1.0)
    ax.plot([sla.within], [sla.target], marker="o", color=TEXT_COLOR, markersize=5, linestyle="none")
    ax.annotate(f"SLA: {sla.target:.0%} within {format_duration(sla.within)}",
                xy=(sla.within, sla.target), xytext=(6, 6), textcoords="offset points",
                fontsize=9, color=TEXT_COLOR,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    if acked.n:
        # as the summary counts it: the mentions whose SLA window closed by the horizon, on the
        # SLA's clock (none, in a run shorter than the window)
        clock = " (business hours)" if getattr(scenario.sla, "clock", "calendar") == "business_hours" else ""
        attained = ("no SLA window closed within the run" if math.isnan(picture.attainment)
                    else f"{picture.attainment:.1%} (target {sla.target:.0%})")
        facts = (f"acknowledged within the SLA time{clock}: {attained}\n"
                 f"customers expecting a reply within that time: {picture.expected_within_sla:.1%}\n"
                 f"never acknowledged within the horizon: {picture.never_acked:.1%}")
        # upper left: empirical CDFs rarely reach there (they start low at the left edge)
        ax.text(0.015, 0.84, facts, transform=ax.transAxes, ha="left", va="top", fontsize=8.5,
                color=TEXT_COLOR, bbox={"boxstyle": "round,pad=0.4", "facecolor": "white",
                                        "edgecolor": "#cccccc"})
        ax.legend(loc="upper left", fontsize=9, frameon=False)
    return fig


def breach_by_hour_figure(mentions: MentionLog | Breakdowns, scenario) -> Figure:
    """Share of the answerable mentions breaching their author's expectation, by hour of day of
    arrival (among those whose expectation is decided, as the summary's breach rates); from
    the records or, for a run that kept none, its `BreakdownTally`."""
    fig = _figure(10.0, 5.4)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1)})
    for ax in (top, bottom):
        _style(ax)
    _title(fig, top, "When customers are let down: expectation breaches by hour of day",
           f"{scenario.name}: share of the mentions the team means to answer whose author's deadline "
           "passed, by hour of arrival, all replications pooled")
    table, reps = hourly_breakdown(mentions, scenario)
    width = 0.4
    top.bar(table.hours - width / 2, table.ack_rate, width, color=ACK_COLOR, label="acknowledgement late or never")
    top.bar(table.hours + width / 2, table.resolve_rate, width, color=RESOLVE_COLOR, label="resolution late or never")
    rates = np.concatenate([table.ack_rate, table.resolve_rate])
    top.set_ylim(0, min(1.0, 1.15 * max(float(np.nanmax(rates)), 0.05)) if np.isfinite(rates).any() else 1.0)
    top.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    top.set_ylabel("breach rate", color=TEXT_COLOR)
    fig.legend(handles=top.containers, loc="outside lower center", fontsize=9, frameon=False, ncol=2)
    if table.ack_counts.sum() + table.resolve_counts.sum() == 0:
        _no_data(top)

    per_rep = table.counts / max(reps, 1)
    bottom.bar(table.hours, per_rep, 0.8, color="#bbbbbb")
    bottom.set_ylabel("mentions\nper run", color=TEXT_COLOR, fontsize=9)
    bottom.yaxis.set_major_locator(MaxNLocator(nbins=3))
    bottom.set_xlabel("hour of day of arrival", color=TEXT_COLOR)
    bottom.set_xlim(-0.6, 23.6)
    bottom.xaxis.set_major_locator(FixedLocator(range(0, 24, 2)))
    bottom.set_xticklabels([f"{h:02d}:00" for h in range(0, 24, 2)])
    return fig


ORIGIN_COLORS = {"base": "#9fb7d4", "cascade": "#e39b5b", "incident": "#c0392b"}
ORIGIN_WORDS = {"base": "base stream", "cascade": "viral cascades", "incident": "incidents"}


def arrivals_figure(series: TimeSeries, mentions: MentionLog | None, scenario) -> Figure:
    """Arrivals per report interval (mean over replications), stacked by origin, beside the base rate.

    Without mention records (`None` or empty) only the time series' total is drawn.
    """
    fig, ax, mean = _series_figure(
        series, scenario, "Arrivals per interval: the base stream, and the bursts on top of it",
        "mentions arriving per {interval}, mean over {reps}; dashed: what the base rate alone brings on average")
    if mean is None:
        return fig
    edges = breakdowns.interval_edges(mean.time, scenario)
    x = _calendar(scenario, edges)
    handles = []
    if mentions is not None and len(mentions):
        by_origin = breakdowns.arrivals_by_origin(mentions, edges, breakdowns.replication_count(series))
        present = [k for k, name in enumerate(ORIGINS) if by_origin[k].sum() > 0]
        stacks = ax.stackplot(x, *[_stairs(by_origin[k]) for k in present], step="post",
                              colors=[ORIGIN_COLORS[ORIGINS[k]] for k in present],
                              labels=[ORIGIN_WORDS[ORIGINS[k]] for k in present], linewidth=0)
        handles += stacks
    if "arrivals" in mean.values:
        handles += ax.step(x, _stairs(mean.total("arrivals")), where="post", color=TEXT_COLOR,
                           linewidth=0.7, label="all arrivals")
    expected = breakdowns.expected_base_arrivals(scenario, edges)
    handles += ax.step(x, _stairs(expected), where="post", color="#1b4f72", linewidth=1.4,
                       linestyle=(0, (4, 2)), label="base rate (expected)")
    ax.set_ylim(bottom=0)
    ax.set_ylabel(f"mentions per {format_duration(scenario.report_interval)}", color=TEXT_COLOR)
    _calendar_axis(ax, x)
    fig.legend(handles=handles, loc="outside lower center", fontsize=8.5, frameon=False, ncol=len(handles))
    return fig


def breach_by_tier_figure(mentions: MentionLog | Breakdowns, scenario) -> Figure:
    """Expectation breach rates by the author's follower tier: are big accounts served first?
    From the records or, for a run that kept none, its `BreakdownTally`."""
    fig = _figure(9.0, 4.8)
    ax = fig.add_subplot()
    _style(ax)
    _title(fig, ax, "Breach rate by follower tier: who is kept waiting",
           f"{scenario.name}: share of mentions the team means to answer whose author's deadline "
           "passed, all replications pooled")
    table, reps = group_breakdown(mentions, scenario, "tier")
    pos = np.arange(len(table.keys))
    width = 0.38
    for shift, rates, color, label in ((-width / 2, table.ack_breach_rate, ACK_COLOR, "acknowledgement late or never"),
                                       (width / 2, table.resolve_breach_rate, RESOLVE_COLOR, "resolution late or never")):
        bars = ax.bar(pos + shift, np.nan_to_num(rates), width, color=color, label=label)
        for bar, rate in zip(bars, rates):
            if np.isfinite(rate):
                ax.annotate(f"{rate:.0%}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                            fontsize=8.5, color=TEXT_COLOR)
    rates = np.concatenate([table.ack_breach_rate, table.resolve_breach_rate])
    highest = float(np.nanmax(rates)) if np.isfinite(rates).any() else 1.0
    ax.set_ylim(0, min(1.1, max(0.1, 1.2 * highest)))   # room above the tallest bar for its label
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=(1, 2, 2.5, 5, 10)))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    ax.set_ylabel("breach rate", color=TEXT_COLOR)
    ax.set_xlim(-0.6, len(pos) - 0.4)
    ax.xaxis.set_major_locator(FixedLocator(pos))
    per_run = table.count / max(reps, 1)
    ax.set_xticklabels([f"{label} followers\n{n:,.0f} mentions per run" if n >= 10 else
                        f"{label} followers\n{n:,.1f} mentions per run"
                        for label, n in zip(table.labels, per_run)])
    ax.set_xlabel("author's follower tier", color=TEXT_COLOR)
    if table.count.sum() == 0:
        _no_data(ax)
    fig.legend(handles=ax.containers, loc="outside lower center", fontsize=9, frameon=False, ncol=2)
    return fig


def figure_png(fig: Figure) -> bytes:
    """PNG bytes of a figure, without the metadata that would make two saves differ."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
    return buffer.getvalue()


__all__ = [
    "ack_vs_expectation_figure", "arrivals_figure", "breach_by_hour_figure", "breach_by_tier_figure",
    "figure_png", "format_duration", "queues_figure",
]
