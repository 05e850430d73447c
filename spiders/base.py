"""The base spider: URL mapping, link policy and the spool records.

Spiders only fetch and classify. Every fetch becomes one spool record (schema
``infoshos.warehouse.schema.SPOOL``); every link deliberately not followed (another domain, a
PDF...) becomes a record with ``skip_reason``; a request that got no response becomes a record
with ``status`` None and the error in ``detail``.

URL mapping: a crawl of a local mirror passes ``url_map`` pairs ``(local_prefix,
canonical_prefix)``. Records carry canonical URLs (``url``, ``final_url``, ``referer``) and the
URL actually requested in ``fetch_url``. Canonical links found in pages (e.g. absolute links in
an RSS feed) are mapped back to the mirror before they are requested.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse, XmlResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS
from twisted.python.failure import Failure
from w3lib.url import canonicalize_url

Record = dict[str, Any]
#: What a subclass hands :meth:`PortalSpider.follow_links`: a raw href and the page type it
#: would be fetched as, or None for a link that is only checked (offsite / document skips).
Link = tuple[str, str | None]

#: The page types a record may carry.
PAGE_TYPES = frozenset({"article", "print", "list", "feed", "other"})

_DOC_EXTENSIONS = frozenset(
    {*IGNORED_EXTENSIONS, "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "rtf", "odt"}
)
_LANG_CODES = {
    "en": "en",
    "eng": "en",
    "ru": "ru",
    "rus": "ru",
    "zh": "zh",
    "cn": "zh",
    "chn": "zh",
    "zh-cn": "zh",
}


def _split_arg(value: str | Iterable[str] | None) -> list[str]:
    """Spider arguments arrive as lists (from code) or strings (``scrapy crawl -a``)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[\s,]+", value) if v]
    return [str(v) for v in value]


