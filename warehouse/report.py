"""A static HTML report of the warehouse, and a short Markdown summary for the Prefect artifact.

The report is one HTML file with inline CSS and inline SVG charts drawn here from DuckDB queries
over the catalog (no scripts, no external assets: it opens offline and can be mailed). Each chart
is an ``<svg class="chart" data-chart="NAME">`` in which every data point is one element
(``<rect>``) carrying a ``data-value`` attribute and a ``<title>`` tooltip; only data points carry
``data-value``. A chart whose tables are empty is replaced by ``<p class="no-data"
data-chart="NAME">``.

Charts (``CHARTS``): articles per month by source and language (stacked bars), top persons and
organisations per year, countries x topics (heat map), duplicate share per source, rejects by
reason, and the stage timings of the last runs (stacked bars).
"""

from __future__ import annotations

import contextlib
import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from infoshos.warehouse.catalog import connect, view_sql
from infoshos.warehouse.schema import REJECT_REASONS, TABLES
from infoshos.warehouse.store import Warehouse, write_atomic

CHARTS = (
    "articles_per_month",
    "top_entities",
    "country_topics",
    "duplicate_share",
    "rejects_by_reason",
    "run_timings",
)
TOP_ENTITIES = 5
ENTITY_YEARS = 6
HEAT_COUNTRIES = 15
HEAT_TOPICS = 12
LAST_RUNS = 10
STAGE_ORDER = ("crawl", "clean", "dedup", "enrich", "load")

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#999999",
    "#000000",
)
WIDTH = 760
FONT = 11

# -- the data -------------------------------------------------------------------------------
SQL = {
    "counts": " UNION ALL ".join(f"SELECT '{name}', count(*) FROM {name}" for name in TABLES),
    "per_month": """
        SELECT strftime(published_at, '%Y-%m') AS month, source,
               coalesce(language, 'und') AS language, count(*) AS n
        FROM articles WHERE published_at IS NOT NULL
        GROUP BY ALL ORDER BY ALL""",
    "undated": "SELECT count(*) FROM articles WHERE published_at IS NULL",
    "stories": "SELECT count(DISTINCT cluster_id) FROM articles",
    "top_entities": f"""
        WITH m AS (SELECT DISTINCT article_id, entity_id FROM mentions),
        counted AS (
            SELECT year(a.published_at) AS year, e.type, e.entity_id, e.name, count(*) AS n
            FROM m JOIN articles a USING (article_id) JOIN entities e USING (entity_id)
            WHERE e.type IN ('person', 'org') AND a.published_at IS NOT NULL
            GROUP BY year(a.published_at), e.type, e.entity_id, e.name
        )
        SELECT year, type, entity_id, name, n FROM counted
        QUALIFY row_number() OVER (
            PARTITION BY year, type ORDER BY n DESC, name, entity_id
        ) <= {TOP_ENTITIES}
        ORDER BY year, type, n DESC, name, entity_id""",
    "top_persons": f"""
        WITH m AS (SELECT DISTINCT article_id, entity_id FROM mentions)
        SELECT e.name, count(*) AS n
        FROM m JOIN entities e USING (entity_id) WHERE e.type = 'person'
        GROUP BY e.entity_id, e.name ORDER BY n DESC, e.name LIMIT {TOP_ENTITIES}""",
    "country_topics": """
        SELECT c.entity_id, coalesce(any_value(e.name), any_value(c.iso_code), c.entity_id),
               t.topic, count(DISTINCT c.article_id) AS n
        FROM article_countries c JOIN article_topics t USING (article_id)
        LEFT JOIN entities e ON e.entity_id = c.entity_id
        GROUP BY c.entity_id, t.topic""",
    "duplicates": """
        SELECT source, count(*) AS total,
               count(*) FILTER (WHERE is_canonical = false) AS duplicates,
               count(DISTINCT cluster_id) AS stories
        FROM articles GROUP BY source ORDER BY source""",
    "rejects": "SELECT reason, count(*) AS n FROM rejects GROUP BY reason ORDER BY n DESC, reason",
    "runs": f"""
        SELECT run_id, started_at, status, stage_seconds FROM runs
        ORDER BY started_at DESC, run_id DESC LIMIT {LAST_RUNS}""",
}


