"""The trainer's figures: the expectation gap customer by customer, and fast first replies
beside slow resolutions.

Like `sim.report.plots`, each function returns a Figure bound to an Agg canvas (no pyplot, no
global rcParams), drawn from tables computed elsewhere (`sim.expectation_gap`, `sim.breakdowns`).
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator, PercentFormatter
from matplotlib.transforms import blended_transform_factory

from ..breakdown_tally import Breakdowns, time_distributions
from ..expectation_gap import GAP_STRATA, expectation_gap_sample
from ..records import OUTCOMES, MentionLog
from .plots import (
    ACK_COLOR, RESOLVE_COLOR, TEXT_COLOR, _duration_axis, _ecdf_steps, _figure, _no_data,
    _style, _title, format_duration,
)

MET_COLOR = "#2e7d32"
LATE_COLOR = "#c62828"
ACK_DEADLINE_COLOR = "#1b2a49"
RESOLVE_DEADLINE_COLOR = "#7b3294"
# Hour ticks of the expectation-gap chart (linear to 1 h, logarithmic beyond): hours, label.
HOUR_TICKS = (
    (0, "0"), (0.25, "15 min"), (0.5, "30 min"), (1, "1 h"), (2, "2 h"), (4, "4 h"), (8, "8 h"),
    (24, "24 h"), (48, "48 h"), (96, "96 h"), (168, "168 h"), (336, "336 h"), (720, "720 h"),
)


def customer_label(type_: str, channel: str, followers: int) -> str:
    """Short row label: `complaint · twitter · 250 followers`."""
    word = "follower" if followers == 1 else "followers"
    return f"{type_} · {channel} · {followers:,} {word}"


def _outcome_note(outcome: str, ack: float, res: float, gave_up: float, triaged: str, true_type: str) -> str:
    """Right-hand note of a row: what happened, in a few words (times in minutes)."""
    if outcome == "ignored":
        return f"never answered (triaged as {triaged})" if triaged != true_type else "never answered"
    if outcome == "abandoned":
        return f"gave up after {format_duration(gave_up)}"
    if outcome == "open":
        return "no reply by the end"
    reply = f"reply {format_duration(ack)}"
    if outcome == "resolved":
        return f"reply and resolution {format_duration(ack)}" if res == ack else f"{reply}; resolved {format_duration(res)}"
    if outcome == "dropped":
        return f"{reply}; moved, never came back"
    return f"{reply}; unresolved at the end"


def _rows(mentions: MentionLog, positions: np.ndarray, strata: np.ndarray, end: float) -> list[dict]:
    def col(name: str) -> np.ndarray:
        return np.asarray(mentions[name])[positions]

    arrival = col("arrival").astype(float)
    rel = {name: (col(name).astype(float) - arrival) / 60.0
           for name in ("ack_done", "resolve_done", "ack_expected_by", "resolve_expected_by", "abandoned_at")}
    rows = []
    for i in range(len(positions)):
        outcome = OUTCOMES[int(col("outcome")[i])]
        true_type = mentions.types[int(col("type")[i])]
        rows.append({
            "stratum": int(strata[i]),
            "label": customer_label(true_type, mentions.channels[int(col("channel")[i])], int(col("followers")[i])),
            "outcome": outcome,
            "ack": rel["ack_done"][i], "res": rel["resolve_done"][i],
            "ack_due": rel["ack_expected_by"][i], "res_due": rel["resolve_expected_by"][i],
            "gave_up": rel["abandoned_at"][i], "horizon": (end - arrival[i]) / 60.0,
            "ack_late": bool(col("ack_breached")[i]), "res_late": bool(col("resolve_breached")[i]),
            "note": _outcome_note(outcome, rel["ack_done"][i] * 60, rel["resolve_done"][i] * 60,
                                  rel["abandoned_at"][i] * 60, mentions.types[int(col("triaged_as")[i])], true_type),
        })
    return rows


def _x_limit(rows: list[dict]) -> float:
    times = [r[k] for r in rows for k in ("ack", "res", "ack_due", "res_due", "gave_up") if np.isfinite(r[k])]
    return max(2.0, 1.08 * max(times, default=2.0))


def _draw_row(ax, y: float, r: dict, right: float) -> None:
    """One customer: the wait for a first reply (thin), then for a resolution (thick band),
    coloured by whether the customer's own deadline was met; deadlines as ticks and diamonds."""
    ack_color = LATE_COLOR if r["ack_late"] else MET_COLOR
    res_color = LATE_COLOR if r["res_late"] else MET_COLOR
    acked = np.isfinite(r["ack"])
    if acked:
        ax.plot([0, r["ack"]], [y, y], color=ack_color, linewidth=2.2, solid_capstyle="butt", zorder=3)
        if r["outcome"] != "dropped":
            stop = r["res"] if np.isfinite(r["res"]) else min(r["horizon"], right)
            ax.plot([r["ack"], stop], [y, y], color=res_color, linewidth=7, alpha=0.35,
                    solid_capstyle="butt", zorder=2)
            if np.isfinite(r["res"]):
                ax.plot([r["res"]], [y], marker="s", markersize=6.5, color=res_color,
                        markeredgecolor="white", markeredgewidth=0.6, zorder=5)
            else:
                ax.plot([stop], [y], marker=">", markersize=6, color=res_color, zorder=5)
        ax.plot([r["ack"]], [y], marker="o", markersize=6, color=ack_color,
                markeredgecolor="white", markeredgewidth=0.6, zorder=5)
    else:
        stop = r["gave_up"] if np.isfinite(r["gave_up"]) else min(r["horizon"], right)
        ax.plot([0, stop], [y, y], color=ack_color, linewidth=2.2, linestyle=(0, (3, 1.5)), zorder=3)
        if np.isfinite(r["gave_up"]):
            ax.plot([stop], [y], marker="X", markersize=7, color=ack_color, zorder=5)
        else:
            ax.plot([stop], [y], marker=">", markersize=6, color=ack_color, zorder=5)
    ax.plot([r["ack_due"]], [y], marker="|", markersize=13, markeredgewidth=2.2,
            color=ACK_DEADLINE_COLOR, zorder=6)
    ax.plot([r["res_due"]], [y], marker="D", markersize=6, markerfacecolor="white",
            markeredgewidth=1.5, markeredgecolor=RESOLVE_DEADLINE_COLOR, zorder=6)