def parse_url_map(value: str | Iterable[Any] | None) -> list[tuple[str, str]]:
    """``[(local, canonical), ...]`` from pairs or from ``"LOCAL=CANONICAL ..."`` strings."""
    pairs: list[tuple[str, str]] = []
    items: Iterable[Any] = _split_arg(value) if isinstance(value, str) else (value or [])
    for item in items:
        if isinstance(item, str):
            m = re.fullmatch(r"(https?://\S+?)=(https?://\S+)", item.strip())
            if not m:
                raise ValueError(f"bad url map entry {item!r}, expected LOCAL=CANONICAL")
            pairs.append((m.group(1), m.group(2)))
        else:
            local, canonical = item
            pairs.append((str(local), str(canonical)))
    # Longest prefix first, so that nested prefixes map correctly.
    return sorted(pairs, key=lambda p: len(p[0]), reverse=True)


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def _domain_matches(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def decode_headers(response: Response) -> dict[str, str]:
    """Lower-case header names mapped to their first value, decoded."""
    out: dict[str, str] = {}
    for name, values in response.headers.items():
        if not values:
            continue
        raw = values[0]
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw.decode("latin-1")
        out[name.decode("latin-1").lower()] = value
    return out


def document_extension(url: str) -> str | None:
    """The extension of a URL that points at a document or media file, else None."""
    path = urlsplit(url).path.lower()
    name = path.rsplit("/", 1)[-1]
    if "." not in name:
        return None
    ext = name.rsplit(".", 1)[-1]
    if name.endswith(".tar.gz"):
        ext = "tar.gz"
    return ext if ext in _DOC_EXTENSIONS else None


class PortalSpider(scrapy.Spider):
    """Base of the portal spiders.

    Arguments: ``source`` (the source name), ``start_urls`` (fetch URLs), ``url_map`` (pairs of
    local and canonical prefixes), ``max_pages`` (requests in total, start URLs included;
    0 = no limit), ``allowed_domains`` (optional; derived from the start URLs).
    """

    name = "portal"
    #: Page type of start URLs that :meth:`start_page_type` cannot classify.
    default_start_type = "list"

    def __init__(
        self,
        source: str | None = None,
        start_urls: str | Iterable[str] | None = None,
        url_map: str | Iterable[Any] | None = None,
        max_pages: int | str | None = None,
        allowed_domains: str | Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source: str = source or self.name
        self.start_urls = _split_arg(start_urls) or list(getattr(type(self), "start_urls", []))
        self.url_map = parse_url_map(url_map)
        self.max_pages = int(max_pages or 0)
        canonical_hosts = {_host(self.to_canonical(u)) for u in self.start_urls}
        extra = {d.lower() for d in _split_arg(allowed_domains)}
        #: Domains of canonical URLs that count as on-site.
        self.canonical_domains: set[str] = {h for h in canonical_hosts | extra if h}
        fetch_hosts = {_host(u) for u in self.start_urls}
        fetch_hosts |= {_host(local) for local, _ in self.url_map}
        self.allowed_domains = sorted(h for h in fetch_hosts | self.canonical_domains if h)
        self._seen: set[str] = set()
        self._skipped: set[tuple[str, str]] = set()
        self.requested = 0

    # -- URLs ---------------------------------------------------------------------------------

    def to_canonical(self, url: str) -> str:
        """The canonical URL of a fetched URL (identity when no mapping applies)."""
        for local, canonical in self.url_map:
            if url.startswith(local):
                return canonical + url[len(local) :]
        return url

    def to_fetch(self, url: str) -> str:
        """The URL to request for a URL seen in a page (canonical links go to the mirror)."""
        for local, canonical in self.url_map:
            if url.startswith(canonical):
                return local + url[len(canonical) :]
        return url

    def is_onsite(self, canonical_url: str) -> bool:
        return _domain_matches(_host(canonical_url), self.canonical_domains)

    def language_hint(self, canonical_url: str, response: Response | None = None) -> str | None:
        """A language guessed from the URL (edition subdomain, path segment, feed name)."""
        parts = urlsplit(canonical_url)
        first_label = (parts.hostname or "").split(".")[0].lower()
        if first_label in _LANG_CODES:
            return _LANG_CODES[first_label]
        segments = [s for s in parts.path.lower().split("/") if s]
        if segments and segments[0] in _LANG_CODES:
            return _LANG_CODES[segments[0]]
        m = re.search(r"[_-](en|ru|zh|cn)\.(?:xml|rss)$", parts.path.lower())
        if m:
            return _LANG_CODES[m.group(1)]
        if response is not None:
            lang = response.headers.get(b"Content-Language")
            if lang:
                code = lang.decode("latin-1").split(",")[0].strip().lower()
                return _LANG_CODES.get(code, _LANG_CODES.get(code.split("-")[0]))
        return None

    # -- records ------------------------------------------------------------------------------

    def page_record(self, response: Response, page_type: str) -> Record:
        """The spool record of one fetch."""
        request = response.request
        meta = response.meta if request is not None else {}
        redirects = meta.get("redirect_urls") or []
        fetch_url = redirects[0] if redirects else (request.url if request else response.url)
        url = self.to_canonical(fetch_url)
        return {
            "url": url,
            "final_url": self.to_canonical(response.url),
            "fetch_url": fetch_url,
            "source": self.source,
            "page_type": page_type,
            "status": int(response.status),
            "headers": decode_headers(response),
            "body": bytes(response.body),
            "fetched_at": datetime.now(UTC),
            "language_hint": self.language_hint(url, response),
            "referer": meta.get("infoshos_referer"),
            "skip_reason": None,
            "detail": None,
        }

    def skip_record(
        self,
        canonical_url: str,
        reason: str,
        detail: str | None = None,
        referer: str | None = None,
        page_type: str = "other",
        fetch_url: str | None = None,
    ) -> Record:
        """The spool record of a link not fetched (``offsite``, ``not_article``, ...)."""
        return {
            "url": canonical_url,
            "final_url": None,
            "fetch_url": fetch_url,
            "source": self.source,
            "page_type": page_type,
            "status": None,
            "headers": None,
            "body": None,
            "fetched_at": datetime.now(UTC),
            "language_hint": self.language_hint(canonical_url),
            "referer": referer,
            "skip_reason": reason,
            "detail": detail,
        }

    def errback(self, failure: Failure) -> Iterator[Record]:
        """A request that got no response: DNS error, timeout, refused, robots.txt..."""
        request = getattr(failure, "request", None)
        fetch_url = request.url if request is not None else ""
        meta = request.meta if request is not None else {}
        url = self.to_canonical(fetch_url)
        error_type = failure.type.__name__ if failure.type is not None else "Error"
        detail = f"{error_type}: {failure.getErrorMessage()}"
        page_type = str(meta.get("page_type", "other"))
        if page_type not in PAGE_TYPES:
            page_type = "article" if page_type == "feed_item" else "other"
        referer = meta.get("infoshos_referer")
        if failure.check(IgnoreRequest):
            reason = "disallowed" if "robots" in detail.lower() else "offsite"
            yield self.skip_record(url, reason, detail, referer, page_type, fetch_url)
            return
        record = self.skip_record(url, "", detail, referer, page_type, fetch_url)
        record["skip_reason"] = None
        yield record

    # -- requests -----------------------------------------------------------------------------

    def request(
        self,
        fetch_url: str,
        page_type: str,
        referer: str | None = None,
        depth: int = 0,
        dont_filter: bool = False,
    ) -> scrapy.Request:
        return scrapy.Request(
            fetch_url,
            callback=self.parse,
            errback=self.errback,
            dont_filter=dont_filter,
            priority=-depth,
            meta={"page_type": page_type, "infoshos_referer": referer, "infoshos_depth": depth},
        )

    def budget_left(self) -> bool:
        return not self.max_pages or self.requested < self.max_pages

    def start_page_type(self, url: str) -> str:
        """Page type of a start URL (feeds end in .xml/.rss or contain rss/atom/feed)."""
        path = urlsplit(self.to_canonical(url)).path.lower()
        if path.endswith((".xml", ".rss", ".atom")) or re.search(r"/(rss|atom|feed)s?/?$", path):
            return "feed"
        return self.default_start_type

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            if not self.budget_left():
                break
            self._seen.add(canonicalize_url(url))
            self.requested += 1
            yield self.request(url, self.start_page_type(url), dont_filter=True)

    def follow_links(
        self, response: Response, links: Iterable[Link], depth: int | None = None
    ) -> Iterator[scrapy.Request | Record]:
        """Requests for the links to follow and skip records for the links refused."""
        referer = self.to_canonical(response.url)
        if depth is None:
            depth = int(response.meta.get("infoshos_depth", 0)) + 1
        base = response.url
        if isinstance(response, TextResponse):
            try:
                base = urljoin(response.url, response.css("base::attr(href)").get() or "")
            except ValueError:  # not HTML/XML
                base = response.url
        for href, page_type in links:
            href = (href or "").strip()
            if not href or href.startswith("#"):
                continue
            absolute = urldefrag(urljoin(base, href))[0]
            if urlsplit(absolute).scheme not in ("http", "https"):
                continue  # mailto:, javascript:, file:, data: ...
            canonical = self.to_canonical(absolute)
            if not self.is_onsite(canonical):
                yield from self._skip_once(
                    canonical, "offsite", f"host {_host(canonical)}", referer
                )
                continue
            ext = document_extension(canonical)
            if ext:
                yield from self._skip_once(canonical, "not_article", f"{ext} document", referer)
                continue
            if page_type is None:
                continue
            fetch = self.to_fetch(absolute)
            key = canonicalize_url(fetch)
            if key in self._seen or not self.budget_left():
                continue
            self._seen.add(key)
            self.requested += 1
            yield self.request(fetch, page_type, referer, depth)

    def _skip_once(
        self, canonical: str, reason: str, detail: str, referer: str
    ) -> Iterator[Record]:
        if (canonical, reason) not in self._skipped:
            self._skipped.add((canonical, reason))
            yield self.skip_record(canonical, reason, detail, referer)

    # -- callbacks ----------------------------------------------------------------------------

    def parse(self, response: Response, **kwargs: Any) -> Iterator[scrapy.Request | Record]:
        page_type = str(response.meta.get("page_type") or self.default_start_type)
        page_type = self.classify(response, page_type)
        yield self.page_record(response, page_type)
        if response.status >= 400 or not isinstance(response, TextResponse):
            return
        yield from self.follow_links(response, self.extract_links(response, page_type))

    def classify(self, response: Response, page_type: str) -> str:
        """The page type of a fetched page; by default the type it was requested as."""
        return page_type

    def extract_links(self, response: TextResponse, page_type: str) -> Iterable[Link]:
        """The links of a page (subclasses); feeds are handled here."""
        if page_type == "feed":
            return [(u, "article") for u in feed_links(response)]
        return []


def feed_links(response: TextResponse) -> list[str]:
    """Item links of an RSS or Atom feed (and ``<loc>`` of a sitemap)."""
    if not isinstance(response, XmlResponse):
        response = XmlResponse(response.url, body=response.body, request=response.request)
    try:
        sel = response.selector
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
