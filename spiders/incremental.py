"""Incremental crawls: what the warehouse already has (the known file), and which links a
crawl skips, dates or fetches again because of it. Pure functions (the Scrapy shell,
:class:`infoshos.spiders.base.PortalSpider`, applies them).

The known file (``--known``; schema :data:`infoshos.warehouse.schema.KNOWN`, written by the
flow) is a Parquet file of ``url`` (canonical), ``etag``, ``last_modified`` (nullable strings),
``is_article`` (bool) and ``key`` (the URL's :func:`~infoshos.spiders.urls.url_key`, made once
by the writer so that each crawl need not make it again for every known URL); only ``url`` is
required. URLs on both sides are compared through ``url_key`` (the warehouse's canonical form),
so ``/news/YYYYMMDD/ID.html`` and ``/YYYYMMDD/ID.html``, or ``print.php?idn=N`` and ``?idn=N``,
are one key.

Rules (``known``, ``full``, ``since``; :func:`select_links`):

- default: an article link whose URL the known file marks ``is_article`` is not fetched
  (counted as ``known_skipped``); a list page on which every followable article link is known
  (as an article or not) does not follow its pagination;
- ``full``: every known article of the source is requested again, linked or not (so that
  deleted articles are noticed; :func:`known_articles`), and every link is fetched, known
  article links with ``If-None-Match`` / ``If-Modified-Since`` (:func:`conditional_headers`); a
  304 becomes a record with status 304 and no body;
- ``since`` (a date, inclusive): list and feed items dated before it are not followed (counted
  as ``since_skipped``), and a list page whose items are all dated before it does not follow its
  pagination. Items without a date are followed. An item is dated as written
  (:func:`list_date`, :func:`item_dates`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy.http import TextResponse

from infoshos.spiders.feeds import feed_items, xml_kind
from infoshos.spiders.policy import NAVIGATION_TYPES, Link
from infoshos.spiders.urls import url_key
from infoshos.warehouse.schema import KNOWN

#: Maps a raw href of a page to the key of the URL the crawl would request, else None.
KeyOf = Callable[[str], str | None]


@dataclass(frozen=True)
class KnownPage:
    etag: str | None = None
    last_modified: str | None = None
    is_article: bool = False


class KnownFileError(ValueError):
    pass


def load_known(path: str | os.PathLike[str]) -> dict[str, KnownPage]:
    """The known file as ``{url_key: KnownPage}``; several rows of one key are merged."""
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(path).names)
    except (OSError, ValueError) as exc:
        raise KnownFileError(f"cannot read {os.fspath(path)}: {exc}") from exc
    if "url" not in names:
        raise KnownFileError(f"{os.fspath(path)} has no 'url' column")
    columns = [c for c in KNOWN.names if c in names]
    try:
        rows = pq.read_table(path, columns=columns).to_pylist()
    except (OSError, ValueError) as exc:
        raise KnownFileError(f"cannot read {os.fspath(path)}: {exc}") from exc
    known: dict[str, KnownPage] = {}
    for row in rows:
        url = row.get("url")
        if not url:
            continue
        key = row.get("key") or url_key(str(url))
        old = known.get(key, KnownPage())
        etag = _header_value(row.get("etag")) or old.etag
        modified = _header_value(row.get("last_modified")) or old.last_modified
        known[key] = KnownPage(etag, modified, bool(row.get("is_article")) or old.is_article)
    return known


def _header_value(value: object) -> str | None:
    """A value safe to send as a header (no line breaks), else None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        from email.utils import format_datetime

        return format_datetime(value, usegmt=True) if value.tzinfo else None
    text = str(value).strip()
    if not text or any(c in text for c in "\r\n\0"):
        return None
    return text


