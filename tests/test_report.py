"""The static HTML report and the Markdown summary, checked against independent DuckDB queries."""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from lxml.html import HtmlElement

from infoshos.warehouse.catalog import connect
from infoshos.warehouse.report import CHARTS, report_markdown, write_report
from infoshos.warehouse.store import Warehouse

sys.path.insert(0, str(Path(__file__).parent))
from helpers_warehouse import build_empty_warehouse, build_sample_warehouse


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return build_sample_warehouse(tmp_path_factory.mktemp("wh"))


@pytest.fixture(scope="module")
def page(wh: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> HtmlElement:
    out = write_report(wh, tmp_path_factory.mktemp("report") / "report.html")
    assert out.name == "report.html"
    return lxml.html.parse(str(out)).getroot()


def _q(wh: Warehouse, sql: str) -> list[tuple[Any, ...]]:
    con = connect(wh)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _points(page: HtmlElement, chart: str) -> list[HtmlElement]:
    svgs = page.xpath(f'//svg[@class="chart"][@data-chart="{chart}"]')
    assert len(svgs) == 1, chart
    points: list[HtmlElement] = svgs[0].xpath(".//*[@data-value]")
    assert points, chart
    assert all(p.tag in ("rect", "circle", "path") for p in points)
    return points


def test_six_charts_each_with_a_caption(page: HtmlElement) -> None:
    svgs = page.xpath('//svg[@class="chart"]')
    assert [s.get("data-chart") for s in svgs] == list(CHARTS) and len(CHARTS) == 6
    for svg in svgs:
        caption = svg.getparent().find("figcaption")
        assert caption is not None and len(caption.text_content()) > 20
    assert not page.xpath('//*[@class="no-data"]')


def test_articles_per_month_matches_duckdb(wh: Warehouse, page: HtmlElement) -> None:
    got = {
        (p.get("data-month"), p.get("data-source"), p.get("data-language")): int(
            p.get("data-value")
        )
        for p in _points(page, "articles_per_month")
    }
    want = {
        (m, s, lang): n
        for m, s, lang, n in _q(
            wh,
            "SELECT strftime(published_at, '%Y-%m'), source, language, count(*) "
            "FROM articles GROUP BY ALL",
        )
    }
    assert got == want
    assert sum(got.values()) == 42
    assert len({(s, lang) for _, s, lang in got}) == 4  # 2 sources x 2 languages


def test_top_entities_per_year_match_duckdb(wh: Warehouse, page: HtmlElement) -> None:
    counts: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    for year, kind, name, n in _q(
        wh,
        "SELECT year(a.published_at), e.type, e.name, count(DISTINCT m.article_id) "
        "FROM mentions m JOIN articles a USING (article_id) JOIN entities e USING (entity_id) "
        "WHERE e.type IN ('person', 'org') GROUP BY ALL",
    ):
        counts[(year, kind)][name] = n
    shown: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    for p in _points(page, "top_entities"):
        shown[(int(p.get("data-year")), p.get("data-type"))][p.get("data-label")] = int(
            p.get("data-value")
        )
    assert (
        set(shown) == set(counts) == {(y, k) for y in (2017, 2018, 2019) for k in ("person", "org")}
    )
    for group, names in counts.items():
        top = shown[group]
        assert len(top) == min(5, len(names)), group
        for name, n in top.items():
            assert names[name] == n, (group, name)
        left_out = [n for name, n in names.items() if name not in top]
        assert all(n <= min(top.values()) for n in left_out), group
    assert sum(len(v) for v in shown.values()) == 3 * (5 + 3)


def test_country_topic_heat_map_matches_duckdb(wh: Warehouse, page: HtmlElement) -> None:
    want = {
        (name, topic): n
        for name, topic, n in _q(
            wh,
            "SELECT e.name, t.topic, count(DISTINCT c.article_id) FROM article_countries c "
            "JOIN article_topics t USING (article_id) JOIN entities e USING (entity_id) "
            "GROUP BY ALL",
        )
    }
    points = _points(page, "country_topics")
    got = {(p.get("data-country"), p.get("data-topic")): int(p.get("data-value")) for p in points}
    countries = {c for c, _ in want}
    topics = {t for _, t in want}
    assert len(points) == len(countries) * len(topics) == 7 * 5  # a full grid, zeros included
    for cell, n in got.items():
        assert want.get(cell, 0) == n, cell
    assert sum(got.values()) == sum(want.values())


def test_duplicate_share_matches_duckdb(wh: Warehouse, page: HtmlElement) -> None:
    want = {
        s: (d, t)
        for s, d, t in _q(
            wh,
            "SELECT source, sum(CASE WHEN is_canonical THEN 0 ELSE 1 END), count(*) "
            "FROM articles GROUP BY source",
        )
    }
    points = _points(page, "duplicate_share")
    assert len(points) == len(want) == 2
    for p in points:
        dups, total = want[p.get("data-source")]
        assert float(p.get("data-value")) == pytest.approx(dups / total, abs=1e-4)
        assert (int(p.get("data-duplicates")), int(p.get("data-total"))) == (dups, total)
    assert sum(d for d, _ in want.values()) == 6


def test_rejects_by_reason_match_duckdb(wh: Warehouse, page: HtmlElement) -> None:
    want = dict(_q(wh, "SELECT reason, count(*) FROM rejects GROUP BY reason"))
    got = {
        p.get("data-reason"): int(p.get("data-value")) for p in _points(page, "rejects_by_reason")
    }
    assert got == want and len(got) == 5


def test_run_timings_match_duckdb(wh: Warehouse, page: HtmlElement) -> None:
    want = {}
    for run_id, seconds in _q(wh, "SELECT run_id, stage_seconds FROM runs"):
        for stage, sec in seconds.items():
            want[(run_id, stage)] = sec
    points = _points(page, "run_timings")
    got = {(p.get("data-run"), p.get("data-stage")): float(p.get("data-value")) for p in points}
    assert got.keys() == want.keys() and len(points) == 3 * 5 + 1
    for key, sec in want.items():
        assert got[key] == pytest.approx(sec, abs=1e-3), key
    # oldest first, the failed run marked
    runs = [p.get("data-run") for p in points]
    assert runs == sorted(runs)
    assert page.xpath('//svg[@data-chart="run_timings"]//*[@class="failed"]')


def test_no_external_assets_and_shapes_inside_their_chart(page: HtmlElement) -> None:
    assert not page.xpath("//script | //img | //iframe | //link | //object | //embed")
    for el in page.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in ("src", "href", "xlink:href", "data", "action"):
            value = el.get(attr)
            assert value is None or not re.match(r"\s*(https?:)?//", value), (el.tag, value)
    style = "".join(s.text_content() for s in page.xpath("//style"))
    assert "url(" not in style and "@import" not in style
    for svg in page.xpath('//svg[@class="chart"]'):
        width, height = float(svg.get("width")), float(svg.get("height"))
        for rect in svg.xpath(".//rect"):
            x, y = float(rect.get("x")), float(rect.get("y"))
            w, h = float(rect.get("width")), float(rect.get("height"))
            assert w >= 0 and h >= 0
            assert x >= 0 and x + w <= width + 0.5, (svg.get("data-chart"), rect.attrib)
            assert y >= 0 and y + h <= height + 0.5, (svg.get("data-chart"), rect.attrib)


@pytest.mark.parametrize("kind", ["no warehouse", "empty snapshot"])
def test_an_empty_warehouse_still_renders(kind: str, tmp_path: Path) -> None:
    root = tmp_path / "wh"
    wh = Warehouse(root) if kind == "no warehouse" else build_empty_warehouse(root)
    out = write_report(wh, tmp_path)  # a folder: report.html inside it
    assert out == tmp_path / "report.html"
    page = lxml.html.parse(str(out)).getroot()
    assert not page.xpath('//svg[@class="chart"]')
    notes = page.xpath('//p[@class="no-data"]')
    assert [n.get("data-chart") for n in notes] == list(CHARTS)
    assert all("no" in n.text_content().lower() and "yet" in n.text_content() for n in notes)
    summary = report_markdown(wh)
    assert "articles: 0" in summary and "no runs yet" in summary


def test_markdown_summary(wh: Warehouse) -> None:
    text = report_markdown(wh)
    top = _q(
        wh,
        "SELECT e.name, count(DISTINCT m.article_id) AS n FROM mentions m "
        "JOIN entities e USING (entity_id) WHERE e.type = 'person' "
        "GROUP BY e.name ORDER BY n DESC, e.name LIMIT 5",
    )
    listed = re.findall(r"^\d\. (.+) \((\d+) articles\)$", text, flags=re.M)
    assert [(name, int(n)) for name, n in listed] == top
    assert "- articles: 42 (36 stories, 6 duplicates)" in text
    for reason, n in _q(wh, "SELECT reason, count(*) FROM rejects GROUP BY reason"):
        assert f"| {reason} | {n} |" in text
    assert "`r4` started 2020-01-16 03:00 UTC, failed." in text
    assert "| crawl | 3.50 |" in text
