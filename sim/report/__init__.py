"""Plots (PNG) and the self-contained `report.html` of a run; reads results, never the engine."""
from ..differences import fairness_parts, metric_words
from .html import (
    RunResultLike,
    format_metric,
    render_html,
    render_plots,
    summary_table,
    write_plots,
    write_report,
)
from .plots import (
    ack_vs_expectation_figure,
    arrivals_figure,
    breach_by_hour_figure,
    breach_by_tier_figure,
    figure_png,
    format_duration,
    queues_figure,
)
from .summary_text import executive_summary
from .tables import calendar_time, fairness_tables, largest_cascades_table
from .trainer import ack_vs_resolution_figure, expectation_gap_figure

__all__ = [
    "RunResultLike",
    "ack_vs_expectation_figure",
    "ack_vs_resolution_figure",
    "arrivals_figure",
    "breach_by_hour_figure",
    "breach_by_tier_figure",
    "calendar_time",
    "executive_summary",
    "expectation_gap_figure",
    "fairness_parts",
    "fairness_tables",
    "figure_png",
    "format_duration",
    "format_metric",
    "largest_cascades_table",
    "metric_words",
    "queues_figure",
    "render_html",
    "render_plots",
    "summary_table",
    "write_plots",
    "write_report",
]
