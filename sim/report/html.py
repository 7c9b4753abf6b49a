"""The self-contained `report.html`: executive summary, summary table, plots as data URIs (the
trainer's expectation-gap views among them), the largest cascades, fairness tables, the scenario
echoed.

No external requests, no scripts, no timestamps: the same run result gives the same bytes.
"""
from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Protocol


from ..differences import (
    FAIRNESS_DIMENSIONS,
    SLA_STAGES,
    WORDS,
    fairness_parts,
    metric_kind,
    metric_words,
)
from ..breakdown_tally import Breakdowns, kept_records, run_breakdowns
from ..metrics import FOLLOWER_TIERS
from ..records import MentionLog, Replication, TimeSeries
from ..scenario import dump_scenario
from .plots import (
    ack_vs_expectation_figure,
    arrivals_figure,
    breach_by_hour_figure,
    breach_by_tier_figure,
    format_duration,
    queues_figure,
)
from .drawing import draw
from .summary_text import executive_summary
from .tables import fairness_tables, largest_cascade_note, largest_cascades_table
from .trainer import ack_vs_resolution_figure, expectation_gap_figure


class RunResultLike(Protocol):
    """What the report reads from a run (`sim.runner.RunResult` has this shape)."""

    scenario: object
    seed: int
    replications: list[Replication]
    summary: dict[str, dict[str, float]]

    @property
    def mentions(self) -> MentionLog: ...

    @property
    def series(self) -> TimeSeries: ...


# File name, heading, caption of each plot, in report order.
PLOTS = (
    ("queues.png", "Queues and staffing",
     "Mentions waiting for acknowledgement and for resolution, averaged over replications per "
     "interval, with the agents on duty in each pool (right axis). The series starts at the end "
     "of the warm-up, when the metrics start counting."),
    ("ack_vs_expectation.png", "Acknowledgement time against customer expectation",
     "Blue: share of the mentions the team means to answer acknowledged within a given time. "
     "Grey: share of their authors whose own deadline is at most that time. Where grey lies above "
     "blue, customers expected faster replies than they got. The vertical line is the company's "
     "SLA; the attainment in the box is counted as in the summary (the mentions whose SLA window "
     "closed by the end of the run, on the SLA's clock)."),
    ("expectation_gap.png", "The expectation gap, customer by customer",
     "Up to thirty customers of the first replication, chosen across outcomes. Each row starts at the "
     "customer's mention: the thin line is the wait for a first reply, the band the wait for a "
     "resolution, green where the customer's own deadline (tick: reply, diamond: resolution) was "
     "met, red where it passed. A reply within minutes still leaves a customer let down when the "
     "resolution comes after their deadline."),
    ("ack_vs_resolution.png", "Fast first replies, slow resolutions",
     "Time to acknowledge (blue) and time to resolve (orange) for the mentions the team means to "
     "answer, all replications pooled, on one log time axis. Left: how many mentions took how long. "
     "Right: the share done within a time, solid, against the share of customers expecting it "
     "within that time, dashed. Mentions never acknowledged or resolved within the run count in "
     "the population, so the solid curves stop short of 100 %."),
    ("breach_by_hour.png", "Expectation breaches by hour of day",
     "Share of the mentions the team means to answer whose author's acknowledgement or resolution "
     "deadline passed, by hour of day of arrival, among those whose deadline fell by the end of the "
     "run, as in the summary's breach rates; below, the number of these mentions per "
     "replication in each hour."),
    ("arrivals.png", "Arrivals per interval",
     "Mentions arriving per report interval, mean over replications, coloured by origin: the base "
     "stream, follow-ons of viral cascades, incident bursts. The dashed line is what the base rate "
     "(mean rate x daily and weekly profile) brings on average: everything above it is a burst a "
     "schedule built from hourly averages does not see."),
    ("breach_by_tier.png", "Breach rate by follower tier",
     "Share of the mentions the team means to answer whose author's acknowledgement or resolution "
     "deadline passed, by the author's follower count, all replications pooled. Equal bars: reach "
     "buys no faster service; falling bars: large accounts jump the queue."),
)
# Sections after the summary: (heading, plots in it, extra content after the plots).
SECTIONS = (
    ("Queues and staffing", ("queues.png",), None),
    ("Acknowledgement time against customer expectation", ("ack_vs_expectation.png",), None),
    ("The expectation gap, customer by customer", ("expectation_gap.png", "ack_vs_resolution.png"), "story"),
    ("Expectation breaches by hour of day", ("breach_by_hour.png",), None),
    ("Arrivals and viral cascades", ("arrivals.png",), "cascades"),
    ("Fairness", ("breach_by_tier.png",), "fairness"),
)

