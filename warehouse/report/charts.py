"""The report's six charts, each an SVG drawn from a ``ReportData``, with its title and caption.

Each ``chart_*`` function returns an ``<svg class="chart" data-chart="NAME">`` built from the
primitives of ``svg``, or None when its data are empty (the page then shows ``Chart.empty``).
Every data point is one ``<rect>`` carrying ``data-value`` and a ``<title>`` tooltip; only data
points carry ``data-value``. Nothing here queries or writes.

Charts (``CHARTS``, in the page's order): articles per month by source and language (stacked
bars), top persons and organisations per year (one scale per year), countries x topics (heat map,
readable topic names), the share of copies per source (articles that are not the canonical one of
their story cluster), rejects by reason (the caption names codes missing from
``schema.REJECT_REASONS``), and the stage timings of the last runs (stacked bars, stages in the
order of ``schema.STAGES``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC

from infoshos.warehouse.report import svg
from infoshos.warehouse.report.queries import TOP_ENTITIES, ReportData, stage_order
from infoshos.warehouse.report.svg import FONT, PALETTE, WIDTH
from infoshos.warehouse.schema import REJECT_REASONS

CHARTS = (
    "articles_per_month",
    "top_entities",
    "country_topics",
    "duplicate_share",
    "rejects_by_reason",
    "run_timings",
)
#: The last years shown by ``top_entities``.
ENTITY_YEARS = 6
#: The rows (most frequent countries) and columns (topics) of the heat map.
HEAT_COUNTRIES = 15
HEAT_TOPICS = 12

#: Readable names for the topic codes of ``flows/enrich/topics.yaml``; others: "_" -> " ".
TOPIC_NAMES = {
    "drug_trafficking": "drug trafficking",
    "economy_trade": "economy and trade",
    "culture_sport": "culture and sport",
    "security_cooperation": "security cooperation",
    "education_science": "education and science",
}


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _copies(n: int) -> str:
    return "is a copy" if n == 1 else "are copies"


def topic_name(code: str) -> str:
    """A readable name for a topic code: "economy and trade" for ``economy_trade``."""
    return TOPIC_NAMES.get(code, code.replace("_", " "))


def _months(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _month_labels(months: Sequence[str], step: float) -> dict[str, str]:
    """The x labels: every month of a short span, quarter starts (YYYY-01/04/07/10) when there
    is room, else year starts ("YYYY", every year or every few years)."""
    gap = 8
    if len(months) <= 6 and step >= svg.text_width("0000-00") + gap:
        return {m: m for m in months}
    if 3 * step >= svg.text_width("0000-00") + gap:
        return {m: m for m in months if m[5:7] in ("01", "04", "07", "10")}
    every = next(
        k for k in (1, 2, 5, 10, 20, 50, 100) if 12 * k * step >= svg.text_width("0000") + gap
    )
    return {m: m[:4] for m in months if m.endswith("-01") and int(m[:4]) % every == 0}


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
    ticks = svg.ticks(max(totals.values()))
    # the x labels stand under the bars of quarter starts and must not pass the right edge
    left, top, right = 44, 16, math.ceil(svg.text_width("0000-00") / 2) + 2
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
        out.append(svg.line(left, y, left + plot_w, y, "grid"))
        out.append(svg.text(left - 6, y + 4, svg.fmt(t), "end"))
    labels = _month_labels(months, step)
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
                svg.rect(
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
        if month in labels:
            cx = left + i * step + step / 2
            out.append(svg.line(cx, base, cx, base + 4))
            out.append(svg.text(cx, base + 15, labels[month], "middle"))
    out.append(svg.line(left, base, left + plot_w, base))
    out += svg.legend(
        [(f"{s} {lang}", colors[(s, lang)]) for s, lang in series], left, base + 34, plot_w
    )
    return svg.chart("articles_per_month", WIDTH, height, "articles per month", out)


def chart_top_entities(data: ReportData) -> str | None:
    if not data.top_entities:
        return None
    years = sorted({y for y, *_ in data.top_entities})[-ENTITY_YEARS:]
    kinds = (("person", "persons"), ("org", "organisations"))
    panel_w = (WIDTH - 20) / 2
    label_w = 196
    row_h = 16
    block_h = 22 + TOP_ENTITIES * row_h + 10
    height = 8 + len(years) * block_h
    # the same length for every year's longest bar, with room for the largest count after it
    bar_max = panel_w - label_w - 8 - svg.text_width(str(max(n for *_, n in data.top_entities)))
    out: list[str] = []
    for yi, year in enumerate(years):
        y0 = 8 + yi * block_h
        # one scale per year (both panels of the row): the year's top count is the longest bar
        peak = max(n for y, *_, n in data.top_entities if y == year)
        for ki, (kind, title) in enumerate(kinds):
            x0 = ki * (panel_w + 20)
            out.append(svg.text(x0, y0 + 12, f"{year}: {title}", cls="panel"))
            rows = [r for r in data.top_entities if r[0] == year and r[1] == kind]
            if not rows:
                out.append(svg.text(x0, y0 + 12 + row_h, "none", cls="muted"))
            color = PALETTE[0] if kind == "person" else PALETTE[1]
            for ri, (_, _, entity_id, name, n) in enumerate(rows):
                y = y0 + 20 + ri * row_h
                short = svg.short_label(name, data.aliases.get(entity_id, ()), label_w - 8)
                full = name if short != name else ""
                out.append(svg.text(x0 + label_w - 6, y + 11, short, "end", title=full))
                w = bar_max * n / peak
                tip = f"{name}, {year}: {n} article{'s' if n != 1 else ''}"
                out.append(
                    svg.rect(
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
                out.append(svg.text(x0 + label_w + w + 4, y + 11, n))
    return svg.chart("top_entities", WIDTH, height, "top persons and organisations per year", out)


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
    label_w, cell_h = 130, 22
    # Column labels run up and to the right at 45 degrees from above their column: a label of
    # width w reaches w * cos(45) further right (plus the descent), so narrow the cells until the
    # last labels end inside the chart; a label that still would not fit is shortened.
    names = [topic_name(t) for t in topics]
    diag = math.sqrt(0.5)
    room = WIDTH - label_w - 4 - 6  # the label starts 4 px right of the column's middle
    cell_w = min(56.0, (WIDTH - label_w - 10) / len(topics))
    for ti, name in enumerate(names):
        cell_w = min(cell_w, max(24.0, (room - svg.text_width(name) * diag - 1) / (ti + 0.5)))
    names = [svg.fit(n, (room - (ti + 0.5) * cell_w) / diag) for ti, n in enumerate(names)]
    top = math.ceil(max(svg.text_width(n) for n in names) * diag + FONT + 8)
    height = top + len(countries) * cell_h + 10
    out: list[str] = []
    for ti, (topic, name) in enumerate(zip(topics, names, strict=True)):
        x = label_w + ti * cell_w + cell_w / 2
        full = topic_name(topic) if topic_name(topic) == topic else f"{topic_name(topic)} ({topic})"
        tip = f"<title>{svg.esc(full)}</title>"
        out.append(
            f'<text transform="translate({svg.num(round(x + 4, 2))} {top - 6}) rotate(-45)" '
            f'text-anchor="start" data-topic="{svg.esc(topic)}">{tip}{svg.esc(name)}</text>'
        )
    for ci, (cid, name) in enumerate(countries):
        y = top + ci * cell_h
        short = svg.fit(name, label_w - 8)
        out.append(svg.text(label_w - 6, y + 15, short, "end", title=name if short != name else ""))
        for ti, topic in enumerate(topics):
            n = cells.get((cid, topic), 0)
            x = label_w + ti * cell_w
            shade = n / peak if peak else 0.0
            fill = svg.blend("#f4f4f4", "#08519c", shade) if n else "#f4f4f4"
            tip = f"{name} x {topic_name(topic)}: {_plural(n, 'article')}"
            out.append(
                svg.rect(
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
                out.append(svg.text(x + cell_w / 2, y + 15, n, "middle", cls))
    return svg.chart("country_topics", WIDTH, height, "countries by topic", out)


def chart_duplicate_share(data: ReportData) -> str | None:
    if not data.duplicates:
        return None
    rows: list[tuple[str, float, str, dict[str, object]]] = []
    for source, total, dups in data.duplicates:
        share = dups / total if total else 0.0
        after = f"{dups} of {_plural(total, 'article')} {_copies(dups)}"
        after += f" ({share:.0%})" if total else ""
        rows.append(
            (source, round(share, 4), after, {"source": source, "duplicates": dups, "total": total})
        )
    return svg.hbars("duplicate_share", "share of copies per source", rows, 1.0, PALETTE[5])


def chart_rejects_by_reason(data: ReportData) -> str | None:
    if not data.rejects:
        return None
    rows: list[tuple[str, float, str, dict[str, object]]] = [
        (reason, float(n), str(n), {"reason": reason}) for reason, n in data.rejects
    ]
    peak = max(n for _, n in data.rejects)
    return svg.hbars("rejects_by_reason", "rejects by reason", rows, float(peak), PALETTE[3])


def chart_run_timings(data: ReportData) -> str | None:
    if not data.runs:
        return None
    stages: list[str] = []
    for *_, seconds in data.runs:
        stages += [s for s in seconds if s not in stages]
    stages = stage_order(stages)
    colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(stages)}
    peak = max((sum(sec.values()) for *_, sec in data.runs), default=0.0)
    ticks = svg.ticks(peak)
    label_w, row_h, top = 190, 22, 8
    plot_w = WIDTH - label_w - 70
    scale = plot_w / ticks[-1]
    base = top + len(data.runs) * row_h
    out: list[str] = []
    for t in ticks:
        x = label_w + t * scale
        out.append(svg.line(x, top, x, base, "grid"))
        out.append(svg.text(x, base + 14, f"{svg.fmt(t)} s", "middle"))
    for i, (run_id, started, status, seconds) in enumerate(data.runs):
        y = top + i * row_h
        when = started.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if started else "?"
        cls = "failed" if status and status != "completed" else ""
        short = run_id if len(run_id) <= 8 else "…" + run_id[-6:]
        out.append(svg.text(label_w - 6, y + 15, f"{when} {short}", "end", cls))
        x = label_w
        for stage, sec in seconds.items():
            w = sec * scale
            tip = f"{run_id} {stage}: {sec:.3f} s"
            out.append(
                svg.rect(
                    x, y + 3, w, row_h - 6, colors[stage], tip, value=sec, run=run_id, stage=stage
                )
            )
            x += w
        total = sum(seconds.values())
        note = f"{total:.1f} s" if seconds else "no timings"
        if status and status != "completed":
            note += f" ({status})"
        out.append(svg.text(x + 6, y + 15, note, cls=cls))
    out.append(svg.line(label_w, base, label_w + plot_w, base))
    out += svg.legend([(s, colors[s]) for s in stages], label_w, base + 36, plot_w)
    return svg.chart("run_timings", WIDTH, base + 52, "stage timings of the last runs", out)


@dataclass
class Chart:
    """A chart's section of the page: its SVG (None when its data are empty) and texts."""

    name: str
    title: str
    svg: str | None
    caption: str
    empty: str


