"""The HTML report as headless Chromium draws it: the DOM after rendering and the pixels.

The report of the sample warehouse is rendered three times: ``--dump-dom`` of the page itself
(every chart with data points whose ``data-value`` match our own DuckDB queries), ``--dump-dom``
of a copy with a small measuring script (each chart's and data point's box in page pixels) and a
``--screenshot`` of the page itself (each chart's area is not blank and each data point large
enough to see is painted in its fill colour). Without Chromium these tests skip, except under
``CI=true``, where they fail: CI installs it with ``.ci/install-chromium``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html
import numpy as np
import pytest
from browser import (
    CANDIDATES,
    WINDOW,
    Image,
    dump_dom,
    file_url,
    find_chromium,
    in_ci,
    read_png,
    screenshot,
)
from helpers_warehouse import build_sample_warehouse
from helpers_warehouse import query_utc as _q
from lxml.html import HtmlElement
from test_report import crowded

from infoshos.warehouse.report import CHARTS, render_html, write_report
from infoshos.warehouse.store import Warehouse

#: Appended to a copy of the report: writes boxes into the DOM that --dump-dom then returns.
MEASURE = """<script>
(() => {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return [r.left + scrollX, r.top + scrollY, r.width, r.height].map((v) => v.toFixed(2)).join();
  };
  for (const el of document.querySelectorAll("svg.chart, svg.chart [data-value], svg.chart text")) {
    el.setAttribute("data-box", box(el));
  }
  const root = document.documentElement;
  root.setAttribute("data-viewport", innerWidth + "," + innerHeight);
  root.setAttribute("data-page-height", String(root.scrollHeight));
})();
</script>"""
WHITE = np.array([255, 255, 255])
#: Largest per-channel difference between a fill and its painted pixel (no colour management
#: expected in headless screenshots, but leave room for rounding).
TOLERANCE = 6
#: Data points drawn at least this large (CSS pixels) have their colour checked.
MIN_SIDE = 4.0


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = find_chromium()
    if exe is None:
        msg = f"Chromium not found (looked for {', '.join(CANDIDATES)}); run .ci/install-chromium"
        if in_ci():
            pytest.fail(f"CI=true and {msg}", pytrace=False)
        pytest.skip(msg)
    return exe


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return build_sample_warehouse(tmp_path_factory.mktemp("wh"))


@pytest.fixture(scope="module")
def report(wh: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(wh, tmp_path_factory.mktemp("report") / "report.html")


@pytest.fixture(scope="module")
def crowded_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of hand-made data with long labels, many topics and a long span of months."""
    out = tmp_path_factory.mktemp("crowded") / "report.html"
    out.write_text(render_html(crowded()), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def rendered(chromium: str, report: Path) -> HtmlElement:
    return lxml.html.fromstring(dump_dom(file_url(report), browser=chromium))


@dataclass
class Layout:
    viewport: tuple[int, int]
    page_height: float
    #: chart name -> its <svg> with a data-box on it and on each data point
    charts: dict[str, HtmlElement]


def measure(report: Path, chromium: str) -> Layout:
    """Where the charts and their data points stand, in page pixels."""
    text = report.read_text(encoding="utf-8")
    assert text.count("</body>") == 1
    copy = report.with_name(report.stem + ".measure.html")
    copy.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    root = lxml.html.fromstring(dump_dom(file_url(copy), browser=chromium))
    width, height = (int(v) for v in root.get("data-viewport").split(","))
    charts = {svg.get("data-chart"): svg for svg in root.xpath('//svg[@class="chart"]')}
    return Layout((width, height), float(root.get("data-page-height")), charts)


def render(report: Path, chromium: str, out: Path, layout: Layout) -> Image:
    """A screenshot of the whole page (the window as tall as the page, at least WINDOW)."""
    height = max(WINDOW[1], math.ceil(layout.page_height))
    screenshot(file_url(report), out, browser=chromium, window=(WINDOW[0], height))
    return read_png(out)[:, :, :3].astype(np.int16)


@pytest.fixture(scope="module")
def layout(chromium: str, report: Path) -> Layout:
    return measure(report, chromium)


@pytest.fixture(scope="module")
def shot(chromium: str, report: Path, layout: Layout) -> Image:
    return render(report, chromium, report.with_suffix(".png"), layout)


def box(el: HtmlElement) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in el.get("data-box").split(","))
    return x, y, w, h


