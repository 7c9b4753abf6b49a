"""The comparison's figures and its self-contained `report.html` (images as data URIs).

Reads a `sim.comparison.Comparison`; figures are bound to an Agg canvas, never pyplot, so
drawing leaves no global state behind, and the same comparison gives the same bytes.
"""
from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, PercentFormatter

from ..breakdown_tally import breakdown_source
from ..comparison import CORE_METRICS, Comparison
from ..differences import format_estimate, judgement, metric_words
from ..expectation_gap import HOURS_OF_WEEK
from .drawing import draw
from .html import BASE_CSS, brief_items
from .plots import TEXT_COLOR, _figure, _style
from .summary_text import executive_summary
from .tables import WEEKDAYS as DAYS

# The paired differences an executive reads first, after each scenario's own five sentences.
BRIEF_VERDICTS = ("cost", "ack_breach_rate", "resolve_breach_rate", "resolved_share")

# One colour per scenario, the reference first (colour-blind-safe Okabe-Ito order).
COLORS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442")
# File name, heading, caption of each figure, in report order.
FIGURES = (
    ("cost_vs_breach.png", "Cost against customers let down",
     "One point per scenario: staff cost against the share of customers whose own deadline for "
     "acknowledgement (left) or resolution (right) passed. Bars are 95 % confidence intervals "
     "over replications. Down and to the left is cheaper and kinder."),
    ("breach_by_hour_of_week.png", "Expectation breaches by hour of the week",
     "Share of the mentions the team means to answer whose author's deadline passed, among those "
     "whose deadline fell by the end of the run, as in the summary's breach rates, by hour of the "
     "week of arrival, all replications pooled; one line per scenario. Gaps are hours without "
     "such a mention."),
)


def color(index: int) -> str:
    return COLORS[index % len(COLORS)]


def _errors(stats: dict[str, float]) -> tuple[float, list[list[float]] | None]:
    mean, lo, hi = stats["mean"], stats["ci_low"], stats["ci_high"]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return mean, None
    return mean, [[mean - lo], [hi - mean]]


def cost_vs_breach_figure(cmp: Comparison) -> Figure:
    """Cost against acknowledgement and resolution breach rates: one point per scenario, CI bars both ways."""
    fig = _figure(10.5, 4.8)
    axes = fig.subplots(1, 2, sharey=True)
    fig.suptitle("Cost against customers let down", fontsize=13, fontweight="bold", color=TEXT_COLOR)
    for ax, metric, title in zip(axes, ("ack_breach_rate", "resolve_breach_rate"),
                                 ("acknowledgement later than expected", "resolution later than expected")):
        _style(ax, grid="both")
        ax.set_title(title, fontsize=10, color="#555555")
        for i, label in enumerate(cmp.labels):
            x, xerr = _errors(cmp.stats(i, metric))
            y, yerr = _errors(cmp.stats(i, "cost"))
            if not (math.isfinite(x) and math.isfinite(y)):
                continue
            ax.errorbar([x], [y], xerr=xerr, yerr=yerr, fmt="o", color=color(i), markersize=7,
                        capsize=4, elinewidth=1.2, label=label)
            ax.annotate(label, (x, y), xytext=(7, 6), textcoords="offset points", fontsize=9, color=color(i))
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=1))
        ax.set_xlabel("share of customers whose deadline passed", color=TEXT_COLOR)
        ax.margins(x=0.25, y=0.25)
    axes[0].set_ylabel("staff cost over the horizon", color=TEXT_COLOR)
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    return fig


