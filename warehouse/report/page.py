"""The report's page: one static HTML file of the charts, and the Markdown summary of a run.

:func:`render_html` lays out the tables' row counts and every chart of ``charts.all_charts`` as a
section: a figure with its caption, or ``<p class="no-data" data-chart="NAME">`` when the chart's
data are empty. CSS is inline and there are no scripts and no external assets, so the page opens
offline and can be mailed. :func:`write_report` writes it atomically and refuses a path inside a
warehouse. :func:`report_markdown` is the short summary a run attaches to its Prefect flow run as
an artifact; it runs only ``MARKDOWN_QUERIES``. Table names come from ``schema.TABLES``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from infoshos.warehouse.guard import refuse_inside_warehouse
from infoshos.warehouse.report.charts import all_charts
from infoshos.warehouse.report.queries import MARKDOWN_QUERIES, ReportData, collect
from infoshos.warehouse.report.svg import esc
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.store import Warehouse, WarehouseError, write_atomic

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 800px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 2em; }
table.counts { border-collapse: collapse; } .counts td, .counts th { padding: 2px 10px;
  border-bottom: 1px solid #ddd; text-align: left; } .counts td.n { text-align: right; }
figure { margin: 0.5em 0; } figcaption { color: #555; font-size: 0.9em; margin-top: 0.3em; }
svg.chart { display: block; max-width: 100%; height: auto; font-size: 11px; }
svg.chart text { fill: #333; } svg.chart text.panel { font-weight: bold; }
svg.chart text.muted { fill: #999; } svg.chart text.on-dark { fill: #fff; }
svg.chart text.failed { fill: #c00; }
svg.chart path.axis { stroke: #666; } svg.chart path.grid { stroke: #e4e4e4; }
p.no-data { color: #777; font-style: italic; border: 1px dashed #ccc; padding: 1em; }
.meta { color: #666; }
"""


def render_html(data: ReportData, generated_at: datetime | None = None) -> str:
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    if data.snapshot:
        meta = f"Snapshot {data.snapshot} (run {data.run_id}, {data.created_at[:19]} UTC)."
    else:
        meta = "The warehouse has no published snapshot yet."
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>infoshos report</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header><h1>infoshos report</h1>",
        f'<p class="meta">{esc(meta)} Generated {esc(when)}.</p></header>',
        '<section id="counts"><h2>Tables</h2><table class="counts">',
        "<tr><th>table</th><th>rows</th></tr>",
    ]
    for name in TABLES:
        parts.append(
            f'<tr><td>{esc(name)}</td><td class="n">{data.counts.get(name, 0):,}</td></tr>'
        )
    parts.append("</table></section>")
    for chart in all_charts(data):
        parts.append(f'<section id="{chart.name}"><h2>{esc(chart.title)}</h2>')
        if chart.svg is None:
            parts.append(f'<p class="no-data" data-chart="{chart.name}">{esc(chart.empty)}</p>')
        else:
            parts.append(
                f"<figure>{chart.svg}<figcaption>{esc(chart.caption)}</figcaption></figure>"
            )
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def write_report(wh: Warehouse, out: Path) -> Path:
    """Write the HTML report of ``wh`` to ``out`` (a file, or a folder to hold report.html)."""
    out = Path(out).expanduser()
    if out.is_dir():
        out = out / "report.html"
    refuse_inside_warehouse(out, "report --out")
    page = render_html(collect(wh)).encode("utf-8")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, page)
    except OSError as exc:
        raise WarehouseError(f"cannot write the report to {out}: {exc.strerror or exc}") from exc
    return out


def report_markdown(wh: Warehouse) -> str:
    """A short summary for the Prefect artifact: counts, top persons, rejects, last run."""
    data = collect(wh, only=MARKDOWN_QUERIES)
    lines = ["# infoshos warehouse", ""]
    if data.snapshot:
        lines.append(f"Snapshot {data.snapshot}, run `{data.run_id}`.")
    else:
        lines.append("No published snapshot yet.")
    c = data.counts
    lines += [
        "",
        f"- articles: {c.get('articles', 0)} ({data.stories} stories, "
        f"{sum(d for *_, d in data.duplicates)} duplicates)",
        f"- entities: {c.get('entities', 0)}, mentions: {c.get('mentions', 0)}",
        f"- pages: {c.get('pages', 0)}, rejects: {c.get('rejects', 0)}, runs: {c.get('runs', 0)}",
        "",
        "## Top persons",
        "",
    ]
    if data.top_persons:
        lines += [f"{i}. {name} ({n} articles)" for i, (name, n) in enumerate(data.top_persons, 1)]
    else:
        lines.append("none yet")
    lines += ["", "## Rejects by reason", ""]
    if data.rejects:
        lines += ["| reason | rows |", "|---|---:|"]
        lines += [f"| {reason} | {n} |" for reason, n in data.rejects]
    else:
        lines.append("none")
    lines += ["", "## Last run", ""]
    if data.runs:
        run_id, started, status, seconds = data.runs[-1]
        when = started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if started else "?"
        lines.append(f"`{run_id}` started {when}, {status or 'status unknown'}.")
        if seconds:
            lines += ["", "| stage | seconds |", "|---|---:|"]
            lines += [f"| {stage} | {sec:.2f} |" for stage, sec in seconds.items()]
            lines.append(f"| total | {sum(seconds.values()):.2f} |")
    else:
        lines.append("no runs yet")
    return "\n".join(lines) + "\n"