@dataclass
class ReportData:
    snapshot: int
    run_id: str | None
    created_at: str
    counts: dict[str, int] = field(default_factory=dict)
    #: (month YYYY-MM, source, language, articles)
    per_month: list[tuple[str, str, str, int]] = field(default_factory=list)
    undated: int = 0
    stories: int = 0
    #: (year, type, entity_id, name, articles)
    top_entities: list[tuple[int, str, str, str, int]] = field(default_factory=list)
    top_persons: list[tuple[str, int]] = field(default_factory=list)
    #: (country entity_id, country name, topic, articles)
    country_topics: list[tuple[str, str, str, int]] = field(default_factory=list)
    #: (source, articles, duplicates, stories)
    duplicates: list[tuple[str, int, int, int]] = field(default_factory=list)
    rejects: list[tuple[str, int]] = field(default_factory=list)
    #: (run_id, started_at, status, {stage: seconds}) oldest first
    runs: list[tuple[str, datetime | None, str | None, dict[str, float]]] = field(
        default_factory=list
    )


def _connect(wh: Warehouse) -> duckdb.DuckDBPyConnection:
    """The catalog; for a folder that holds no warehouse yet, empty typed views in memory."""
    if wh.exists():
        con = connect(wh)
    else:
        con = duckdb.connect(":memory:")
        for name in TABLES:
            con.execute(view_sql(name, []))
    with contextlib.suppress(duckdb.Error):  # without ICU, timestamps are UTC anyway
        con.execute("SET TimeZone = 'UTC'")
    return con


def collect(wh: Warehouse) -> ReportData:
    """Run the report's queries against the current snapshot."""
    snap = wh.current()
    data = ReportData(snap.number, snap.run_id, snap.created_at)
    con = _connect(wh)
    try:

        def rows(key: str) -> list[tuple[Any, ...]]:
            return con.execute(SQL[key]).fetchall()

        data.counts = {str(name): int(n) for name, n in rows("counts")}
        data.per_month = [
            (str(m), str(s), str(lang), int(n)) for m, s, lang, n in rows("per_month")
        ]
        data.undated = int(rows("undated")[0][0])
        data.stories = int(rows("stories")[0][0])
        data.top_entities = [
            (int(y), str(t), str(i), str(name), int(n)) for y, t, i, name, n in rows("top_entities")
        ]
        data.top_persons = [(str(name), int(n)) for name, n in rows("top_persons")]
        data.country_topics = [
            (str(c), str(name), str(t), int(n)) for c, name, t, n in rows("country_topics")
        ]
        data.duplicates = [
            (str(s), int(total), int(d), int(k)) for s, total, d, k in rows("duplicates")
        ]
        data.rejects = [(str(r), int(n)) for r, n in rows("rejects")]
        runs = []
        for run_id, started, status, seconds in reversed(rows("runs")):
            runs.append((str(run_id), started, status, _stages(seconds)))
        data.runs = runs
    finally:
        con.close()
    return data


def _stages(seconds: Any) -> dict[str, float]:
    """A ``stage_seconds`` map in the pipeline's stage order, then any other stage by name."""
    if not seconds:
        return {}
    items = dict(seconds.items()) if isinstance(seconds, dict) else dict(seconds)
    order = [s for s in STAGE_ORDER if s in items] + sorted(
        s for s in items if s not in STAGE_ORDER
    )
    return {s: float(items[s]) for s in order if items[s] is not None}


