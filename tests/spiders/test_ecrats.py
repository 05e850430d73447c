"""The SCO RATS (ecrats.org) source: spider callbacks, the ``ecrats`` extraction rule, the live
entry of ``sources.yaml``, and a crawl of the local copy of the site (``tests/sites/ecrats/``)
through the runner, with the live start URLs rewritten to 127.0.0.1 by a ``url_map``.

The local pages follow the structure assumed in ``spiders/ecrats.py`` (home pages, a sitemap, the
news list); ``truth.json`` holds what must come out of them. Discovery uses none of that markup:
only the source's URL patterns, the home pages and the sitemap."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import scrapy
import yaml
from scrapy.http import HtmlResponse
from sites.serve import SITES, Site, truth

from infoshos.flows import sources as sources_module
from infoshos.flows.clean import sites
from infoshos.flows.clean.articles import clean_page, clean_pages
from infoshos.flows.clean.sites import NotArticle
from infoshos.spiders import crawl
from infoshos.spiders.ecrats import EcratsSpider, is_article_url

SITE = SITES / "ecrats"
CANON = "https://ecrats.org"
LOCAL = "http://127.0.0.1:8000"
TRUTH = truth("ecrats")
#: The crawl runner with "ecrats" registered (a no-op once spiders/crawl.py lists it).
RUNNER = (
    "import sys; from infoshos.spiders import crawl; "
    "crawl.SPIDERS.setdefault('ecrats', 'infoshos.spiders.ecrats:EcratsSpider'); "
    "sys.exit(crawl.main(sys.argv[1:]))"
)


@pytest.fixture
def with_ecrats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let ``sources.yaml`` name the ecrats spider (a no-op once flows/sources.py lists it)."""
    if "ecrats" not in sources_module.SPIDERS:
        monkeypatch.setattr(sources_module, "SPIDERS", (*sources_module.SPIDERS, "ecrats"))


def spider() -> EcratsSpider:
    return EcratsSpider(
        source="ecrats-mirror",
        start_urls=[f"{LOCAL}/en/press/news/", f"{LOCAL}/ru/press/news/"],
        url_map=[(f"{LOCAL}/", f"{CANON}/")],
    )


def page(path: str) -> str:
    """The file of a site path (``/en/press/news/4513/``, ``/en/press/news/?PAGEN_1=2``)."""
    routes = json.loads((SITE / "site.json").read_text("utf-8"))["routes"]
    name = routes.get(path) or path.lstrip("/") + "index.html"
    return (SITE / name).read_text("utf-8")


def response(path: str, page_type: str, status: int = 200) -> HtmlResponse:
    url = LOCAL + path
    request = scrapy.Request(url, meta={"page_type": page_type, "infoshos_depth": 1})
    body = page(path).encode() if status == 200 else b"<html><h1>Not Found</h1></html>"
    headers = {"Content-Type": "text/html; charset=UTF-8"}
    return HtmlResponse(url, status=status, body=body, request=request, headers=headers)


def parse(path: str, page_type: str, status: int = 200) -> list[Any]:
    return list(spider().parse(response(path, page_type, status)))


def requests_of(out: list[Any]) -> list[tuple[str, str]]:
    return [(r.url, r.meta["page_type"]) for r in out if isinstance(r, scrapy.Request)]


def records_of(out: list[Any]) -> list[dict[str, Any]]:
    return [r for r in out if isinstance(r, dict)]


def local_path(canonical: str) -> str:
    return canonical.removeprefix(CANON) + "/"


# -- spider -----------------------------------------------------------------------------------

#: What the English list page and an English article both request first: the three latest
#: articles (the list's items, the article's sidebar), then the home pages (the navigation).
LATEST_EN_THEN_HOMES = [
    (f"{LOCAL}/en/press/news/4516/", "article"),
    (f"{LOCAL}/en/press/news/4515/", "article"),
    (f"{LOCAL}/en/press/news/4514/", "article"),
    (f"{LOCAL}/en/", "list"),
    (f"{LOCAL}/ru/", "list"),
]


