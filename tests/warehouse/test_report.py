"""The static HTML report and the Markdown summary, checked against independent DuckDB queries."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from helpers_warehouse import build_empty_warehouse, build_sample_warehouse
from helpers_warehouse import query_utc as _q
from lxml.html import HtmlElement

from infoshos.warehouse.report import (
    CHARTS,
    ReportData,
    queries,
    render_html,
    report_markdown,
    write_report,
)
from infoshos.warehouse.store import Warehouse


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return build_sample_warehouse(tmp_path_factory.mktemp("wh"))


@pytest.fixture(scope="module")
def page(wh: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> HtmlElement:
    out = write_report(wh, tmp_path_factory.mktemp("report") / "report.html")
    assert out.name == "report.html"
    return lxml.html.parse(str(out)).getroot()


#: What the column labels of the heat map must say for the topic codes of the sample warehouse.
READABLE_TOPICS = {
    "terrorism": "terrorism",
    "economy_trade": "economy and trade",
    "diplomacy": "diplomacy",
    "security_cooperation": "security cooperation",
    "energy": "energy",
}


def _chart(page: HtmlElement, chart: str) -> HtmlElement:
    svgs = page.xpath(f'//svg[@class="chart"][@data-chart="{chart}"]')
    assert len(svgs) == 1, chart
    svg: HtmlElement = svgs[0]
    return svg


def _label(text: HtmlElement) -> str:
    """A <text>'s own words, without its <title> tooltip."""
    return "".join(text.xpath("text()"))


def _tooltip(el: HtmlElement) -> str | None:
    title = el.find("title")
    return None if title is None else title.text_content()


