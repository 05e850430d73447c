"""The JSON-LD article types, declared once in ``warehouse/jsonld.py``: the generic spider and
the clean stage agree on a page typed with any of them.

The pages here state their publication date only in their JSON-LD, so the clean stage finds a
date (and so an article) only when it takes the object's type for an article type. The spider
judges no page by its markup: every HTML page it fetches is an article candidate."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import scrapy
from paths import REPO
from scrapy.http import HtmlResponse

from infoshos.flows.clean.articles import clean_page
from infoshos.flows.clean.generic import extract_generic
from infoshos.spiders.generic import GenericSpider
from infoshos.warehouse.jsonld import ARTICLE_TYPES, is_article_type, type_name

URL = "https://news.example.org/news/night-buses"
HEADLINE = "Night buses return to the city centre"
PUBLISHED = "2024-03-05T10:30:00+03:00"
BODY = (
    "<p>The city council agreed on Tuesday to bring back the night bus lines that were cut "
    "three years ago, after a petition signed by more than twelve thousand residents.</p>"
    "<p>Four lines will run between midnight and five in the morning, linking the central "
    "station with the northern and eastern districts, where most shift workers live.</p>"
    "<p>The transport office said the first buses would leave the depot next month, once "
    "drivers have been hired and the new timetables printed.</p>"
)
#: Types that were in neither of the two lists the spider and the cleaner once kept.
NEW_TYPES = ("ReviewNewsArticle", "AskPublicNewsArticle", "SatiricalArticle")


def page(*objects: dict[str, Any]) -> str:
    scripts = "".join(
        f'<script type="application/ld+json">{json.dumps(obj)}</script>' for obj in objects
    )
    return (
        f"<html><head><title>News</title>{scripts}</head>"
        f"<body><article><h1>{HEADLINE}</h1>{BODY}</article></body></html>"
    )


def typed(kind: Any, **fields: str) -> dict[str, Any]:
    obj: dict[str, Any] = {"@context": "https://schema.org", "@type": kind}
    obj.setdefault("headline", HEADLINE)
    obj.setdefault("datePublished", PUBLISHED)
    obj.update(fields)
    return obj


def spider_record(html: str) -> dict[str, Any]:
    """What the generic spider emits for the page: its spool record."""
    spider = GenericSpider(source="jsonld", start_urls=["https://news.example.org/"])
    request = scrapy.Request(URL, meta={"page_type": "other", "infoshos_depth": 1})
    response = HtmlResponse(
        URL,
        body=html.encode("utf-8"),
        request=request,
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    records = [r for r in spider.parse(response) if isinstance(r, dict)]
    assert len(records) == 1
    return records[0]


def cleaned(html: str) -> tuple[str, dict[str, Any]]:
    """The spider's page type, and what the clean stage makes of the record it emitted."""
    record = spider_record(html)
    result = clean_page(record, "generic", now=datetime(2024, 6, 1, tzinfo=UTC))
    return record["page_type"], (result.article or result.reject or {})


@pytest.mark.parametrize("kind", sorted(ARTICLE_TYPES))
def test_every_article_type_is_an_article_for_spider_and_cleaner(kind: str) -> None:
    page_type, out = cleaned(page(typed(kind)))
    assert page_type == "article"  # a candidate for the clean stage
    assert "reason" not in out, out
    assert out["title"] == HEADLINE
    assert out["published_at"] == datetime(2024, 3, 5, 7, 30, tzinfo=UTC)


def test_a_type_that_is_no_article_gives_no_date() -> None:
    page_type, out = cleaned(page(typed("Event")))
    assert page_type == "article"  # the spider never judges by markup ...
    assert out["reason"] == "not_article" and "no publication date" in out["detail"]


@pytest.mark.parametrize("kind", NEW_TYPES)
def test_news_subtypes_once_in_neither_list(kind: str) -> None:
    assert is_article_type(kind)
    assert extract_generic(page(typed(kind)), URL).date_text == PUBLISHED


@pytest.mark.parametrize(
    "kind",
    [
        "https://schema.org/ReportageNewsArticle",
        "http://schema.org/NewsArticle",
        "schema:OpinionNewsArticle",
        " newsarticle ",
        ["CriticReview", "ReviewNewsArticle"],
    ],
)
def test_type_spellings(kind: Any) -> None:
    assert is_article_type(kind)
    assert extract_generic(page(typed(kind)), URL).date_text == PUBLISHED


@pytest.mark.parametrize(
    "kind", ["WebPage", "WebSite", "Organization", "Recipe", None, 3, ["Event"]]
)
def test_not_article_types(kind: Any) -> None:
    assert not is_article_type(kind)


def test_type_name_drops_the_schema_org_prefix() -> None:
    assert type_name("https://schema.org/NewsArticle") == "newsarticle"
    assert type_name("schema:BlogPosting") == "blogposting"
    assert type_name("https://example.org/NewsArticle") == "https://example.org/newsarticle"


def test_the_article_object_wins_over_a_webpage_before_it() -> None:
    html = page(
        typed("WebPage", headline="Page title", datePublished="2024-03-01T08:00:00+00:00"),
        typed("NewsArticle"),
    )
    found = extract_generic(html, URL)
    assert found.date_text == PUBLISHED


def test_a_webpage_date_is_used_when_no_article_object_gives_one() -> None:
    page_type, out = cleaned(page(typed("WebPage")))
    assert page_type == "article"
    assert out["published_at"] == datetime(2024, 3, 5, 7, 30, tzinfo=UTC)


def test_no_other_list_of_article_types_in_spiders_or_flows() -> None:
    """Declared once: no string in the code of spiders/ or flows/ names an article type."""
    root = REPO
    names = {t.casefold() for t in ARTICLE_TYPES} - {"article", "report"}  # (common words)
    found = []
    for layer in ("spiders", "flows"):
        for path in sorted((root / layer).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                    continue
                if type_name(node.value) in names:
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value}")
    assert found == []