def _hours_axis(ax, right: float) -> None:
    """Hours after the mention: linear up to 1 h (first replies), logarithmic beyond (resolutions)."""
    ax.set_xscale("symlog", linthresh=1.0, linscale=1.0)
    ax.set_xlim(0, right)
    ticks = [(t, label) for t, label in HOUR_TICKS if t <= right]
    ax.xaxis.set_major_locator(FixedLocator([t for t, _ in ticks]))
    ax.set_xticklabels([label for _, label in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.grid(True, axis="x", color="#e3e3e3", linewidth=0.8)


def expectation_gap_figure(mentions: MentionLog, scenario, k: int = 30) -> Figure:
    """For a sample of customers (`sim.expectation_gap.expectation_gap_sample`), a timeline
    each from mention to acknowledgement to resolution, with their own deadlines marked."""
    positions, strata = expectation_gap_sample(mentions, scenario, k)
    rows = _rows(mentions, positions, strata, scenario.end)
    groups = [s for s in range(len(GAP_STRATA)) if any(r["stratum"] == s for r in rows)]
    lines = len(rows) + len(groups)
    fig = _figure(11.0, 2.2 + 0.27 * max(lines, 6))
    ax = fig.add_subplot()
    _style(ax)
    ax.grid(False, axis="y")
    rep = int(np.asarray(mentions["replication"]).min()) if len(mentions) else 0
    _title(fig, ax, "The expectation gap, customer by customer",
           f"{scenario.name}: {len(rows)} customers of replication {rep}, chosen across outcomes; "
           "each row starts at the customer's mention")
    if not rows:
        _no_data(ax)
        ax.set_yticks([])
        return fig
    right = _x_limit(rows)
    _hours_axis(ax, right)
    ticks, labels, notes, y = [], [], [], 0
    side = blended_transform_factory(ax.transAxes, ax.transData)
    for s in groups:
        ax.text(0.0, y, " " + GAP_STRATA[s][1], transform=side, ha="left", va="center",
                fontsize=9.5, fontweight="bold", color=TEXT_COLOR)
        y += 1
        for r in (r for r in rows if r["stratum"] == s):
            _draw_row(ax, y, r, right)
            notes.append(r["note"])
            ticks.append(y)
            labels.append(r["label"])
            y += 1
    ax.set_ylim(y - 0.4, -0.6)
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.set_yticklabels(labels, fontsize=8.5)
    ax.tick_params(axis="y", length=0)
    outcome = ax.twinx()   # what happened, as right-hand tick labels (the layout makes room)
    outcome.set_ylim(ax.get_ylim())
    outcome.yaxis.set_major_locator(FixedLocator(ticks))
    outcome.set_yticklabels(notes, fontsize=8, color="#444444")
    outcome.tick_params(axis="y", length=0)
    for spine in outcome.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("hours after the mention (linear to 1 h, logarithmic beyond)", color=TEXT_COLOR)
    legend = [
        Line2D([], [], color=MET_COLOR, linewidth=2.2, label="waiting for a first reply: within expectation"),
        Line2D([], [], color=LATE_COLOR, linewidth=2.2, label="… later than expected (dashed: never answered)"),
        Line2D([], [], color="#888888", linewidth=7, alpha=0.35, label="waiting for a resolution (same colours)"),
        Line2D([], [], color="#555555", marker="o", linestyle="none", label="acknowledged"),
        Line2D([], [], color="#555555", marker="s", linestyle="none", label="resolved"),
        Line2D([], [], color="#555555", marker="X", linestyle="none", label="gave up"),
        Line2D([], [], color=ACK_DEADLINE_COLOR, marker="|", markersize=11, markeredgewidth=2.2,
               linestyle="none", label="customer's deadline for a reply"),
        Line2D([], [], color=RESOLVE_DEADLINE_COLOR, marker="D", markerfacecolor="white", markeredgewidth=1.5,
               linestyle="none", label="customer's deadline for a resolution"),
    ]
    fig.legend(handles=legend, loc="outside lower center", fontsize=8.5, frameon=False, ncol=4)
    return fig


def _log_bins(low: float, high: float, per_decade: int = 8) -> np.ndarray:
    return np.logspace(np.log10(low), np.log10(high), max(2, int(np.ceil(per_decade * np.log10(high / low))) + 1))


# Duration ticks of a half-width panel: fewer than the report's full-width plots.
SPARSE_TICKS = ((0.25, "15 s"), (1, "1 min"), (10, "10 min"), (60, "1 h"), (360, "6 h"), (1440, "1 d"),
                (10080, "1 w"), (43200, "30 d"))


def _sparse_duration_axis(ax, low: float, high: float) -> None:
    _duration_axis(ax, low, high)
    ticks = [(t, label) for t, label in SPARSE_TICKS if low <= t <= high]
    ax.xaxis.set_major_locator(FixedLocator([t for t, _ in ticks]))
    ax.set_xticklabels([label for _, label in ticks])


def ack_vs_resolution_figure(mentions: MentionLog | Breakdowns, scenario) -> Figure:
    """Time to acknowledge and time to resolve side by side on one log time axis: histograms
    (left) and cumulative shares against the customers' own deadlines (right); from the records
    or, for a run that kept none, its `BreakdownTally` (times then in its histogram's bins)."""
    fig = _figure(11.0, 4.9)
    left, right = fig.subplots(1, 2)
    for ax in (left, right):
        _style(ax)
    fig.suptitle("Fast first replies, slow resolutions", fontsize=13, fontweight="bold", color=TEXT_COLOR)
    ack, res, ack_due, res_due = time_distributions(mentions, scenario)
    left.set_title("how many mentions took how long", fontsize=10, color="#555555")
    right.set_title("share done within a time, against what customers expected", fontsize=10, color="#555555")
    # the axis spans every reply and resolution, and the customers' deadlines but their far tail
    tails = [d.quantile(0.99) for d in (ack_due, res_due) if len(d.x)]
    values = np.concatenate([ack.x, res.x, ack_due.x, res_due.x])
    positive = values[values > 0]
    if ack.n == 0 or len(positive) == 0:
        for ax in (left, right):
            _no_data(ax)
        return fig
    low = max(0.25, float(positive.min()) / 1.5)
    reach = np.concatenate([ack.x, res.x, tails])
    high = max(float(reach.max()) * 1.3, low * 10)
    bins = _log_bins(low, high)
    for dist, color, label in ((ack, ACK_COLOR, "time to acknowledge"), (res, RESOLVE_COLOR, "time to resolve")):
        counts = dist.histogram(bins, low, high) / max(dist.n, 1)
        left.stairs(counts, bins, fill=True, color=color, alpha=0.45, label=label)
        left.stairs(counts, bins, color=color, linewidth=1.2)
    left.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    left.set_ylabel("share of mentions", color=TEXT_COLOR)
    for dist, due, color, name in ((ack, ack_due, ACK_COLOR, "acknowledged"), (res, res_due, RESOLVE_COLOR, "resolved")):
        right.step(*_ecdf_steps(dist, low, high), where="post", color=color, linewidth=2.0, label=f"{name} within")
        right.step(*_ecdf_steps(due, low, high), where="post", color=color, linewidth=1.3, alpha=0.7,
                   linestyle=(0, (4, 2)), label=f"customer expected it {name} within")
    right.set_ylim(0, 1.02)
    right.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    right.set_ylabel("share of mentions (cumulative)", color=TEXT_COLOR)
    for ax in (left, right):
        _sparse_duration_axis(ax, low, high)
        ax.set_xlabel("time after the mention (log scale)", color=TEXT_COLOR)
    # the summary's ack_time_p50 and resolve_time_p50, all replications pooled
    med_ack, med_res = ack.quantile(0.5), res.quantile(0.5)
    facts = f"median acknowledged in {format_duration(med_ack)}\nmedian resolved in {format_duration(med_res)}"
    if np.isfinite(med_ack) and np.isfinite(med_res) and med_ack > 0:
        facts += f" ({med_res / med_ack:,.0f}× longer)"
    left.text(0.98, 0.97, facts, transform=left.transAxes, ha="right", va="top", fontsize=8.5, color=TEXT_COLOR,
              bbox={"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": "#cccccc"})
    left.legend(loc="center right", fontsize=8.5, frameon=False)
    fig.legend(handles=right.get_lines(), loc="outside lower center", fontsize=8.5, frameon=False, ncol=4)
    return fig


__all__ = ["ack_vs_resolution_figure", "customer_label", "expectation_gap_figure"]