# -- drawing --------------------------------------------------------------------------------
def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float) -> str:
    """A number for an attribute: integers without a decimal point, others to 4 places."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _fmt(value: float) -> str:
    return _num(round(value, 2)) if not float(value).is_integer() else str(int(value))


def _attrs(attrs: dict[str, object]) -> str:
    return "".join(
        f' {k.replace("_", "-")}="{_esc(_num(v) if isinstance(v, float) else v)}"'
        for k, v in attrs.items()
        if v is not None
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, tip: str, **data: object) -> str:
    """One data point: ``data`` becomes ``data-*`` attributes (``value`` is required)."""
    assert "value" in data
    attrs: dict[str, object] = {"x": round(x, 2), "y": round(y, 2), "width": round(max(w, 0.0), 2)}
    attrs |= {"height": round(max(h, 0.0), 2), "fill": fill}
    attrs |= {f"data-{k}": v for k, v in data.items()}
    return f"<rect{_attrs(attrs)}><title>{_esc(tip)}</title></rect>"


def _text(x: float, y: float, text: object, anchor: str = "start", cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return (
        f'<text x="{_num(round(x, 2))}" y="{_num(round(y, 2))}" '
        f'text-anchor="{anchor}"{c}>{_esc(text)}</text>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, cls: str = "axis") -> str:
    return (
        f'<path class="{cls}" d="M{_num(round(x1, 2))} {_num(round(y1, 2))} '
        f'L{_num(round(x2, 2))} {_num(round(y2, 2))}"></path>'
    )


def _svg(name: str, width: float, height: float, label: str, body: Iterable[str]) -> str:
    return (
        f'<svg class="chart" data-chart="{name}" width="{_num(round(width))}" '
        f'height="{_num(round(height))}" viewBox="0 0 {_num(round(width))} '
        f'{_num(round(height))}" role="img" aria-label="{_esc(label)}">' + "".join(body) + "</svg>"
    )


def _ticks(maximum: float, count: int = 4) -> list[float]:
    """Round axis ticks from 0 to at least ``maximum``."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw)
    return [i * step for i in range(int(math.ceil(maximum / step - 1e-9)) + 1)]


def _legend(items: Sequence[tuple[str, str]], x: float, y: float, width: float) -> list[str]:
    out: list[str] = []
    cx, cy = x, y
    for label, color in items:
        w = 18 + len(label) * FONT * 0.6 + 14
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 16
        out.append(
            f'<path class="swatch" d="M{_num(round(cx, 2))} {cy - 9}h10v10h-10z" '
            f'fill="{color}"></path>'
        )
        out.append(_text(cx + 14, cy, label))
        cx += w
    return out


def _months(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def chart_articles_per_month(data: ReportData) -> str | None:
    if not data.per_month:
        return None
    series = sorted({(s, lang) for _, s, lang, _ in data.per_month})
    colors = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(series)}
    months = _months(data.per_month[0][0], max(m for m, *_ in data.per_month))
    counts: dict[str, list[tuple[tuple[str, str], int]]] = {m: [] for m in months}
    for month, source, lang, n in data.per_month:
        counts[month].append(((source, lang), n))
    totals = {m: sum(n for _, n in v) for m, v in counts.items()}
    ticks = _ticks(max(totals.values()))
    left, top, right = 44, 16, 12
    plot_h = 220
    legend_rows = 1 + int(
        sum(18 + len(f"{s} {lang}") * FONT * 0.6 + 14 for s, lang in series)
        // (WIDTH - left - right)
    )
    height = top + plot_h + 34 + legend_rows * 16 + 8
    plot_w = WIDTH - left - right
    step = plot_w / len(months)
    bar = max(step * 0.8, 1.0)
    scale = plot_h / ticks[-1]
    base = top + plot_h
    out: list[str] = []
    for t in ticks:
        y = base - t * scale
        out.append(_line(left, y, left + plot_w, y, "grid"))
        out.append(_text(left - 6, y + 4, _fmt(t), "end"))
    label_every = 1 if len(months) <= 18 else 3 if len(months) <= 48 else 12
    for i, month in enumerate(months):
        x = left + i * step + (step - bar) / 2
        y = base
        for key in series:
            n = dict(counts[month]).get(key, 0)
            if not n:
                continue
            h = n * scale
            y -= h
            source, lang = key
            tip = f"{month} {source} {lang}: {n} article{'s' if n != 1 else ''}"
            out.append(
                _rect(
                    x,
                    y,
                    bar,
                    h,
                    colors[key],
                    tip,
                    value=n,
                    month=month,
                    source=source,
                    language=lang,
                )
            )
        if (label_every == 12 and month.endswith("-01")) or (
            label_every < 12 and i % label_every == 0
        ):
            label = month[:4] if label_every == 12 else month
            out.append(_text(left + i * step + step / 2, base + 14, label, "middle"))
    out.append(_line(left, base, left + plot_w, base))
    out += _legend(
        [(f"{s} {lang}", colors[(s, lang)]) for s, lang in series], left, base + 34, plot_w
    )
    return _svg("articles_per_month", WIDTH, height, "articles per month", out)