def hour_of_week_figure(cmp: Comparison) -> Figure:
    """Acknowledgement and resolution breach rates by hour of week of arrival, a line per scenario."""
    fig = _figure(11.0, 6.0)
    axes = fig.subplots(2, 1, sharex=True)
    fig.suptitle("When customers are let down: breaches by hour of the week", fontsize=13,
                 fontweight="bold", color=TEXT_COLOR)
    tables = [cmp.hour_of_week(i) for i in range(len(cmp.labels))]
    x = np.arange(HOURS_OF_WEEK + 1)
    handles = []
    for ax, field, title in zip(axes, ("ack_rate", "resolve_rate"),
                                ("acknowledgement later than expected", "resolution later than expected")):
        _style(ax)  # no vertical grid: the day boundaries are the vertical guides
        ax.set_title(title, fontsize=10, color="#555555", loc="left")
        for i, (label, table) in enumerate(zip(cmp.labels, tables)):
            rate = getattr(table, field)
            lines = ax.stairs(rate, x, color=color(i), linewidth=1.4, label=label, baseline=None)
            if field == "ack_rate":
                handles.append(lines)
        for day in range(1, 7):
            ax.axvline(day * 24, color="#bbbbbb", linewidth=0.8, zorder=0)
        top = max((np.nanmax(getattr(t, field)) for t in tables if np.isfinite(getattr(t, field)).any()), default=0.0)
        ax.set_ylim(0, min(1.0, max(0.05, 1.15 * top)))
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.set_ylabel("breach rate", color=TEXT_COLOR)
    axes[1].set_xlim(0, HOURS_OF_WEEK)
    axes[1].xaxis.set_major_locator(FixedLocator([d * 24 + 12 for d in range(7)]))
    axes[1].set_xticklabels(DAYS)
    axes[1].xaxis.set_minor_locator(FixedLocator([h for h in range(0, HOURS_OF_WEEK + 1, 6)]))
    axes[1].set_xlabel("hour of the week of arrival (minor ticks every 6 hours)", color=TEXT_COLOR)
    fig.legend(handles=handles, loc="outside lower center", fontsize=9, frameon=False,
               ncol=min(len(handles), 6))
    return fig


def render_figures(cmp: Comparison) -> dict[str, bytes]:
    """PNG bytes of every comparison figure, by file name."""
    return draw({
        "cost_vs_breach.png": lambda: cost_vs_breach_figure(cmp),
        "breach_by_hour_of_week.png": lambda: hour_of_week_figure(cmp),
    })


CSS = BASE_CSS + """
main { max-width: 1200px; }
td small { color: #777; }
.better { color: #1e7b34; } .worse { color: #b3261e; } .same { color: #777; }
.warn { background: #fff6e5; border: 1px solid #f0d9a8; padding: 8px 12px; }
details summary { cursor: pointer; color: #334; font-weight: 600; margin: 8px 0; }
""".rstrip()


def _estimate_cell(cmp: Comparison, index: int, name: str) -> str:
    s = cmp.stats(index, name)
    text = format_estimate(name, s["mean"], s["ci_low"], s["ci_high"])
    if " [" in text:
        value, ci = text.split(" [", 1)
        return f'<td class="num">{html.escape(value)}<br><small>[{html.escape(ci)}</small></td>'
    return f'<td class="num">{html.escape(text)}</td>'


def _verdict_cell(cmp: Comparison, name: str) -> str:
    lines = []
    for i in range(1, len(cmp.labels)):
        d = cmp.differences[i][name]
        css = judgement(name, d) or "same"
        lines.append(f'<span class="{css}">{html.escape(cmp.verdict(i, name))}</span>')
    return "<td>" + "<br>".join(lines) + "</td>"


def comparison_table(cmp: Comparison, metrics) -> str:
    """Metrics as rows; each scenario's mean and 95 % CI; the verdicts against the reference."""
    head = "".join(f'<th class="num">{html.escape(label)}</th>' for label in cmp.labels)
    rows = ["<table>", f"<thead><tr><th>metric</th>{head}<th>verdict against {html.escape(cmp.reference)} "
            "(paired difference, 95 % CI)</th></tr></thead>", "<tbody>"]
    for name in metrics:
        cells = "".join(_estimate_cell(cmp, i, name) for i in range(len(cmp.labels)))
        rows.append(f"<tr><td>{html.escape(metric_words(name))}<br><code>{html.escape(name)}</code></td>"
                    f"{cells}{_verdict_cell(cmp, name)}</tr>")
    rows += ["</tbody>", "</table>"]
    return "\n".join(rows)


