"""A static HTML report of the warehouse, and a short Markdown summary for the Prefect artifact.

One module per job, each using only those listed before it:

- ``queries``: the report's DuckDB queries (``SQL``) and the ``ReportData`` they fill
  (``collect``), under DuckDB's ``MEMORY_LIMIT``;
- ``svg``: SVG primitives and label layout; they know nothing of the data;
- ``charts``: the six charts (``CHARTS``) drawn from a ``ReportData``, with titles and captions;
- ``page``: the HTML page (``render_html``, ``write_report``) and the Markdown summary
  (``report_markdown``).

This package re-exports the names the CLI, the flow, the tests and the benchmarks import.
"""

from infoshos.warehouse.report.charts import CHARTS
from infoshos.warehouse.report.page import render_html, report_markdown, write_report
from infoshos.warehouse.report.queries import (
    MARKDOWN_QUERIES,
    MEMORY_LIMIT,
    SQL,
    ReportData,
    collect,
)

__all__ = [
    "CHARTS",
    "MARKDOWN_QUERIES",
    "MEMORY_LIMIT",
    "SQL",
    "ReportData",
    "collect",
    "render_html",
    "report_markdown",
    "write_report",
]