# Within a fairness group, measures in this order, then any other in `sim.differences.WORDS` order.
FAIRNESS_MEASURES = ("ack_breach_rate", "resolve_breach_rate", "ack_time_p50", "ack_time_p90",
                     "resolve_time_p50", "resolve_time_p90")

def brief_items(sentences: list[str]) -> list[str]:
    """Sentences as list items (a percent sign never wraps away from its number)."""
    return [f"<li>{html.escape(sentence).replace(' %', '&nbsp;%')}</li>" for sentence in sentences]


# Styles both report pages (this one and the comparison's) share.
BASE_CSS = """
body { margin: 0; background: #f6f6f4; color: #222; font: 15px/1.5 system-ui, -apple-system,
  "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; border-bottom: 1px solid #e2e2e2; padding-bottom: 4px; }
.facts { color: #555; font-size: 14px; }
.facts span { margin-right: 18px; white-space: nowrap; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { padding: 5px 10px; border-bottom: 1px solid #ececec; text-align: left; vertical-align: top; }
th { background: #fafafa; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: #555; }
.note { color: #666; font-size: 13px; }
figure { margin: 12px 0 28px; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 13.5px; margin-top: 6px; }
ul.brief { background: #f3f6fa; border-left: 4px solid #1f5fa8; margin: 14px 0 6px;
  padding: 10px 18px 10px 34px; font-size: 15.5px; }
ul.brief li { margin: 5px 0; }
h3 { font-size: 15.5px; margin: 22px 0 8px; color: #333; }
""".strip()
CSS = BASE_CSS + """
main { max-width: 1100px; }
.lead { font-size: 16px; color: #444; margin: 4px 0 12px; }
tr.group td { background: #f3f5f8; font-weight: 600; color: #334; }
.ok { color: #1e7b34; } .warn { color: #a86400; } .bad { color: #b3261e; }
table.fair td:first-child { white-space: nowrap; }
pre { background: #f7f7f7; border: 1px solid #e5e5e5; padding: 12px 14px; overflow-x: auto;
  font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
""".rstrip()

GROUPS = (
    ("Volume", ("mentions", "answerable_mentions")),
    ("Outcomes", ("acknowledged_share", "resolved_share", "abandoned_share", "ignored_share",
                  "dropped_share", "open_share")),
    ("Speed", ("ack_time_p50", "ack_time_p90", "resolve_time_p50", "resolve_time_p90")),
    ("SLA and customer expectations",
     ("ack_sla_attainment", "ack_sla_attainment_calendar", "ack_sla_attainment_business_hours",
      "resolve_sla_attainment", "resolve_sla_attainment_calendar", "resolve_sla_attainment_business_hours",
      "ack_breach_rate", "resolve_breach_rate", "ack_expectation_p50")),
    ("Viral cascades and incidents",
     ("cascade_mentions", "incident_mentions", "largest_cascade", "breach_caused_share")),
    ("Staffing and cost", ("agent_hours", "cost", "utilization", "max_queue_length")),
)