def parse_since(value: str | date | None) -> date | None:
    """``YYYY-MM-DD`` (or a date) as a date; ValueError when malformed."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValueError(f"expected YYYY-MM-DD, got {value!r}")
    return date.fromisoformat(value.strip())


_DMY = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})")


def list_date(text: str | None) -> date | None:
    """The date of a list item as written: ``DD.MM.YYYY [HH:MM]``, ISO 8601 or RFC 2822.

    The date is taken as written (its own time zone), not converted to UTC.
    """
    if not text:
        return None
    text = text.strip()
    try:
        m = _ISO.search(text)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _DMY.search(text)
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def conditional_headers(entry: KnownPage | None) -> dict[str, str]:
    """The validators a full crawl sends back for a known page (none for an unknown one)."""
    headers: dict[str, str] = {}
    if entry is not None and entry.etag:
        headers["If-None-Match"] = entry.etag
    if entry is not None and entry.last_modified:
        headers["If-Modified-Since"] = entry.last_modified
    return headers


def known_articles(known: Mapping[str, KnownPage]) -> list[str]:
    """The keys of the known articles, in order: what a full crawl requests again."""
    return [key for key, entry in sorted(known.items()) if entry.is_article]


def link_items(root: Any, article_key: KeyOf) -> list[tuple[str, str | None]]:
    """``(href, date text)`` of the article links of a page (``root``: its lxml tree;
    ``article_key``: the key of an href that is an article link, else None), each dated by its
    *item*, found without any markup knowledge: the largest element around the link that links
    no other article; its date is a ``time[datetime]`` in it or the text written in it."""
    anchors: list[tuple[Any, str, str]] = []
    for a in root.iter("a"):
        href = a.get("href")
        key = article_key(href) if href else None
        if href and key is not None:
            anchors.append((a, href, key))
    below: dict[Any, set[str]] = {}
    for a, _, key in anchors:
        for ancestor in a.iterancestors():
            below.setdefault(ancestor, set()).add(key)
    out: list[tuple[str, str | None]] = []
    for a, href, _ in anchors:
        item = a
        for ancestor in a.iterancestors():
            if len(below[ancestor]) > 1:
                break
            item = ancestor
        stamp = item.xpath("string(.//time/@datetime)") if item is not a else ""
        text = " ".join(t.strip() for t in item.itertext() if t.strip())
        out.append((href, stamp or text or None))
    return out


def dated_links(
    items: Iterable[tuple[str | None, str | None]], key_of: KeyOf
) -> dict[str, date | None]:
    """``{url_key: date}`` from (href, date text) pairs; the first dated entry of a URL wins
    (an undated alias keeps the dated entry's date)."""
    out: dict[str, date | None] = {}
    for href, when in items:
        key = key_of(href or "")
        if key is not None and out.get(key) is None:
            out[key] = list_date(when or "")
    return out


def item_dates(
    response: TextResponse,
    page_type: str,
    key_of: KeyOf,
    article_key: KeyOf,
    list_css: str | None = None,
) -> dict[str, date | None]:
    """``{url_key: list date or None}`` of the items of a list, feed or sitemap page.

    Feeds: RSS ``pubDate``, Atom ``published``/``updated``; sitemaps: ``lastmod`` (a page last
    modified before a date was published before it). List pages: the items of the ``list_css``
    hint when given, else each article link's item (:func:`link_items`). ``key_of``: the key of
    a followable href; ``article_key``: the key of an article link's href.
    """
    if page_type == "feed":
        return dated_links(feed_items(response), key_of)
    if page_type != "list":
        return {}
    if xml_kind(response) == "sitemap":
        return dated_links(feed_items(response), key_of)
    if list_css:
        items = (
            (
                item.xpath("descendant-or-self::a/@href").get(),
                item.css("time::attr(datetime)").get() or " ".join(item.css("::text").getall()),
            )
            for item in response.css(list_css)
        )
        return dated_links(items, key_of)
    try:
        root = response.selector.root
    except ValueError:
        return {}
    if not hasattr(root, "iter"):
        return {}
    return dated_links(link_items(root, article_key), key_of)


@dataclass
class Selection:
    """What the incremental rules left of a page's links, and what they skipped."""

    links: list[Link]
    known_skipped: set[str] = field(default_factory=set)
    since_skipped: set[str] = field(default_factory=set)
    #: The page's pagination (its navigation links) was not followed.
    pagination_stopped: bool = False


def select_links(
    links: list[Link],
    page_type: str,
    key_of: KeyOf,
    known: Mapping[str, KnownPage],
    full: bool = False,
    since: date | None = None,
    dates: Mapping[str, date | None] | None = None,
) -> Selection:
    """The links of a page left after the incremental rules (known URLs, ``since``,
    pagination), content links first in their order, then navigation. ``key_of``: the key of a
    followable href (on-site, not a document), else None; ``dates``: :func:`item_dates` of the
    page (needed with ``since``)."""
    if not known and since is None:
        return Selection(links)
    dates = dates or {}
    kept: list[Link] = []
    navigation: list[Link] = []
    selection = Selection(kept)
    candidates = known_count = 0
    for link in links:
        href, link_type, _ = link
        if link_type in NAVIGATION_TYPES:
            navigation.append(link)
            continue
        key = key_of(href) if link_type is not None else None
        if key is None:
            kept.append(link)
            continue
        candidates += 1
        entry = known.get(key)
        known_count += entry is not None
        when = dates.get(key)
        if since is not None and when is not None and when < since:
            selection.since_skipped.add(key)
            continue
        if entry is not None and entry.is_article and not full:
            selection.known_skipped.add(key)
            continue
        kept.append(link)
    if page_type == "list" and navigation:
        all_known = bool(known) and not full and 0 < candidates == known_count
        all_old = (
            since is not None
            and bool(dates)
            and all(d is not None and d < since for d in dates.values())
        )
        if all_known or all_old:
            selection.pagination_stopped = True
            navigation = []
    selection.links = kept + navigation
    return selection