def chart_top_entities(data: ReportData) -> str | None:
    if not data.top_entities:
        return None
    years = sorted({y for y, *_ in data.top_entities})[-ENTITY_YEARS:]
    kinds = (("person", "persons"), ("org", "organisations"))
    panel_w = (WIDTH - 20) / 2
    label_w = 150
    row_h = 16
    block_h = 22 + TOP_ENTITIES * row_h + 10
    height = 8 + len(years) * block_h
    peak = max(n for *_, n in data.top_entities)
    out: list[str] = []
    for yi, year in enumerate(years):
        y0 = 8 + yi * block_h
        for ki, (kind, title) in enumerate(kinds):
            x0 = ki * (panel_w + 20)
            out.append(_text(x0, y0 + 12, f"{year}: {title}", cls="panel"))
            rows = [r for r in data.top_entities if r[0] == year and r[1] == kind]
            if not rows:
                out.append(_text(x0, y0 + 12 + row_h, "none", cls="muted"))
            bar_max = panel_w - label_w - 40
            color = PALETTE[0] if kind == "person" else PALETTE[1]
            for ri, (_, _, entity_id, name, n) in enumerate(rows):
                y = y0 + 20 + ri * row_h
                short = name if len(name) <= 22 else name[:21] + "…"
                out.append(_text(x0 + label_w - 6, y + 11, short, "end"))
                w = bar_max * n / peak
                tip = f"{name}, {year}: {n} article{'s' if n != 1 else ''}"
                out.append(
                    _rect(
                        x0 + label_w,
                        y + 2,
                        w,
                        row_h - 4,
                        color,
                        tip,
                        value=n,
                        year=year,
                        type=kind,
                        entity=entity_id,
                        label=name,
                    )
                )
                out.append(_text(x0 + label_w + w + 4, y + 11, n))
    return _svg("top_entities", WIDTH, height, "top persons and organisations per year", out)


def _heat_axes(data: ReportData) -> tuple[list[tuple[str, str]], list[str]]:
    by_country: dict[tuple[str, str], int] = {}
    by_topic: dict[str, int] = {}
    for cid, name, topic, n in data.country_topics:
        by_country[(cid, name)] = by_country.get((cid, name), 0) + n
        by_topic[topic] = by_topic.get(topic, 0) + n
    countries = sorted(by_country, key=lambda k: (-by_country[k], k[1], k[0]))[:HEAT_COUNTRIES]
    topics = sorted(by_topic, key=lambda k: (-by_topic[k], k))[:HEAT_TOPICS]
    return countries, topics


def chart_country_topics(data: ReportData) -> str | None:
    if not data.country_topics:
        return None
    countries, topics = _heat_axes(data)
    cells = {(c, t): n for c, _, t, n in data.country_topics}
    peak = max(cells.values())
    label_w, top = 130, 110
    cell_w = min(56.0, (WIDTH - label_w - 10) / len(topics))
    cell_h = 22
    height = top + len(countries) * cell_h + 10
    out: list[str] = []
    for ti, topic in enumerate(topics):
        x = label_w + ti * cell_w + cell_w / 2
        out.append(
            f'<text transform="translate({_num(round(x + 4, 2))} {top - 6}) rotate(-45)" '
            f'text-anchor="start">{_esc(topic)}</text>'
        )
    for ci, (cid, name) in enumerate(countries):
        y = top + ci * cell_h
        out.append(_text(label_w - 6, y + 15, name, "end"))
        for ti, topic in enumerate(topics):
            n = cells.get((cid, topic), 0)
            x = label_w + ti * cell_w
            shade = n / peak if peak else 0.0
            fill = _blend("#f4f4f4", "#08519c", shade) if n else "#f4f4f4"
            tip = f"{name} x {topic}: {n} article{'s' if n != 1 else ''}"
            out.append(
                _rect(
                    x + 1,
                    y + 1,
                    cell_w - 2,
                    cell_h - 2,
                    fill,
                    tip,
                    value=n,
                    country=name,
                    entity=cid,
                    topic=topic,
                )
            )
            if n:
                cls = "on-dark" if shade > 0.5 else ""
                out.append(_text(x + cell_w / 2, y + 15, n, "middle", cls))
    return _svg("country_topics", WIDTH, height, "countries by topic", out)


def _blend(a: str, b: str, t: float) -> str:
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    t = 0.15 + 0.85 * max(0.0, min(1.0, t))
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb, strict=True))


