"""Incremental crawls: ``--known`` (skip known articles, stop paging at known items), ``--full``
(conditional refetch, 304 rows) and ``--since`` (backfill limit), against tests/faultserver.py's
site (ETag / Last-Modified support, articles added between crawls) and the bundled sample site;
plus the spider rules on responses built here."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scrapy
from faultserver import CANONICAL, Article, FaultSite, make_articles
from scrapy.http import HtmlResponse, XmlResponse

from infoshos.spiders.crawl import crawl_command
from infoshos.spiders.incremental import KnownPage, list_date, load_known
from infoshos.spiders.infoshos import InfoshosSpider
from infoshos.spiders.sectsco import SectscoSpider
from infoshos.spiders.urls import url_key

LOCAL = "http://127.0.0.1:8000"
INFOSHOS_MAP = [(f"{LOCAL}/infoshos/", CANONICAL)]
SECTSCO_MAP = [(f"{LOCAL}/sectsco/eng/", "https://eng.sectsco.sample.test/")]
ARTICLE_TYPES = ("article", "print")


# -- helpers ----------------------------------------------------------------------------------


def run_crawl(argv: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    counts: dict[str, Any] = json.loads(lines[0])
    return counts


def rows_of(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist()


def fetched_articles(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    return {
        r["url"]: r["status"]
        for r in rows
        if r["page_type"] in ARTICLE_TYPES and r["status"] is not None
    }


def write_known(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """A known file as the warehouse would give it: every fetched URL, its validators, and
    whether it became an article (here: an article page answered 200)."""
    known = []
    for r in rows:
        if r["status"] is None:
            continue
        headers = dict(r["headers"] or [])
        known.append(
            {
                "url": r["url"],
                "etag": headers.get("etag"),
                "last_modified": headers.get("last-modified"),
                "is_article": r["page_type"] in ARTICLE_TYPES and r["status"] == 200,
            }
        )
    schema = pa.schema(
        [
            ("url", pa.string()),
            ("etag", pa.string()),
            ("last_modified", pa.string()),
            ("is_article", pa.bool_()),
        ]
    )
    pq.write_table(pa.Table.from_pylist(known, schema=schema), path)
    return path


def site_crawl(site: FaultSite, out: Path, **kw: Any) -> list[str]:
    base = site.base_url
    return crawl_command(
        "infoshos",
        "inc",
        [f"{base}/infoshos/en/news/?page=1", f"{base}/infoshos/rss/rss_en.xml"],
        out,
        url_map=site.url_map,
        delay=0,
        concurrency=8,
        **kw,
    )


def list_hits(site: FaultSite) -> dict[str, int]:
    return {p: n for p, n in site.hits.items() if "/news/" in p}


# -- against the fault server's site (ETag support) ------------------------------------------


@pytest.mark.slow
def test_incremental_full_and_since_against_a_site_with_etags(tmp_path: Path) -> None:
    articles = make_articles(25)  # 2020-01-01 .. 2020-01-25, three list pages
    with FaultSite(articles) as site:
        # 1. First crawl, nothing known: every article.
        first = tmp_path / "first.parquet"
        counts = run_crawl(site_crawl(site, first))
        rows1 = rows_of(first)
        assert fetched_articles(rows1) == {a.canonical_url: 200 for a in articles}
        assert counts["known_skipped"] == 0 and counts["not_modified"] == 0
        assert all(dict(r["headers"]).get("etag") for r in rows1 if r["page_type"] == "article")
        known = write_known(rows1, tmp_path / "known.parquet")

        # 2. Nothing new: no article fetched, only the first list page and the feed.
        site.reset_hits()
        second = tmp_path / "second.parquet"
        counts = run_crawl(site_crawl(site, second, known=known))
        assert site.article_hits() == {}
        assert list_hits(site) == {"/infoshos/en/news/?page=1": 1}
        assert site.hits["/infoshos/rss/rss_en.xml"] == 1
        assert fetched_articles(rows_of(second)) == {}
        assert counts["known_skipped"] == 15  # page 1 (10) within the feed (15 newest)
        assert counts["pagination_stopped"] == 1

        # 3. One article added: exactly that one is fetched.
        new = Article(900, "Breaking", articles[-1].published.replace(day=26), "New text.")
        site.add(new)
        site.reset_hits()
        third = tmp_path / "third.parquet"
        run_crawl(site_crawl(site, third, known=known))
        assert site.article_hits() == {new.path: 1}
        assert fetched_articles(rows_of(third)) == {new.canonical_url: 200}
        # page 1 had the new item, page 2 only known ones: paging stopped there.
        assert "/infoshos/en/news/?page=3" not in list_hits(site)

        # 4. --full: everything requested, known articles conditionally -> 304 without body.
        site.reset_hits()
        full = tmp_path / "full.parquet"
        counts = run_crawl(site_crawl(site, full, known=known, full=True))
        rows4 = rows_of(full)
        statuses = fetched_articles(rows4)
        assert statuses == {
            **{a.canonical_url: 304 for a in articles},
            new.canonical_url: 200,
        }
        assert counts["not_modified"] == 25 and counts["known_skipped"] == 0
        assert all(r["body"] is None for r in rows4 if r["status"] == 304)
        assert set(list_hits(site)) == {f"/infoshos/en/news/?page={n}" for n in (1, 2, 3)}
        sent = site.conditional[articles[0].path]
        assert (
            sent["If-None-Match"]
            == dict(next(r for r in rows1 if r["url"] == articles[0].canonical_url)["headers"])[
                "etag"
            ]
        )
        assert "If-Modified-Since" in sent
        assert new.path not in site.conditional

        # 5. --since: only items listed on/after the date; paging stops at an all-older page.
        site.reset_hits()
        since = tmp_path / "since.parquet"
        counts = run_crawl(site_crawl(site, since, since="2020-01-18"))
        wanted = {
            a.canonical_url for a in [*articles, new] if a.published.date() >= date(2020, 1, 18)
        }
        assert set(fetched_articles(rows_of(since))) == wanted
        assert len(wanted) == 9
        assert set(list_hits(site)) == {"/infoshos/en/news/?page=1", "/infoshos/en/news/?page=2"}
        assert counts["since_skipped"] > 0


# -- against the bundled sample site ----------------------------------------------------------


SAMPLE = (("infoshos", "infoshos-sample"), ("sectsco", "sectsco-sample"))


@pytest.mark.slow
def test_sample_site_second_crawl_fetches_no_known_article(tmp_path: Path) -> None:
    from infoshos.spiders.sample_site import (
        SampleSite,
        expected_articles,
        load_articles,
        start_urls,
        url_map,
    )

    def crawl(base: str, tag: str, **kw: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        total: dict[str, Any] = {"known_skipped": 0, "since_skipped": 0}
        for spider, source in SAMPLE:
            out = tmp_path / f"{source}-{tag}.parquet"
            argv = crawl_command(
                spider, source, start_urls(base)[source], out, url_map=url_map(base),
                delay=0, concurrency=8, **kw,
            )  # fmt: skip
            counts = run_crawl(argv)
            total["known_skipped"] += counts["known_skipped"]
            total["since_skipped"] += counts["since_skipped"]
            rows += rows_of(out)
        return rows, total

    expected = expected_articles()
    with SampleSite(port=0) as site:
        first, _ = crawl(site.base_url, "first")
        ok = {u for u, s in fetched_articles(first).items() if s == 200}
        assert {a.canonical_url for a in expected} <= ok
        assert len(expected) == 76
        known = write_known(first, tmp_path / "known.parquet")

        second, counts = crawl(site.base_url, "second", known=str(known))
        # No article the warehouse holds is fetched again; only URLs it holds as non-articles
        # (the sample's permanent 404) are retried.
        refetched = fetched_articles(second)
        assert all(s != 200 for s in refetched.values()), refetched
        assert set(refetched) <= {r["url"] for r in first if r["status"] == 404}
        lists = {r["url"] for r in second if r["page_type"] == "list"}
        assert all(u.endswith(("?page=1", "?offset=0")) for u in lists), lists
        feeds = {r["url"] for r in second if r["page_type"] == "feed"}
        assert len(feeds) == 2
        assert counts["known_skipped"] > 0

        since = date(2019, 6, 1)
        third, counts = crawl(site.base_url, "since", since=since.isoformat())
    got = set(fetched_articles(third))
    new_enough = {a.canonical_url for a in expected if a.published_msk.date() >= since}
    assert new_enough <= got
    # Older articles are only reached through links without a list date (in article texts).
    dated = {a.canonical_url for a in load_articles() if a.published_msk.date() >= since}
    referers = {r["url"]: r["referer"] for r in third}
    for url in got - dated:
        assert referers[url] and "/news/" not in referers[url] and "rss" not in referers[url]
    assert len(got) < len(ok) and counts["since_skipped"] > 0


# -- the rules on responses built here --------------------------------------------------------


def _list(items: list[tuple[str | None, str]], next_href: str | None = "?page=2") -> str:
    rows = "".join(
        '<div class="news-item">'
        + (f'<span class="date">{when}</span> ' if when else "")
        + f'<a href="{href}">t</a></div>'
        for when, href in items
    )
    nxt = f'<a class="next" href="{next_href}">next</a>' if next_href else ""
    return (
        '<html><body><div class="center-column-wrap"><td class="text">'
        f"{rows}{nxt}</td></div></body></html>"
    )


def _run(
    spider: scrapy.Spider, url: str, body: str, page_type: str, cls: Any = HtmlResponse
) -> list[Any]:
    request = scrapy.Request(url, meta={"page_type": page_type, "infoshos_depth": 0})
    resp = cls(url, body=body.encode(), request=request, headers={"Content-Type": "text/html"})
    return list(spider.parse(resp))


def _urls(out: list[Any]) -> list[str]:
    return [r.url for r in out if isinstance(r, scrapy.Request)]


def _known(*urls: str, is_article: bool = True, etag: str | None = None) -> dict[str, KnownPage]:
    return {url_key(u): KnownPage(etag, None, is_article) for u in urls}


def test_known_articles_are_skipped_and_paging_stops_when_all_are_known() -> None:
    known = _known(f"{CANONICAL}en/?idn=1", f"{CANONICAL}en/?idn=2")
    spider = InfoshosSpider(
        source="s", start_urls=[f"{LOCAL}/infoshos/en/news/?page=1"], url_map=INFOSHOS_MAP,
        known=known,
    )  # fmt: skip
    page = f"{LOCAL}/infoshos/en/news/?page=1"
    # index.php form and a PDF (never an article) do not keep the paging going.
    html = _list([(None, "/infoshos/en/?idn=1"), (None, "/infoshos/en/index.php?idn=2"),
                  (None, "/infoshos/files/a.pdf")])  # fmt: skip
    assert _urls(_run(spider, page, html, "list")) == []
    assert spider.known_skipped == set(known) and spider.pagination_stopped == 1
    # One unknown item: it is fetched and the paging goes on.
    html = _list([(None, "/infoshos/en/?idn=1"), (None, "/infoshos/en/?idn=3")])
    assert _urls(_run(spider, page, html, "list")) == [
        f"{LOCAL}/infoshos/en/?idn=3",
        f"{LOCAL}/infoshos/en/news/?page=2",
    ]


def test_known_non_articles_are_refetched_but_do_not_keep_paging() -> None:
    known = _known(f"{CANONICAL}en/?idn=1", is_article=False)
    spider = InfoshosSpider(
        source="s", start_urls=[f"{LOCAL}/infoshos/en/news/?page=1"], url_map=INFOSHOS_MAP,
        known=known,
    )  # fmt: skip
    html = _list([(None, "/infoshos/en/?idn=1")])
    assert _urls(_run(spider, f"{LOCAL}/infoshos/en/news/?page=1", html, "list")) == [
        f"{LOCAL}/infoshos/en/?idn=1"
    ]


def test_prefer_print_and_sectsco_aliases_match_known_canonical_urls() -> None:
    spider = InfoshosSpider(
        source="s", start_urls=[f"{LOCAL}/infoshos/en/news/?page=1"], url_map=INFOSHOS_MAP,
        known=_known(f"{CANONICAL}en/?idn=1"), prefer_print=True,
    )  # fmt: skip
    html = _list([(None, "/infoshos/en/?idn=1")], None)
    assert _urls(_run(spider, f"{LOCAL}/infoshos/en/news/?page=1", html, "list")) == []
    sectsco = SectscoSpider(
        source="s", start_urls=[f"{LOCAL}/sectsco/eng/news/?offset=0"], url_map=SECTSCO_MAP,
        known=_known("https://eng.sectsco.sample.test/20200115/612345.html"),
    )  # fmt: skip
    html = (
        '<div class="news-item"><a href="/sectsco/eng/news/20200115/612345.html">x</a></div>'
        '<a class="next" href="?offset=10">n</a>'
    )
    assert _urls(_run(sectsco, f"{LOCAL}/sectsco/eng/news/?offset=0", html, "list")) == []


def test_since_skips_older_items_follows_undated_and_stops_at_an_all_older_page() -> None:
    spider = InfoshosSpider(
        source="s", start_urls=[f"{LOCAL}/infoshos/en/news/?page=1"], url_map=INFOSHOS_MAP,
        since="2020-02-01",
    )  # fmt: skip
    page = f"{LOCAL}/infoshos/en/news/?page=1"
    html = _list(
        [
            ("01.02.2020 00:10", "/infoshos/en/?idn=1"),
            ("31.01.2020 23:50", "/infoshos/en/?idn=2"),
            (None, "/infoshos/en/?idn=3"),
        ]
    )
    assert _urls(_run(spider, page, html, "list")) == [
        f"{LOCAL}/infoshos/en/?idn=1",
        f"{LOCAL}/infoshos/en/?idn=3",
        f"{LOCAL}/infoshos/en/news/?page=2",
    ]
    html = _list(
        [("30.01.2020 10:00", "/infoshos/en/?idn=4"), ("29.01.2020 10:00", "/infoshos/en/?idn=5")]
    )
    assert _urls(_run(spider, f"{LOCAL}/infoshos/en/news/?page=2", html, "list")) == []
    # Sectsco list dates (time[datetime]) and RSS pubDate.
    sectsco = SectscoSpider(
        source="s", start_urls=[f"{LOCAL}/sectsco/eng/news/?offset=0"], url_map=SECTSCO_MAP,
        since=date(2020, 1, 16),
    )  # fmt: skip
    html = (
        '<div class="news-item"><a href="/sectsco/eng/20200115/1.html">a</a>'
        '<time datetime="2020-01-15T23:00:00+03:00">15.01.2020</time></div>'
        '<div class="news-item"><a href="/sectsco/eng/20200116/2.html">b</a>'
        '<time datetime="2020-01-16T01:00:00+03:00">16.01.2020</time></div>'
    )
    assert _urls(_run(sectsco, f"{LOCAL}/sectsco/eng/news/?offset=0", html, "list")) == [
        f"{LOCAL}/sectsco/eng/20200116/2.html"
    ]
    rss = (
        '<?xml version="1.0"?><rss><channel>'
        f"<item><link>{CANONICAL}ru/?idn=7</link>"
        "<pubDate>Fri, 31 Jan 2020 10:00:00 +0300</pubDate></item>"
        f"<item><link>{CANONICAL}ru/?idn=8</link>"
        "<pubDate>Sat, 01 Feb 2020 10:00:00 +0300</pubDate></item>"
        "</channel></rss>"
    )
    assert _urls(_run(spider, f"{LOCAL}/infoshos/rss/rss_ru.xml", rss, "feed", XmlResponse)) == [
        f"{LOCAL}/infoshos/ru/?idn=8"
    ]


def test_full_sends_validators_and_a_304_has_no_body() -> None:
    known = {
        url_key(f"{CANONICAL}en/?idn=1"): KnownPage('"abc"', "Wed, 01 Jan 2020 07:00:00 GMT", True)
    }
    spider = InfoshosSpider(
        source="s", start_urls=[f"{LOCAL}/infoshos/en/news/?page=1"], url_map=INFOSHOS_MAP,
        known=known, full=True,
    )  # fmt: skip
    html = _list([(None, "/infoshos/en/?idn=1"), (None, "/infoshos/en/?idn=2")])
    reqs = [
        r
        for r in _run(spider, f"{LOCAL}/infoshos/en/news/?page=1", html, "list")
        if isinstance(r, scrapy.Request)
    ]
    assert [r.url for r in reqs][-1].endswith("?page=2")  # paging goes on in --full
    assert reqs[0].headers.get("If-None-Match") == b'"abc"'
    assert reqs[0].headers.get("If-Modified-Since") == b"Wed, 01 Jan 2020 07:00:00 GMT"
    assert reqs[1].headers.get("If-None-Match") is None
    resp = HtmlResponse(reqs[0].url, status=304, body=b"", request=reqs[0])
    (record,) = [r for r in spider.parse(resp) if isinstance(r, dict)]
    assert (record["status"], record["body"], record["page_type"]) == (304, None, "article")


def test_known_file_loading_and_list_dates(tmp_path: Path) -> None:
    path = tmp_path / "k.parquet"
    pq.write_table(
        pa.table(
            {
                "url": [f"{CANONICAL}en/print.php?idn=01", f"{CANONICAL}en/?idn=1", None],
                "etag": ['"x"', None, None],
                "last_modified": [None, "bad\r\nheader", None],
                "is_article": [False, True, None],
            }
        ),
        path,
    )
    known = load_known(path)
    assert known == {f"{CANONICAL}en/?idn=1": KnownPage('"x"', None, True)}
    assert list_date("05.03.2020 10:00") == date(2020, 3, 5)
    assert list_date("2020-03-05T23:30:00+03:00") == date(2020, 3, 5)
    assert list_date("Thu, 05 Mar 2020 23:30:00 +0300") == date(2020, 3, 5)
    assert list_date("soon") is None and list_date(None) is None


def test_known_file_keys_made_by_the_writer_are_used_as_they_are(tmp_path: Path) -> None:
    """A ``key`` column (written once by ``write_known``) is the URL's key: the crawl does not
    make it again (a different key proves it was read, not recomputed)."""
    path = tmp_path / "k.parquet"
    url = f"{CANONICAL}en/?idn=1"
    pq.write_table(
        pa.table({"url": [url, url + "2"], "is_article": [True, True], "key": ["k1", None]}),
        path,
    )
    assert load_known(path) == {
        "k1": KnownPage(None, None, True),
        url_key(url + "2"): KnownPage(None, None, True),
    }


def test_write_known_writes_each_urls_key(tmp_path: Path) -> None:
    from helpers_warehouse import build_sample_warehouse

    from infoshos.flows.crawl_stage import write_known

    wh = build_sample_warehouse(tmp_path / "wh")
    path = tmp_path / "known.parquet"
    assert write_known(wh, path) > 0
    table = pq.read_table(path).to_pylist()
    assert all(r["key"] == url_key(r["url"]) for r in table)
    assert load_known(path) == {
        url_key(r["url"]): KnownPage(r["etag"], r["last_modified"], r["is_article"]) for r in table
    }


#: Stored URLs that have no canonical form (a port out of range or not a number, a broken
#: IPv6 host): their key is the URL itself, on both sides.
ODD_URLS = ["http://example.org:99999/a", " http://example.org:abc/", "http://[::1/a"]


def test_write_known_keys_stored_urls_without_a_canonical_form_as_the_spiders_do(
    tmp_path: Path,
) -> None:
    from helpers_warehouse import build_sample_warehouse

    from infoshos.flows.crawl_stage import write_known

    wh = build_sample_warehouse(tmp_path / "wh")
    pages, articles = wh.read("pages"), wh.read("articles")
    page = next(r for r in pages.to_pylist() if r["status"] == 200 and r["page_type"] == "article")
    odd_pages = [
        dict(page, page_id=f"odd-{i}", url=u, final_url=u, fetch_url=u, headers=[("etag", f"e{i}")])
        for i, u in enumerate(ODD_URLS)
    ]
    odd_article = dict(articles.slice(0, 1).to_pylist()[0], article_id="0dd", url=ODD_URLS[0])
    with wh.lock():
        tx = wh.transaction("r-odd")
        tx.append("pages", pa.Table.from_pylist(odd_pages, schema=pages.schema))
        tx.upsert("articles", pa.Table.from_pylist([odd_article], schema=articles.schema))
        tx.commit()
    path = tmp_path / "known.parquet"
    assert write_known(wh, path) == len(pq.read_table(path))
    known = load_known(path)  # the spider side: keyed by url_key
    for i, url in enumerate(ODD_URLS):
        assert known[url_key(url)].etag == f"e{i}", url
    assert [url_key(u) for u in ODD_URLS] == [u.strip() for u in ODD_URLS]
    assert known[url_key(ODD_URLS[0])].is_article
    assert not known[url_key(ODD_URLS[1])].is_article


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--since", "2020-13-01"], "--since"),
        (["--since", "01.02.2020"], "--since"),
        (["--known", "/nonexistent/known.parquet"], "--known"),
        (["--max-bytes", "0"], "--max-bytes"),
        (["--timeout", "0"], "--timeout"),
        (["--retries", "-1"], "--retries"),
    ],
)
def test_crawl_cli_rejects_bad_incremental_options(
    extra: list[str], message: str, tmp_path: Path
) -> None:
    argv = crawl_command("infoshos", "s", ["http://127.0.0.1:9/"], tmp_path / "o.parquet")
    argv += extra
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"crawl: error: {message}")


@pytest.mark.parametrize(
    "extra",
    [
        ["--delay", "nan"],
        ["--delay", "inf"],
        ["--timeout", "inf"],
        ["--progress-interval", "Infinity"],
        ["--redis", "redis://127.0.0.1:9/0", "--frontier", "f", "--lease", "inf"],
    ],
)
def test_crawl_cli_refuses_a_number_that_is_not_finite(extra: list[str], tmp_path: Path) -> None:
    from infoshos.spiders.crawl import ArgumentError, parse_args

    argv = crawl_command("infoshos", "s", ["http://127.0.0.1:9/"], tmp_path / "o.parquet")
    head = argv.index("--spider")  # the options, without the interpreter and module
    with pytest.raises(ArgumentError, match=f"'{extra[-1]}' is not a finite number"):
        parse_args([*argv[head:], *extra])


def test_known_file_without_url_column_is_an_argument_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"link": ["http://x/"]}), bad)
    argv = crawl_command(
        "infoshos", "s", ["http://127.0.0.1:9/"], tmp_path / "o.parquet", known=bad
    )
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no 'url' column" in proc.stderr


def test_a_page_not_read_whole_is_fetched_whole_again_not_conditionally(tmp_path: Path) -> None:
    from helpers_warehouse import build_sample_warehouse

    from infoshos.flows.crawl_stage import write_known

    wh = build_sample_warehouse(tmp_path / "wh")
    pages = wh.read("pages")
    page = next(r for r in pages.to_pylist() if r["status"] == 200 and r["page_type"] == "article")
    urls = {
        "cut": "http://news.example/cut",  # truncated in its latest run: fetched whole
        "menu": "http://news.example/menu",  # not an article: conditional, as before
        "mended": "http://news.example/mended",  # truncated once, then read whole (a menu)
    }
    new_pages = [
        dict(page, page_id=f"p-{n}", url=u, final_url=u, fetch_url=u, headers=[("etag", n)])
        for n, u in urls.items()
    ]
    rejects = [
        {"url": urls[n], "source": "s", "stage": "clean", "reason": reason, "run_id": run}
        for n, reason, run in [
            ("cut", "truncated", "r1"),
            ("menu", "not_article", "r1"),
            ("mended", "truncated", "r1"),
            ("mended", "not_article", "r2"),
        ]
    ]
    with wh.lock():
        tx = wh.transaction("r-cut")
        tx.append("pages", pa.Table.from_pylist(new_pages, schema=pages.schema))
        tx.append("rejects", pa.Table.from_pylist(rejects))
        tx.commit()
    path = tmp_path / "known.parquet"
    write_known(wh, path)
    known = load_known(path)
    assert known[url_key(urls["cut"])].etag is None
    assert known[url_key(urls["menu"])].etag == "menu"
    assert known[url_key(urls["mended"])].etag == "mended"
    assert not known[url_key(urls["cut"])].is_article  # still a candidate: fetched when linked


def test_write_known_keys_each_stored_url_once_across_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers_warehouse import build_sample_warehouse

    import infoshos.warehouse.keys as keys
    from infoshos.flows.crawl_stage import KEY_CACHE, write_known

    wh = build_sample_warehouse(tmp_path / "wh")
    made: list[str] = []
    real = keys.url_key

    def counted(url: str) -> str:
        made.append(url)
        return real(url)

    monkeypatch.setattr(keys, "url_key", counted)

    def known() -> pa.Table:
        write_known(wh, tmp_path / "known.parquet")
        return pq.read_table(tmp_path / "known.parquet")

    first = known()
    assert len(made) >= first.num_rows > 0 and (wh.root / KEY_CACHE).is_file()
    made.clear()
    assert known().equals(first) and made == []  # the next run keys nothing again
    monkeypatch.setattr(keys, "rules_fingerprint", lambda: "other rules")
    assert known().equals(first) and len(made) >= first.num_rows  # new rules: keyed again
    made.clear()
    (wh.root / KEY_CACHE).write_bytes(b"not parquet")
    assert known().equals(first) and len(made) >= first.num_rows  # unreadable: made again


def test_latest_validators_pick_the_latest_article_fetch_of_each_url(tmp_path: Path) -> None:
    from datetime import timedelta

    from helpers_warehouse import build_sample_warehouse

    from infoshos.flows.crawl_stage import latest_article_fetches, latest_validators

    wh = build_sample_warehouse(tmp_path / "wh")
    pages = wh.read("pages")
    page = next(r for r in pages.to_pylist() if r["status"] == 200 and r["page_type"] == "article")
    at = page["fetched_at"]
    u = "http://news.example/a"

    def fetch(n: int, minutes: int, status: int = 200, kind: str = "article", **h: str) -> dict:
        headers = [(k.replace("_", "-"), v) for k, v in h.items()]
        return dict(
            page,
            page_id=f"v{n}",
            url=u,
            status=status,
            page_type=kind,
            fetched_at=at + timedelta(minutes=minutes),
            headers=headers or None,
        )

    extra = [
        fetch(1, 1, etag="old"),
        fetch(2, 3, etag="e2", last_modified="Mon"),  # the latest 200 article fetch
        fetch(3, 5, status=304),  # later, but not a 200
        fetch(4, 6, kind="list", etag="list"),  # later, but not an article page
        fetch(5, 2, etag="between"),
    ]
    extra.append(dict(fetch(6, 3, etag="tie"), url="http://news.example/b"))
    extra.append(dict(fetch(7, 3, etag="tie-later"), url="http://news.example/b"))  # tie: last
    with wh.lock():
        tx = wh.transaction("r-validators")
        tx.append("pages", pa.Table.from_pylist(extra, schema=pages.schema))
        tx.commit()
    got = latest_validators(wh)
    assert got[u] == ("e2", "Mon")
    assert got["http://news.example/b"] == ("tie-later", None)
    reference = {
        url: (dict(r["headers"] or []).get("etag"), dict(r["headers"] or []).get("last-modified"))
        for url, r in latest_article_fetches(wh, ["headers"]).items()
    }
    assert got == reference  # the same picks as the Python reading, for every stored URL
