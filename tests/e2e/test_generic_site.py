"""The generic spider and extractor end to end, on a site unlike the sample portals.

``tests/sites/generic-news/`` is a small modern news blog ("Steppe Wire"): articles at
``/news/YYYY/MM/slug/`` in an ``<article>`` with JSON-LD ``NewsArticle`` and OpenGraph tags,
figures, a newsletter box, share buttons, related stories; a home page, a two-page archive and
tag pages made of ``<article class="card">`` teasers; about and contact pages; an RSS feed of
the five newest stories and a sitemap of everything (including a story that is gone: 404).
``truth.json`` holds every article's title, date and paragraphs.

The real flow runs once on it, as ``infoshos run --start-url http://127.0.0.1:PORT/`` would
(source ``web:127.0.0.1``, style ``generic``, no url_map), and the warehouse is checked through
DuckDB. The site is served on a free port, so canonical URLs and article ids include the port:
fine for an ad-hoc site, but the same site served on another port gets other ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sites.serve import Site, truth

from infoshos.warehouse.catalog import connect
from infoshos.warehouse.store import Warehouse

pytestmark = pytest.mark.slow

TRUTH = truth("generic-news")
SOURCE = "web:127.0.0.1"


@pytest.fixture(scope="module")
def run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from infoshos.flows.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("generic-warehouse")
    with Site("generic-news") as site:
        summary = run_pipeline(warehouse=str(root), start_urls=[f"{site.base_url}/"])
        seen = list(site.seen)
    return {"wh": Warehouse(root), "base": site.base_url, "summary": summary, "seen": seen}


def query(run: dict[str, Any], sql: str, *params: Any) -> list[tuple[Any, ...]]:
    con = connect(run["wh"])
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def article_url(run: dict[str, Any], path: str) -> str:
    """Canonical URL of a site path (no trailing slash)."""
    return run["base"] + path.rstrip("/")


def test_every_article_is_stored_with_its_title_date_and_body(run: dict[str, Any]) -> None:
    rows = query(run, "select url, source, language, title, published_at, text from articles")
    stored = {r[0]: r for r in rows}
    for want in TRUTH["articles"]:
        url = article_url(run, want["path"])
        assert url in stored, f"missing article {want['path']}"
        _, source, language, title, published_at, text = stored[url]
        assert source == SOURCE
        assert language == "en", url
        assert title == want["title"], url
        assert published_at == datetime.fromisoformat(want["published_at"]), url
        assert text == "\n\n".join(want["paragraphs"]), url


def test_only_articles_are_in_articles(run: dict[str, Any]) -> None:
    stored = {r[0] for r in query(run, "select url from articles")}
    expected = {article_url(run, a["path"]) for a in TRUTH["articles"]}
    assert stored == expected, sorted(stored - expected)


def test_non_article_pages_are_rejects_with_a_reason(run: dict[str, Any]) -> None:
    rejected = dict(query(run, "select url, detail from rejects where reason = 'not_article'"))
    for path in TRUTH["not_articles"]:
        url = run["base"] + path
        assert url in rejected, f"{path} is not a not_article reject"
        assert str(rejected[url]).startswith("not an article: "), rejected[url]


def test_non_article_pages_were_fetched_and_are_not_articles_by_url(run: dict[str, Any]) -> None:
    fetched = {r[0]: r[1] for r in query(run, "select url, page_type from pages")}
    for path in TRUTH["not_articles"]:
        assert run["base"] + path in fetched, f"{path} was never fetched"
    # the feed and the sitemap were read as such
    assert fetched[run["base"] + "/index.xml"] == "feed"
    assert fetched[run["base"] + "/sitemap.xml"] == "list"
    assert "/contact/send/" not in run["seen"]  # forms are not submitted


def test_every_fetch_is_an_article_a_reject_or_navigation(run: dict[str, Any]) -> None:
    pages = query(run, "select url, page_type, status from pages")
    assert len(pages) == len({r[0] for r in pages}), "a page was fetched twice"
    articles = {r[0] for r in query(run, "select url from articles")}
    rejected = {r[0]: r[1] for r in query(run, "select url, reason from rejects")}
    from infoshos.warehouse.keys import canonical_url

    for url, page_type, status in pages:
        if canonical_url(url) in articles:
            assert page_type == "article" and status == 200, url
        elif url in rejected:
            assert rejected[url], url
        else:
            assert page_type in ("list", "feed", "other"), (url, page_type)


def test_rejects_and_skips_have_reasons(run: dict[str, Any]) -> None:
    nulls = query(run, "select count(*) from rejects where reason is null or url is null")
    assert nulls == [(0,)]
    rejects = {r[0]: (r[1], r[2]) for r in query(run, "select url, reason, stage from rejects")}
    for broken in TRUTH["broken"]:
        url = run["base"] + broken["path"]
        assert rejects.get(url) == (broken["reason"], "crawl"), url
    from infoshos.warehouse.schema import REJECT_REASONS

    assert {reason for reason, _ in rejects.values()} <= set(REJECT_REASONS)


def test_the_run_is_recorded(run: dict[str, Any]) -> None:
    assert run["summary"]["articles_new"] >= len(TRUTH["articles"])
    assert query(run, "select count(*) from runs") == [(1,)]