def _hbars(
    name: str,
    label: str,
    rows: Sequence[tuple[str, float, str, dict[str, object]]],
    maximum: float,
    color: str,
) -> str:
    """Horizontal bars: (label, value, text after the bar, extra data attributes)."""
    label_w, row_h = 150, 22
    bar_max = WIDTH - label_w - 150
    out: list[str] = []
    for i, (text, value, after, extra) in enumerate(rows):
        y = 6 + i * row_h
        out.append(_text(label_w - 6, y + 15, text, "end"))
        w = bar_max * value / maximum if maximum else 0.0
        out.append(
            _rect(label_w, y + 3, w, row_h - 6, color, f"{text}: {after}", value=value, **extra)
        )
        out.append(_text(label_w + w + 6, y + 15, after))
    out.append(_line(label_w, 2, label_w, 8 + len(rows) * row_h))
    return _svg(name, WIDTH, 12 + len(rows) * row_h, label, out)


def chart_duplicate_share(data: ReportData) -> str | None:
    if not data.duplicates:
        return None
    rows: list[tuple[str, float, str, dict[str, object]]] = []
    for source, total, dups, stories in data.duplicates:
        share = dups / total if total else 0.0
        after = f"{share:.0%} ({dups} of {total}; {stories} stories)"
        rows.append(
            (source, round(share, 4), after, {"source": source, "duplicates": dups, "total": total})
        )
    return _hbars("duplicate_share", "duplicate share per source", rows, 1.0, PALETTE[5])


def chart_rejects_by_reason(data: ReportData) -> str | None:
    if not data.rejects:
        return None
    rows: list[tuple[str, float, str, dict[str, object]]] = [
        (reason, float(n), str(n), {"reason": reason}) for reason, n in data.rejects
    ]
    peak = max(n for _, n in data.rejects)
    return _hbars("rejects_by_reason", "rejects by reason", rows, float(peak), PALETTE[3])


def chart_run_timings(data: ReportData) -> str | None:
    if not data.runs:
        return None
    stages: list[str] = []
    for *_, seconds in data.runs:
        stages += [s for s in seconds if s not in stages]
    stages = [s for s in STAGE_ORDER if s in stages] + sorted(
        s for s in stages if s not in STAGE_ORDER
    )
    colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(stages)}
    peak = max((sum(sec.values()) for *_, sec in data.runs), default=0.0)
    ticks = _ticks(peak)
    label_w, row_h, top = 190, 22, 8
    plot_w = WIDTH - label_w - 70
    scale = plot_w / ticks[-1]
    base = top + len(data.runs) * row_h
    out: list[str] = []
    for t in ticks:
        x = label_w + t * scale
        out.append(_line(x, top, x, base, "grid"))
        out.append(_text(x, base + 14, f"{_fmt(t)} s", "middle"))
    for i, (run_id, started, status, seconds) in enumerate(data.runs):
        y = top + i * row_h
        when = started.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if started else "?"
        cls = "failed" if status and status != "completed" else ""
        short = run_id if len(run_id) <= 8 else "…" + run_id[-6:]
        out.append(_text(label_w - 6, y + 15, f"{when} {short}", "end", cls))
        x = label_w
        for stage, sec in seconds.items():
            w = sec * scale
            tip = f"{run_id} {stage}: {sec:.3f} s"
            out.append(
                _rect(
                    x, y + 3, w, row_h - 6, colors[stage], tip, value=sec, run=run_id, stage=stage
                )
            )
            x += w
        total = sum(seconds.values())
        note = f"{total:.1f} s" if seconds else "no timings"
        if status and status != "completed":
            note += f" ({status})"
        out.append(_text(x + 6, y + 15, note, cls=cls))
    out.append(_line(label_w, base, label_w + plot_w, base))
    out += _legend([(s, colors[s]) for s in stages], label_w, base + 36, plot_w)
    return _svg("run_timings", WIDTH, base + 52, "stage timings of the last runs", out)


# -- the page -------------------------------------------------------------------------------
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


@dataclass
class _Chart:
    name: str
    title: str
    svg: str | None
    caption: str
    empty: str


