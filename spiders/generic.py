"""A generic spider for portals without a dedicated one.

From each start URL: a feed (RSS/Atom) or sitemap is read and its items are fetched; an HTML
start page that links feeds (``<link rel="alternate" type="application/rss+xml">``) or a
sitemap (``<link rel="sitemap">``) is read through them; otherwise the spider follows same-site
links breadth first, up to ``max_pages`` requests (default 500) and ``max_depth`` link hops
(default 3). A source's ``article_patterns`` / ``list_patterns`` / CSS hints work as in the
portal spiders, in addition.

Every HTML page fetched that is not a feed or a sitemap is emitted as an ``article`` candidate
(``list`` when its URL matches a list pattern): whether it is an article is the clean stage's
decision, with one rule, from the content. The spider never judges a page by its content.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrapy.http import Response, TextResponse

from infoshos.spiders.base import PortalSpider
from infoshos.spiders.feeds import feed_links, is_sitemap_index, xml_kind
from infoshos.spiders.policy import Link
from infoshos.warehouse.schema import NAVIGATION_PAGE_TYPES

#: Page budget when none is given: a generic crawl of a live site must stop somewhere.
DEFAULT_MAX_PAGES = 500


def is_xml_document(response: Response) -> bool:
    return xml_kind(response) is not None


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
        if response.status < 300 and xml_kind(response) is not None:
            return super().classify(response, page_type)
        if page_type in NAVIGATION_PAGE_TYPES:
            return page_type
        if not isinstance(response, TextResponse):
            return "other"  # binary content: recorded, never an article candidate
        if self.list_patterns and self.is_list_link(self.to_canonical(response.url)):
            return "list"
        return "article"

    def xml_links(self, response: TextResponse, kind: str) -> list[Link]:
        """Every item of a feed, every page of a sitemap (a feed vouches for its items being
        news; a sitemap lists every page, each a candidate); a sitemap index's sitemaps."""
        if kind == "sitemap" and is_sitemap_index(response):
            return [(href, "list", "sitemap") for href in feed_links(response)]
        if kind == "sitemap":
            return [(href, "sitemap_item", "sitemap") for href in feed_links(response)]
        return [(href, "feed_item", "feed") for href in feed_links(response)]

    def extract_links(self, response: TextResponse, page_type: str) -> Iterable[Link]:
        kind = xml_kind(response)
        if kind is not None:
            return self.xml_links(response, kind)
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
                return [(href, "feed", "feed") for href in feeds]
        links = self.hint_links(response) + self.pattern_links(response)
        follow = depth < self.max_depth
        links += [
            (href, "other" if follow else None, "link")
            for href in response.css("a::attr(href)").getall()
        ]
        return links