def crowded() -> ReportData:
    """Hand-made report data with the layout's hard cases: long organisation names with and
    without an abbreviation among their aliases, a long person name, counts growing tenfold
    over the years, 15 countries (one with a long name) by 12 topics whose longest readable
    names come last, 45 months of three sources, copies in the singular, one run."""
    data = ReportData(7, "20260101T000000Z-abcdef", "2026-01-01T00:00:00")
    months = [f"{y}-{m:02d}" for y in range(2016, 2020) for m in range(1, 13)][3:]
    series = [("infoshos", "en"), ("infoshos", "ru"), ("sectsco", "en"), ("ecrats", "ru")]
    data.per_month = [
        (m, s, lang, 1 + (i * 7 + j) % 9)
        for i, m in enumerate(months)
        for j, (s, lang) in enumerate(series)
    ]
    orgs = [
        ("org:sco", "Shanghai Cooperation Organisation", ["SCO", "Shanghai Five", "ШОС"]),
        ("org:unoct", "United Nations Office of Counter-Terrorism", ["CTO", "UNOCT", "UN OCT"]),
        ("org:sco-rats", "SCO Regional Anti-Terrorist Structure", ["RATS", "SCO RATS", "РАТС"]),
        (
            "org:eag",
            "Eurasian Group on Combating Money Laundering and Financing of Terrorism",
            ["EAG", "Eurasian Group"],
        ),
        ("org:un", "United Nations", ["UN", "ООН"]),
    ]
    persons = [
        ("p:long", "Maria Fernanda Espinosa Garcés de la Concepción", []),
        ("p:norov", "Vladimir Norov", ["Владимир Норов"]),
        ("p:alimov", "Rashid Alimov", []),
        ("p:zhang", "Zhang Ming", []),
        ("p:xi", "Xi Jinping", []),
    ]
    for yi, year in enumerate(range(2016, 2020)):
        for kind, entities in (("person", persons), ("org", orgs)):
            for ri, (eid, name, aliases) in enumerate(entities):
                data.top_entities.append((year, kind, eid, name, (10 - 2 * ri) * 10**yi // 8 + 1))
                data.aliases[eid] = aliases
    countries = [
        "India",
        "Afghanistan",
        "Pakistan",
        "Russia",
        "Kyrgyzstan",
        "China",
        "Uzbekistan",
        "Kazakhstan",
        "Iran",
        "Mongolia",
        "Nepal",
        "Tajikistan",
        "Belarus",
        "Lao People's Democratic Republic",
        "Turkey",
    ]
    topics = [
        "terrorism",
        "diplomacy",
        "economy_trade",
        "transport",
        "energy",
        "health",
        "extremism",
        "drug_trafficking",
        "culture_sport",
        "environment",
        "security_cooperation",
        "education_science",
        "media",
    ]
    for ci, country in enumerate(countries):
        for ti, topic in enumerate(topics):
            n = (len(countries) - ci) * (len(topics) - ti) // 9
            if n:
                data.country_topics.append((f"c:{ci}", country, topic, n))
    data.duplicates = [("ecrats", 3, 0), ("infoshos", 52, 11), ("sectsco", 24, 1)]
    data.counts = {"articles": 79}
    data.stories = 67
    data.rejects = [("not_article", 2), ("http_error", 1)]
    data.runs = [
        (
            "20260101T000000Z-abcdef",
            datetime(2026, 1, 1, tzinfo=UTC),
            "completed",
            {"crawl": 4.0, "clean": 0.3, "dedup": 0.1, "enrich": 4.5, "load": 0.5},
        ),
    ]
    return data


@pytest.fixture(scope="module")
def crowded_page() -> HtmlElement:
    page: HtmlElement = lxml.html.fromstring(render_html(crowded()))
    return page


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
    # x labels: every quarter start (YYYY-01/04/07/10) between the first and the last month
    ((first, last),) = _q(
        wh,
        "SELECT strftime(min(published_at), '%Y-%m'), strftime(max(published_at), '%Y-%m') "
        "FROM articles",
    )
    quarters = [
        f"{y}-{m:02d}"
        for y in range(int(first[:4]), int(last[:4]) + 1)
        for m in (1, 4, 7, 10)
        if first <= f"{y}-{m:02d}" <= last
    ]
    assert _x_labels(page, "articles_per_month") == quarters and len(quarters) >= 8


def _x_labels(page: HtmlElement, chart: str) -> list[str]:
    """The centred labels under the x axis, each checked (roughly) to stand inside the chart."""
    svg = _chart(page, chart)
    labels = svg.xpath('.//text[@text-anchor="middle"]')
    for text in labels:
        x, half = float(text.get("x")), len(_label(text)) * 11 * 0.65 / 2
        assert half <= x <= float(svg.get("width")) - half, (_label(text), x)
    return [_label(t) for t in labels]


def test_month_labels_of_a_long_span_are_years(crowded_page: HtmlElement) -> None:
    months = [p.get("data-month") for p in _points(crowded_page, "articles_per_month")]
    assert (min(months), max(months)) == ("2016-04", "2019-12")
    labels = _x_labels(crowded_page, "articles_per_month")
    assert labels in (["2017", "2018", "2019"], ["2018"])


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
    _check_scale_per_year(_points(page, "top_entities"))


def _check_scale_per_year(points: list[HtmlElement]) -> None:
    """Bars are proportional to their value within a year; each year's top count has the same
    (the longest) bar, however much smaller its counts are than another year's."""
    per_year: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for p in points:
        per_year[p.get("data-year")].append((float(p.get("width")), float(p.get("data-value"))))
    longest = set()
    for year, bars in per_year.items():
        width, value = max(bars, key=lambda b: b[1])
        longest.add(round(width))
        for w, v in bars:
            assert w == pytest.approx(width * v / value, abs=0.02), year
    assert len(longest) == 1 and longest.pop() > 100


def test_entity_labels_use_abbreviations_and_keep_full_names(crowded_page: HtmlElement) -> None:
    points = _points(crowded_page, "top_entities")
    assert len(points) == 4 * (5 + 5)
    _check_scale_per_year(points)
    counts = sorted({int(p.get("data-value")) for p in points if p.get("data-year") == "2016"})
    assert max(counts) < 5  # tiny next to 2019's but as long a bar (above)
    labels: dict[str, set[tuple[str, str | None]]] = defaultdict(set)
    for p in points:
        text = p.getprevious()
        assert text.tag == "text"
        labels[p.get("data-entity")].add((_label(text), _tooltip(text)))
        assert (_tooltip(p) or "").startswith(p.get("data-label") + ", ")  # the full name
    one = {eid: got.pop() for eid, got in labels.items() if len(got) == 1}
    assert len(one) == len(labels) == 10
    assert one["org:sco"] == ("SCO", "Shanghai Cooperation Organisation")
    assert one["org:unoct"] == ("UNOCT", "United Nations Office of Counter-Terrorism")
    assert one["org:sco-rats"] == ("RATS", "SCO Regional Anti-Terrorist Structure")
    assert one["org:un"] == ("United Nations", None)
    assert one["p:norov"] == ("Vladimir Norov", None)
    for eid in ("org:eag", "p:long"):  # no abbreviation: shortened, at a word
        short, full = one[eid]
        assert short.endswith("…") and full and full.startswith(short[:-1] + " ")
        assert 10 <= len(short) <= 32


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
    # readable topic names, never the codes
    svg = _chart(page, "country_topics")
    columns = {t.get("data-topic"): _label(t) for t in svg.xpath(".//text[@data-topic]")}
    assert columns == {t: READABLE_TOPICS[t] for t in topics}
    assert not [t for t in svg.xpath(".//text/text()") if "_" in t]  # tooltips aside


def test_heat_map_of_many_long_topics(crowded_page: HtmlElement) -> None:
    svg = _chart(crowded_page, "country_topics")
    assert len(_points(crowded_page, "country_topics")) == 15 * 12
    columns = {t.get("data-topic"): _label(t) for t in svg.xpath(".//text[@data-topic]")}
    assert len(columns) == 12 and "media" not in columns  # the 13th topic is left out
    assert columns["economy_trade"] == "economy and trade"
    assert columns["education_science"] in ("education and science", "education and…")
    assert not [t for t in svg.xpath(".//text/text()") if "_" in t]  # tooltips aside
    long = [t for t in svg.xpath(".//text") if _tooltip(t) == "Lao People's Democratic Republic"]
    assert len(long) == 1 and _label(long[0]).endswith("…")


def test_duplicate_share_matches_duckdb(wh: Warehouse, page: HtmlElement) -> None:
    # a copy: an article that is not the canonical one of its story cluster
    want = {
        s: (d, t)
        for s, d, t in _q(
            wh,
            "SELECT source, sum(CASE WHEN is_canonical = false THEN 1 ELSE 0 END), count(*) "
            "FROM articles GROUP BY source",
        )
    }
    points = _points(page, "duplicate_share")
    assert len(points) == len(want) == 2
    for p in points:
        dups, total = want[p.get("data-source")]
        assert float(p.get("data-value")) == pytest.approx(dups / total, abs=1e-4)
        assert (int(p.get("data-duplicates")), int(p.get("data-total"))) == (dups, total)
        after = p.getnext()
        assert _label(after) == f"{dups} of {total} articles are copies ({dups / total:.0%})"
    assert sum(d for d, _ in want.values()) == 6
    caption = _chart(page, "duplicate_share").getparent().find("figcaption").text_content()
    assert "Overall 6 of 42 articles are copies; the articles tell 36 stories." in caption


def test_copies_and_runs_in_the_singular(crowded_page: HtmlElement) -> None:
    texts = {
        p.get("data-source"): _label(p.getnext()) for p in _points(crowded_page, "duplicate_share")
    }
    assert texts == {
        "ecrats": "0 of 3 articles are copies (0%)",
        "infoshos": "11 of 52 articles are copies (21%)",
        "sectsco": "1 of 24 articles is a copy (4%)",
    }
    captions = " ".join(c.text_content() for c in crowded_page.xpath("//figcaption"))
    assert "Seconds per stage of the last run;" in captions
    assert not re.search(r"\b1 (run|article|row|copie|stor(y|ie)|topic|countr(y|ie))s\b", captions)
    assert "Each year has its own scale" in captions


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
    caption = _chart(page, "run_timings").getparent().find("figcaption").text_content()
    ((n,),) = _q(wh, "SELECT count(*) FROM runs")
    assert f"Seconds per stage of the last {n} runs (oldest at the top)" in caption and n == 4


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


def test_summary_runs_only_its_queries_under_a_memory_limit(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run makes the summary at its end: the charts' joins (country x topic over every
    article) are not run for it, and DuckDB's memory for it is capped (issue 12)."""
    seen: list[str] = []
    original = queries._connect

    def spying(w: Warehouse) -> Any:
        con = original(w)
        seen.extend(
            str(v) for (v,) in con.execute("SELECT current_setting('memory_limit')").fetchall()
        )
        return con

    monkeypatch.setattr(queries, "_connect", spying)
    expected = report_markdown(wh)
    for key in set(queries.SQL) - set(queries.MARKDOWN_QUERIES):
        monkeypatch.setitem(queries.SQL, key, "SELECT error('not for the summary')")
    assert report_markdown(wh) == expected
    assert seen and all(v == "256.0 MiB" for v in seen), seen
    with pytest.raises(Exception, match="not for the summary"):
        queries.collect(wh)


# -- issue 13, finding 3: no report written into a warehouse ---------------------------------
@pytest.mark.parametrize("where", ["CURRENT", ".", "tables/x.html", "snapshots/new/r.html"])
def test_report_out_inside_a_warehouse_is_refused_in_one_line(
    wh: Warehouse, tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from infoshos.flows.cli import main

    before = {p: p.read_bytes() for p in wh.root.rglob("*") if p.is_file()}
    for warehouse in (wh.root, tmp_path / "other"):  # its own warehouse, or any other one
        argv = ["report", "--warehouse", str(warehouse), "--out", str(wh.root / where)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"inside the warehouse {wh.root}" in err
    after = {p: p.read_bytes() for p in wh.root.rglob("*") if p.is_file()}
    assert after == before
    assert not (wh.root / "snapshots" / "new").exists()
    # beside the warehouse is fine
    assert main(["report", "--warehouse", str(wh.root), "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").stat().st_size > 0


def test_a_warehouse_is_recognised_by_its_files(wh: Warehouse, tmp_path: Path) -> None:
    from infoshos.warehouse.guard import enclosing_warehouse, is_warehouse

    assert is_warehouse(wh.root)
    assert enclosing_warehouse(wh.root / "tables" / "articles" / "x.parquet") == wh.root
    assert not is_warehouse(tmp_path)
    (tmp_path / "tables").mkdir()  # one folder of that name is not a warehouse
    assert not is_warehouse(tmp_path) and enclosing_warehouse(tmp_path / "tables") is None
    (tmp_path / "snapshots").mkdir()
    assert is_warehouse(tmp_path)
    lost = tmp_path / "lost"  # a lake whose catalog was lost: still a warehouse
    (lost / "lake" / "main" / "articles").mkdir(parents=True)
    assert is_warehouse(lost) and enclosing_warehouse(lost / "report.html") == lost
    copies = tmp_path / "copies"
    (copies / "catalog").mkdir(parents=True)
    assert not is_warehouse(copies)  # a folder called catalog is not enough
    (copies / "catalog" / "lake-3.sqlite").write_bytes(b"")
    assert is_warehouse(copies)
    link = tmp_path.parent / f"{tmp_path.name}-link"
    link.symlink_to(wh.root)  # a link into a warehouse is resolved
    try:
        assert enclosing_warehouse(link / "report.html") == wh.root
    finally:
        link.unlink()
