"""The crawl's rules as pure functions, run without Scrapy's engine (``spiders/urls.py``,
``policy.py``, ``feeds.py``, ``incremental.py``, ``records.py``), and the crawl command line,
built once (``spiders/crawl.py::crawl_command``) for both of its callers."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import scrapy
from scrapy.http import HtmlResponse, XmlResponse
from twisted.internet.error import DNSLookupError
from twisted.python.failure import Failure

from infoshos.flows.crawl_stage import CrawlOptions, CrawlPlan, crawl_argv
from infoshos.flows.frontier import Frontier
from infoshos.flows.sources import Source
from infoshos.spiders import feeds, incremental, policy, records, urls
from infoshos.spiders.crawl import build_parser
from infoshos.spiders.incremental import KnownPage
from infoshos.warehouse.schema import PAGE_TYPES

# -- the crawl command line: one builder ------------------------------------------------------

LOCAL = "http://127.0.0.1:9/"
OUT = Path("/o/spool.parquet")
KNOWN_FILE = Path("/k/known.parquet")
INFOSHOS = Source("i", "infoshos", start_urls=(LOCAL,), delay=0.5, concurrency=3)
AHEAD = Source("ia", "infoshos", start_urls=(LOCAL,), idn_ahead=True, max_pages=40)
SECTSCO = Source(
    "c",
    "sectsco",
    start_urls=(LOCAL, LOCAL + "x.xml"),
    url_map=((LOCAL, "https://eng.sectsco.org/"),),
    article_patterns=("^/a$", "^/b$"),
    list_patterns=("^/$",),
    list_css=".item a",
    next_css="a.next",
    list_depth=3,
)
GENERIC = Source("g", "generic", start_urls=(LOCAL,), delay=0, concurrency=8)
RANGE = CrawlOptions(full=True, since=date(2019, 5, 6), idn_from=3, idn_to=8, idn_gap=2)
HEAD = ["-m", "infoshos.spiders.crawl"]


def _plan(
    src: Source, opts: CrawlOptions, known: Path | None, shared: Frontier | None = None
) -> CrawlPlan:
    return CrawlPlan(src, list(src.start_urls), list(src.url_map), opts, known, shared)


#: Plans, and the argv (after the interpreter) ``crawl_argv`` wrote for each when it still built
#: the command line itself, before it called ``crawl_command``.
BEFORE: dict[str, tuple[CrawlPlan, list[str]]] = {
    "infoshos backfill, full, since, shared": (
        _plan(INFOSHOS, RANGE, KNOWN_FILE, Frontier("redis://h/1", "c2", 12.5)),
        [*HEAD, "--spider", "infoshos", "--source", "i", "--out", "/o/spool.parquet",
         "--delay", "0.5", "--concurrency", "3", "--start-url", LOCAL,
         "--known", "/k/known.parquet", "--full", "--since", "2019-05-06", "--list-depth", "20",
         "--idn-from", "3", "--idn-to", "8", "--idn-gap", "2",
         "--redis", "redis://h/1", "--frontier", "c2", "--lease", "12.5"],
    ),
    "sectsco discovery, shared without lease": (
        _plan(SECTSCO, CrawlOptions(since=date(2020, 1, 2)), None, Frontier("redis://r/0", "c1")),
        [*HEAD, "--spider", "sectsco", "--source", "c", "--out", "/o/spool.parquet",
         "--delay", "1.0", "--concurrency", "2", "--start-url", LOCAL,
         "--start-url", LOCAL + "x.xml", "--url-map", f"{LOCAL}=https://eng.sectsco.org/",
         "--since", "2020-01-02", "--article-pattern=^/a$", "--article-pattern=^/b$",
         "--list-pattern=^/$", "--list-css=.item a", "--next-css=a.next", "--list-depth", "3",
         "--redis", "redis://r/0", "--frontier", "c1"],
    ),
    "sectsco ignores an idn range": (
        _plan(SECTSCO, RANGE, None),
        [*HEAD, "--spider", "sectsco", "--source", "c", "--out", "/o/spool.parquet",
         "--delay", "1.0", "--concurrency", "2", "--start-url", LOCAL,
         "--start-url", LOCAL + "x.xml", "--url-map", f"{LOCAL}=https://eng.sectsco.org/",
         "--full", "--since", "2019-05-06", "--article-pattern=^/a$", "--article-pattern=^/b$",
         "--list-pattern=^/$", "--list-css=.item a", "--next-css=a.next", "--list-depth", "3"],
    ),
    "walk ahead with a known file": (
        _plan(AHEAD, CrawlOptions(idn_gap=4), KNOWN_FILE),
        [*HEAD, "--spider", "infoshos", "--source", "ia", "--out", "/o/spool.parquet",
         "--delay", "1.0", "--concurrency", "2", "--max-pages", "40", "--start-url", LOCAL,
         "--known", "/k/known.parquet", "--list-depth", "20", "--idn-ahead", "--idn-gap", "4"],
    ),
    "no walk ahead without a known file": (
        _plan(AHEAD, CrawlOptions(idn_gap=4), None),
        [*HEAD, "--spider", "infoshos", "--source", "ia", "--out", "/o/spool.parquet",
         "--delay", "1.0", "--concurrency", "2", "--max-pages", "40", "--start-url", LOCAL,
         "--list-depth", "20"],
    ),
    "a range replaces the walk ahead": (
        _plan(AHEAD, CrawlOptions(idn_from=3, idn_to=8), KNOWN_FILE),
        [*HEAD, "--spider", "infoshos", "--source", "ia", "--out", "/o/spool.parquet",
         "--delay", "1.0", "--concurrency", "2", "--max-pages", "40", "--start-url", LOCAL,
         "--known", "/k/known.parquet", "--list-depth", "20", "--idn-from", "3", "--idn-to", "8"],
    ),
    "generic full": (
        _plan(GENERIC, CrawlOptions(full=True), KNOWN_FILE),
        [*HEAD, "--spider", "generic", "--source", "g", "--out", "/o/spool.parquet",
         "--delay", "0.0", "--concurrency", "8", "--start-url", LOCAL,
         "--known", "/k/known.parquet", "--full", "--list-depth", "20"],
    ),
}  # fmt: skip


def _parsed(argv: list[str]) -> dict[str, Any]:
    return vars(build_parser().parse_args(argv[len(HEAD) :]))


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_the_flow_runs_the_crawl_it_ran_before_through_the_one_builder(name: str) -> None:
    plan, before = BEFORE[name]
    argv = crawl_argv(plan, OUT)
    assert argv[0] == sys.executable and argv[1:3] == HEAD
    assert _parsed(argv[1:]) == _parsed(before)  # the crawl sees the same options
    assert sorted(argv[1:]) == sorted(before)  # and nothing else: the same words


# -- urls ------------------------------------------------------------------------------------


def test_url_mapping_prefers_the_longest_prefix_and_maps_back() -> None:
    pairs = urls.parse_url_map(
        [("http://127.0.0.1:1/", "http://a.test/"), ("http://127.0.0.1:1/b/", "http://b.test/")]
    )
    assert pairs[0][0] == "http://127.0.0.1:1/b/"
    assert urls.to_canonical("http://127.0.0.1:1/b/x?y=1", pairs) == "http://b.test/x?y=1"
    assert urls.to_canonical("http://127.0.0.1:1/x", pairs) == "http://a.test/x"
    assert urls.to_fetch("http://b.test/x", pairs) == "http://127.0.0.1:1/b/x"
    assert urls.to_fetch("http://c.test/x", pairs) == "http://c.test/x"
    with pytest.raises(ValueError, match="LOCAL=CANONICAL"):
        urls.parse_url_map("nonsense")


def test_links_sites_and_language_hints() -> None:
    base = "http://eng.example.org./news/"
    assert urls.absolute_url(base, "a.html#top") == "http://eng.example.org/news/a.html"
    assert [urls.absolute_url(base, h) for h in ("#x", "mailto:a@b", "javascript:0", "")] == [
        None
    ] * 4
    origins = {("example.org", None), ("127.0.0.1", 8081)}
    assert urls.origin_matches("https://www.eng.example.org:443/x", origins)
    assert not urls.origin_matches("http://example.org:8080/x", origins)
    assert not urls.origin_matches("http://127.0.0.1:8082/x", origins)
    assert urls.origin_text("http://127.0.0.1:8081/x") == "127.0.0.1:8081"
    assert urls.language_hint("https://rus.example.org/x") == "ru"
    assert urls.language_hint("http://a.test/rss/rss_en.xml") == "en"
    assert urls.language_hint("http://a.test/x", b"zh-CN, en") == "zh"
    assert urls.language_hint("http://a.test/x") is None


# -- policy ----------------------------------------------------------------------------------


def test_refusals_and_list_depth() -> None:
    assert policy.refusal("http://b.test:81/x", onsite=False) == ("offsite", "origin b.test:81")
    assert policy.refusal("http://a.test/f.PDF", onsite=True) == ("not_article", "pdf document")
    assert policy.refusal("http://a.test/news/1", onsite=True) is None
    assert policy.nav_hops(2, "list") == 3 and policy.nav_hops(2, "article") == 2
    assert policy.too_deep(3, "feed", list_depth=2)
    assert not policy.too_deep(3, "article", list_depth=2)  # content never counts as a hop
    assert not policy.too_deep(2, "list", list_depth=2)


# -- records ---------------------------------------------------------------------------------


def _response(
    url: str, body: bytes = b"<html></html>", status: int = 200, **meta: Any
) -> HtmlResponse:
    request = scrapy.Request(url, meta=meta)
    headers = {"Content-Type": "text/html; charset=utf-8", "Content-Language": "ru"}
    return HtmlResponse(url, body=body, status=status, request=request, headers=headers)


def test_a_fetch_record_carries_canonical_urls_and_the_first_requested_url() -> None:
    def canonical(url: str) -> str:
        return url.replace("http://127.0.0.1:1/", "http://a.test/")

    first = "http://127.0.0.1:1/old"
    response = _response("http://127.0.0.1:1/new", redirect_urls=[first], infoshos_via="pattern")
    record = records.page_record(response, "article", "src", canonical)
    assert (record["url"], record["final_url"], record["fetch_url"]) == (
        "http://a.test/old",
        "http://a.test/new",
        first,
    )
    assert record["headers"]["content-language"] == "ru" and record["language_hint"] == "ru"
    assert record["body"] == b"<html></html>" and record["via"] == "pattern"
    not_modified = records.page_record(_response(first, status=304), "article", "s", canonical)
    assert not_modified["body"] is None and not_modified["detail"] == "not modified"


def test_a_failure_record_has_no_status_and_a_kind_in_its_detail() -> None:
    request = scrapy.Request("http://127.0.0.1:1/x", meta={"page_type": "feed_item"})
    failure = Failure(DNSLookupError("no such host"))
    failure.request = request  # type: ignore[attr-defined]
    record = records.failure_record(failure, "src", lambda u: u)
    assert record["status"] is None and record["skip_reason"] is None
    assert record["detail"].startswith("dns: ")
    assert record["page_type"] == "article"  # a generic crawl's feed item
    assert {records.record_page_type(t) for t in ("sitemap_item", "x", *PAGE_TYPES)} == set(
        PAGE_TYPES
    )


# -- feeds -----------------------------------------------------------------------------------

RSS = b"""<?xml version="1.0"?><rss><channel>
<item><link>http://a.test/news/1</link><pubDate>Mon, 01 Jan 2024 10:00:00 +0300</pubDate></item>
<item><link>http://a.test/news/2</link></item>
</channel></rss>"""
SITEMAP = b"""<?xml version="1.0"?><urlset>
<url><loc>http://a.test/news/3</loc><lastmod>2023-05-06</lastmod></url>
<url><loc>http://a.test/contacts</loc></url></urlset>"""
INDEX = b"""<?xml version="1.0"?><sitemapindex><sitemap><loc>http://a.test/s1.xml</loc></sitemap>
</sitemapindex>"""


