"""Tests of the spiders: callbacks against responses built here, the spool writer, the crawl CLI,
and end-to-end crawls of a tiny local site (and of the bundled sample site when available)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import scrapy
from paths import REPO
from scrapy.http import HtmlResponse, Response, XmlResponse
from twisted.internet.error import DNSLookupError
from twisted.python.failure import Failure

from infoshos.spiders.base import PortalSpider
from infoshos.spiders.crawl import crawl_command, spool_counts
from infoshos.spiders.generic import GenericSpider
from infoshos.spiders.infoshos import InfoshosSpider, print_url
from infoshos.spiders.sample_site.loopback import Loopback, LoopbackHTTPServer
from infoshos.spiders.sectsco import SectscoSpider, is_article_url
from infoshos.spiders.settings import as_dict
from infoshos.spiders.spool import SpoolWriter
from infoshos.spiders.urls import document_extension, parse_url_map
from infoshos.warehouse.schema import SPOOL

LOCAL = "http://127.0.0.1:8000"
INFOSHOS_MAP = [(f"{LOCAL}/infoshos/", "http://infoshos.sample.test/")]
SECTSCO_MAP = [(f"{LOCAL}/sectsco/eng/", "https://eng.sectsco.sample.test/")]
ROOT = REPO

Output = list[Any]


# -- helpers ----------------------------------------------------------------------------------


def infoshos_spider(**kwargs: Any) -> InfoshosSpider:
    kwargs.setdefault("start_urls", [f"{LOCAL}/infoshos/en/news/?page=1"])
    return InfoshosSpider(source="infoshos-sample", url_map=INFOSHOS_MAP, **kwargs)


def sectsco_spider(**kwargs: Any) -> SectscoSpider:
    return SectscoSpider(
        source="sectsco-sample",
        start_urls=[f"{LOCAL}/sectsco/eng/news/?offset=0"],
        url_map=SECTSCO_MAP,
        **kwargs,
    )


def response(
    url: str,
    body: str | bytes,
    page_type: str,
    status: int = 200,
    encoding: str = "utf-8",
    cls: type[HtmlResponse] | type[XmlResponse] = HtmlResponse,
    content_type: str | None = None,
) -> Response:
    raw = body.encode(encoding) if isinstance(body, str) else body
    request = scrapy.Request(url, meta={"page_type": page_type, "infoshos_depth": 0})
    ctype = content_type or f"text/html; charset={encoding}"
    return cls(
        url,
        status=status,
        body=raw,
        request=request,
        headers={"Content-Type": ctype, "X-Test": "1"},
    )


def run(spider: PortalSpider, resp: Response) -> Output:
    return list(spider.parse(resp))


def requests_of(out: Iterable[Any]) -> list[scrapy.Request]:
    return [x for x in out if isinstance(x, scrapy.Request)]


def records_of(out: Iterable[Any]) -> list[dict[str, Any]]:
    return [x for x in out if isinstance(x, dict)]


def infoshos_list(items: list[str], next_href: str | None) -> str:
    rows = "".join(
        f'<div class="news-item"><span class="date">01.02.2020 10:00</span> '
        f'<a href="{href}">Title {i}</a></div>'
        for i, href in enumerate(items)
    )
    nxt = f'<a class="next" href="{next_href}">next</a>' if next_href else ""
    return (
        '<html><body><div class="menu"><a href="/infoshos/en/about.php">About</a>'
        '<a href="http://other.example.org/">Partner</a></div>'
        f'<div class="center-column-wrap"><table><tr><td class="text">{rows}{nxt}'
        "</td></tr></table></div></body></html>"
    )


def infoshos_article(title: str, paragraphs: list[str], extra: str = "") -> str:
    ps = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        '</head><body><div class="menu"><a href="/infoshos/en/news/?page=1">News</a></div>'
        '<div class="center-column-wrap"><table><tr><td class="text">'
        f'<h1 class="title">{title}</h1><div class="date">01.02.2020 10:00</div>{ps}{extra}'
        "</td></tr></table></div></body></html>"
    )


RSS = """<?xml version="1.0" encoding="windows-1251"?>
<rss version="2.0"><channel><title>Infoshos</title>
<item><title>One</title><link>http://infoshos.sample.test/ru/?idn=7</link></item>
<item><title>Two</title><link>http://infoshos.sample.test/ru/?idn=8</link></item>
<item><title>Elsewhere</title><link>http://other.example.org/x.html</link></item>
</channel></rss>"""


# -- URL mapping ------------------------------------------------------------------------------


def test_url_mapping_local_to_canonical_and_back() -> None:
    spider = infoshos_spider()
    local = f"{LOCAL}/infoshos/en/?idn=5"
    assert spider.to_canonical(local) == "http://infoshos.sample.test/en/?idn=5"
    assert spider.to_fetch("http://infoshos.sample.test/en/?idn=5") == local
    # Live URLs (no mapping) are their own canonical URL.
    assert (
        spider.to_canonical("http://www.infoshos.ru/en/?idn=5")
        == "http://www.infoshos.ru/en/?idn=5"
    )
    assert spider.allowed_domains == ["127.0.0.1", "infoshos.sample.test"]
    assert spider.is_onsite("http://infoshos.sample.test/ru/?idn=1")
    assert not spider.is_onsite(f"{LOCAL}/sectsco/eng/20200101/1.html")  # unmapped local path


def test_parse_url_map_strings_and_errors() -> None:
    pairs = parse_url_map([f"{LOCAL}/a/=http://a.test/", f"{LOCAL}/a/b/=http://b.test/"])
    assert pairs[0] == (f"{LOCAL}/a/b/", "http://b.test/")  # longest prefix first
    with pytest.raises(ValueError):
        parse_url_map(["no-equals-sign"])


def test_nested_prefixes_map_to_the_longest() -> None:
    spider = PortalSpider(
        source="x",
        start_urls=[f"{LOCAL}/a/"],
        url_map=[(f"{LOCAL}/a/", "http://a.test/"), (f"{LOCAL}/a/b/", "http://b.test/")],
    )
    assert spider.to_canonical(f"{LOCAL}/a/b/c") == "http://b.test/c"
    assert spider.to_canonical(f"{LOCAL}/a/c") == "http://a.test/c"


# -- Infoshos ---------------------------------------------------------------------------------


def test_infoshos_list_yields_articles_and_next_page() -> None:
    spider = infoshos_spider()
    html = infoshos_list(["/infoshos/en/?idn=1", "../?idn=2", "/infoshos/en/?idn=1"], "?page=2")
    out = run(spider, response(f"{LOCAL}/infoshos/en/news/?page=1", html, "list"))
    (record,) = records_of(out)
    assert record["page_type"] == "list"
    assert record["url"] == "http://infoshos.sample.test/en/news/?page=1"
    reqs = requests_of(out)
    assert [(r.url, r.meta["page_type"]) for r in reqs] == [
        (f"{LOCAL}/infoshos/en/?idn=1", "article"),
        (f"{LOCAL}/infoshos/en/?idn=2", "article"),
        (f"{LOCAL}/infoshos/en/news/?page=2", "list"),
    ]
    assert reqs[0].meta["infoshos_referer"] == "http://infoshos.sample.test/en/news/?page=1"
    assert all(r.errback == spider.errback for r in reqs)
    # Menu links are not news items: neither followed nor recorded.
    assert not any("about" in r.url for r in reqs)


def test_infoshos_rss_yields_article_requests_mapped_to_the_mirror() -> None:
    spider = infoshos_spider()
    resp = response(
        f"{LOCAL}/infoshos/rss/rss_ru.xml",
        RSS,
        "feed",
        encoding="windows-1251",
        cls=XmlResponse,
        content_type="application/rss+xml; charset=windows-1251",
    )
    out = run(spider, resp)
    records = records_of(out)
    assert records[0]["page_type"] == "feed"
    assert records[0]["language_hint"] == "ru"
    assert [r.url for r in requests_of(out)] == [
        f"{LOCAL}/infoshos/ru/?idn=7",
        f"{LOCAL}/infoshos/ru/?idn=8",
    ]
    assert all(r.meta["page_type"] == "article" for r in requests_of(out))
    skips = [r for r in records if r["skip_reason"]]
    assert [(s["url"], s["skip_reason"]) for s in skips] == [
        ("http://other.example.org/x.html", "offsite")
    ]


def test_infoshos_article_record_is_canonical_with_raw_cp1251_body() -> None:
    spider = infoshos_spider()
    html = infoshos_article("Встреча в Пекине", ["Министры обсудили\xa0вопросы."])
    body = html.encode("windows-1251")
    resp = response(f"{LOCAL}/infoshos/ru/?idn=12", body, "article", encoding="windows-1251")
    (record,) = records_of(run(spider, resp))
    assert record["url"] == "http://infoshos.sample.test/ru/?idn=12"
    assert record["final_url"] == "http://infoshos.sample.test/ru/?idn=12"
    assert record["fetch_url"] == f"{LOCAL}/infoshos/ru/?idn=12"
    assert record["source"] == "infoshos-sample"
    assert record["page_type"] == "article"
    assert record["status"] == 200
    assert record["body"] == body  # bytes untouched: decoding is the clean stage's job
    assert record["headers"]["content-type"] == "text/html; charset=windows-1251"
    assert record["headers"]["x-test"] == "1"
    assert record["language_hint"] == "ru"
    assert record["skip_reason"] is None
    assert record["fetched_at"].tzinfo is not None


def test_infoshos_article_links_pdf_offsite_and_other_article() -> None:
    spider = infoshos_spider()
    extra = (
        '<p><a href="/infoshos/files/charter.pdf">Charter</a> '
        '<a href="https://www.other.example.org/news">elsewhere</a> '
        '<a href="?idn=13">related</a> <a href="mailto:a@b.c">mail</a> '
        '<a href="javascript:void(0)">js</a> <a href="file:///etc/passwd">f</a></p>'
    )
    html = infoshos_article("Title", ["Text."], extra)
    out = run(spider, response(f"{LOCAL}/infoshos/en/?idn=12", html, "article"))
    records = records_of(out)
    skips = {r["skip_reason"]: r for r in records if r["skip_reason"]}
    assert set(skips) == {"not_article", "offsite"}
    pdf = skips["not_article"]
    assert pdf["url"] == "http://infoshos.sample.test/files/charter.pdf"
    assert pdf["status"] is None and pdf["body"] is None
    assert pdf["detail"] == "pdf document"
    assert pdf["referer"] == "http://infoshos.sample.test/en/?idn=12"
    assert skips["offsite"]["url"] == "https://www.other.example.org/news"
    # the other article (a pattern link) and the menu's news list (a list pattern)
    assert [(r.url, r.meta["infoshos_via"]) for r in requests_of(out)] == [
        (f"{LOCAL}/infoshos/en/?idn=13", "pattern"),
        (f"{LOCAL}/infoshos/en/news/?page=1", "list"),
    ]


def test_infoshos_404_is_a_record_with_its_status_and_no_links() -> None:
    spider = infoshos_spider()
    html = infoshos_list(["/infoshos/en/?idn=1"], "?page=3")
    out = run(spider, response(f"{LOCAL}/infoshos/en/news/?page=2", html, "list", status=404))
    assert requests_of(out) == []
    (record,) = records_of(out)
    assert record["status"] == 404
    assert record["url"] == "http://infoshos.sample.test/en/news/?page=2"


def test_infoshos_prefer_print_fetches_print_pages() -> None:
    spider = infoshos_spider(prefer_print="true")
    html = infoshos_list(["/infoshos/en/?idn=1"], None)
    reqs = requests_of(run(spider, response(f"{LOCAL}/infoshos/en/news/?page=1", html, "list")))
    assert [(r.url, r.meta["page_type"]) for r in reqs] == [
        (f"{LOCAL}/infoshos/en/print.php?idn=1", "print")
    ]
    assert print_url("http://x.test/ru/?idn=4") == "http://x.test/ru/print.php?idn=4"
    # And without prefer_print, a fetched print page is still classified as print.
    page = response(f"{LOCAL}/infoshos/en/print.php?idn=1", "<html></html>", "article")
    assert records_of(run(infoshos_spider(), page))[0]["page_type"] == "print"


def test_max_pages_limits_requests_and_dedup_within_the_crawl() -> None:
    spider = infoshos_spider(max_pages=3)
    html = infoshos_list([f"/infoshos/en/?idn={i}" for i in range(1, 6)], "?page=2")
    spider.requested = 1  # the start URL
    reqs = requests_of(run(spider, response(f"{LOCAL}/infoshos/en/news/?page=1", html, "list")))
    assert len(reqs) == 2
    again = requests_of(run(spider, response(f"{LOCAL}/infoshos/en/news/?page=1", html, "list")))
    assert again == []


def test_redirect_keeps_requested_url_and_final_url() -> None:
    spider = infoshos_spider()
    request = scrapy.Request(
        f"{LOCAL}/infoshos/en/?idn=2",
        meta={"page_type": "article", "redirect_urls": [f"{LOCAL}/infoshos/en/index.php?idn=2"]},
    )
    resp = HtmlResponse(f"{LOCAL}/infoshos/en/?idn=2", body=b"<html></html>", request=request)
    (record,) = records_of(run(spider, resp))
    assert record["url"] == "http://infoshos.sample.test/en/index.php?idn=2"
    assert record["final_url"] == "http://infoshos.sample.test/en/?idn=2"
    assert record["fetch_url"] == f"{LOCAL}/infoshos/en/index.php?idn=2"


def test_errback_records_network_failure() -> None:
    spider = infoshos_spider()
    request = scrapy.Request(
        f"{LOCAL}/infoshos/en/?idn=9",
        meta={"page_type": "article", "infoshos_referer": "http://infoshos.sample.test/en/"},
    )
    failure = Failure(DNSLookupError("no such host"))
    failure.request = request  # type: ignore[attr-defined]
    (record,) = list(spider.errback(failure))
    assert record["status"] is None
    assert record["skip_reason"] is None
    assert record["page_type"] == "article"
    assert record["url"] == "http://infoshos.sample.test/en/?idn=9"
    assert record["fetch_url"] == f"{LOCAL}/infoshos/en/?idn=9"
    assert "DNSLookupError" in record["detail"]
    assert record["referer"] == "http://infoshos.sample.test/en/"


# -- Secretariat ------------------------------------------------------------------------------


SECTSCO_LIST = """<html><body><div class="news-list">
<div class="news-item"><a href="/sectsco/eng/20200115/612345.html">One</a>
<time datetime="2020-01-15T10:00:00+03:00">15.01.2020</time></div>
<div class="news-item"><a href="/sectsco/eng/news/20200115/612345.html">One (old form)</a></div>
<div class="news-item"><a href="https://eng.sectsco.sample.test/20200116/612346.html">Two</a></div>
</div><a class="next" href="?offset=10">Next</a></body></html>"""


def test_sectsco_list_fetches_each_story_once_whatever_its_url_form_and_next() -> None:
    spider = sectsco_spider()
    out = run(spider, response(f"{LOCAL}/sectsco/eng/news/?offset=0", SECTSCO_LIST, "list"))
    # /news/YYYYMMDD/ID.html is the same story as /YYYYMMDD/ID.html: fetched once
    assert [(r.url, r.meta["page_type"]) for r in requests_of(out)] == [
        (f"{LOCAL}/sectsco/eng/20200115/612345.html", "article"),
        (f"{LOCAL}/sectsco/eng/20200116/612346.html", "article"),
        (f"{LOCAL}/sectsco/eng/news/?offset=10", "list"),
    ]
    assert records_of(out)[0]["language_hint"] == "en"


def test_sectsco_article_pdf_is_not_article_skip() -> None:
    spider = sectsco_spider()
    html = """<html><body><article class="news-detail"><h1 class="news-title">T</h1>
    <time datetime="2020-01-15T10:00:00+03:00">15.01.2020</time><div class="news-body">
    <p>Text <a href="/sectsco/eng/20200110/600000.html">earlier</a>
    <a href="http://www.mid.example/en/">ministry</a></p>
    <a class="doc-link" href="/sectsco/eng/files/declaration.PDF">Declaration</a>
    </div></article></body></html>"""
    out = run(spider, response(f"{LOCAL}/sectsco/eng/20200115/612345.html", html, "article"))
    records = records_of(out)
    assert records[0]["page_type"] == "article"
    assert records[0]["url"] == "https://eng.sectsco.sample.test/20200115/612345.html"
    skips = sorted((r["skip_reason"], r["url"]) for r in records[1:])
    assert skips == [
        ("not_article", "https://eng.sectsco.sample.test/files/declaration.PDF"),
        ("offsite", "http://www.mid.example/en/"),
    ]
    assert [r.url for r in requests_of(out)] == [f"{LOCAL}/sectsco/eng/20200110/600000.html"]


def test_sectsco_article_url_forms() -> None:
    assert is_article_url("https://eng.sectsco.org/20190614/555186.html")
    assert is_article_url("https://rus.sectsco.org/news/20151221/26645.html")
    assert is_article_url("https://eng.sectsco.org/20230505/SCO-Secretary-General-941940.html")
    assert is_article_url("https://eng.sectsco.org/political/20230710/950979/some-slug.html")
    assert is_article_url("https://eng.sectsco.org/media_SCO/20230710/950979/x.html")
    assert is_article_url("https://eng.sectsco.org./20240704/1460010.html")
    assert not is_article_url("https://eng.sectsco.org/news/?offset=10")
    assert not is_article_url("https://eng.sectsco.org/documents/")
    assert document_extension("https://eng.sectsco.org/files/a.pdf") == "pdf"
    assert document_extension("https://eng.sectsco.org/20190614/555186.html") is None


# -- generic ----------------------------------------------------------------------------------


def test_generic_marks_every_html_page_a_candidate_and_follows_same_site_links() -> None:
    spider = GenericSpider(source="g", start_urls=["https://news.example.com/"], max_depth=1)
    home = (
        '<html><body><a href="/a.html">a</a><a href="/b.html">b</a><a href="/a.html">again</a>'
        '<a href="https://elsewhere.example.net/">x</a><a href="/doc.pdf">pdf</a></body></html>'
    )
    out = run(spider, response("https://news.example.com/", home, "other"))
    records = records_of(out)
    # No judgement by content: the home page is a candidate too (the clean stage decides).
    assert records[0]["page_type"] == "article"
    assert {r["skip_reason"] for r in records[1:]} == {"offsite", "not_article"}
    reqs = requests_of(out)
    assert [r.url for r in reqs] == [
        "https://news.example.com/a.html",
        "https://news.example.com/b.html",
    ]
    assert {r.meta["infoshos_via"] for r in reqs} == {"link"}
    # Depth 1 reached: the page is emitted, its links are not followed; a page without any
    # date or paragraph is still a candidate.
    page = response("https://news.example.com/a.html", '<html><a href="/c">c</a></html>', "other")
    page.meta["infoshos_depth"] = 1
    out = run(spider, page)
    assert records_of(out)[0]["page_type"] == "article"
    assert requests_of(out) == []
    # A binary answer is never a candidate.
    pdf = Response("https://news.example.com/x", body=b"%PDF-1.4", request=page.request)
    assert records_of(run(spider, pdf))[0]["page_type"] == "other"


def test_generic_with_patterns_types_lists_and_follows_articles_beyond_depth() -> None:
    spider = GenericSpider(
        source="g", start_urls=["https://news.example.com/"], max_depth=0,
        article_patterns=[r"^/story/\d+$"], list_patterns=[r"^/archive(\?p=\d+)?$"],
    )  # fmt: skip
    html = (
        '<html><body><a href="/about">about</a><a href="/story/7">s</a>'
        '<a href="/archive?p=2">older</a></body></html>'
    )
    page = response("https://news.example.com/archive", html, "other")
    out = run(spider, page)
    assert records_of(out)[0]["page_type"] == "list"
    assert [(r.url, r.meta["page_type"], r.meta["infoshos_via"]) for r in requests_of(out)] == [
        ("https://news.example.com/story/7", "article", "pattern"),
        ("https://news.example.com/archive?p=2", "list", "list"),
    ]


def test_generic_reads_linked_feed_instead_of_crawling() -> None:
    spider = GenericSpider(source="g", start_urls=["https://news.example.com/"])
    home = (
        '<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml"></head>'
        '<body><a href="/a.html">a</a></body></html>'
    )
    reqs = requests_of(run(spider, response("https://news.example.com/", home, "other")))
    assert [(r.url, r.meta["page_type"]) for r in reqs] == [
        ("https://news.example.com/rss.xml", "feed")
    ]
    feed = RSS.replace("http://infoshos.sample.test/ru/?idn=7", "https://news.example.com/n1.html")
    sitemap = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://news.example.com/s1.html</loc></url></urlset>"
    )
    # the feed (asked for as a feed) and a sitemap (as anything): each recorded, its link followed
    for path, body, asked_as, content_type, recorded_as, link in (
        ("rss.xml", feed, "feed", "application/rss+xml", "feed", "n1.html"),
        ("sitemap.xml", sitemap, "other", "application/xml", "list", "s1.html"),
    ):
        url = f"https://news.example.com/{path}"
        out = run(spider, response(url, body, asked_as, cls=XmlResponse, content_type=content_type))
        assert records_of(out)[0]["page_type"] == recorded_as, path
        assert [r.url for r in requests_of(out)] == [f"https://news.example.com/{link}"], path
    item = response(
        "https://news.example.com/n1.html", "<html><article>x</article></html>", "feed_item"
    )
    assert records_of(run(spider, item))[0]["page_type"] == "article"


# -- settings, spool, CLI ---------------------------------------------------------------------


def test_settings_are_polite_and_safe() -> None:
    s = as_dict()
    assert s["REMOTE_CONTROL_ENABLED"] is False
    assert s["TELNETCONSOLE_ENABLED"] is False
    assert s["ROBOTSTXT_OBEY"] is True
    assert s["HTTPERROR_ALLOW_ALL"] is True
    assert s["COOKIES_ENABLED"] is False
    assert s["RETRY_TIMES"] == 3
    assert {500, 502, 503, 504, 408, 429} <= set(s["RETRY_HTTP_CODES"])
    assert s["DOWNLOAD_MAXSIZE"] == 10 * 1024 * 1024
    assert s["DOWNLOAD_TIMEOUT"] == 30
    assert s["DOWNLOAD_DELAY"] >= 1 and s["CONCURRENT_REQUESTS_PER_DOMAIN"] <= 2
    assert s["USER_AGENT"].startswith("infoshos/0.1")
    # Every name is a real Scrapy setting (or ours), so a typo cannot silently do nothing.
    from scrapy.settings import default_settings

    ours = {"INFOSHOS_SPOOL", "INFOSHOS_SPOOL_BATCH", "INFOSHOS_RETRY_AFTER_MAX"}
    ours |= {"INFOSHOS_PROGRESS", "INFOSHOS_PROGRESS_INTERVAL"}
    assert {k for k in s if not hasattr(default_settings, k)} <= ours


def _record(url: str, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "url": url,
        "source": "s",
        "page_type": "article",
        "status": 200,
        "headers": {"content-type": "text/html"},
        "body": b"<html>\xa0</html>",
        "fetched_at": datetime.now(UTC),
    }
    base.update(kw)
    return base


def test_spool_writer_batches_and_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "spool" / "out.parquet"
    writer = SpoolWriter(path, batch_size=2)
    writer.open_spider()
    for i in range(5):
        writer.process_item(_record(f"http://x.test/{i}"))
    writer.process_item(
        _record(
            "http://x.test/pdf", status=None, body=None, headers=None, skip_reason="not_article"
        )
    )
    assert not path.exists()  # nothing visible before close
    assert writer.tmp_path.exists()
    writer.close_spider()
    assert path.exists() and not writer.tmp_path.exists()
    pf = pq.ParquetFile(path)
    assert pf.schema_arrow.equals(SPOOL)
    assert pf.metadata.num_row_groups == 3
    assert pf.metadata.row_group(0).column(0).compression == "ZSTD"
    rows = pf.read().to_pylist()
    assert len(rows) == 6
    assert rows[0]["headers"] == [("content-type", "text/html")]
    assert rows[0]["body"] == b"<html>\xa0</html>"
    assert rows[5]["skip_reason"] == "not_article" and rows[5]["status"] is None
    counts = spool_counts(path)
    assert (counts["pages"], counts["skipped"], counts["errors"]) == (5, 1, 0)
    with pytest.raises(ValueError):
        SpoolWriter(tmp_path / "x.parquet").process_item({"url": "u"})


def test_spool_writer_empty_crawl_writes_empty_file(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path / "empty.parquet")
    writer.open_spider()
    writer.close_spider()
    table = pq.read_table(tmp_path / "empty.parquet")
    assert table.num_rows == 0 and table.schema.equals(SPOOL)


def test_spool_writer_records_why_the_spool_could_not_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while the spool is written: the reason goes to the crawl's stats, which the
    crawl's one error line reports (not "no spool written")."""
    import errno

    from scrapy.utils.test import get_crawler

    from infoshos.spiders.spool import SPOOL_ERROR

    crawler = get_crawler()
    stats = crawler.stats
    assert stats is not None
    writer = SpoolWriter(tmp_path / "out.parquet", batch_size=1, crawler=crawler)
    writer.open_spider()

    def full(*args: object, **kw: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(writer.tmp_path))

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    with pytest.raises(OSError):
        writer.process_item(_record("http://x.test/1"))
    assert stats.get_value(SPOOL_ERROR) == f"No space left on device ({writer.tmp_path})"