def _number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def format_metric(name: str, values: list[float]) -> list[str]:
    """Format a metric's numbers alike: shares as %, times in a unit chosen by the first value."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    kind = metric_kind(name)
    if kind == "time":
        scale, unit = 1.0, "min"
        head = finite[0] if finite else 0.0
        if head >= 2880:
            scale, unit = 1440.0, "d"
        elif head >= 120:
            scale, unit = 60.0, "h"
        fmt = lambda v: f"{v / scale:,.1f} {unit}"  # noqa: E731
    elif kind == "share":
        fmt = lambda v: f"{v:.1%}"  # noqa: E731
    elif kind == "count":
        fmt = lambda v: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.1f}"  # noqa: E731
    else:
        fmt = _number
    return [fmt(v) if v is not None and math.isfinite(v) else "—" for v in values]


def _group_order(dimension: str, scenario) -> list[str]:
    if dimension == "tier":
        return list(FOLLOWER_TIERS)
    return list(scenario.channels if dimension == "channel" else scenario.types)


def _ordered_metrics(summary: dict[str, dict[str, float]], scenario) -> list[tuple[str, list[str]]]:
    """Metric names in groups: the fixed groups, then fairness by dimension (groups in their
    natural order: tiers by reach, channels and types as the scenario lists them), then Other."""
    grouped = [(title, [m for m in names if m in summary]) for title, names in GROUPS]
    known = {m for _, names in GROUPS for m in names}
    measures = list(FAIRNESS_MEASURES) + [m for m in WORDS if m not in FAIRNESS_MEASURES]
    fair = {m: parts for m in summary if m not in known and (parts := fairness_parts(m))}
    for dim, words in FAIRNESS_DIMENSIONS.items():
        order = _group_order(dim, scenario)
        names = [m for m, (_, d, _) in fair.items() if d == dim]
        names.sort(key=lambda m, order=order: (
            order.index(fair[m][2]) if fair[m][2] in order else len(order), measures.index(fair[m][0]), m))
        grouped.append((f"Fairness: by {words}", names))
        known.update(names)
    grouped.append(("Other", [m for m in summary if m not in known]))
    return [(title, names) for title, names in grouped if names]


def _sla_status(name: str, stats: dict[str, float], scenario) -> str:
    base = name.removesuffix("_business_hours").removesuffix("_calendar")
    stage = SLA_STAGES.get(base)
    if stage is None:
        return ""
    sla = getattr(scenario.sla, stage)
    target = f"target {sla.target:.0%} within {format_duration(sla.within)}"
    mean, low = stats.get("mean", math.nan), stats.get("ci_low", math.nan)
    if math.isfinite(low) and low >= sla.target:
        verdict = '<span class="ok">met (whole CI above target)</span>'
    elif math.isfinite(mean) and mean >= sla.target:
        verdict = '<span class="warn">met on average; the CI reaches below target</span>'
    elif math.isfinite(mean):
        verdict = '<span class="bad">missed</span>'
    else:
        verdict = ""
    return f"{html.escape(target)}; {verdict}" if verdict else html.escape(target)


def summary_table(summary: dict[str, dict[str, float]], scenario) -> str:
    """The summary metrics as an HTML table: plain words, name, mean, 95 % CI, SLA verdict."""
    rows = ['<table>', '<thead><tr><th>metric</th><th>name</th><th class="num">mean</th>'
            '<th class="num">95 % CI</th><th>target</th></tr></thead>', '<tbody>']
    for title, names in _ordered_metrics(summary, scenario):
        rows.append(f'<tr class="group"><td colspan="5">{html.escape(title)}</td></tr>')
        for name in names:
            stats = summary[name]
            mean, low, high = format_metric(
                name, [stats.get("mean", math.nan), stats.get("ci_low", math.nan), stats.get("ci_high", math.nan)]
            )
            ci = "—" if low == "—" and high == "—" else f"{low} – {high}"
            words = metric_words(name, scenario)
            rows.append(
                f"<tr><td>{html.escape(words)}</td><td><code>{html.escape(name)}</code></td>"
                f'<td class="num">{html.escape(mean)}</td><td class="num">{html.escape(ci)}</td>'
                f"<td>{_sla_status(name, stats, scenario)}</td></tr>"
            )
    rows += ["</tbody>", "</table>"]
    return "\n".join(rows)


def render_plots(result: RunResultLike) -> dict[str, bytes]:
    """PNG bytes of every report plot, by file name."""
    scenario, mentions, source = result.scenario, kept_records(result), run_breakdowns(result)
    # each figure with what it needs: the time series (always there), the breakdowns (records
    # or a tally) or each mention's own record; those whose need the run did not keep go
    figures = {
        "queues.png": (True, lambda: queues_figure(result.series, scenario)),
        "ack_vs_expectation.png": (source, lambda: ack_vs_expectation_figure(source, scenario)),
        "expectation_gap.png": (mentions, lambda: expectation_gap_figure(mentions, scenario)),
        "ack_vs_resolution.png": (source, lambda: ack_vs_resolution_figure(source, scenario)),
        "breach_by_hour.png": (source, lambda: breach_by_hour_figure(source, scenario)),
        "arrivals.png": (True, lambda: arrivals_figure(result.series, mentions, scenario)),
        "breach_by_tier.png": (source, lambda: breach_by_tier_figure(source, scenario)),
    }
    return draw({name: make for name, (need, make) in figures.items() if need is not None})


def write_plots(result: RunResultLike, folder: Path) -> dict[str, bytes]:
    """Write the report plots as PNG files into `folder`; return their bytes by file name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = render_plots(result)
    for name, data in images.items():
        (folder / name).write_bytes(data)
    return images