def _xml(body: bytes, url: str = "http://a.test/feed.xml") -> XmlResponse:
    return XmlResponse(url, body=body, headers={"Content-Type": "application/xml"})


def test_feed_and_sitemap_links() -> None:
    def content(href: str, via: str) -> policy.Link:
        return (href, "article", via)

    def is_article(href: str) -> bool:
        return "/news/" in href

    feed, sitemap, index = _xml(RSS), _xml(SITEMAP), _xml(INDEX)
    assert [feeds.xml_kind(r) for r in (feed, sitemap, index)] == ["feed", "sitemap", "sitemap"]
    assert feeds.xml_kind(_response("http://a.test/")) is None
    assert feeds.xml_links(feed, "feed", content, is_article) == [
        ("http://a.test/news/1", "article", "feed"),
        ("http://a.test/news/2", "article", "feed"),
    ]
    assert feeds.xml_links(sitemap, "sitemap", content, is_article) == [
        ("http://a.test/news/3", "article", "sitemap")
    ]
    assert feeds.xml_links(index, "sitemap", content, is_article) == [
        ("http://a.test/s1.xml", "list", "sitemap")
    ]
    assert feeds.is_feed_url("http://a.test/rss") and feeds.is_feed_url("http://a.test/a.atom")
    assert not feeds.is_feed_url("http://a.test/news/")
    broken = _xml(b"<?xml version='1.0'?><rss><channel><item><link>x</link></item><oops")
    assert (feeds.feed_problem(broken) or "").startswith("feed partly read: ")


