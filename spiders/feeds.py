"""Feeds and sitemaps: telling them from HTML, reading them safely, and the links they give.
Pure functions of a response (no crawl state, no engine).

Rules:

- A response is a feed (RSS/Atom) or a sitemap (``<urlset>`` / ``<sitemapindex>``) by its
  content type or its first bytes, never by its URL (:func:`xml_kind`); an HTML page is neither.
  A start URL is *requested* as a feed when its path ends in ``.xml``/``.rss``/``.atom`` or
  ``/rss``, ``/atom``, ``/feed`` (:func:`is_feed_url`); what it is comes from its content.
- Feeds are read by a tolerant parser that never expands entities nor loads anything (the
  ``<!DOCTYPE>`` is removed first: an entity bomb becomes a few undefined references); items
  read before and after a parser error are kept (:func:`read_feed`).
- A feed or sitemap the parser found faults in gets a ``detail``: ``feed partly read: ...``
  when some items were read, else ``unreadable feed: ...``
  (:data:`infoshos.warehouse.schema.UNREADABLE_FEED`, a ``bad_feed`` reject in the clean
  stage) (:func:`feed_problem`).
- Following (:func:`xml_links`): a feed vouches for its items (each an article candidate); a
  sitemap index leads to sitemaps (navigation, ``via`` ``sitemap``); a sitemap's pages are
  followed only when they match an article pattern (a sitemap lists every page of a site, menus
  and contacts included).
- Items are dated by RSS ``pubDate`` / ``dc:date``, Atom ``published`` / ``updated``, sitemap
  ``lastmod`` (:func:`feed_items`), for the ``since`` rule of incremental crawls.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response, TextResponse, XmlResponse

from infoshos.spiders.policy import Link
from infoshos.warehouse.schema import UNREADABLE_FEED

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml")
_DOCTYPE_RE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


def is_feed_url(canonical_url: str) -> bool:
    """True for a URL that names a feed (``.xml``, ``.rss``, ``.atom``, ``/rss``, ``/feeds``)."""
    path = urlsplit(canonical_url).path.lower()
    return path.endswith((".xml", ".rss", ".atom")) or bool(
        re.search(r"/(rss|atom|feed)s?/?$", path)
    )


def xml_kind(response: Response) -> str | None:
    """``feed`` (RSS/Atom), ``sitemap`` (``<urlset>``/``<sitemapindex>``) or None (not XML)."""
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
    head = response.body[:2000].lstrip().lower()
    is_xml = isinstance(response, XmlResponse) or any(t in content_type for t in _FEED_TYPES)
    if not is_xml and not head.startswith((b"<?xml", b"<rss", b"<feed", b"<urlset")):
        return None
    if b"<urlset" in head or b"<sitemapindex" in head:
        return "sitemap"
    if b"<html" in head[:200]:
        return None
    return "feed"


def is_sitemap_index(response: TextResponse) -> bool:
    return b"<sitemapindex" in response.body[:2000].lower()


def strip_doctype(body: bytes) -> bytes:
    """``body`` without its ``<!DOCTYPE ...>`` (the internal subset ``[...]`` included): a feed
    declares no entities of its own, so none is ever defined, let alone expanded (an entity
    bomb becomes a few undefined references the tolerant parser drops)."""
    match = _DOCTYPE_RE.search(body, 0, 4096)
    if match is None:
        return body
    quote, brackets, i = 0, 0, match.end()
    while i < len(body):
        ch = body[i]
        if quote:
            quote = 0 if ch == quote else quote
        elif ch in b"\"'":
            quote = ch
        elif ch == ord("["):
            brackets += 1
        elif ch == ord("]"):
            brackets = max(0, brackets - 1)
        elif ch == ord(">") and not brackets:
            return body[: match.start()] + body[i + 1 :]
        i += 1
    return body[: match.start()]  # never closed: nothing after it is a feed


def read_feed(body: bytes) -> tuple[Any, str | None]:
    """A selector over a feed or sitemap read by a tolerant parser that never expands entities
    nor loads anything (``(None, reason)`` when nothing could be read), and the first parser
    error, if any (the items read before and after it are kept)."""
    from lxml import etree
    from parsel import Selector

    parser = etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(strip_doctype(body), parser)
    except etree.XMLSyntaxError as exc:
        return None, str(exc)[:200]
    errors = [e for e in parser.error_log if e.level >= etree.ErrorLevels.ERROR]
    first = f"line {errors[0].line}: {errors[0].message}"[:200] if errors else None
    if root is None:
        return None, first or "no XML element"
    return Selector(root=root, type="xml"), first


def feed_problem(response: TextResponse) -> str | None:
    """The page record's ``detail`` for a feed or sitemap the parser found faults in: its
    items were partly read (``feed partly read: ...``), or none could be (``unreadable
    feed: ...``, which the clean stage makes a ``bad_feed`` reject). None when it read well."""
    sel, error = read_feed(response.body)
    if error is None:
        return None
    if sel is not None and feed_links(response):
        return f"feed partly read: {error}"
    return f"{UNREADABLE_FEED}: {error}"


def _feed_selector(response: TextResponse) -> Any:
    sel, error = read_feed(response.body)
    if sel is None:
        raise ValueError(error)
    return sel


def feed_items(response: TextResponse) -> list[tuple[str, str | None]]:
    """``(link, date text)`` of the items of an RSS or Atom feed, or of the pages of a
    sitemap (``<url><loc>`` with its ``<lastmod>``)."""
    out: list[tuple[str, str | None]] = []
    try:
        sel = _feed_selector(response)
        for item in sel.xpath("//*[local-name()='item']"):
            link = item.xpath("./*[local-name()='link']/text()").get()
            when = item.xpath("./*[local-name()='pubDate' or local-name()='date']/text()").get()
            if link and link.strip():
                out.append((link.strip(), when))
        for entry in sel.xpath("//*[local-name()='entry']"):
            link = entry.xpath(
                "./*[local-name()='link'][not(@rel) or @rel='alternate']/@href"
            ).get()
            when = entry.xpath(
                "./*[local-name()='published' or local-name()='updated']/text()"
            ).get()
            if link and link.strip():
                out.append((link.strip(), when))
        for url in sel.xpath("//*[local-name()='url']"):
            link = url.xpath("./*[local-name()='loc']/text()").get()
            when = url.xpath("./*[local-name()='lastmod']/text()").get()
            if link and link.strip():
                out.append((link.strip(), when))
    except ValueError:
        return []
    return out


def feed_links(response: TextResponse) -> list[str]:
    """Item links of an RSS or Atom feed (and ``<loc>`` of a sitemap)."""
    try:
        sel = _feed_selector(response)
        links = sel.xpath("//*[local-name()='item']/*[local-name()='link']/text()").getall()
        links += sel.xpath(
            "//*[local-name()='entry']/*[local-name()='link'][not(@rel) or @rel='alternate']/@href"
        ).getall()
        links += sel.xpath(
            "//*[local-name()='url' or local-name()='sitemap']/*[local-name()='loc']/text()"
        ).getall()
    except ValueError:
        return []
    return [link.strip() for link in links if link.strip()]


def xml_links(
    response: TextResponse,
    kind: str,
    content_link: Callable[[str, str], Link],
    is_article_href: Callable[[str], bool],
) -> list[Link]:
    """The links of a feed (``kind`` ``feed``) or sitemap to follow: ``content_link(href,
    via)`` makes an article candidate's link; ``is_article_href`` tells a sitemap's pages that
    match an article pattern."""
    if kind == "feed":
        return [content_link(href, "feed") for href, _ in feed_items(response)]
    if is_sitemap_index(response):
        return [(href, "list", "sitemap") for href in feed_links(response)]
    return [content_link(href, "sitemap") for href in feed_links(response) if is_article_href(href)]
