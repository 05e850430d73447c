"""The base spider: URL mapping, link policy and the spool records.

Spiders only fetch and classify. Every fetch becomes one spool record (schema
``infoshos.warehouse.schema.SPOOL``); every link deliberately not followed (another domain, a
PDF...) becomes a record with ``skip_reason``; a request that got no response becomes a record
with ``status`` None and the error in ``detail``.

URL mapping: a crawl of a local mirror passes ``url_map`` pairs ``(local_prefix,
canonical_prefix)``. Records carry canonical URLs (``url``, ``final_url``, ``referer``) and the
URL actually requested in ``fetch_url``. Canonical links found in pages (e.g. absolute links in
an RSS feed) are mapped back to the mirror before they are requested.

Incremental crawls (``known``, ``full``, ``since``; see :mod:`infoshos.spiders.incremental`):

- default: an article link whose URL the known file marks ``is_article`` is not fetched
  (counted as ``known_skipped``); a list page on which every followable article link is known
  (as an article or not) does not follow its pagination;
- ``full``: every known article of the source is requested again, linked or not (so that
  deleted articles are noticed), and every link is fetched, known article links with
  ``If-None-Match`` /
  ``If-Modified-Since``; a 304 becomes a record with status 304 and no body;
- ``since`` (a date, inclusive): list and feed items dated before it are not followed (counted
  as ``since_skipped``), and a list page whose items are all dated before it does not follow its
  pagination. Items without a date are followed.

Failures (no response) are records with ``status`` None, ``skip_reason`` None and a ``detail``
starting with the kind: ``timeout:``, ``connection reset:``, ``truncated:``, ``redirect loop:``,
``connection refused:``, ``dns:`` or ``error:``. A response over ``DOWNLOAD_MAXSIZE`` (or a
compressed body inflating beyond it) is a ``too_large`` skip record; robots.txt refusals are
``disallowed``; requests refused by the off-site filter are ``offsite``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, cast
from urllib.parse import urldefrag, urljoin, urlsplit

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response, TextResponse, XmlResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS
from twisted.internet import error as twisted_error
from twisted.internet.defer import CancelledError
from twisted.python.failure import Failure

from infoshos.spiders.incremental import KnownPage, list_date, load_known, parse_since, url_key
from infoshos.warehouse.schema import UNREADABLE_FEED

Record = dict[str, Any]
#: What a subclass hands :meth:`PortalSpider.follow_links`: a raw href, the page type it would
#: be fetched as (None for a link that is only checked: offsite / document skips), and how it
#: was found (one of :data:`VIA`).
Link = tuple[str, str | None, str]

#: How a page was reached, recorded in the spool column ``via``: a start URL, an item of a feed,
#: a ``<loc>`` of a sitemap, a link matching the source's article patterns, a navigation link
#: (list pattern or list-page CSS hint), the Infoshos idn walk, a full crawl's revisit of a
#: known article, or any other link (the generic spider's breadth-first crawl).
VIA = ("start", "feed", "sitemap", "pattern", "list", "idn", "revisit", "link")

#: The page types a record may carry.
PAGE_TYPES = frozenset({"article", "print", "list", "feed", "other"})
#: Link types that lead to content (skipped when known, dated by list items); the others
#: (``list``, ``feed``) are navigation.
CONTENT_TYPES = frozenset({"article", "print", "feed_item", "sitemap_item", "other"})
NAVIGATION_TYPES = frozenset({"list", "feed"})
#: Navigation hops followed from a start URL when the source gives no ``list_depth``.
DEFAULT_LIST_DEPTH = 20
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml")

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
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def _without_host_dot(url: str) -> str:
    """``http://eng.sectsco.org./x`` -> ``http://eng.sectsco.org/x`` (a trailing dot on the
    host names the same host; the link is requested and mapped without it)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    host, sep, port = netloc.rpartition(":") if "]" not in netloc else (netloc, "", "")
    if not sep or not port.isdigit():
        host, sep, port = netloc, "", ""
    if host.endswith(".") and not host.endswith(".."):
        return parts._replace(netloc=host.rstrip(".") + sep + port).geturl()
    return url


