"""Spider for the Infoshos portal style.

The real site, ``http://www.infoshos.ru`` (the SCO information portal), is an old PHP site:

- articles: ``/en/?idn=N`` and ``/ru/?idn=N``; one ``idn`` sequence for both languages, so the
  English and Russian versions of a story have different ids;
- print versions: ``/en/print.php?idn=N``, ``/ru/print.php?idn=N`` (same text, less chrome);
- RSS: ``/rss/rss_ru.xml`` (confirmed), ``<item><link>`` pointing at ``?idn=`` URLs;
- table layout: the article is in ``.center-column-wrap td.text`` (confirmed by a public
  scraper), surrounded by menus, clocks, a currency-rate table and a news sidebar;
- pages are windows-1251, English ones too (raw 0xA0 bytes), with ``&#NNN;`` references for
  characters outside the code page.

Not confirmed anywhere: list pages ``/{en,ru}/news/?page=N``, ``.news-item``, ``a.next``,
``rss_en.xml``, ``h1.title``, ``div.date``, one idn sequence for both languages.

Discovery therefore does not depend on list markup: the spider starts from the feed and the
edition home pages (``/en/``, ``/ru/``) and follows every link on any fetched page (home page,
list, article, sidebar) whose canonical URL matches an article pattern (``?idn=N``; the source's
``article_patterns`` or :attr:`InfoshosSpider.ARTICLE_PATTERNS`), and links matching a list
pattern (home pages, ``/news/?page=N`` if it exists) as navigation, up to ``list_depth`` hops.
It does not fetch print pages unless ``prefer_print`` is set (then article links are fetched as
``print.php?idn=N``, page type ``print``); a print link and its article are one page per crawl.

Walking ahead (``idn_ahead``; runner ``--idn-ahead``; the live source sets it): in an
incremental run (a known file), the spider also walks idns upward from the highest known one
with the backfill rules below (both languages per idn, stop after ``idn_gap`` idns without an
article). New stories get higher idns, so this finds every new story, in both editions, even
when the feed (Russian only) and the home pages show only a few: at most ``2 x idn_gap`` misses
per run.

Backfill by idn range (``idn_from``, ``idn_to``, ``idn_gap``; runner ``--idn-from/--idn-to/
--idn-gap``): the spider walks the idn range *instead of* the lists and feeds (start URLs only
give the portal root and the allowed domains; no list is fetched, no known article is revisited
outside the range). For each idn, ascending, it requests the English and the Russian article
(``{root}en/?idn=N``, ``{root}ru/?idn=N``, or the print pages with ``prefer_print``), canonical
URLs mapped to the mirror with :meth:`to_fetch`. The walk stops after ``idn_gap`` (default 50)
consecutive idns without an article: an idn is never requested unless an article was found
within ``idn_gap`` idns below it (so the outcome does not depend on the order responses arrive
in). Links to other articles in a backfilled page are only checked, not followed.

- an idn whose article (either language) the known file marks as an article is not requested
  (counted in ``known_skipped``) and counts as found, unless ``full``;
- a *backfill miss* -- 404 or 410, or a 200 page without an article region (neither
  ``.center-column-wrap td.text`` with text, confirmed, nor ``h1.title``: what an old PHP site
  serves for a missing id, redirects included) -- gives no spool row: a never-used idn is not
  an error. The number of idns where every language missed is the ``idn_missing`` stat. A URL
  the known file has is never a miss: its 404 is a row (the flow marks the article gone);
- every other answer (5xx after the retries, 403, a timeout...) is a row as usual, and does not
  count as an article for the gap;
- ``idn_last`` (stat) is the highest idn walked: where a later backfill can continue.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from infoshos.spiders.base import PortalSpider
from infoshos.spiders.policy import Link
from infoshos.spiders.records import Record
from infoshos.spiders.urls import url_key

_PRINT_RE = re.compile(r"/print\.php$")
#: How far above the highest known idn a walk ahead may go (the gap ends it long before).
_AHEAD_SPAN = 1_000_000


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


#: Default number of consecutive idns without an article that ends a backfill walk.
DEFAULT_IDN_GAP = 50
#: The languages of the one idn sequence, in the order they are requested.
IDN_LANGUAGES = ("en", "ru")
#: Statuses that, in a backfill, mean "no article at this idn" (no spool row).
_MISS_STATUSES = frozenset({404, 410})


def _int_arg(value: int | str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def portal_root(canonical_url: str) -> str:
    """The portal root of a canonical URL: the path before its ``en``/``ru``/``rss`` segment,
    else the site root (``http://www.infoshos.ru/rss/rss_ru.xml`` -> ``http://www.infoshos.ru/``)."""
    parts = urlsplit(canonical_url)
    segments = parts.path.split("/")
    prefix = "/"
    for i, segment in enumerate(segments):
        if segment.lower() in (*IDN_LANGUAGES, "rss"):
            prefix = "/".join(segments[:i]) + "/"
            break
    return f"{parts.scheme}://{parts.netloc}{prefix}"


def _flag(value: bool | str) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on")
    return bool(value)


class InfoshosSpider(PortalSpider):
    name = "infoshos"
    #: Any URL with a numeric ``idn`` (canonical: ``/{en,ru}/?idn=N``; print.php folds into it).
    ARTICLE_PATTERNS = (r"[?&]idn=\d+(?:&|$)",)
    #: Edition home pages and the (unconfirmed) news lists ``/{en,ru}/news/?page=N``.
    LIST_PATTERNS = (r"^/(?:en|ru)$", r"^/(?:en|ru)/news(?:\?page=\d+)?$")
    #: The confirmed article region: its links are checked (documents, other sites).
    ARTICLE_LINKS = ".center-column-wrap td.text a::attr(href), div.text a::attr(href)"

    def __init__(
        self,
        *args: Any,
        prefer_print: bool | str = False,
        idn_from: int | str | None = None,
        idn_to: int | str | None = None,
        idn_gap: int | str | None = None,
        idn_ahead: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.prefer_print = _flag(prefer_print)
        self.idn_ahead = _flag(idn_ahead)
        self.idn_from = _int_arg(idn_from, "idn_from")
        self.idn_to = _int_arg(idn_to, "idn_to")
        gap = _int_arg(idn_gap, "idn_gap")
        self.idn_gap = DEFAULT_IDN_GAP if gap is None else gap
        if (self.idn_from is None) != (self.idn_to is None):
            raise ValueError("idn_from and idn_to go together")
        if (
            self.idn_from is not None
            and self.idn_to is not None
            and not (0 <= self.idn_from <= self.idn_to)
        ):
            raise ValueError(f"bad idn range {self.idn_from}..{self.idn_to}")
        if self.idn_gap < 1:
            raise ValueError("idn_gap must be >= 1")
        #: Backfill walk state: the next idn to consider, the highest idn with an article,
        #: and per walked idn the outcome of each language (``hit``, ``miss``, ``other``).
        self._idn_next = self.idn_from or 0
        self._idn_last_hit = (self.idn_from or 0) - 1
        self._idn_end = self.idn_to if self.idn_to is not None else -1
        self.idn_outcomes: dict[int, dict[str, str]] = {}
        self.idn_root: str | None = None
        if self.backfill or self.idn_ahead:
            if not self.start_urls:
                raise ValueError("an idn walk needs a start URL (it gives the portal root)")
            self.idn_root = portal_root(self.to_canonical(self.start_urls[0]))

    # -- backfill by idn range ------------------------------------------------------------------

    @property
    def backfill(self) -> bool:
        return self.idn_from is not None

    def idn_url(self, idn: int, language: str) -> str:
        """The canonical URL the walk requests for one idn and language."""
        page = "print.php" if self.prefer_print else ""
        return f"{self.idn_root}{language}/{page}?idn={idn}"

    def _idn_known(self, idn: int) -> str | None:
        """The key of a known article at this idn (either language), else None."""
        for language in IDN_LANGUAGES:
            key = url_key(self.idn_url(idn, language))
            entry = self.known.get(key)
            if entry is not None and entry.is_article:
                return key
        return None

    def top_known_idn(self) -> int | None:
        """The highest idn of a known article under the portal root, else None."""
        idns = [
            int(idn)
            for key, entry in self.known.items()
            if entry.is_article
            and self.idn_root is not None
            and key.startswith(self.idn_root)
            and (idn := idn_of(key)) is not None
        ]
        return max(idns, default=None)

    def walk_idns(self) -> Iterator[scrapy.Request]:
        """Requests for the idns now in reach: up to ``idn_gap`` above the highest found."""
        page_type = "print" if self.prefer_print else "article"
        while self._idn_next <= min(self._idn_end, self._idn_last_hit + self.idn_gap):
            if not self.budget_left():
                return
            idn = self._idn_next
            self._idn_next += 1
            self.idn_outcomes[idn] = {}
            known = None if self.full else self._idn_known(idn)
            if known is not None:
                self.known_skipped.add(known)
                self._idn_last_hit = max(self._idn_last_hit, idn)
                continue
            for language in IDN_LANGUAGES:
                fetch = self.to_fetch(self.idn_url(idn, language))
                seen = self.seen_key(fetch)
                if seen in self._seen or not self.budget_left():
                    continue
                self._seen.add(seen)
                self.requested += 1
                request = self.request(fetch, page_type, depth=0, via="idn")
                request.meta["infoshos_idn"] = (idn, language)
                # lower idns first (the outcome does not depend on the order, only the speed)
                yield request.replace(priority=-(idn - (self.idn_from or 0)))

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if not self.backfill:
            async for request in super().start():
                yield request
            top = self.top_known_idn() if self.idn_ahead else None
            if top is None:
                return
            self._idn_next, self._idn_last_hit = top + 1, top
            self._idn_end = top + _AHEAD_SPAN
        for request in self.walk_idns():
            yield request

    @staticmethod
    def has_article(response: Response) -> bool:
        """A page with an article region (the confirmed ``td.text`` or a title): what tells an
        idn in use from a never-used one in a walk. Not a judgement of the article itself."""
        if not isinstance(response, TextResponse):
            return False
        try:
            region = response.css(".center-column-wrap td.text ::text, h1.title ::text")
            return bool("".join(region.getall()).strip())
        except ValueError:  # not HTML
            return False

    def parse(self, response: Response, **kwargs: Any) -> Iterator[scrapy.Request | Record]:
        walked = response.meta.get("infoshos_idn")
        if walked is None:
            yield from super().parse(response, **kwargs)
            return
        idn, language = walked
        status = int(response.status)
        found = status == 304 or (status == 200 and self.has_article(response))
        url = self.to_canonical(self.request_url(response))
        is_known = url_key(url) in self.known
        if found:
            outcome = "hit"
            self._idn_last_hit = max(self._idn_last_hit, idn)
        elif (status in _MISS_STATUSES or status == 200) and not is_known:
            outcome = "miss"
        else:
            outcome = "other"
        self.idn_outcomes.setdefault(idn, {})[language] = outcome
        if outcome != "miss":
            yield from super().parse(response, **kwargs)
        yield from self.walk_idns()

    def errback(self, failure: Failure) -> Iterator[Record]:
        request = getattr(failure, "request", None)
        walked = request.meta.get("infoshos_idn") if request is not None else None
        if walked is not None:
            self.idn_outcomes.setdefault(walked[0], {})[walked[1]] = "other"
        yield from super().errback(failure)

    @staticmethod
    def request_url(response: Response) -> str:
        """The URL first requested for a response (before any redirect)."""
        if response.request is None:
            return response.url
        redirects = response.meta.get("redirect_urls") or []
        return str(redirects[0]) if redirects else response.request.url

    @property
    def idn_missing(self) -> int:
        """Idns of the walk where every language requested was a backfill miss."""
        return sum(
            1
            for outcomes in self.idn_outcomes.values()
            if outcomes and all(v == "miss" for v in outcomes.values())
        )

    def closed(self, reason: str) -> None:
        super().closed(reason)
        stats = getattr(getattr(self, "crawler", None), "stats", None)
        if stats is not None and (self.backfill or self.idn_outcomes):
            stats.set_value("infoshos/idn_missing", self.idn_missing)
            stats.set_value("infoshos/idn_last", max(self.idn_outcomes, default=None))

    def content_link(self, href: str, response: TextResponse, via: str) -> Link:
        """Articles are followed (as print pages with ``prefer_print``); in a backfill they are
        only checked: the walk reaches those in its range."""
        if self.backfill:
            return (href, None, via)
        if self.prefer_print:
            return (print_url(response.urljoin(href)), "print", via)
        return (href, "article", via)

    def extract_links(self, response: TextResponse, page_type: str) -> Iterable[Link]:
        """In a backfill every link is only checked: the walk replaces the lists and feeds."""
        links = super().extract_links(response, page_type)
        if self.backfill:
            return [(href, None, via) for href, _, via in links]
        return links

    def article_page_type(self, canonical_url: str) -> str:
        return "print" if _PRINT_RE.search(urlsplit(canonical_url).path) else "article"
