"""Plots (PNG) and the self-contained `report.html` of a run; reads results, never the engine."""
from .html import (
    RunResultLike,
    format_metric,
    render_html,
    render_plots,
    scenario_yaml,
    summary_table,
    write_plots,
    write_report,
)
from .plots import (
    ack_vs_expectation_figure,
    breach_by_hour_figure,
    figure_png,
    format_duration,
    queues_figure,
)

__all__ = [
    "RunResultLike",
    "ack_vs_expectation_figure",
    "breach_by_hour_figure",
    "figure_png",
    "format_duration",
    "format_metric",
    "queues_figure",
    "render_html",
    "render_plots",
    "scenario_yaml",
    "summary_table",
    "write_plots",
    "write_report",
]