def test_crawl_command_builds_argv() -> None:
    argv = crawl_command(
        "infoshos",
        "src",
        ["http://a/1", "http://a/2"],
        "/tmp/o.parquet",
        url_map=[("http://a/", "http://c/")],
        max_pages=5,
        delay=0,
        concurrency=4,
        log_level="INFO",
    )
    assert argv[:3] == [sys.executable, "-m", "infoshos.spiders.crawl"]
    assert argv[3:] == [
        "--spider", "infoshos", "--source", "src", "--start-url", "http://a/1",
        "--start-url", "http://a/2", "--url-map", "http://a/=http://c/", "--out", "/tmp/o.parquet",
        "--max-pages", "5", "--delay", "0", "--concurrency", "4", "--log-level", "INFO",
    ]  # fmt: skip


def test_crawl_command_incremental_and_limit_options() -> None:
    argv = crawl_command(
        "infoshos", "src", ["http://a/1"], "/tmp/o.parquet", known="/tmp/k.parquet", full=True,
        since="2020-01-02", max_bytes=1000, timeout=2.5, retries=1, no_robots=True,
    )  # fmt: skip
    assert argv[argv.index("--out") + 2 :] == [
        "--known", "/tmp/k.parquet", "--full", "--since", "2020-01-02", "--max-bytes", "1000",
        "--timeout", "2.5", "--retries", "1", "--no-robots",
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.mark.parametrize(
    "args",
    [
        ["--spider", "nope", "--source", "s", "--start-url", "http://a/", "--out", "o.parquet"],
        ["--spider", "generic", "--source", "s", "--start-url", "ftp://a/", "--out", "o.parquet"],
        ["--spider", "generic", "--source", "s", "--start-url", "http://a/", "--out", "o.parquet",
         "--url-map", "garbage"],
        ["--spider", "generic", "--source", "s", "--start-url", "http://a/"],
    ],
)  # fmt: skip
def test_crawl_cli_bad_arguments_exit_2_with_one_line(args: list[str], tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "infoshos.spiders.crawl", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(),
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crawl: error:")


# -- end to end -------------------------------------------------------------------------------


def _tiny_site(base: str) -> dict[str, tuple[int, str, bytes]]:
    """path?query -> (status, content type, body) for a handful of Infoshos-style pages."""
    html1251 = "text/html; charset=windows-1251"
    canon = "http://infoshos.sample.test"
    page1 = infoshos_list(["/infoshos/en/?idn=1", "/infoshos/ru/?idn=2"], "?page=2")
    page2 = infoshos_list(
        ["/infoshos/en/?idn=3", "/infoshos/en/?idn=404", "/infoshos/private/?idn=9",
         "/infoshos/files/report.pdf"],
        None,
    )  # fmt: skip
    rss = RSS.replace(f"{canon}/ru/?idn=7", f"{canon}/ru/?idn=2").replace(
        f"{canon}/ru/?idn=8", f"{canon}/ru/?idn=5"
    )
    en1 = infoshos_article(
        "Summit in Astana",
        ["Leaders met\xa0in Astana."],
        '<a href="/infoshos/files/charter.pdf">PDF</a> <a href="http://other.example.org/">x</a>',
    )
    return {
        "/robots.txt": (200, "text/plain", b"User-agent: *\nDisallow: /infoshos/private/\n"),
        "/infoshos/en/news/?page=1": (200, html1251, page1.encode("cp1251")),
        "/infoshos/en/news/?page=2": (200, html1251, page2.encode("cp1251")),
        "/infoshos/rss/rss_ru.xml": (
            200,
            "application/rss+xml; charset=windows-1251",
            rss.encode("cp1251"),
        ),
        "/infoshos/en/?idn=1": (200, html1251, en1.encode("cp1251")),
        "/infoshos/ru/?idn=2": (
            200,
            html1251,
            infoshos_article("Саммит ШОС", ["Лидеры встретились\xa0в Астане."]).encode("cp1251"),
        ),
        "/infoshos/en/?idn=3": (200, html1251, infoshos_article("Three", ["Text."]).encode()),
        "/infoshos/ru/?idn=5": (
            200,
            html1251,
            infoshos_article("Пять", ["Текст."]).encode("cp1251"),
        ),
    }


class _TinyHandler(BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, str, bytes]] = {}
    seen: list[str] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        status, ctype, body = self.pages.get(self.path, (404, "text/html", b"<h1>404</h1>"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def tiny_site() -> Iterator[str]:
    server = LoopbackHTTPServer(_TinyHandler)
    _TinyHandler.pages = _tiny_site(server.base_url)
    _TinyHandler.seen = []
    with Loopback(server, "tiny-site"):
        yield server.base_url


def _crawl(argv: list[str]) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    proc = subprocess.run(argv, capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0]), proc


@pytest.mark.slow
def test_end_to_end_crawl_of_a_tiny_local_site(tiny_site: str, tmp_path: Path) -> None:
    out = tmp_path / "spool.parquet"
    argv = crawl_command(
        "infoshos",
        "tiny",
        [f"{tiny_site}/infoshos/en/news/?page=1", f"{tiny_site}/infoshos/rss/rss_ru.xml"],
        out,
        url_map=[(f"{tiny_site}/infoshos/", "http://infoshos.sample.test/")],
        delay=0,
        concurrency=4,
    )
    counts, _ = _crawl(argv)
    rows = pq.read_table(out).to_pylist()
    assert pq.read_schema(out).equals(SPOOL)
    c = "http://infoshos.sample.test"
    fetched = {r["url"]: r for r in rows if r["status"] is not None}
    assert {u: (r["status"], r["page_type"]) for u, r in fetched.items()} == {
        f"{c}/en/news/?page=1": (200, "list"),
        f"{c}/en/news/?page=2": (200, "list"),
        f"{c}/rss/rss_ru.xml": (200, "feed"),
        f"{c}/en/?idn=1": (200, "article"),
        f"{c}/ru/?idn=2": (200, "article"),
        f"{c}/en/?idn=3": (200, "article"),
        f"{c}/ru/?idn=5": (200, "article"),
        f"{c}/en/?idn=404": (404, "article"),
    }
    # The cp1251 page arrives as raw bytes, with its header and mapped URLs.
    ru = fetched[f"{c}/ru/?idn=2"]
    assert "Саммит ШОС".encode("cp1251") in ru["body"]
    assert dict(ru["headers"])["content-type"] == "text/html; charset=windows-1251"
    assert ru["fetch_url"] == f"{tiny_site}/infoshos/ru/?idn=2"
    assert ru["language_hint"] == "ru"
    # Linked from both the list and the RSS feed: fetched once.
    assert _TinyHandler.seen.count("/infoshos/ru/?idn=2") == 1
    skips = sorted((r["skip_reason"], r["url"]) for r in rows if r["skip_reason"])
    assert skips == [
        ("disallowed", f"{c}/private/?idn=9"),
        ("not_article", f"{c}/files/charter.pdf"),
        ("not_article", f"{c}/files/report.pdf"),
        ("offsite", "http://other.example.org/"),
        ("offsite", "http://other.example.org/x.html"),
    ]
    assert not any(p.endswith(".pdf") or "private" in p for p in _TinyHandler.seen)
    assert counts["pages"] == 8 and counts["skipped"] == 5 and counts["errors"] == 0
    assert counts["statuses"] == {"200": 7, "404": 1}


@pytest.mark.slow
def test_crawl_of_the_sample_site_finds_every_expected_article(tmp_path: Path) -> None:
    from infoshos.spiders.sample_site import SampleSite, expected_articles, start_urls, url_map

    fetched: dict[str, int | None] = {}
    with SampleSite(port=0) as site:
        base = site.base_url
        for spider, source in (("infoshos", "infoshos-sample"), ("sectsco", "sectsco-sample")):
            out = tmp_path / f"{source}.parquet"
            argv = crawl_command(
                spider, source, start_urls(base)[source], out, url_map=url_map(base),
                delay=0, concurrency=8,
            )  # fmt: skip
            counts, _ = _crawl(argv)
            assert counts["pages"] > 0
            for row in pq.read_table(out, columns=["url", "status"]).to_pylist():
                if row["status"] == 200 or row["url"] not in fetched:
                    fetched[row["url"]] = row["status"]
    missing = [a.canonical_url for a in expected_articles() if fetched.get(a.canonical_url) != 200]
    assert missing == []


# -- issue 13, finding 5: a site is an origin (scheme, host and port) -------------------------
def test_another_port_of_the_start_host_is_another_site() -> None:
    spider = GenericSpider(source="g", start_urls=["http://127.0.0.1:18081/"], max_depth=2)
    assert spider.is_onsite("http://127.0.0.1:18081/a.html")
    assert not spider.is_onsite("http://127.0.0.1:18082/a.html")
    assert not spider.is_onsite("http://127.0.0.1/a.html")
    assert not spider.may_fetch("http://127.0.0.1:18082/robots.txt")
    home = (
        '<html><body><a href="/a.html">a</a><a href="http://127.0.0.1:18082/b.html">b</a>'
        '<a href="//127.0.0.1:18083/c.html">c</a></body></html>'
    )
    out = run(spider, response("http://127.0.0.1:18081/", home, "other"))
    assert [r.url for r in requests_of(out)] == ["http://127.0.0.1:18081/a.html"]
    skips = {r["url"]: (r["skip_reason"], r["detail"]) for r in records_of(out)[1:]}
    assert skips == {
        "http://127.0.0.1:18082/b.html": ("offsite", "origin 127.0.0.1:18082"),
        "http://127.0.0.1:18083/c.html": ("offsite", "origin 127.0.0.1:18083"),
    }
    # the default ports of http and https are one site; subdomains stay on it
    site = GenericSpider(source="g", start_urls=["http://example.org/"])
    assert site.is_onsite("https://www.example.org/x") and site.is_onsite("http://en.example.org/")
    assert not site.is_onsite("https://example.org:8443/x")
    # a mirror: the local origin is fetched, links to the canonical site are mapped to it
    mirror = infoshos_spider()
    assert mirror.may_fetch(f"{LOCAL}/infoshos/en/?idn=5")
    assert mirror.is_onsite("http://infoshos.sample.test/en/?idn=5")
    port = int(LOCAL.rsplit(":", 1)[1])
    assert not mirror.may_fetch(f"http://127.0.0.1:{port + 1}/infoshos/en/?idn=5")


class _PortHandler(BaseHTTPRequestHandler):
    """Two servers on two ports of 127.0.0.1: A links and redirects to B."""

    hits: dict[int, list[str]] = {}
    other = 0

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        port = int(self.server.server_address[1])  # type: ignore[index]
        type(self).hits.setdefault(port, []).append(self.path)
        other = f"http://127.0.0.1:{type(self).other}"
        article = infoshos_article("Page on " + str(port), ["Text of the page."])
        pages = {
            "/": f'<html><body><a href="/a.html">a</a><a href="{other}/b.html">b</a>'
            '<a href="/go">go</a></body></html>',
            "/a.html": article,
            "/b.html": article,
        }
        if self.path == "/go":
            self.send_response(302)
            self.send_header("Location", f"{other}/b.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = pages.get(self.path, "<h1>404</h1>").encode()
        self.send_response(200 if self.path in pages else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.slow
def test_a_crawl_never_fetches_another_port_of_its_host(tmp_path: Path) -> None:
    servers = [LoopbackHTTPServer(_PortHandler) for _ in range(2)]
    port_a, port_b = (s.port for s in servers)
    _PortHandler.hits, _PortHandler.other = {}, port_b
    with Loopback(servers[0]), Loopback(servers[1]):
        out = tmp_path / "spool.parquet"
        argv = crawl_command(
            "generic", "ports", [f"http://127.0.0.1:{port_a}/"], out, delay=0, concurrency=2
        )
        _crawl(argv)
    assert port_b not in _PortHandler.hits, _PortHandler.hits  # not even robots.txt
    assert "/a.html" in _PortHandler.hits[port_a]
    rows = {r["url"]: r for r in pq.read_table(out).to_pylist()}
    b = f"http://127.0.0.1:{port_b}/b.html"
    assert rows[b]["skip_reason"] == "offsite" and rows[b]["body"] is None
    go = rows[f"http://127.0.0.1:{port_a}/go"]  # the redirect to port B: refused, with a row
    assert go["skip_reason"] == "offsite", go
    assert f"127.0.0.1:{port_b}" in go["detail"]
    assert not any(str(port_b) in (r["final_url"] or "") for r in rows.values())


# -- issue 13, finding 7: hostile feeds -------------------------------------------------------
_BOMB = "<!DOCTYPE rss [<!ENTITY a0 'lollollollollollollollollollol'>" + "".join(
    f"<!ENTITY a{i} '{f'&a{i - 1};' * 10}'>" for i in range(1, 10)
) + "]>"  # fmt: skip
_ITEMS = "".join(
    f"<item><title>Item {i}</title><link>https://news.example.com/a/{i}.html</link>"
    "<pubDate>Mon, 02 Mar 2020 10:00:00 +0000</pubDate></item>"
    for i in range(3)
)


@pytest.mark.parametrize(
    "feed",
    [
        f'<?xml version="1.0"?>{_BOMB}<rss><channel><title>&a9;</title>{_ITEMS}</channel></rss>',
        f'<?xml version="1.0"?>{_BOMB}<rss><channel>{_ITEMS}<item><title>&a9;</title>'
        "<link>https://news.example.com/a/9.html</link></item></channel></rss>",
        "<?xml version='1.0'?>"
        + _BOMB.replace("rss [", "x SYSTEM 'file:///etc/passwd' [")
        + f"<rss><channel>{_ITEMS}</channel></rss>",
    ],
)
def test_an_entity_bomb_feed_keeps_its_valid_items(feed: str) -> None:
    spider = GenericSpider(source="g", start_urls=["https://news.example.com/rss.xml"])
    resp = response("https://news.example.com/rss.xml", feed, "feed", cls=XmlResponse)
    out = run(spider, resp)
    urls = [r.url for r in requests_of(out)]
    assert urls[:3] == [f"https://news.example.com/a/{i}.html" for i in range(3)]
    assert "lol" * 40 not in json.dumps(records_of(out), default=str)  # never expanded


def test_a_feed_that_cannot_be_read_is_a_bad_feed_reject() -> None:
    from infoshos.flows.clean.articles import clean_page

    spider = GenericSpider(source="g", start_urls=["https://news.example.com/rss.xml"])
    garbage = '<?xml version="1.0"?>\n\x01\x02 not a feed <<<< &&&'
    resp = response("https://news.example.com/rss.xml", garbage, "feed", cls=XmlResponse)
    out = run(spider, resp)
    record = records_of(out)[0]
    assert requests_of(out) == []
    assert record["page_type"] == "feed" and record["body"]  # the page is kept as fetched
    assert str(record["detail"]).startswith("unreadable feed: ")
    result = clean_page(record, "generic")
    assert result.reject is not None and result.reject["reason"] == "bad_feed"
    assert result.reject["detail"] == record["detail"]
    # a feed that reads well is navigation: no reject, no article
    good = f'<?xml version="1.0"?><rss><channel>{_ITEMS}</channel></rss>'
    ok = records_of(run(spider, response(resp.url, good, "feed", cls=XmlResponse)))[0]
    assert ok["detail"] is None
    assert clean_page(ok, "generic").reject is None