def all_charts(data: ReportData) -> list[Chart]:
    """The charts of ``data`` in the order of ``CHARTS``, with their titles and captions."""
    articles = data.counts.get("articles", 0)
    dated = sum(n for *_, n in data.per_month)
    month_caption = (
        f"{_plural(dated, 'article')} by month of publication (UTC), stacked by source and "
        "language."
    )
    if data.undated:
        month_caption += (
            f" {_plural(data.undated, 'article')} without a date "
            f"{'is' if data.undated == 1 else 'are'} not shown."
        )
    shown_years = sorted({y for y, *_ in data.top_entities})
    ent_caption = (
        f"The {TOP_ENTITIES} persons and organisations mentioned in the most articles, per year of "
        "publication. Each year has its own scale (its longest bar is its top count): compare "
        "bars within a year, and the numbers across years. Long names are shown by their "
        "abbreviation or shortened; hover for the full name."
    )
    if len(shown_years) > ENTITY_YEARS:
        ent_caption += f" The last {ENTITY_YEARS} of {len(shown_years)} years are shown."
    countries, topics = _heat_axes(data) if data.country_topics else ([], [])
    heat_caption = (
        "Articles that mention a country (rows) and carry a topic (columns); darker is more. "
        f"The {_plural(len(countries), 'most frequent country', 'most frequent countries')} and "
        f"{_plural(len(topics), 'topic')} are shown."
    )
    dups = sum(d for *_, d in data.duplicates)
    dup_caption = (
        "Share of each source's articles that are copies: articles whose story (a cluster of "
        "the same or nearly the same text) is represented by another article, the canonical "
        "one, which has the most complete text; it may be in this source or in another. "
        f"Overall {dups} of {_plural(articles, 'article')} {_copies(dups)}; "
        f"the articles tell {_plural(data.stories, 'story', 'stories')}."
    )
    rej_total = sum(n for _, n in data.rejects)
    unknown = [r for r, _ in data.rejects if r not in REJECT_REASONS]
    rej_caption = f"{_plural(rej_total, 'reject row')} over all runs, by reason code."
    if unknown:
        rej_caption += f" Codes not in the reference list: {', '.join(unknown)}."
    if len(data.runs) == 1:
        run_caption = "Seconds per stage of the last run; in red if it failed."
    else:
        run_caption = (
            f"Seconds per stage of the last {len(data.runs)} runs (oldest at the top); failed "
            "runs in red."
        )
    return [
        Chart(
            "articles_per_month",
            "Articles per month",
            chart_articles_per_month(data),
            month_caption,
            "No dated articles yet.",
        ),
        Chart(
            "top_entities",
            "Top persons and organisations per year",
            chart_top_entities(data),
            ent_caption,
            "No person or organisation mentions yet.",
        ),
        Chart(
            "country_topics",
            "Countries and topics",
            chart_country_topics(data),
            heat_caption,
            "No articles with both countries and topics yet.",
        ),
        Chart(
            "duplicate_share",
            "Duplicate copies per source",
            chart_duplicate_share(data),
            dup_caption,
            "No articles yet.",
        ),
        Chart(
            "rejects_by_reason",
            "Rejects by reason",
            chart_rejects_by_reason(data),
            rej_caption,
            "No rejects yet.",
        ),
        Chart(
            "run_timings",
            "Timings of the last runs",
            chart_run_timings(data),
            run_caption,
            "No runs yet.",
        ),
    ]
