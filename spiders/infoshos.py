"""Spider for the Infoshos portal style.

The real site, ``http://www.infoshos.ru`` (the SCO information portal), is an old PHP site:

- articles: ``/en/?idn=N`` and ``/ru/?idn=N``; one ``idn`` sequence for both languages, so the
  English and Russian versions of a story have different ids;
- print versions: ``/en/print.php?idn=N``, ``/ru/print.php?idn=N`` (same text, less chrome);
- RSS: ``/rss/rss_ru.xml`` (and ``rss_en.xml``), ``<item><link>`` pointing at ``?idn=`` URLs;
- news lists: ``<div class="news-item">`` entries (date and a link), ``a.next`` to the next page
  (the sample site serves them as ``/{en,ru}/news/?page=N``);
- table layout: the article is in ``.center-column-wrap td.text`` (``h1.title``, ``div.date``
  in Moscow time, optional ``div.lead``, ``<p>`` paragraphs), surrounded by menus;
- pages are windows-1251, English ones too (raw 0xA0 bytes), with ``&#NNN;`` references for
  characters outside the code page.

The spider starts from list pages and RSS feeds, follows news items, pagination and feed items,
and emits list / feed / article records. It does not fetch print pages unless ``prefer_print``
is set (then article links are fetched as ``print.php?idn=N``, page type ``print``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from scrapy.http import TextResponse

from infoshos.spiders.base import Link, PortalSpider
from infoshos.spiders.incremental import list_date

_PRINT_RE = re.compile(r"/print\.php$")


def idn_of(url: str) -> str | None:
    """The ``idn`` of an article or print URL, else None."""
    values = parse_qs(urlsplit(url).query).get("idn")
    return values[0] if values and values[0].isdigit() else None


def is_article_url(url: str) -> bool:
    return idn_of(url) is not None


def print_url(url: str) -> str:
    """``.../en/?idn=N`` -> ``.../en/print.php?idn=N``."""
    parts = urlsplit(url)
    directory = parts.path.rsplit("/", 1)[0] + "/"
    return urljoin(f"{parts.scheme}://{parts.netloc}{directory}", f"print.php?idn={idn_of(url)}")


class InfoshosSpider(PortalSpider):
    name = "infoshos"

    def __init__(self, *args: Any, prefer_print: bool | str = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(prefer_print, str):
            prefer_print = prefer_print.lower() in ("1", "true", "yes", "on")
        self.prefer_print = bool(prefer_print)

    def article_link(self, href: str, response: TextResponse) -> Link:
        if not self.prefer_print:
            return (href, "article")
        return (print_url(response.urljoin(href)), "print")

    def classify(self, response: Any, page_type: str) -> str:
        url = self.to_canonical(response.url)
        if is_article_url(url):
            return "print" if _PRINT_RE.search(urlsplit(url).path) else "article"
        return page_type

    def _content_link(self, href: str, response: TextResponse) -> Link:
        """Articles are followed; anything else is only checked (document, other site)."""
        if is_article_url(self.to_canonical(response.urljoin(href))):
            return self.article_link(href, response)
        return (href, None)

    def extract_links(self, response: TextResponse, page_type: str) -> Iterable[Link]:
        if page_type == "feed":
            return [
                self._content_link(u, response) for u, _ in super().extract_links(response, "feed")
            ]
        if page_type == "list":
            links = [
                self.article_link(u, response)
                for u in response.css(".news-item a::attr(href)").getall()
            ]
            links += [(u, "list") for u in response.css("a.next::attr(href)").getall()]
            return links
        # Article / print: check the links in the text, follow links to other articles.
        hrefs = response.css(".center-column-wrap td.text a::attr(href), div.text a::attr(href)")
        return [self._content_link(u, response) for u in hrefs.getall()]

    def item_dates(self, response: TextResponse, page_type: str) -> dict[str, date | None]:
        """List items: ``<span class="date">DD.MM.YYYY HH:MM</span>`` next to the link."""
        if page_type != "list":
            return super().item_dates(response, page_type)
        base = self.link_base(response)
        out: dict[str, date | None] = {}
        for item in response.css(".news-item"):
            href = item.css("a::attr(href)").get()
            absolute = self.absolute(base, href or "")
            key = self.followable(absolute) if absolute else None
            if key is not None and out.get(key) is None:
                out[key] = list_date(" ".join(item.css(".date ::text").getall()))
        return out
