"""Spider for the SCO Secretariat portal style.

The real site has one edition per language: ``https://eng.sectsco.org``,
``https://rus.sectsco.org``, ``https://chn.sectsco.org`` (UTF-8):

- articles: ``/YYYYMMDD/ID.html``; older links use ``/news/YYYYMMDD/ID.html`` for the same page.
  Both forms are fetched when linked (deduplication happens in the dedup stage); a URL is never
  fetched twice in one crawl;
- news lists: ``/news/?offset=N`` (N = 0, 10, 20...), ``<div class="news-item">`` entries with a
  link and a ``<time datetime>``, ``a.next`` to the next page;
- the article is ``<article class="news-detail">`` (``h1.news-title``, ``time[datetime]``,
  ``div.news-body``); documents are linked as ``a.doc-link`` to PDFs. PDFs are never downloaded:
  they become ``not_article`` skip records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import TextResponse

from infoshos.spiders.base import Link, PortalSpider

ARTICLE_PATH_RE = re.compile(r"^/(?:news/)?\d{8}/\d+\.html$")


def is_article_url(url: str) -> bool:
    return bool(ARTICLE_PATH_RE.match(urlsplit(url).path))


class SectscoSpider(PortalSpider):
    name = "sectsco"

    def classify(self, response: Any, page_type: str) -> str:
        if is_article_url(self.to_canonical(response.url)):
            return "article"
        return page_type

    def extract_links(self, response: TextResponse, page_type: str) -> Iterable[Link]:
        links: list[Link] = []
        if page_type == "feed":
            return [
                (
                    href,
                    "article"
                    if is_article_url(self.to_canonical(response.urljoin(href)))
                    else None,
                )
                for href, _ in super().extract_links(response, page_type)
            ]
        if page_type == "list":
            for href in response.css(".news-item a::attr(href)").getall():
                links.append((href, "article"))
            for href in response.css("a.next::attr(href)").getall():
                links.append((href, "list"))
            return links
        # Article: documents (a.doc-link PDFs), other sites and other articles in the text.
        for href in response.css("article a::attr(href)").getall():
            canonical = self.to_canonical(response.urljoin(href))
            links.append((href, "article" if is_article_url(canonical) else None))
        return links

    def item_dates(self, response: TextResponse, page_type: str) -> dict[str, date | None]:
        """List items: ``<time datetime="YYYY-MM-DDTHH:MM:SS+03:00">`` next to the link."""
        if page_type != "list":
            return super().item_dates(response, page_type)
        items = (
            (
                item.css("a::attr(href)").get(),
                item.css("time::attr(datetime)").get() or item.css("time::text").get(),
            )
            for item in response.css(".news-item")
        )
        return self.dated_links(response, items)
