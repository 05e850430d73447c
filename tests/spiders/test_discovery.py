"""Discovery that does not depend on invented markup: feeds, sitemaps and the sources' URL
patterns on every page; each story fetched once whatever its URL form; how every page was
reached (spool ``via``); the Infoshos idn walk ahead; CSS only as optional hints; and the known
file of an incremental crawl (``write_known``).

``tests/sites/sectsco-live/`` is a Secretariat-style edition shaped like the real site as far as
it is known (``../shared/research/real-portals.md``): BEM-style classes the spider knows
nothing about, no ``.news-item`` anywhere, every confirmed article URL form (slug, section,
``/news/``, a host with a trailing dot), a feed, a sitemap index, a redesigned news list with a
second page and an "About SCO" page with the article URL shape. It is crawled with the *live*
``sectsco`` entry of ``sources.yaml`` (its patterns), start URLs pointed at the local copy."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scrapy
from scrapy.http import HtmlResponse, XmlResponse
from sites.serve import Site, truth

from infoshos.flows.sources import load_sources, parse_source
from infoshos.spiders.incremental import KnownPage, load_known
from infoshos.spiders.infoshos import InfoshosSpider
from infoshos.spiders.sectsco import SectscoSpider
from infoshos.spiders.urls import url_key
from infoshos.warehouse.keys import canonical_url
from infoshos.warehouse.schema import KNOWN, VIA

LOCAL = "http://127.0.0.1:8000"
INFOSHOS = "http://infoshos.sample.test/"
SECTSCO = "https://eng.sectsco.org/"
TRUTH = truth("sectsco-live")


def run(spider: scrapy.Spider, url: str, body: str, page_type: str, cls: Any = HtmlResponse) -> Any:
    request = scrapy.Request(url, meta={"page_type": page_type, "infoshos_depth": 0})
    ctype = "application/rss+xml" if cls is XmlResponse else "text/html; charset=utf-8"
    resp = cls(url, body=body.encode(), request=request, headers={"Content-Type": ctype})
    return list(spider.parse(resp))


def requests(out: list[Any]) -> list[tuple[str, str, str]]:
    return [
        (r.url, r.meta["page_type"], r.meta["infoshos_via"])
        for r in out
        if isinstance(r, scrapy.Request)
    ]


# -- a real-shaped portal crawled end to end with the live source's patterns -------------------


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from infoshos.flows.crawl_stage import CrawlOptions, crawl_argv, plan_crawls

    live = load_sources()["sectsco"]
    tmp = tmp_path_factory.mktemp("discovery")
    with Site("sectsco-live") as site:
        base = site.base_url
        src = parse_source(
            "sectsco-mirror",
            {
                "spider": live.spider,
                "start_urls": [f"{base}/", f"{base}/sitemap.xml", f"{base}/rss.xml"],
                "allowed_domains": ["eng.sectsco.org"],
                "url_map": [f"{base}/={SECTSCO}"],
                "article_patterns": list(live.article_patterns),
                "list_patterns": list(live.list_patterns),
                "timezone": live.timezone,
                "delay": 0,
                "concurrency": 4,
            },
        )
        (plan,) = plan_crawls([src], None, CrawlOptions(), None)
        out = tmp / "spool.parquet"
        argv = crawl_argv(plan, out)
        assert "--article-pattern=" + live.article_patterns[0] in argv
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        seen = list(site.seen)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"rows": pq.read_table(out).to_pylist(), "seen": seen}


@pytest.mark.slow
def test_a_portal_without_list_markup_is_fully_discovered(crawl: dict[str, Any]) -> None:
    rows = crawl["rows"]
    fetched = {canonical_url(r["url"]): r for r in rows if r["status"] == 200}
    articles = {u for u, r in fetched.items() if r["page_type"] == "article"}
    assert articles == set(TRUTH["articles"])
    # each reached the way the site offers it: home/article/list links, the feed, the sitemap
    assert {u: fetched[u]["via"] for u in articles} == TRUTH["articles"]
    for url in TRUTH["navigation"]:
        assert fetched[canonical_url(url)]["page_type"] in ("list", "feed"), url
    assert {r["via"] for r in rows} <= set(VIA)
    assert fetched[canonical_url(f"{SECTSCO}rss.xml")]["page_type"] == "feed"
    assert fetched[canonical_url(f"{SECTSCO}sitemap-news.xml")]["via"] == "sitemap"
    assert fetched[canonical_url(f"{SECTSCO}news/?offset=10")]["via"] == "list"
    # the About page has the article URL shape: fetched as a candidate (the clean stage judges)
    for url in TRUTH["not_articles"]:
        assert fetched[url]["page_type"] == "article"
    skips = {(r["skip_reason"], r["url"]) for r in rows if r["skip_reason"]}
    assert ("not_article", f"{SECTSCO}files/remarks.pdf") in skips


@pytest.mark.slow
def test_every_url_form_of_a_story_is_fetched_once(crawl: dict[str, Any]) -> None:
    pages = [p for p in crawl["seen"] if p != "/robots.txt"]
    assert len(pages) == len(set(pages)), "a page was fetched twice"
    # slug, /news/, section and trailing-dot links of one story: one request
    by_story = Counter(canonical_url(SECTSCO.rstrip("/") + p) for p in pages if p.endswith(".html"))
    assert max(by_story.values()) == 1
    assert not [p for p in pages if p.startswith(("/cultural/20230505", "/documents"))]
    assert len([r for r in crawl["rows"] if r["status"] == 404]) == 0


# -- spider rules on responses built here ------------------------------------------------------


def infoshos(**kw: Any) -> InfoshosSpider:
    kw.setdefault("start_urls", [f"{LOCAL}/infoshos/rss/rss_ru.xml"])
    return InfoshosSpider(source="s", url_map=[(f"{LOCAL}/infoshos/", INFOSHOS)], **kw)


REDESIGNED = """<html><body><div class="wrap"><div class="menu">
<a href="/infoshos/en/">Home</a> <a href="/infoshos/en/contacts.php">Contacts</a></div>
<table><tr><td class="sidebar"><div class="latest"><b>02.05.2018 15:40</b>
<a href="/infoshos/ru/?idn=7">sidebar story</a></div></td>
<td><section class="stories">
<article class="story"><h3><a href="/infoshos/en/index.php?idn=12">Twelve</a></h3>
<span>01.05.2018 10:00</span></article>
<article class="story"><h3><a href="/infoshos/en/?idn=11">Eleven</a></h3>
<span>30.04.2018 10:00</span></article>
</section><div class="pages"><a href="/infoshos/en/news/?page=2">more</a></div></td></tr></table>
</div></body></html>"""


def test_a_redesigned_list_page_still_yields_articles_through_patterns() -> None:
    spider = infoshos()
    out = run(spider, f"{LOCAL}/infoshos/en/news/?page=1", REDESIGNED, "list")
    assert requests(out) == [
        (f"{LOCAL}/infoshos/ru/?idn=7", "article", "pattern"),
        (f"{LOCAL}/infoshos/en/index.php?idn=12", "article", "pattern"),
        (f"{LOCAL}/infoshos/en/?idn=11", "article", "pattern"),
        (f"{LOCAL}/infoshos/en/", "list", "list"),
        (f"{LOCAL}/infoshos/en/news/?page=2", "list", "list"),
    ]
    # list dates without any list markup: each link's own item, not the sidebar's date
    dates = spider.item_dates(run_response(REDESIGNED), "list")
    assert dates[url_key(f"{INFOSHOS}en/?idn=12")] == date(2018, 5, 1)
    assert dates[url_key(f"{INFOSHOS}en/?idn=11")] == date(2018, 4, 30)
    assert dates[url_key(f"{INFOSHOS}ru/?idn=7")] == date(2018, 5, 2)


def run_response(body: str) -> HtmlResponse:
    url = f"{LOCAL}/infoshos/en/news/?page=1"
    request = scrapy.Request(url, meta={"page_type": "list"})
    return HtmlResponse(url, body=body.encode(), request=request)


def test_since_works_on_a_redesigned_list_and_stops_its_paging() -> None:
    spider = infoshos(since="2018-05-01")
    out = run(spider, f"{LOCAL}/infoshos/en/news/?page=1", REDESIGNED, "list")
    urls = [u for u, _, _ in requests(out)]
    assert f"{LOCAL}/infoshos/en/?idn=11" not in urls  # listed 30.04
    assert f"{LOCAL}/infoshos/en/index.php?idn=12" in urls
    assert f"{LOCAL}/infoshos/en/news/?page=2" in urls
    old = REDESIGNED.replace("02.05.2018", "02.04.2018").replace("01.05.2018", "01.04.2018")
    out = run(infoshos(since="2018-05-01"), f"{LOCAL}/infoshos/en/news/?page=3", old, "list")
    assert requests(out) == []  # every item older: no article, no paging


def test_list_depth_bounds_navigation_not_articles() -> None:
    spider = infoshos(list_depth=1)
    request = scrapy.Request(
        f"{LOCAL}/infoshos/en/news/?page=1",
        meta={"page_type": "list", "infoshos_depth": 1, "infoshos_nav": 1},
    )
    resp = HtmlResponse(request.url, body=REDESIGNED.encode(), request=request)
    got = requests(list(spider.parse(resp)))
    assert [t for _, t, _ in got] == ["article", "article", "article"]


def test_css_hints_are_used_when_given_and_never_required() -> None:
    html = (
        '<div class="row"><a href="/infoshos/en/story-12.html">t</a><i>01.05.2018</i></div>'
        '<a class="more" href="/infoshos/en/archive-2.html">more</a>'
    )
    plain = run(infoshos(), f"{LOCAL}/infoshos/en/", html, "list")
    assert requests(plain) == []  # nothing matches the patterns, nothing is guessed
    hinted = infoshos(list_css="div.row", next_css="a.more", since="2018-05-01")
    out = run(hinted, f"{LOCAL}/infoshos/en/", html, "list")
    assert requests(out) == [
        (f"{LOCAL}/infoshos/en/story-12.html", "article", "list"),
        (f"{LOCAL}/infoshos/en/archive-2.html", "list", "list"),
    ]
    # the hint's items are dated too: an older item is skipped and the paging stops
    later = infoshos(list_css="div.row", next_css="a.more", since="2018-05-02")
    assert requests(run(later, f"{LOCAL}/infoshos/en/", html, "list")) == []
    assert later.since_skipped == {url_key(f"{INFOSHOS}en/story-12.html")}


def test_feed_and_sitemap_items_are_candidates_with_their_via() -> None:
    spider = SectscoSpider(source="s", start_urls=[f"{LOCAL}/"], url_map=[(f"{LOCAL}/", SECTSCO)])
    rss = (
        '<?xml version="1.0"?><rss><channel><item><link>https://eng.sectsco.org./20240704/1.html'
        "</link></item><item><link>https://eng.sectsco.org/en/event-without-pattern</link>"
        "</item></channel></rss>"
    )
    out = run(spider, f"{LOCAL}/rss.xml", rss, "feed", XmlResponse)
    assert requests(out) == [
        (f"{LOCAL}/20240704/1.html", "article", "feed"),
        (f"{LOCAL}/en/event-without-pattern", "article", "feed"),  # a feed vouches for it
    ]
    sitemap = (
        '<?xml version="1.0"?><urlset><url><loc>https://eng.sectsco.org/contacts/</loc></url>'
        "<url><loc>https://eng.sectsco.org/political/20230710/950979/x.html</loc></url></urlset>"
    )
    out = run(spider, f"{LOCAL}/sitemap.xml", sitemap, "feed", XmlResponse)
    assert [r for r in out if isinstance(r, dict)][0]["page_type"] == "list"
    assert requests(out) == [(f"{LOCAL}/political/20230710/950979/x.html", "article", "sitemap")]


def start(spider: InfoshosSpider) -> list[scrapy.Request]:
    async def collect() -> list[scrapy.Request]:
        return [r async for r in spider.start()]

    return asyncio.run(collect())


def test_idn_walk_ahead_starts_above_the_highest_known_idn() -> None:
    known = {
        url_key(f"{INFOSHOS}ru/?idn=40"): KnownPage(is_article=True),
        url_key(f"{INFOSHOS}en/?idn=38"): KnownPage(is_article=True),
        url_key(f"{INFOSHOS}en/?idn=90"): KnownPage(is_article=False),  # a rejected candidate
    }
    spider = infoshos(known=known, idn_ahead=True, idn_gap=2)
    reqs = start(spider)
    assert [(r.url, r.meta["infoshos_via"]) for r in reqs] == [
        (f"{LOCAL}/infoshos/rss/rss_ru.xml", "start"),
        (f"{LOCAL}/infoshos/en/?idn=41", "idn"),
        (f"{LOCAL}/infoshos/ru/?idn=41", "idn"),
        (f"{LOCAL}/infoshos/en/?idn=42", "idn"),
        (f"{LOCAL}/infoshos/ru/?idn=42", "idn"),
    ]
    # without a known file (a first run) there is nothing to walk ahead from
    assert len(start(infoshos(idn_ahead=True))) == 1
    # a hit extends the walk; links in it are followed (not a backfill)
    page = (
        '<html><div class="center-column-wrap"><table><tr><td class="text"><p>Text</p>'
        '<a href="/infoshos/ru/?idn=5">older</a></td></tr></table></div></html>'
    )
    resp = HtmlResponse(reqs[1].url, body=page.encode(), request=reqs[1])
    got = requests(list(spider.parse(resp)))
    assert (f"{LOCAL}/infoshos/ru/?idn=5", "article", "pattern") in got
    assert (f"{LOCAL}/infoshos/en/?idn=43", "article", "idn") in got


# -- the known file: is_article only for stored articles ---------------------------------------


def test_write_known_marks_only_stored_articles(tmp_path: Path) -> None:
    from helpers_warehouse import _table, build_sample_warehouse

    from infoshos.flows.crawl_stage import write_known

    wh = build_sample_warehouse(tmp_path / "wh")
    stored = wh.read("articles", columns=["url"])["url"].to_pylist()
    now = datetime(2024, 1, 1, tzinfo=UTC)
    extra = [
        {"page_id": "x1", "url": "https://news.example/listing", "source": "web", "run_id": "rx",
         "page_type": "article", "status": 200, "fetched_at": now,
         "headers": [("etag", '"l"')]},
        {"page_id": "x2", "url": stored[0] + "/", "source": "web", "run_id": "rx",
         "page_type": "article", "status": 200, "fetched_at": now, "headers": []},
        {"page_id": "x3", "url": "https://news.example/news?page=2", "source": "web",
         "run_id": "rx", "page_type": "list", "status": 200, "fetched_at": now},
    ]  # fmt: skip
    with wh.lock():
        tx = wh.transaction("rx")
        tx.append("pages", _table("pages", extra))
        tx.commit()
    path = tmp_path / "known.parquet"
    write_known(wh, path)
    known = {r["url"]: r for r in pq.read_table(path).to_pylist()}
    assert known["https://news.example/listing"]["is_article"] is False
    assert known["https://news.example/listing"]["etag"] == '"l"'
    assert "https://news.example/news?page=2" not in known  # navigation is never "known"
    keys = {canonical_url(u): r["is_article"] for u, r in known.items()}
    assert all(keys[canonical_url(u)] for u in stored)
    assert pq.read_schema(path).field("is_article").type == pa.bool_()
    # one schema on both sides: the flow writes KNOWN, the spiders read its columns
    assert pq.read_schema(path).equals(KNOWN)
    read = load_known(path)
    assert {k for k, page in read.items() if page.is_article} == {canonical_url(u) for u in stored}
    assert read[canonical_url("https://news.example/listing")] == KnownPage('"l"', None, False)