def render_html(result: RunResultLike, images: dict[str, bytes]) -> str:
    """The report page as text, with `images` (PNG bytes by file name) embedded as data URIs."""
    scenario = result.scenario
    title = f"caresim report: {scenario.name}"
    reps = len(result.replications)
    facts = [
        ("seed", str(result.seed)),
        ("replications", str(reps)),
        ("horizon", format_duration(scenario.horizon)),
        ("warm-up", format_duration(scenario.warmup)),
        ("minute 0", scenario.start.isoformat(sep=" ", timespec="minutes")),
        ("report interval", format_duration(scenario.report_interval)),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>\n{CSS}\n</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if scenario.description.strip():
        parts.append(f'<p class="lead">{html.escape(scenario.description.strip())}</p>')
    parts.append('<p class="facts">' + "".join(
        f"<span><strong>{html.escape(k)}</strong> {html.escape(v)}</span>" for k, v in facts
    ) + "</p>")
    mentions, source = kept_records(result), run_breakdowns(result)
    brief = executive_summary(result.summary, source, scenario)
    parts += [
        '<h2 id="in-brief">In brief</h2>',
        '<ul class="brief">',
        *brief_items(brief),
        "</ul>",
        "<h2>Summary</h2>",
        summary_table(result.summary, scenario),
        f'<p class="note">Means over {reps} replication{"s" * (reps != 1)} with 95 % confidence '
        "intervals across replications. Shares and times count the mentions arriving after the "
        "warm-up; breaches are against each customer's own deadline, the SLA against the "
        "company's target.</p>",
    ]
    captions = {name: (heading, caption) for name, heading, caption in PLOTS}
    for heading, plots, extra in SECTIONS:
        shown = [name for name in plots if name in images]
        if not shown and extra is None:
            continue
        parts.append(f'<h2 id="{_anchor(heading)}">{html.escape(heading)}</h2>')
        for name in shown:
            alt, caption = captions[name]
            data = base64.b64encode(images[name]).decode("ascii")
            parts += [
                "<figure>",
                f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">',
                f"<figcaption>{html.escape(caption)}</figcaption>",
                "</figure>",
            ]
        if extra == "fairness" and source is not None:
            parts += _fairness_section(source, scenario, reps, TALLIED if mentions is None else "")
        elif extra is not None and mentions is None:
            parts.append(NO_RECORDS.format(what=NOT_WITHOUT_RECORDS.get(extra, "this breakdown cannot be drawn")))
        elif extra == "cascades":
            parts += _cascade_section(mentions, scenario)
        elif extra == "story":
            parts += _story_section()
    parts += [
        "<h2>Scenario</h2>",
        '<p class="note">As validated: durations in minutes, rates per minute.</p>',
        f"<pre>{html.escape(dump_scenario(scenario))}</pre>",
        "</main>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def _anchor(heading: str) -> str:
    return "-".join(heading.lower().split())


NO_RECORDS = ('<p class="note">Mention records were not kept in this run, so {what}; run again '
              "with the records kept to see it.</p>")
# what a section's extra needs each mention's own record for
NOT_WITHOUT_RECORDS = {
    "cascades": "the largest cascades cannot be listed",
    "story": "the customers' own timelines cannot be drawn, nor their stories told",
}
TALLIED = ("Mention records were not kept in this run: these counts and rates were tallied as "
           "mentions settled, and the times to acknowledge read from histograms, within 0.6 %.")


def _cascade_section(mentions: MentionLog, scenario) -> list[str]:
    return [
        "<h3>10 largest cascades</h3>",
        '<p class="note">A cascade is a mention (its root) and every follow-on it set off, '
        "directly or through others, counted after the warm-up. Reach is the root author's "
        "follower count; \"root breached\" means the root's author waited longer than they "
        "expected for an acknowledgement, or was ignored by triage or gave up. Replication and "
        "root id locate the root in <code>mentions.csv</code>.</p>",
        largest_cascades_table(mentions, scenario),
        largest_cascade_note(mentions),
    ]


def _story_section() -> list[str]:
    return [
        '<p class="note">One customer\'s experience in words: <code>caresim story &lt;output folder&gt; '
        "--worst</code> tells the story of the customer let down the most, <code>--mention ID "
        "--replication R</code> that of any row of <code>mentions.csv</code>.</p>",
    ]


def _fairness_section(mentions: MentionLog | Breakdowns, scenario, reps: int, note: str = "") -> list[str]:
    return [
        '<p class="note">Who waits: the mentions the team means to answer, grouped by the '
        "author's reach, the channel and the type, all replications pooled (the summary table "
        "gives per-replication means with confidence intervals). Breach rates count mentions "
        "whose deadline passed or who were served; times to acknowledge are over the mentions "
        f"acknowledged, so read them with the share acknowledged.{' ' + html.escape(note) if note else ''}</p>",
        fairness_tables(mentions, scenario, reps),
    ]


def write_report(result: RunResultLike, folder: Path) -> None:
    """Write the report plots (PNG) and report.html into `folder`."""
    folder = Path(folder)
    images = write_plots(result, folder)
    with open(folder / "report.html", "w", encoding="utf-8", newline="\n") as handle:
        handle.write(render_html(result, images))
