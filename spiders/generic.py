"""A generic spider for portals without a dedicated one.

From each start URL: a feed (RSS/Atom) or sitemap is read and its items are fetched; an HTML
start page that links feeds (``<link rel="alternate" type="application/rss+xml">``) or a
sitemap (``<link rel="sitemap">``) is read through them; otherwise the spider follows same-site
links breadth first, up to ``max_pages`` requests (default 500) and ``max_depth`` link hops
(default 3).

Every HTML page fetched is emitted as ``article`` when it looks like one (JSON-LD of an article
type, ``og:type`` article, exactly one top-level ``<article>`` with a date, or a date plus a
long paragraph), else ``other`` with the reason in ``detail`` (the flow records it as a
``not_article`` reject). A page of several ``<article>`` teasers is a listing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from scrapy.http import Response, TextResponse, XmlResponse

from infoshos.spiders.base import Link, PortalSpider, feed_links

_DATE_RE = re.compile(r"\b(\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4}|\d{1,2} [A-Z][a-z]+ \d{4})\b")
_URL_DATE_RE = re.compile(r"/(19|20)\d{2}[/-]?\d{2}[/-]?\d{2}/")
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml")
LONG_PARAGRAPH = 300
#: Page budget when none is given: a generic crawl of a live site must stop somewhere.
DEFAULT_MAX_PAGES = 500


ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "blogposting",
        "report",
        "analysisnewsarticle",
    }
)


def _jsonld_types(response: TextResponse) -> set[str]:
    """The ``@type`` values of the page's JSON-LD blocks (``@graph`` included), lower-case."""
    types: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            kind = node.get("@type")
            for k in kind if isinstance(kind, list) else [kind]:
                if isinstance(k, str):
                    types.add(k.lower())
            walk(node.get("@graph"))

    for block in response.css('script[type="application/ld+json"]::text').getall():
        try:
            walk(json.loads(block))
        except ValueError:
            continue
    return types


def article_verdict(response: TextResponse, from_feed: bool = False) -> tuple[bool, str]:
    """Whether a page looks like one news article, and why (the reason is reported).

    ``from_feed``: the page is an item of an RSS/Atom feed, which vouches for it being dated
    news even when the page shows no date."""
    try:
        if _jsonld_types(response) & ARTICLE_TYPES:
            return True, "JSON-LD article"
        og = (response.css('meta[property="og:type"]::attr(content)').get() or "").lower()
        if og == "article":
            return True, "og:type article"
        has_date = bool(response.css("time")) or bool(_URL_DATE_RE.search(response.url))
        if not has_date:
            text = " ".join(response.css("body ::text").getall()[:400])
            has_date = bool(_DATE_RE.search(text))
        outer = response.xpath("//article[not(ancestor::article)]")
        if len(outer) > 1:
            return False, f"a listing: {len(outer)} article teasers"
        if len(outer) == 1 and (has_date or from_feed):
            return True, "one <article> with a date" if has_date else "one <article>, from a feed"
        if not has_date:
            return False, "no date on the page"
        paragraphs = (" ".join(p.css("::text").getall()) for p in response.css("p"))
        if any(len(p.strip()) >= LONG_PARAGRAPH for p in paragraphs):
            return True, "a date and a long paragraph"
        return False, "no paragraph of article length"
    except ValueError:
        return False, "not parseable as HTML"


def looks_like_article(response: TextResponse) -> bool:
    """True for a page that looks like a news article."""
    return article_verdict(response)[0]


def is_xml_document(response: Response) -> bool:
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
    if isinstance(response, XmlResponse) or any(t in content_type for t in _FEED_TYPES):
        return True
    head = response.body[:500].lstrip().lower()
    return head.startswith(b"<?xml") or head.startswith((b"<rss", b"<feed", b"<urlset"))


class GenericSpider(PortalSpider):
    name = "generic"
    default_start_type = "other"
    custom_settings = {
        # Breadth first: FIFO queues (priority already favours shallow pages).
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
    }

    def __init__(self, *args: Any, max_depth: int | str = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_depth = int(max_depth)
        if not self.max_pages:
            self.max_pages = DEFAULT_MAX_PAGES

    def classify(self, response: Any, page_type: str) -> str:
        if is_xml_document(response):
            root = response.body[:2000].lower()
            return "list" if b"<urlset" in root or b"<sitemapindex" in root else "feed"
        if page_type in ("feed", "list"):
            return page_type
        if response.status >= 400:
            return "article" if page_type == "feed_item" else "other"
        if isinstance(response, TextResponse):
            verdict, why = article_verdict(response, from_feed=page_type == "feed_item")
            response.meta["infoshos_verdict"] = why
            if verdict:
                return "article"
        return "other"

    def extract_links(self, response: TextResponse, page_type: str) -> Iterable[Link]:
        if is_xml_document(response):
            links: list[Link] = []
            sitemap = b"<urlset" in response.body[:2000].lower()
            for href in feed_links(response):
                if href.lower().endswith(".xml"):  # sitemap index -> sitemaps
                    links.append((href, "list"))
                else:  # a feed vouches for its items being news; a sitemap lists every page
                    links.append((href, "sitemap_item" if sitemap else "feed_item"))
            return links
        if response.meta.get("page_type") in ("feed_item", "sitemap_item"):
            return []  # read through a feed or sitemap: no crawling from its items
        depth = int(response.meta.get("infoshos_depth", 0))
        if depth == 0:
            feeds = response.css(
                'link[rel="alternate"][type="application/rss+xml"]::attr(href), '
                'link[rel="alternate"][type="application/atom+xml"]::attr(href), '
                'link[rel="sitemap"]::attr(href)'
            ).getall()
            if feeds:
                return [(href, "feed") for href in feeds]
        follow = depth < self.max_depth
        return [
            (href, "other" if follow else None) for href in response.css("a::attr(href)").getall()
        ]