# -- incremental -----------------------------------------------------------------------------

LIST = b"""<html><body><ul>
<li><a href="/news/1">One</a> <span>02.01.2024</span></li>
<li><a href="/news/2">Two</a> <time datetime="2023-12-30T10:00">30 Dec</time></li>
<li><a href="/news/3">Three</a></li>
</ul><a href="/news?page=2">next</a><a href="/doc.pdf">doc</a></body></html>"""


def _key_of(href: str) -> str | None:
    if href.endswith(".pdf"):
        return None
    return urls.url_key(urls.absolute_url("http://a.test/", href) or "")


def _article_key(href: str) -> str | None:
    return _key_of(href) if "/news/" in href else None


LINKS: list[policy.Link] = [
    ("/news/1", "article", "pattern"),
    ("/news/2", "article", "pattern"),
    ("/doc.pdf", None, "link"),
    ("/news?page=2", "list", "list"),
]


def test_list_items_are_dated_without_markup_knowledge() -> None:
    response = _response("http://a.test/news", LIST)
    dates = incremental.item_dates(response, "list", _key_of, _article_key)
    assert dates == {
        "http://a.test/news/1": date(2024, 1, 2),
        "http://a.test/news/2": date(2023, 12, 30),
        "http://a.test/news/3": None,
    }
    assert incremental.item_dates(response, "article", _key_of, _article_key) == {}


