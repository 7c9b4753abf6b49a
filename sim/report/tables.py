"""HTML tables of the report's breakdowns: the largest cascades and the fairness tables.

Each function returns an HTML fragment built from `sim.breakdowns`; numbers are formatted here,
computed there. Deterministic: no locale-dependent formatting (weekday names are spelled out).
"""
from __future__ import annotations

import html
import math
from datetime import datetime, timedelta

from .. import breakdowns
from ..breakdown_tally import Breakdowns, group_breakdown
from ..cascades import Cascades, largest_cascade_size, largest_cascades
from ..records import MentionLog
from .plots import format_duration

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def calendar_time(start: datetime, minutes: float) -> str:
    """Scenario minutes as wall-clock text, `Wed 2026-01-07 19:42` (time zone dropped)."""
    moment = start.replace(tzinfo=None) + timedelta(minutes=float(minutes))
    return f"{WEEKDAYS[moment.weekday()]} {moment:%Y-%m-%d %H:%M}"


def _share(value: float) -> str:
    return f"{value:.1%}" if math.isfinite(value) else "—"


def _count(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    return f"{value:,.0f}" if abs(value) >= 10 or value == round(value) else f"{value:,.1f}"


def _table(head: list[tuple[str, bool]], rows: list[list[str]], css: str = "") -> str:
    """`head`: (title, numeric?) per column; cells are already escaped HTML."""
    cls = f' class="{css}"' if css else ""
    out = [f"<table{cls}>", "<thead><tr>" + "".join(
        f'<th class="num">{html.escape(t)}</th>' if num else f"<th>{html.escape(t)}</th>" for t, num in head
    ) + "</tr></thead>", "<tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(
            f'<td class="num">{cell}</td>' if num else f"<td>{cell}</td>" for cell, (_, num) in zip(row, head)
        ) + "</tr>")
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


def _breached_text(cascades: Cascades, i: int) -> str:
    outcome = cascades.root_outcome[i]
    if cascades.root_neglected[i]:
        return f'<span class="bad">yes ({html.escape(outcome)})</span>'
    if cascades.root_ack_breached[i]:
        return '<span class="bad">yes</span>'
    return '<span class="ok">no</span>'


def largest_cascades_table(mentions: MentionLog, scenario, k: int = 10) -> str:
    """The `k` largest cascades: when and by whom they started, how big they grew, and whether
    the root's author was let down (acknowledgement late, ignored or abandoned)."""
    top = largest_cascades(mentions, k)
    if len(top) == 0:
        return '<p class="note">No cascades: no mention in this run drew a follow-on.</p>'
    head = [("#", True), ("replication", True), ("root id", True), ("root arrived", False),
            ("root author reach", True), ("root type, channel", False), ("root origin", False),
            ("cascade size", True), ("root breached", False)]
    rows = []
    for i in range(len(top)):
        rows.append([
            str(i + 1), str(int(top.replication[i])), str(int(top.root_id[i])),
            html.escape(calendar_time(scenario.start, top.root_arrival[i])),
            f"{int(top.root_followers[i]):,} followers",
            html.escape(f"{top.root_type[i]}, {top.root_channel[i]}"),
            html.escape(top.root_origin[i]),
            f"{int(top.size[i]):,}",
            _breached_text(top, i),
        ])
    return _table(head, rows)


def largest_cascade_note(mentions: MentionLog) -> str:
    """One line: the largest cascade of each replication."""
    sizes = largest_cascade_size(mentions)
    if not sizes:
        return ""
    listed = ", ".join(f"{size:,}" for _, size in sorted(sizes.items()))
    return (f'<p class="note">Largest cascade (root and every follow-on after the warm-up) in each '
            f"replication: {html.escape(listed)} mentions.</p>")


def fairness_table(stats: breakdowns.GroupStats, title: str, replications: int, keep_empty: bool = False) -> str:
    """One fairness table: per group, mentions per run, share acknowledged, breach rates, times."""
    head = [(title, False), ("mentions per run", True), ("acknowledged", True),
            ("acknowledgement late", True), ("resolution late", True),
            ("time to acknowledge, median", True), ("90th percentile", True)]
    rows = []
    for i, label in enumerate(stats.labels):
        n = int(stats.count[i])
        if n == 0 and not keep_empty:
            continue
        rows.append([
            html.escape(label), _count(n / max(replications, 1)), _share(stats.acknowledged_share[i]),
            _share(stats.ack_breach_rate[i]), _share(stats.resolve_breach_rate[i]),
            html.escape(format_duration(stats.ack_time_p50[i])),
            html.escape(format_duration(stats.ack_time_p90[i])),
        ])
    if not rows:
        return '<p class="note">No mentions to show.</p>'
    return _table(head, rows, "fair")


def fairness_tables(mentions: MentionLog | Breakdowns, scenario, replications: int) -> str:
    """The three fairness tables (follower tier, channel, type) with their headings, from the
    records or, for a run that kept none, its `BreakdownTally`."""
    parts = []
    for heading, title, kind, keep in (
        ("By the author's follower tier", "followers", "tier", True),
        ("By channel", "channel", "channel", False),
        ("By type", "type", "type", False),
    ):
        stats, _ = group_breakdown(mentions, scenario, kind)
        parts += [f"<h3>{html.escape(heading)}</h3>", fairness_table(stats, title, replications, keep)]
    ignored = [t for t in scenario.types if t not in scenario.answered_types]
    if ignored:
        parts.append('<p class="note">Not answered by policy, so left out: '
                     f"{html.escape(', '.join(ignored))}.</p>")
    return "\n".join(parts)

