"""Spider for the SCO RATS portal (the Executive Committee of the Regional Anti-Terrorist
Structure of the SCO), ``https://ecrats.org``.

Known from the live site: articles are ``/{en,ru}/press/news/N/`` (N a number, one page per
language edition), UTF-8. The site runs on 1C-Bitrix.

**Assumed** (the live site cannot be reached from where this spider was written, so the list
and article markup follow the stock Bitrix ``news.list`` / ``news.detail`` /
``system.pagenavigation`` "modern" templates; check them against the live site before relying on
the ``ecrats`` source, see ``docs/sources.md``, "Debugging a new source"):

- news lists: ``/{en,ru}/press/news/`` (page 1) and ``/{en,ru}/press/news/?PAGEN_1=N``, items
  ``.news-list .news-item`` holding links to the article (picture and title) and a
  ``span.news-date-time``; ``a.modern-page-next`` links the next page;
- article: ``div.workarea`` holding the page title ``<h1>`` and ``div.news-detail``:
  ``span.news-date-time`` (``DD.MM.YYYY`` or ``DD.MM.YYYY HH:MM``, Tashkent time), an optional
  ``div.news-detail-preview`` (lead), the text in ``div.news-detail-text`` (``<p>`` or
  ``<br><br>`` paragraphs), attachments in ``div.news-detail-files``, share buttons in
  ``div.news-detail-share``; a sidebar of latest news and the menus around it.

The spider starts from the list pages, follows list items and ``a.modern-page-next``, and
follows links to other articles in an article's text. Other links in an article's text and its
attachments are only checked: documents (PDF...) become ``not_article`` skips, other sites
``offsite`` skips. Menus, sidebars, share buttons and page-number links are not followed.
Extraction rules: the ``ecrats`` entry of ``flows/clean/sites.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import TextResponse

from infoshos.spiders.base import Link, PortalSpider

ARTICLE_PATH_RE = re.compile(r"^/(?:en|ru)/press/news/\d+/?$")
LIST_ITEMS = ".news-list .news-item a::attr(href)"
NEXT_PAGE = "a.modern-page-next::attr(href)"
ARTICLE_LINKS = ".news-detail-text a::attr(href), .news-detail-files a::attr(href)"


def is_article_url(url: str) -> bool:
    """True for an article address, ``/{en,ru}/press/news/N/``."""
    return bool(ARTICLE_PATH_RE.match(urlsplit(url).path))


class EcratsSpider(PortalSpider):
    name = "ecrats"

    def classify(self, response: Any, page_type: str) -> str:
        if is_article_url(self.to_canonical(response.url)):
            return "article"
        return page_type

    def _link(self, href: str, response: TextResponse) -> Link:
        """Articles are followed; anything else is only checked (document, other site)."""
        canonical = self.to_canonical(response.urljoin(href))
        return (href, "article" if is_article_url(canonical) else None)

    def extract_links(self, response: TextResponse, page_type: str) -> Iterable[Link]:
        if page_type == "feed":
            return [self._link(u, response) for u, _ in super().extract_links(response, "feed")]
        if page_type == "list":
            links = [self._link(u, response) for u in response.css(LIST_ITEMS).getall()]
            links += [(u, "list") for u in response.css(NEXT_PAGE).getall()]
            return links
        return [self._link(u, response) for u in response.css(ARTICLE_LINKS).getall()]