def test_known_articles_are_skipped_and_stop_the_pagination() -> None:
    known = {
        k: KnownPage(is_article=True) for k in ("http://a.test/news/1", "http://a.test/news/2")
    }
    chosen = incremental.select_links(LINKS, "list", _key_of, known)
    assert chosen.links == [("/doc.pdf", None, "link")]  # checked links stay, paging stops
    assert chosen.known_skipped == set(known) and chosen.pagination_stopped
    full = incremental.select_links(LINKS, "list", _key_of, known, full=True)
    assert full.links == LINKS and not full.known_skipped and not full.pagination_stopped
    assert incremental.select_links(LINKS, "list", _key_of, {}).links == LINKS
    one = {"http://a.test/news/1": KnownPage(is_article=True)}
    chosen = incremental.select_links(LINKS, "list", _key_of, one)
    assert chosen.links[0] == LINKS[1] and not chosen.pagination_stopped  # one new: page on


def test_since_skips_older_items_and_all_old_stops_the_pagination() -> None:
    dates = {"http://a.test/news/1": date(2024, 1, 2), "http://a.test/news/2": date(2023, 12, 30)}
    chosen = incremental.select_links(
        LINKS, "list", _key_of, {}, since=date(2024, 1, 1), dates=dates
    )
    assert chosen.since_skipped == {"http://a.test/news/2"} and not chosen.pagination_stopped
    assert ("/news?page=2", "list", "list") in chosen.links
    old = incremental.select_links(LINKS, "list", _key_of, {}, since=date(2025, 1, 1), dates=dates)
    assert old.pagination_stopped and old.links == [("/doc.pdf", None, "link")]


def test_a_full_crawl_revisits_known_articles_conditionally() -> None:
    known = {
        "http://a.test/b": KnownPage('"e"', "Mon, 01 Jan 2024 00:00:00 GMT", True),
        "http://a.test/a": KnownPage(is_article=True),
        "http://a.test/list": KnownPage('"l"'),
    }
    assert incremental.known_articles(known) == ["http://a.test/a", "http://a.test/b"]
    assert incremental.conditional_headers(known["http://a.test/b"]) == {
        "If-None-Match": '"e"',
        "If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT",
    }
    assert incremental.conditional_headers(known["http://a.test/a"]) == {}
    assert incremental.conditional_headers(None) == {}