def compile_patterns(patterns: str | Iterable[str] | None) -> list[re.Pattern[str]]:
    """Regular expressions from a list (or a newline-separated string: ``scrapy -a``)."""
    if patterns is None:
        return []
    items = [p for p in patterns.splitlines() if p] if isinstance(patterns, str) else patterns
    return [re.compile(p) for p in items]


def url_target(canonical: str) -> str:
    """What source patterns are searched in: the path plus ``?query`` of a URL's canonical
    form (:func:`infoshos.spiders.incremental.url_key`)."""
    parts = urlsplit(url_key(canonical))
    return parts.path + (f"?{parts.query}" if parts.query else "")


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


def _domain_matches(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


#: A site is an origin: a host (``www.`` ignored, subdomains included) on one port. The
#: default ports of http and https are one site (a site moving to https stays itself).
Origin = tuple[str, int | None]
_DEFAULT_PORTS = {"http": 80, "https": 443}


def url_origin(url: str) -> Origin | None:
    """``(host, port)`` of a URL, the port None for the scheme's default; None when the URL
    has no host or a bad port."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = _host(url)
    if not host:
        return None
    if port is not None and _DEFAULT_PORTS.get(parts.scheme.lower()) == port:
        port = None
    return host, port


def _domain_origin(domain: str) -> Origin | None:
    """An ``allowed_domains`` entry as an origin: ``example.org`` or ``example.org:8080``."""
    domain = domain.strip().lower()
    if not domain:
        return None
    if domain.count(":") > 1 and not domain.startswith("["):  # a bare IPv6 address
        domain = f"[{domain}]"
    return url_origin(domain if "://" in domain else f"http://{domain}")


def origin_matches(url: str, origins: Iterable[Origin]) -> bool:
    """True when ``url`` is on one of ``origins``: the same port, the host or a subdomain."""
    found = url_origin(url)
    if found is None:
        return False
    host, port = found
    return any(port == p and _domain_matches(host, (d,)) for d, p in origins)


def origin_text(url: str) -> str:
    """An origin for messages: ``127.0.0.1:8081``, ``example.org``."""
    found = url_origin(url)
    if found is None:
        return _host(url)
    return found[0] if found[1] is None else f"{found[0]}:{found[1]}"


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
    0 = no limit), ``allowed_domains`` (optional; derived from the start URLs), ``known`` (the
    path of a known file, or a ``{url_key: KnownPage}`` mapping), ``full`` (refetch known
    articles conditionally), ``since`` (``YYYY-MM-DD`` or a date).

    Discovery (see the module doc of each spider): ``article_patterns`` and ``list_patterns``
    (regular expressions searched in :func:`url_target` of a link; default: the spider's
    :attr:`ARTICLE_PATTERNS` / :attr:`LIST_PATTERNS`), ``list_css`` / ``next_css`` (optional
    CSS hints: one item of a list page, its next-page link), ``list_depth`` (navigation hops
    followed from a start URL). Every link of every fetched page whose canonical URL matches an
    article pattern is fetched as an article candidate (``via`` ``pattern``); links matching a
    list pattern are fetched as navigation (``list``) up to ``list_depth`` hops. Feeds and
    sitemaps are read wherever they are met. Whether a page *is* an article is the clean
    stage's decision (one rule, from the content); spiders never judge content.
    """

    name = "portal"
    #: Page type of start URLs that :meth:`start_page_type` cannot classify.
    default_start_type = "list"
    #: The portal's article / navigation URL patterns, used when the source gives none.
    ARTICLE_PATTERNS: tuple[str, ...] = ()
    LIST_PATTERNS: tuple[str, ...] = ()
    max_pages: int

    def __init__(
        self,
        source: str | None = None,
        start_urls: str | Iterable[str] | None = None,
        url_map: str | Iterable[Any] | None = None,
        max_pages: int | str | None = None,
        allowed_domains: str | Iterable[str] | None = None,
        known: str | Mapping[str, KnownPage] | None = None,
        full: bool | str = False,
        since: str | date | None = None,
        article_patterns: str | Iterable[str] | None = None,
        list_patterns: str | Iterable[str] | None = None,
        list_css: str | None = None,
        next_css: str | None = None,
        list_depth: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.article_patterns = compile_patterns(article_patterns) or compile_patterns(
            self.ARTICLE_PATTERNS
        )
        self.list_patterns = compile_patterns(list_patterns) or compile_patterns(self.LIST_PATTERNS)
        self.list_css = list_css or None
        self.next_css = next_css or None
        self.list_depth = DEFAULT_LIST_DEPTH if list_depth in (None, "") else int(list_depth)
        self.source: str = source or self.name
        self.start_urls = _split_arg(start_urls) or list(getattr(type(self), "start_urls", []))
        self.url_map = parse_url_map(url_map)
        self.max_pages = int(max_pages or 0)
        canonical = {url_origin(self.to_canonical(u)) for u in self.start_urls}
        extra = {_domain_origin(d) for d in _split_arg(allowed_domains)}
        #: Origins (host and port) of canonical URLs that count as on-site.
        self.canonical_origins: set[Origin] = {o for o in canonical | extra if o}
        self.canonical_domains: set[str] = {host for host, _ in self.canonical_origins}
        fetch = {url_origin(u) for u in self.start_urls}
        fetch |= {url_origin(local) for local, _ in self.url_map}
        #: Origins a request may go to (the mirror's, the site's): see :meth:`may_fetch`.
        self.fetch_origins: set[Origin] = {o for o in fetch if o} | self.canonical_origins
        self.allowed_domains = sorted({host for host, _ in self.fetch_origins})
        self._seen: set[str] = set()
        self._skipped: set[tuple[str, str]] = set()
        self.requested = 0
        if isinstance(known, str):
            known = load_known(known) if known else {}
        #: Keys (:func:`url_key`) of what the warehouse has.
        self.known: Mapping[str, KnownPage] = known or {}
        if isinstance(full, str):
            full = full.lower() in ("1", "true", "yes", "on")
        self.full = bool(full)
        self.since: date | None = parse_since(since)
        #: Keys of article links not fetched because known / dated before ``since``.
        self.known_skipped: set[str] = set()
        self.since_skipped: set[str] = set()
        self.pagination_stopped = 0
        #: Distinct followable links each discovery path found (also those another path had
        #: found first): what ``infoshos probe`` reports per path.
        self.links_by_via: dict[str, set[str]] = {}

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
        """On the site: the origin (host and port) of a start URL, or an allowed domain."""
        return origin_matches(canonical_url, self.canonical_origins)

    def may_fetch(self, fetch_url: str) -> bool:
        """May a request (a redirect included) go to this URL? Only to the site's origins and
        its mirror's (:class:`infoshos.spiders.middlewares.OffsiteMiddleware` asks)."""
        return origin_matches(fetch_url, self.fetch_origins)

    def seen_key(self, fetch_url: str) -> str:
        """The key a URL is fetched once under in a crawl: its canonical form, so that every
        spelling of one article (aliases, print pages, a host with a trailing dot) is one."""
        return url_key(self.to_canonical(fetch_url))

    def is_article_link(self, canonical_url: str) -> bool:
        """True when the URL matches one of the source's article patterns."""
        target = url_target(canonical_url)
        return any(p.search(target) for p in self.article_patterns)

    def is_list_link(self, canonical_url: str) -> bool:
        """True when the URL matches one of the source's navigation patterns."""
        target = url_target(canonical_url)
        return any(p.search(target) for p in self.list_patterns)

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
        status = int(response.status)
        detail = None
        if status == 304:
            detail = "not modified"
        elif status < 300 and not isinstance(response, TextResponse):
            ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
            detail = f"binary content: {ctype.split(';')[0].strip() or 'no content type'}"
        elif 300 <= status < 400:
            detail = "redirect not followed"
        return {
            "url": url,
            "final_url": self.to_canonical(response.url),
            "fetch_url": fetch_url,
            "source": self.source,
            "page_type": page_type,
            "status": status,
            "headers": decode_headers(response),
            "body": None if status == 304 else bytes(response.body),
            "fetched_at": datetime.now(UTC),
            "language_hint": self.language_hint(url, response),
            "referer": meta.get("infoshos_referer"),
            "skip_reason": None,
            "detail": detail,
            "via": meta.get("infoshos_via"),
        }

    def skip_record(
        self,
        canonical_url: str,
        reason: str,
        detail: str | None = None,
        referer: str | None = None,
        page_type: str = "other",
        fetch_url: str | None = None,
        via: str | None = None,
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
            "via": via,
        }

    def errback(self, failure: Failure) -> Iterator[Record]:
        """A request that got no response: DNS error, timeout, refused, robots.txt..."""
        request = getattr(failure, "request", None)
        fetch_url = request.url if request is not None else ""
        meta = request.meta if request is not None else {}
        redirects = meta.get("redirect_urls") or []
        if redirects:
            fetch_url = redirects[0]
        url = self.to_canonical(fetch_url)
        page_type = str(meta.get("page_type", "other"))
        if page_type not in PAGE_TYPES:
            page_type = "article" if page_type == "feed_item" else "other"
        referer = meta.get("infoshos_referer")
        reason, detail = classify_failure(failure, len(redirects))
        via = meta.get("infoshos_via")
        record = self.skip_record(url, reason or "", detail, referer, page_type, fetch_url, via)
        record["skip_reason"] = reason
        yield record

    # -- requests -----------------------------------------------------------------------------

    def request(
        self,
        fetch_url: str,
        page_type: str,
        referer: str | None = None,
        depth: int = 0,
        dont_filter: bool = False,
        via: str = "link",
        nav_depth: int = 0,
    ) -> scrapy.Request:
        headers: dict[str, str] = {}
        if self.full and page_type in CONTENT_TYPES:
            entry = self.known.get(url_key(self.to_canonical(fetch_url)))
            if entry is not None and entry.etag:
                headers["If-None-Match"] = entry.etag
            if entry is not None and entry.last_modified:
                headers["If-Modified-Since"] = entry.last_modified
        # Always dont_filter (the argument is kept for callers): the crawl deduplicates itself
        # (``_seen``); Scrapy's filter would drop a redirect to a URL already seen (a redirect
        # loop included) without any record. Off-site filtering ignores dont_filter
        # (infoshos.spiders.middlewares.OffsiteMiddleware).
        return scrapy.Request(
            fetch_url,
            callback=self.parse,
            errback=self.errback,
            dont_filter=True,
            priority=-depth,
            headers=headers or None,
            meta={
                "page_type": page_type,
                "infoshos_referer": referer,
                "infoshos_depth": depth,
                "infoshos_via": via,
                "infoshos_nav": nav_depth,
                # the key a shared frontier claims the URL under (infoshos.spiders.frontier)
                "infoshos_key": self.seen_key(fetch_url),
            },
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
            self._seen.add(self.seen_key(url))
            self.requested += 1
            yield self.request(url, self.start_page_type(url), dont_filter=True, via="start")
        for request in self.revisits():
            yield request

    def revisits(self) -> Iterator[scrapy.Request]:
        """In a full crawl, every known article of this source is requested again
        (conditionally), also when no list links it any more: that is how an article that now
        answers 404 or 410 is noticed (the flow marks it ``gone_at``)."""
        if not self.full:
            return
        for key, entry in sorted(self.known.items()):
            if not entry.is_article or not self.is_onsite(key) or not self.budget_left():
                continue
            fetch = self.to_fetch(key)
            seen = self.seen_key(fetch)
            if seen in self._seen:
                continue
            self._seen.add(seen)
            self.requested += 1
            yield self.request(fetch, "article", depth=1, via="revisit")

    def link_base(self, response: Response) -> str:
        """The URL relative links of a page resolve against (``<base href>`` if any)."""
        if isinstance(response, TextResponse):
            try:
                return urljoin(response.url, response.css("base::attr(href)").get() or "")
            except ValueError:  # not HTML/XML
                return response.url
        return response.url

    @staticmethod
    def absolute(base: str, href: str) -> str | None:
        """The absolute http(s) URL of a link, None for fragments and other schemes."""
        href = (href or "").strip()
        if not href or href.startswith("#"):
            return None
        try:
            absolute = _without_host_dot(urldefrag(urljoin(base, href))[0])
            scheme = urlsplit(absolute).scheme
        except ValueError:  # e.g. a malformed IPv6 host
            return None
        if scheme not in ("http", "https"):
            return None  # mailto:, javascript:, file:, data: ... never requested
        return absolute

    def followable(self, absolute: str) -> str | None:
        """The key of a URL the crawl would request (on-site, not a document), else None."""
        canonical = self.to_canonical(absolute)
        if not self.is_onsite(canonical) or document_extension(canonical):
            return None
        return url_key(canonical)

    def follow_links(
        self, response: Response, links: Iterable[Link], depth: int | None = None
    ) -> Iterator[scrapy.Request | Record]:
        """Requests for the links to follow and skip records for the links refused."""
        referer = self.to_canonical(response.url)
        if depth is None:
            depth = int(response.meta.get("infoshos_depth", 0)) + 1
        nav = int(response.meta.get("infoshos_nav", 0))
        base = self.link_base(response)
        for href, page_type, via in links:
            absolute = self.absolute(base, href)
            if absolute is None:
                continue
            canonical = self.to_canonical(absolute)
            if not self.is_onsite(canonical):
                yield from self._skip_once(
                    canonical, "offsite", f"origin {origin_text(canonical)}", referer, via
                )
                continue
            ext = document_extension(canonical)
            if ext:
                detail = f"{ext} document"
                yield from self._skip_once(canonical, "not_article", detail, referer, via)
                continue
            if page_type is None:
                continue
            self.links_by_via.setdefault(via, set()).add(canonical)
            hops = nav + (page_type in NAVIGATION_TYPES)
            if hops > self.list_depth and page_type in NAVIGATION_TYPES:
                continue
            fetch = self.to_fetch(absolute)
            key = self.seen_key(fetch)
            if key in self._seen or not self.budget_left():
                continue
            self._seen.add(key)
            self.requested += 1
            yield self.request(fetch, page_type, referer, depth, via=via, nav_depth=hops)

    # -- incremental ----------------------------------------------------------------------------

    def item_dates(self, response: TextResponse, page_type: str) -> dict[str, date | None]:
        """``{url_key: list date or None}`` of the items of a list, feed or sitemap page.

        Feeds: RSS ``pubDate``, Atom ``published``/``updated``; sitemaps: ``lastmod`` (a page
        last modified before a date was published before it). List pages: the items of the
        ``list_css`` hint when given, else each article link's *item*, found without any
        markup knowledge: the largest element around the link that links no other article;
        its date is a ``time[datetime]`` in it or the first date written in its text.
        """
        if page_type == "feed":
            return self.dated_links(response, feed_items(response))
        if page_type != "list":
            return {}
        if xml_kind(response) == "sitemap":
            return self.dated_links(response, feed_items(response))
        if self.list_css:
            items = (
                (
                    item.xpath("descendant-or-self::a/@href").get(),
                    item.css("time::attr(datetime)").get() or " ".join(item.css("::text").getall()),
                )
                for item in response.css(self.list_css)
            )
            return self.dated_links(response, items)
        return self.dated_links(response, self.link_items(response))

    def link_items(self, response: TextResponse) -> list[tuple[str, str | None]]:
        """``(href, date text)`` of the article links of a page, each dated by its item."""
        base = self.link_base(response)
        anchors: list[tuple[Any, str, str]] = []
        try:
            root = response.selector.root
        except ValueError:
            return []
        if not hasattr(root, "iter"):
            return []
        for a in root.iter("a"):
            href = a.get("href")
            absolute = self.absolute(base, href or "")
            if not href or absolute is None:
                continue
            canonical = self.to_canonical(absolute)
            if self.is_article_link(canonical):
                anchors.append((a, href, url_key(canonical)))
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
        self, response: TextResponse, items: Iterable[tuple[str | None, str | None]]
    ) -> dict[str, date | None]:
        """``{url_key: date}`` from (href, date text) pairs; the first dated entry of a URL
        wins (an undated alias keeps the dated entry's date)."""
        base = self.link_base(response)
        out: dict[str, date | None] = {}
        for href, when in items:
            absolute = self.absolute(base, href or "")
            key = self.followable(absolute) if absolute else None
            if key is not None and out.get(key) is None:
                out[key] = list_date(when or "")
        return out

    def select_links(self, response: TextResponse, page_type: str, links: list[Link]) -> list[Link]:
        """The links left after the incremental rules (known URLs, ``since``, pagination)."""
        if not self.known and self.since is None:
            return links
        dates = self.item_dates(response, page_type) if self.since is not None else {}
        base = self.link_base(response)
        kept: list[Link] = []
        navigation: list[Link] = []
        candidates = known = 0
        for link in links:
            href, link_type, _ = link
            if link_type in NAVIGATION_TYPES:
                navigation.append(link)
                continue
            absolute = self.absolute(base, href) if link_type is not None else None
            key = self.followable(absolute) if absolute else None
            if key is None:
                kept.append(link)
                continue
            candidates += 1
            entry = self.known.get(key)
            known += entry is not None
            when = dates.get(key)
            if self.since is not None and when is not None and when < self.since:
                self.since_skipped.add(key)
                continue
            if entry is not None and entry.is_article and not self.full:
                self.known_skipped.add(key)
                continue
            kept.append(link)
        if page_type == "list" and navigation:
            all_known = bool(self.known) and not self.full and 0 < candidates == known
            all_old = (
                self.since is not None
                and bool(dates)
                and all(d is not None and d < self.since for d in dates.values())
            )
            if all_known or all_old:
                self.pagination_stopped += 1
                navigation = []
        return kept + navigation

    def closed(self, reason: str) -> None:
        stats = getattr(getattr(self, "crawler", None), "stats", None)
        if stats is not None:
            stats.set_value("infoshos/known_skipped", len(self.known_skipped))
            stats.set_value("infoshos/since_skipped", len(self.since_skipped))
            stats.set_value("infoshos/pagination_stopped", self.pagination_stopped)
            found = {via: len(links) for via, links in sorted(self.links_by_via.items())}
            stats.set_value("infoshos/links_by_via", found)

    def _skip_once(
        self, canonical: str, reason: str, detail: str, referer: str, via: str | None = None
    ) -> Iterator[Record]:
        if (canonical, reason) not in self._skipped:
            self._skipped.add((canonical, reason))
            yield self.skip_record(canonical, reason, detail, referer, via=via)

    # -- callbacks ----------------------------------------------------------------------------

    def parse(self, response: Response, **kwargs: Any) -> Iterator[scrapy.Request | Record]:
        page_type = str(response.meta.get("page_type") or self.default_start_type)
        page_type = self.classify(response, page_type)
        record = self.page_record(response, page_type)
        xml = isinstance(response, TextResponse) and response.status < 300
        if xml and page_type in ("feed", "list") and xml_kind(response) is not None:
            record["detail"] = feed_problem(cast(TextResponse, response)) or record["detail"]
        yield record
        if response.status >= 300 or not isinstance(response, TextResponse):
            return
        self._seen.add(self.seen_key(response.url))  # a page never requests itself again
        links = list(self.extract_links(response, page_type))
        yield from self.follow_links(response, self.select_links(response, page_type, links))

    def classify(self, response: Response, page_type: str) -> str:
        """The page type of a fetched page: a feed or a sitemap (``list``) by its content, an
        article candidate by its URL (the article patterns), else the type it was requested
        as. Never by whether the page reads like an article: that is the clean stage's rule."""
        if response.status < 300:
            kind = xml_kind(response)
            if kind is not None:
                return "feed" if kind == "feed" else "list"
        canonical = self.to_canonical(response.url)
        if self.is_article_link(canonical):
            return self.article_page_type(canonical)
        return page_type

    def article_page_type(self, canonical_url: str) -> str:
        """The page type of a URL that matches an article pattern (``print`` for print
        versions in spiders that know them)."""
        return "article"

    def content_link(self, href: str, response: TextResponse, via: str) -> Link:
        """How an article candidate is fetched (a hook: print versions, backfills)."""
        return (href, "article", via)

    def extract_links(self, response: TextResponse, page_type: str) -> Iterable[Link]:
        """The links of a page: a feed's or sitemap's items, else the CSS hints' links, every
        link matching the source's patterns, and the :meth:`checked_links`."""
        kind = xml_kind(response)
        if kind is not None:
            return self.xml_links(response, kind)
        links = self.hint_links(response)
        links += self.pattern_links(response)
        links += self.checked_links(response, page_type)
        return links

    def xml_links(self, response: TextResponse, kind: str) -> list[Link]:
        """Feed items are article candidates (a feed vouches for its items); a sitemap index
        leads to sitemaps; a sitemap's pages are followed when they match an article pattern
        (a sitemap lists every page of a site, menus and contacts included)."""
        if kind == "feed":
            return [self.content_link(href, response, "feed") for href, _ in feed_items(response)]
        if is_sitemap_index(response):
            return [(href, "list", "sitemap") for href in feed_links(response)]
        base = self.link_base(response)
        links: list[Link] = []
        for href in feed_links(response):
            absolute = self.absolute(base, href)
            if absolute is not None and self.is_article_link(self.to_canonical(absolute)):
                links.append(self.content_link(href, response, "sitemap"))
        return links

    def hint_links(self, response: TextResponse) -> list[Link]:
        """Links found through the optional CSS hints (list items, next page)."""
        links: list[Link] = []
        try:
            if self.list_css:
                for item in response.css(self.list_css):
                    for href in item.xpath("descendant-or-self::a/@href").getall():
                        links.append(self.content_link(href, response, "list"))
            if self.next_css:
                for item in response.css(self.next_css):
                    links += [
                        (h, "list", "list")
                        for h in item.xpath("descendant-or-self::a/@href").getall()
                    ]
        except ValueError:  # not HTML
            return []
        return links

    def pattern_links(self, response: TextResponse) -> list[Link]:
        """Every link of the page whose canonical URL matches an article pattern (as an article
        candidate) or a list pattern (as navigation), articles first, in page order; on-site
        documents (PDF...) anywhere are checked (``not_article`` skip records)."""
        try:
            hrefs = response.css("a::attr(href), area::attr(href)").getall()
        except ValueError:  # not HTML
            return []
        base = self.link_base(response)
        articles: list[Link] = []
        navigation: list[Link] = []
        for href in hrefs:
            absolute = self.absolute(base, href)
            if absolute is None:
                continue
            canonical = self.to_canonical(absolute)
            if self.is_article_link(canonical):
                articles.append(self.content_link(href, response, "pattern"))
            elif self.is_list_link(canonical):
                navigation.append((href, "list", "list"))
            elif document_extension(canonical) and self.is_onsite(canonical):
                articles.append((href, None, "link"))
        return articles + navigation

    def checked_links(self, response: TextResponse, page_type: str) -> list[Link]:
        """Links that are only checked (documents and other sites become skip records): a
        hook for the region of an article that holds its own links."""
        return []


def is_sitemap_index(response: TextResponse) -> bool:
    return b"<sitemapindex" in response.body[:2000].lower()


_DOCTYPE_RE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


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


def classify_failure(failure: Failure, redirects: int = 0) -> tuple[str | None, str]:
    """``(skip_reason, detail)`` of a request that got no response (see the module doc)."""
    message = failure.getErrorMessage()
    name = failure.type.__name__ if failure.type is not None else "Error"
    raw = f"{name}: {message}" if message else name
    if failure.check(IgnoreRequest):
        low = message.lower()
        if "robots" in low:
            return "disallowed", raw
        if "max redirections" in low:
            return None, f"redirect loop: {redirects} redirects, {raw}"
        if "download_maxsize" in low or "decompression" in low:
            return "too_large", f"decompression bomb: {raw}"
        if "offsite" in low:
            return "offsite", raw
        return None, f"error: {raw}"
    if failure.check(DownloadCancelledError, CancelledError):
        # The only cancellations before the spider closes are the size limits (a timeout
        # becomes DownloadTimeoutError).
        return "too_large", f"size limit: {raw}"
    if failure.check(DownloadTimeoutError, twisted_error.TimeoutError):
        return None, f"timeout: {raw}"
    if failure.check(ResponseDataLossError):
        cause = getattr(failure.value, "__cause__", None)
        reasons = getattr(cause, "reasons", None) or []
        if any(r.check(twisted_error.ConnectionLost) for r in reasons):
            return None, f"connection reset: body cut, {raw}"
        return None, f"truncated: body shorter than Content-Length, {raw}"
    if failure.check(twisted_error.ConnectionLost, twisted_error.ConnectionDone):
        return None, f"connection reset: {raw}"
    if failure.check(DownloadConnectionRefusedError, twisted_error.ConnectionRefusedError):
        return None, f"connection refused: {raw}"
    if failure.check(CannotResolveHostError, twisted_error.DNSLookupError):
        return None, f"dns: {raw}"
    return None, f"error: {raw}"


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