def test_article_url_forms() -> None:
    assert is_article_url(f"{CANON}/en/press/news/4516/")
    assert is_article_url(f"{CANON}/ru/press/news/8825")
    assert not is_article_url(f"{CANON}/en/press/news/")
    assert not is_article_url(f"{CANON}/en/press/news/?PAGEN_1=2")
    assert not is_article_url(f"{CANON}/en/press/")
    assert not is_article_url(f"{CANON}/zh/press/news/1/")
    assert not is_article_url(f"{CANON}/en/press/news/4516/photo.jpg")


def test_list_page_follows_pattern_links_once_articles_first() -> None:
    out = parse("/en/press/news/", "list")
    (record,) = records_of(out)
    assert record["url"] == f"{CANON}/en/press/news/"
    assert record["page_type"] == "list"
    assert record["language_hint"] == "en"
    # each item links its article twice (picture and title): one request; then navigation
    # (home pages, list pages) by the list patterns; about/contacts/documents are not followed
    assert requests_of(out) == [
        *LATEST_EN_THEN_HOMES,
        (f"{LOCAL}/en/press/news/?PAGEN_1=2", "list"),
        (f"{LOCAL}/en/press/news/?PAGEN_1=3", "list"),
    ]


def test_last_list_page_and_ru_pages_are_ru() -> None:
    out = parse("/ru/press/news/?PAGEN_1=2", "list")
    assert requests_of(out) == [
        (f"{LOCAL}/ru/press/news/8822/", "article"),
        (f"{LOCAL}/ru/press/news/8821/", "article"),
        (f"{LOCAL}/ru/", "list"),
        (f"{LOCAL}/en/", "list"),
        (f"{LOCAL}/ru/press/news/", "list"),
    ]
    assert records_of(out)[0]["language_hint"] == "ru"
    assert records_of(out)[0]["url"] == f"{CANON}/ru/press/news/?PAGEN_1=2"


def test_article_follows_other_articles_and_checks_attachments_and_other_sites() -> None:
    out = parse("/en/press/news/4513/", "article")
    record, *skips = records_of(out)
    assert (record["page_type"], record["url"]) == ("article", f"{CANON}/en/press/news/4513/")
    assert record["fetch_url"] == f"{LOCAL}/en/press/news/4513/"
    assert [(s["skip_reason"], s["url"]) for s in skips] == [
        ("not_article", f"{CANON}/upload/iblock/3f2/memorandum-cis-atc.pdf")
    ]
    # the sidebar's articles and the navigation are followed (share buttons are not)
    assert requests_of(out) == [*LATEST_EN_THEN_HOMES, (f"{LOCAL}/en/press/news/", "list")]
    out = parse("/en/press/news/4512/", "article")
    assert [(s["skip_reason"], s["url"]) for s in records_of(out)[1:]] == [
        ("offsite", "https://eng.sectsco.org/")
    ]


def test_article_requested_as_anything_is_classified_article() -> None:
    (record,) = records_of(parse("/ru/press/news/8824/", "list"))
    assert record["page_type"] == "article"


def test_missing_page_is_a_record_without_links() -> None:
    out = parse("/en/press/news/?PAGEN_1=2", "list", status=404)
    assert requests_of(out) == []
    assert [r["status"] for r in records_of(out)] == [404]


# -- the "ecrats" extraction rule -----------------------------------------------------------------


@pytest.mark.parametrize("art", TRUTH["articles"], ids=lambda a: a["url"].split("/news/")[1])
def test_extraction_rule_matches_the_ground_truth(art: dict[str, Any]) -> None:
    found = sites.extract_article(page(local_path(art["url"])), art["url"] + "/", "ecrats")
    assert found.title == art["title"]
    assert found.subtitle == art["subtitle"]
    assert found.published_at == datetime.fromisoformat(art["published_at"])
    # no-break spaces are left for the repair step
    assert [p.replace("\xa0", " ") for p in found.paragraphs] == art["paragraphs"]
    assert found.canonical_url == art["url"] + "/"