def _charts(data: ReportData) -> list[_Chart]:
    articles = data.counts.get("articles", 0)
    dated = sum(n for *_, n in data.per_month)
    month_caption = (
        f"{dated} articles by month of publication (UTC), stacked by source and language."
    )
    if data.undated:
        month_caption += f" {data.undated} articles without a date are not shown."
    shown_years = sorted({y for y, *_ in data.top_entities})
    ent_caption = (
        f"The {TOP_ENTITIES} persons and organisations mentioned in the most articles, per year of "
        "publication."
    )
    if len(shown_years) > ENTITY_YEARS:
        ent_caption += f" The last {ENTITY_YEARS} of {len(shown_years)} years are shown."
    countries, topics = _heat_axes(data) if data.country_topics else ([], [])
    heat_caption = (
        "Articles that mention a country (rows) and carry a topic (columns); darker is more. "
        f"The {len(countries)} most frequent countries and {len(topics)} topics are shown."
    )
    dups = sum(d for _, _, d, _ in data.duplicates)
    dup_caption = (
        f"Share of each source's articles that duplicate another article (not canonical in their "
        f"story cluster): {dups} of {articles} overall, in {data.stories} stories."
    )
    rej_total = sum(n for _, n in data.rejects)
    unknown = [r for r, _ in data.rejects if r not in REJECT_REASONS]
    rej_caption = f"{rej_total} reject rows over all runs, by reason code."
    if unknown:
        rej_caption += f" Codes not in the reference list: {', '.join(unknown)}."
    run_caption = (
        f"Seconds per stage of the last {len(data.runs)} runs (oldest at the top); failed runs "
        "in red."
    )
    return [
        _Chart(
            "articles_per_month",
            "Articles per month",
            chart_articles_per_month(data),
            month_caption,
            "No dated articles yet.",
        ),
        _Chart(
            "top_entities",
            "Top persons and organisations per year",
            chart_top_entities(data),
            ent_caption,
            "No person or organisation mentions yet.",
        ),
        _Chart(
            "country_topics",
            "Countries and topics",
            chart_country_topics(data),
            heat_caption,
            "No articles with both countries and topics yet.",
        ),
        _Chart(
            "duplicate_share",
            "Duplicate share per source",
            chart_duplicate_share(data),
            dup_caption,
            "No articles yet.",
        ),
        _Chart(
            "rejects_by_reason",
            "Rejects by reason",
            chart_rejects_by_reason(data),
            rej_caption,
            "No rejects yet.",
        ),
        _Chart(
            "run_timings",
            "Timings of the last runs",
            chart_run_timings(data),
            run_caption,
            "No runs yet.",
        ),
    ]


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
        f'<p class="meta">{_esc(meta)} Generated {_esc(when)}.</p></header>',
        '<section id="counts"><h2>Tables</h2><table class="counts">',
        "<tr><th>table</th><th>rows</th></tr>",
    ]
    for name in TABLES:
        parts.append(
            f'<tr><td>{_esc(name)}</td><td class="n">{data.counts.get(name, 0):,}</td></tr>'
        )
    parts.append("</table></section>")
    for chart in _charts(data):
        parts.append(f'<section id="{chart.name}"><h2>{_esc(chart.title)}</h2>')
        if chart.svg is None:
            parts.append(f'<p class="no-data" data-chart="{chart.name}">{_esc(chart.empty)}</p>')
        else:
            parts.append(
                f"<figure>{chart.svg}<figcaption>{_esc(chart.caption)}</figcaption></figure>"
            )
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def write_report(wh: Warehouse, out: Path) -> Path:
    """Write the HTML report of ``wh`` to ``out`` (a file, or a folder to hold report.html)."""
    out = Path(out).expanduser()
    if out.is_dir():
        out = out / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, render_html(collect(wh)).encode("utf-8"))
    return out


def report_markdown(wh: Warehouse) -> str:
    """A short summary for the Prefect artifact: counts, top persons, rejects, last run."""
    data = collect(wh)
    lines = ["# infoshos warehouse", ""]
    if data.snapshot:
        lines.append(f"Snapshot {data.snapshot}, run `{data.run_id}`.")
    else:
        lines.append("No published snapshot yet.")
    c = data.counts
    lines += [
        "",
        f"- articles: {c.get('articles', 0)} ({data.stories} stories, "
        f"{sum(d for _, _, d, _ in data.duplicates)} duplicates)",
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