def within(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    """Whether box ``inner`` lies inside box ``outer``, give or take half a pixel of rounding."""
    x, y, w, h = outer
    ix, iy, iw, ih = inner
    return x - 0.5 <= ix and ix + iw <= x + w + 0.5 and y - 0.5 <= iy and iy + ih <= y + h + 0.5


# -- the DOM after rendering ----------------------------------------------------------------
def expected(wh: Warehouse) -> dict[str, dict[tuple[Any, ...], float]]:
    """Per chart, each data point's key and value, from queries written for this test."""
    want: dict[str, dict[tuple[Any, ...], float]] = {}
    want["articles_per_month"] = {
        (m, s, lang): n
        for m, s, lang, n in _q(
            wh,
            "SELECT strftime(published_at, '%Y-%m'), source, language, count(*) FROM articles "
            "WHERE published_at IS NOT NULL GROUP BY ALL",
        )
    }
    groups: dict[tuple[str, str], list[tuple[int, str, str]]] = defaultdict(list)
    for year, kind, eid, name, n in _q(
        wh,
        "SELECT year(a.published_at), e.type, e.entity_id, e.name, count(DISTINCT m.article_id) "
        "FROM mentions m JOIN articles a USING (article_id) JOIN entities e USING (entity_id) "
        "WHERE e.type IN ('person', 'org') AND a.published_at IS NOT NULL GROUP BY ALL",
    ):
        groups[(str(year), kind)].append((-n, name, eid))
    years = sorted({y for y, _ in groups})[-6:]
    want["top_entities"] = {
        (y, k, eid): -neg
        for (y, k), rows in groups.items()
        if y in years
        for neg, _, eid in sorted(rows)[:5]
    }
    cells = {
        (c, t): n
        for c, t, n in _q(
            wh,
            "SELECT c.entity_id, t.topic, count(DISTINCT c.article_id) FROM article_countries c "
            "JOIN article_topics t USING (article_id) GROUP BY ALL",
        )
    }
    countries, topics = {c for c, _ in cells}, {t for _, t in cells}
    assert len(countries) <= 15 and len(topics) <= 12  # no cut: the whole grid is drawn
    want["country_topics"] = {(c, t): cells.get((c, t), 0) for c in countries for t in topics}
    want["duplicate_share"] = {
        (s,): d / n
        for s, d, n in _q(
            wh,
            "SELECT source, count(*) FILTER (WHERE NOT is_canonical), count(*) FROM articles "
            "GROUP BY source",
        )
    }
    want["rejects_by_reason"] = {
        (r,): n for r, n in _q(wh, "SELECT reason, count(*) FROM rejects GROUP BY reason")
    }
    want["run_timings"] = {
        (run_id, stage): sec
        for run_id, seconds in _q(
            wh, "SELECT run_id, stage_seconds FROM runs ORDER BY started_at DESC LIMIT 10"
        )
        for stage, sec in seconds.items()
    }
    return want


KEYS = {
    "articles_per_month": ("data-month", "data-source", "data-language"),
    "top_entities": ("data-year", "data-type", "data-entity"),
    "country_topics": ("data-entity", "data-topic"),
    "duplicate_share": ("data-source",),
    "rejects_by_reason": ("data-reason",),
    "run_timings": ("data-run", "data-stage"),
}


def shown(svg: HtmlElement) -> dict[tuple[Any, ...], float]:
    """A chart's data points as drawn: key attributes -> data-value."""
    keys = KEYS[svg.get("data-chart")]
    out: dict[tuple[Any, ...], float] = {}
    for p in svg.xpath(".//*[@data-value]"):
        key = tuple(p.get(k) for k in keys)
        assert key not in out, (svg.get("data-chart"), key)
        out[key] = float(p.get("data-value"))
    return out


def test_rendered_dom_holds_every_chart_with_the_warehouse_numbers(
    wh: Warehouse, rendered: HtmlElement
) -> None:
    svgs = rendered.xpath('//svg[@class="chart"]')
    assert [s.get("data-chart") for s in svgs] == list(CHARTS)
    assert not rendered.xpath('//*[@class="no-data"]')
    want = expected(wh)
    sizes = {name: len(points) for name, points in want.items()}
    # the sample warehouse: 4 series over 3 years, 3 x (5 persons + 3 orgs), 7 x 5 cells,
    # 2 sources, 5 reasons, 3 runs x 5 stages + 1 failed run's crawl
    assert sizes["top_entities"] == 24 and sizes["country_topics"] == 35
    assert sizes["duplicate_share"] == 2 and sizes["rejects_by_reason"] == 5
    assert sizes["run_timings"] == 16
    for svg in svgs:
        name = svg.get("data-chart")
        got = shown(svg)
        assert len(got) == len(want[name]) > 0, name
        assert got.keys() == want[name].keys(), name
        for key, value in want[name].items():
            assert got[key] == pytest.approx(value, abs=1e-3), (name, key)
    assert sum(want["articles_per_month"].values()) == 42


# -- the pixels -----------------------------------------------------------------------------
def _rgb(fill: str) -> np.ndarray:
    assert fill.startswith("#") and len(fill) == 7, fill
    return np.array([int(fill[i : i + 2], 16) for i in (1, 3, 5)])


def chart_problems(layout: Layout, img: Image) -> list[str]:
    """What is wrong with the screenshot where each chart stands (empty when all is well)."""
    problems: list[str] = []
    if img.shape[1] != layout.viewport[0]:
        problems.append(f"screenshot {img.shape[1]} px wide, the page was laid out at {layout}")
    for name in CHARTS:
        svg = layout.charts.get(name)
        if svg is None:
            problems.append(f"{name}: no chart in the rendered page")
            continue
        x, y, w, h = box(svg)
        if (round(w), round(h)) != (int(svg.get("width")), int(svg.get("height"))):
            problems.append(f"{name}: drawn {w:g}x{h:g}, not at its size")
        x0, y0, x1, y1 = (int(v) for v in (x, y, math.ceil(x + w), math.ceil(y + h)))
        if w < 100 or h < 20 or x0 < 0 or y0 < 0 or x1 > img.shape[1] or y1 > img.shape[0]:
            problems.append(f"{name}: box {x:g},{y:g} {w:g}x{h:g} not within the screenshot")
            continue
        area = img[y0:y1, x0:x1].reshape(-1, 3)
        inked = float(np.any(area != WHITE, axis=1).mean())
        colours = len(np.unique(area, axis=0))
        if inked < 0.03 or colours < 8:
            problems.append(f"{name}: nearly blank ({inked:.1%} non-white, {colours} colours)")
        checked = 0
        for point in svg.xpath(".//*[@data-value]"):
            px, py, pw, ph = box(point)
            if pw < MIN_SIDE or ph < MIN_SIDE:
                continue
            # a quarter in from the left, halfway down: clear of the numbers printed in cells
            sx, sy = int(px + max(1.5, pw / 4)), int(py + ph / 2)
            got = img[sy, sx]
            want = _rgb(point.get("fill"))
            if np.abs(got - want).max() > TOLERANCE:
                painted = "#" + "".join(f"{int(v):02x}" for v in got)
                problems.append(
                    f"{name}: point {dict(point.attrib)} painted {painted} at {sx},{sy}, "
                    f"not its fill {point.get('fill')}"
                )
            checked += 1
        if not checked:
            problems.append(f"{name}: no data point large enough to check")
    return problems


def test_every_chart_is_painted_where_it_stands(layout: Layout, shot: Image) -> None:
    assert set(layout.charts) == set(CHARTS)
    assert chart_problems(layout, shot) == []


def test_data_points_are_laid_out_inside_their_chart(layout: Layout) -> None:
    for name, svg in layout.charts.items():
        chart = box(svg)
        points = svg.xpath(".//*[@data-value]")
        assert points, name
        for p in points:
            px, py, pw, ph = box(p)
            assert pw >= 0 and ph >= 0
            assert within((px, py, pw, ph), chart), (name, dict(p.attrib), chart)
        visible = [p for p in points if box(p)[2] >= MIN_SIDE and box(p)[3] >= MIN_SIDE]
        assert len(visible) >= len(points) / 2, name


# -- the labels -----------------------------------------------------------------------------
def label_problems(layout: Layout) -> list[str]:
    """Labels that the browser drew (partly) outside their chart, so that they are clipped."""
    problems = []
    for name, svg in layout.charts.items():
        x, y, w, h = box(svg)
        texts = svg.xpath(".//text")
        assert texts, name
        for text in texts:
            tx, ty, tw, th = box(text)
            assert tw > 0 and th > 0, (name, text.text_content())
            if not within((tx, ty, tw, th), (x, y, w, h)):
                problems.append(
                    f"{name}: {''.join(text.xpath('text()'))!r} at {tx:g},{ty:g} {tw:g}x{th:g} "
                    f"outside the chart's {x:g},{y:g} {w:g}x{h:g}"
                )
    return problems


def test_every_label_is_drawn_inside_its_chart(layout: Layout) -> None:
    assert label_problems(layout) == []


@pytest.fixture(scope="module")
def crowded_layout(chromium: str, crowded_report: Path) -> Layout:
    return measure(crowded_report, chromium)


def test_long_labels_many_topics_and_months_still_fit(
    chromium: str, crowded_report: Path, crowded_layout: Layout
) -> None:
    """Rotated topic names at the right edge, long organisation names, year labels under 45
    months: all inside their chart, and every chart painted and drawn at its own size."""
    assert set(crowded_layout.charts) == set(CHARTS)
    assert label_problems(crowded_layout) == []
    heat = crowded_layout.charts["country_topics"]
    columns = heat.xpath(".//text[@data-topic]")
    assert len(columns) == 12
    x, _, w, _ = box(heat)
    right = max(box(t)[0] + box(t)[2] for t in columns)
    assert right > x + w - 60  # the last labels do reach towards the edge: the check bites
    test_data_points_are_laid_out_inside_their_chart(crowded_layout)
    img = render(crowded_report, chromium, crowded_report.with_suffix(".png"), crowded_layout)
    assert chart_problems(crowded_layout, img) == []