def test_extraction_rule_dates_are_tashkent_time_and_attachments_listed() -> None:
    found = sites.extract_article(
        page("/en/press/news/4516/"), f"{CANON}/en/press/news/4516/", "ecrats"
    )
    assert found.published_at is not None
    assert found.published_at.isoformat() == "2021-11-24T16:40:00+05:00"
    assert found.date_text == "24.11.2021 16:40"
    found = sites.extract_article(
        page("/en/press/news/4513/"), f"{CANON}/en/press/news/4513/", "ecrats"
    )
    assert found.attachments == [f"{CANON}/upload/iblock/3f2/memorandum-cis-atc.pdf"]
    assert not any("Share" in p or "Back to" in p or "KB" in p for p in found.paragraphs)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/en/press/news/4511/", "truncated"),
        ("/ru/press/news/8821/", "no_date"),
        ("/en/press/news/", "not_article"),
    ],
)
def test_extraction_rule_rejects_broken_pages(path: str, reason: str) -> None:
    with pytest.raises(NotArticle) as err:
        sites.extract_article(page(path), CANON + path, "ecrats")
    assert err.value.reason == reason


def test_sidebar_dates_are_not_the_article_date() -> None:
    html = page("/ru/press/news/8821/")  # no date of its own; the sidebar lists four
    assert html.count('class="news-date-time"') == 4
    with pytest.raises(NotArticle, match="no_date"):
        sites.extract_article(html, f"{CANON}/ru/press/news/8821/", "ecrats")


def test_clean_page_with_the_ecrats_style() -> None:
    body = page("/ru/press/news/8825/").encode()
    row = {
        "page_id": "p1",
        "url": f"{CANON}/ru/press/news/8825/",
        "final_url": f"{CANON}/ru/press/news/8825/",
        "source": "ecrats",
        "page_type": "article",
        "status": 200,
        "headers": {"content-type": "text/html; charset=UTF-8"},
        "body": body,
    }
    result = clean_page(row, "ecrats")
    assert result.article is not None, result.reject
    art = result.article
    want = next(a for a in TRUTH["articles"] if a["url"].endswith("/8825"))
    assert art["url"] == f"{CANON}/ru/press/news/8825"
    assert art["language"] == "ru"
    assert art["text"] == "\n\n".join(want["paragraphs"])  # no-break spaces repaired
    assert art["published_at"] == datetime.fromisoformat(want["published_at"])


def test_existing_rules_are_untouched() -> None:
    assert {"infoshos", "sectsco", "ecrats"} <= set(sites.RULES)
    assert sites.RULES["infoshos"].title == "h1.title"
    assert sites.RULES["sectsco"].date == "time[datetime]"
    assert sites.RULES["ecrats"].style == "ecrats"


# -- configuration --------------------------------------------------------------------------------


def test_live_source_is_configured(with_ecrats: None) -> None:
    src = sources_module.load_sources()["ecrats"]
    assert src.spider == "ecrats" and src.style == "ecrats"
    # only confirmed or standard entry points: the edition home pages and the sitemap
    assert src.start_urls == (f"{CANON}/en/", f"{CANON}/ru/", f"{CANON}/sitemap.xml")
    assert src.timezone == "Asia/Tashkent"
    assert src.article_patterns and src.list_patterns
    assert set(src.allowed_domains) == {"ecrats.org", "www.ecrats.org"}
    assert src.language == ("en", "ru")
    assert src.delay == 2.0 and src.concurrency == 1
    assert src.schedule and len(src.schedule.split()) == 5
    assert not src.sample and not src.url_map
    assert src in sources_module.select_sources(["all"], sources_module.load_sources())


def test_ecrats_is_wired_into_the_runner() -> None:
    """Fails until flows/sources.py, spiders/crawl.py and spiders/settings.py list ecrats."""
    from infoshos.spiders import settings

    assert "ecrats" in sources_module.SPIDERS
    assert crawl.SPIDERS.get("ecrats") == "infoshos.spiders.ecrats:EcratsSpider"
    assert "infoshos.spiders.ecrats" in settings.SPIDER_MODULES