def comparison_brief(cmp: Comparison) -> list[str]:
    """"In brief": each scenario's five executive sentences, and for every scenario after the
    first its paired differences on cost, breaches and resolution, in words."""
    parts = ['<h2 id="in-brief">In brief</h2>']
    for i, (label, result) in enumerate(zip(cmp.labels, cmp.results)):
        sentences = executive_summary(result.summary, breakdown_source(result), result.scenario)
        if i:
            sentences += [f"Against {cmp.reference}: {cmp.verdict(i, m)}." for m in BRIEF_VERDICTS
                          if m in cmp.metrics]
        parts += [f"<h3>{html.escape(label)}</h3>", '<ul class="brief">', *brief_items(sentences), "</ul>"]
    return parts


def render_comparison_html(cmp: Comparison, images: dict[str, bytes]) -> str:
    """The comparison page as text, `images` (PNG bytes by file name) embedded as data URIs."""
    title = "caresim comparison: " + " vs ".join(cmp.labels)
    facts = [("reference", cmp.reference), ("seed", str(cmp.seed)), ("replications", str(cmp.replications)),
             ("random numbers", "common (replication i of every scenario sees the same draws)")]
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>", f"<style>\n{CSS}\n</style>", "</head>", "<body>", "<main>",
        f"<h1>{html.escape(title)}</h1>",
        '<p class="facts">' + "".join(
            f"<span><strong>{html.escape(k)}</strong> {html.escape(v)}</span>" for k, v in facts) + "</p>",
        "<ul>",
    ]
    for label, result in zip(cmp.labels, cmp.results):
        desc = " ".join(result.scenario.description.split())
        parts.append(f"<li><strong>{html.escape(label)}</strong>"
                     + (f": {html.escape(desc)}" if desc else "") + "</li>")
    parts.append("</ul>")
    differ = [label for label, same in zip(cmp.labels, cmp.same_arrivals) if not same]
    if differ:
        parts.append('<p class="warn">Arrivals, start, warm-up or horizon of '
                     + html.escape(", ".join(differ)) + f" differ from {html.escape(cmp.reference)}: these "
                     "scenarios see different customers, so their paired intervals are wider.</p>")
    parts += comparison_brief(cmp)
    core = [m for m in CORE_METRICS if m in cmp.metrics]
    parts += [
        "<h2>Summary</h2>",
        comparison_table(cmp, core),
        f'<p class="note">Means over {cmp.replications} replications with 95 % confidence intervals. '
        "A verdict compares each scenario with the first, replication by replication (the same "
        "customers arrive in both): the mean of the differences and its 95 % Student-t interval. "
        "“No clear difference” means the interval contains 0. Shares differ in percentage points (pp).</p>",
    ]
    for name, heading, caption in FIGURES:
        if name not in images:
            continue
        data = base64.b64encode(images[name]).decode("ascii")
        parts += [f"<h2>{html.escape(heading)}</h2>", "<figure>",
                  f'<img src="data:image/png;base64,{data}" alt="{html.escape(heading)}">',
                  f"<figcaption>{html.escape(caption)}</figcaption>", "</figure>"]
    rest = [m for m in cmp.metrics if m not in core]
    if rest:
        parts += ["<h2>Every metric</h2>", "<details>",
                  f"<summary>{len(rest)} more metrics: breakdowns by follower tier, channel and type</summary>",
                  comparison_table(cmp, rest), "</details>"]
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def write_comparison_report(cmp: Comparison, folder: Path) -> None:
    """Write the comparison figures (PNG) and report.html into `folder`."""
    folder = Path(folder)
    images = render_figures(cmp)
    for name, data in images.items():
        (folder / name).write_bytes(data)
    with open(folder / "report.html", "w", encoding="utf-8", newline="\n") as handle:
        handle.write(render_comparison_html(cmp, images))