# -- a crawl of the local copy through the runner --------------------------------------------------


def mirror_sources(base: str, tmp_path: Path) -> Path:
    """A user sources file: the live ecrats entry, start URLs rewritten to the local copy."""
    live = sources_module.load_sources()["ecrats"]
    entry = {
        "spider": live.spider,
        "style": live.style,
        "start_urls": [u.replace(f"{CANON}/", f"{base}/") for u in live.start_urls],
        "allowed_domains": list(live.allowed_domains),
        "language": list(live.language),
        "encoding": live.encoding,
        "url_map": [f"{base}/={CANON}/"],
        "article_patterns": list(live.article_patterns),
        "list_patterns": list(live.list_patterns),
        "delay": 0,
        "concurrency": 4,
    }
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": {"ecrats-mirror": entry}}), "utf-8")
    return path


@pytest.mark.slow
def test_crawl_of_the_local_copy(with_ecrats: None, tmp_path: Path) -> None:
    from infoshos.flows.crawl_stage import CrawlOptions, crawl_argv, plan_crawls

    with Site("ecrats") as site:
        src = sources_module.load_sources(mirror_sources(site.base_url, tmp_path))["ecrats-mirror"]
        (plan,) = plan_crawls([src], None, CrawlOptions(), None)
        assert plan.start_urls == [
            f"{site.base_url}/en/",
            f"{site.base_url}/ru/",
            f"{site.base_url}/sitemap.xml",
        ]
        out = tmp_path / "spool.parquet"
        argv = crawl_argv(plan, out)
        assert argv[1:3] == ["-m", "infoshos.spiders.crawl"]
        argv[1:3] = ["-c", RUNNER]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        seen = list(site.seen)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = pq.read_table(out).to_pylist()

    fetched = {r["url"]: r for r in rows if r["status"] is not None}
    articles = {a["url"] + "/" for a in TRUTH["articles"]}
    broken = {r["url"] + "/": r["reason"] for r in TRUTH["rejects"]}
    assert set(fetched) == set(TRUTH["lists"]) | articles | set(broken)
    assert all(r["fetch_url"].startswith(site.base_url) for r in fetched.values())
    assert all(r["source"] == "ecrats-mirror" for r in rows)
    for url, row in fetched.items():
        want = "list" if url in TRUTH["lists"] else "article"
        assert row["page_type"] == want, url
        if not url.endswith(".xml"):
            assert row["language_hint"] == url.split("/")[3], url
        assert row["status"] == (404 if broken.get(url) == "http_error" else 200), url
    skips = sorted((r["skip_reason"], r["url"]) for r in rows if r["skip_reason"])
    assert skips == sorted((s["reason"], s["url"]) for s in TRUTH["skips"])
    assert "/robots.txt" in seen
    pages = [p for p in seen if p != "/robots.txt"]
    assert len(pages) == len(set(pages)), "a page was fetched twice"
    assert not any(p.startswith(("/upload/", "/bitrix/")) for p in seen)

    cleaned = clean_pages(rows, {"ecrats-mirror": "ecrats"}, {"ecrats-mirror": "utf-8"})
    got = {a["url"]: a for a in cleaned.articles}
    assert set(got) == {a["url"] for a in TRUTH["articles"]}
    for want in TRUTH["articles"]:
        art = got[want["url"]]
        assert art["title"] == want["title"]
        assert art["language"] == want["language"]
        assert art["published_at"] == datetime.fromisoformat(want["published_at"])
        assert art["text"] == "\n\n".join(want["paragraphs"]), want["url"]
    reasons = sorted((r["reason"], r["url"]) for r in cleaned.rejects)
    want_rejects = [(r["reason"], r["url"] + "/") for r in TRUTH["rejects"]]
    want_rejects += [(s["reason"], s["url"]) for s in TRUTH["skips"]]
    assert reasons == sorted(want_rejects)
