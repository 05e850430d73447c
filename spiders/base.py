"""The base spider: the Scrapy shell that composes the crawl's rules.

Spiders only fetch and classify; every fetch, every link deliberately not followed and every
request that got no response becomes one spool record. The rules live in modules of their own,
pure functions testable without Scrapy's engine; :class:`PortalSpider` holds a crawl's state
(what was requested, what was skipped, the counts) and applies them:

- :mod:`infoshos.spiders.urls`: URL mapping (a local mirror's URLs to canonical ones and
  back), origins (what is on the site), source patterns, documents, language hints;
- :mod:`infoshos.spiders.policy`: which links are requested (off-site and document refusals,
  list depth, each URL once, the page budget) and the requests' meta;
- :mod:`infoshos.spiders.feeds`: feeds and sitemaps (detection, safe parsing, their links);
- :mod:`infoshos.spiders.incremental`: the known file, ``full`` and ``since`` (which links are
  skipped, dated, or fetched again conditionally);
- :mod:`infoshos.spiders.records`: what a fetch, a skip or a failure becomes as a spool record.

A portal spider subclasses :class:`PortalSpider` and answers a few questions through hooks:
:meth:`~PortalSpider.article_page_type`, :meth:`~PortalSpider.content_link`,
:meth:`~PortalSpider.checked_links` (and, for the generic spider, :meth:`~PortalSpider.classify`,
:meth:`~PortalSpider.extract_links`, :meth:`~PortalSpider.xml_links`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import date
from typing import Any, cast
from urllib.parse import urljoin

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from infoshos.spiders import feeds, incremental, records
from infoshos.spiders.crawl import DEFAULT_LIST_DEPTH
from infoshos.spiders.incremental import KnownPage, load_known, parse_since
from infoshos.spiders.policy import (
    CONTENT_TYPES,
    Link,
    nav_hops,
    refusal,
    request_meta,
    too_deep,
)
from infoshos.spiders.records import Record
from infoshos.spiders.urls import (
    Origin,
    absolute_url,
    compile_patterns,
    document_extension,
    domain_origin,
    matches,
    origin_matches,
    parse_url_map,
    split_arg,
    to_canonical,
    to_fetch,
    url_key,
    url_origin,
)
from infoshos.spiders.urls import language_hint as url_language
from infoshos.warehouse.schema import ARTICLE_PAGE_TYPES, NAVIGATION_PAGE_TYPES


class PortalSpider(scrapy.Spider):
    """Base of the portal spiders.

    Arguments: ``source`` (the source name), ``start_urls`` (fetch URLs), ``url_map`` (pairs of
    local and canonical prefixes), ``max_pages`` (requests in total, start URLs included;
    0 = no limit), ``allowed_domains`` (optional; derived from the start URLs), ``known`` (the
    path of a known file, or a ``{url_key: KnownPage}`` mapping), ``full`` (refetch known
    articles conditionally), ``since`` (``YYYY-MM-DD`` or a date).

    Discovery (see the module doc of each spider): ``article_patterns`` and ``list_patterns``
    (regular expressions searched in :func:`~infoshos.spiders.urls.url_target` of a link;
    default: the spider's :attr:`ARTICLE_PATTERNS` / :attr:`LIST_PATTERNS`), ``list_css`` /
    ``next_css`` (optional CSS hints: one item of a list page, its next-page link),
    ``list_depth`` (navigation hops followed from a start URL). Every link of every fetched page
    whose canonical URL matches an article pattern is fetched as an article candidate (``via``
    ``pattern``); links matching a list pattern are fetched as navigation (``list``) up to
    ``list_depth`` hops. Feeds and sitemaps are read wherever they are met. Whether a page *is*
    an article is the clean stage's decision (one rule, from the content); spiders never judge
    content.
    """

    name = "portal"
    #: Page type of start URLs that :meth:`start_page_type` cannot classify.
    default_start_type = "list"
    #: The portal's article / navigation URL patterns, used when the source gives none.
    ARTICLE_PATTERNS: tuple[str, ...] = ()
    LIST_PATTERNS: tuple[str, ...] = ()
    #: CSS of the links in an article page's own region (its text, its attachments): checked,
    #: not followed (see :meth:`checked_links`); empty: none.
    ARTICLE_LINKS = ""
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
        self.start_urls = split_arg(start_urls) or list(getattr(type(self), "start_urls", []))
        self.url_map = parse_url_map(url_map)
        self.max_pages = int(max_pages or 0)
        canonical = {url_origin(self.to_canonical(u)) for u in self.start_urls}
        extra = {domain_origin(d) for d in split_arg(allowed_domains)}
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
        #: Keys (:func:`~infoshos.spiders.urls.url_key`) of what the warehouse has.
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

    # -- URLs (infoshos.spiders.urls) ---------------------------------------------------------

    def to_canonical(self, url: str) -> str:
        """The canonical URL of a fetched URL (identity when no mapping applies)."""
        return to_canonical(url, self.url_map)

    def to_fetch(self, url: str) -> str:
        """The URL to request for a URL seen in a page (canonical links go to the mirror)."""
        return to_fetch(url, self.url_map)

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
        return matches(self.article_patterns, canonical_url)

    def is_list_link(self, canonical_url: str) -> bool:
        """True when the URL matches one of the source's navigation patterns."""
        return matches(self.list_patterns, canonical_url)

    def language_hint(self, canonical_url: str, response: Response | None = None) -> str | None:
        """A language guessed from the URL (edition subdomain, path segment, feed name)."""
        header = response.headers.get(b"Content-Language") if response is not None else None
        return url_language(canonical_url, header)

    def link_base(self, response: Response) -> str:
        """The URL relative links of a page resolve against (``<base href>`` if any)."""
        if isinstance(response, TextResponse):
            try:
                return urljoin(response.url, response.css("base::attr(href)").get() or "")
            except ValueError:  # not HTML/XML
                return response.url
        return response.url

    def followable(self, absolute: str) -> str | None:
        """The key of a URL the crawl would request (on-site, not a document), else None."""
        canonical = self.to_canonical(absolute)
        if not self.is_onsite(canonical) or document_extension(canonical):
            return None
        return url_key(canonical)

    def key_of(self, base: str) -> incremental.KeyOf:
        """href -> the key of the URL it would be requested as (relative to ``base``)."""

        def key(href: str) -> str | None:
            absolute = absolute_url(base, href)
            return self.followable(absolute) if absolute else None

        return key

    def article_key(self, base: str) -> incremental.KeyOf:
        """href -> the key of an article link (relative to ``base``), else None."""

        def key(href: str) -> str | None:
            absolute = absolute_url(base, href)
            if absolute is None:
                return None
            canonical = self.to_canonical(absolute)
            return url_key(canonical) if self.is_article_link(canonical) else None

        return key

    # -- records (infoshos.spiders.records) -----------------------------------------------------

    def errback(self, failure: Failure) -> Iterator[Record]:
        """A request that got no response: DNS error, timeout, refused, robots.txt..."""
        yield records.failure_record(failure, self.source, self.to_canonical)

    def _skip_once(
        self, canonical: str, reason: str, detail: str, referer: str, via: str | None = None
    ) -> Iterator[Record]:
        if (canonical, reason) not in self._skipped:
            self._skipped.add((canonical, reason))
            yield records.skip_record(canonical, self.source, reason, detail, referer, via=via)

    # -- requests (infoshos.spiders.policy) -----------------------------------------------------

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
            headers = incremental.conditional_headers(entry)
        # Always dont_filter (the argument is kept for callers): see infoshos.spiders.policy.
        return scrapy.Request(
            fetch_url,
            callback=self.parse,
            errback=self.errback,
            dont_filter=True,
            priority=-depth,
            headers=headers or None,
            meta=request_meta(page_type, referer, depth, via, nav_depth, self.seen_key(fetch_url)),
        )

    def budget_left(self) -> bool:
        return not self.max_pages or self.requested < self.max_pages

    def start_page_type(self, url: str) -> str:
        """Page type of a start URL (feeds end in .xml/.rss or contain rss/atom/feed)."""
        return "feed" if feeds.is_feed_url(self.to_canonical(url)) else self.default_start_type

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
        for key in incremental.known_articles(self.known):
            if not self.is_onsite(key) or not self.budget_left():
                continue
            fetch = self.to_fetch(key)
            seen = self.seen_key(fetch)
            if seen in self._seen:
                continue
            self._seen.add(seen)
            self.requested += 1
            yield self.request(fetch, "article", depth=1, via="revisit")

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
            absolute = absolute_url(base, href)
            if absolute is None:
                continue
            canonical = self.to_canonical(absolute)
            refused = refusal(canonical, self.is_onsite(canonical))
            if refused is not None:
                yield from self._skip_once(canonical, *refused, referer, via)
                continue
            if page_type is None:
                continue
            self.links_by_via.setdefault(via, set()).add(canonical)
            hops = nav_hops(nav, page_type)
            if too_deep(hops, page_type, self.list_depth):
                continue
            fetch = self.to_fetch(absolute)
            key = self.seen_key(fetch)
            if key in self._seen or not self.budget_left():
                continue
            self._seen.add(key)
            self.requested += 1
            yield self.request(fetch, page_type, referer, depth, via=via, nav_depth=hops)

    # -- incremental (infoshos.spiders.incremental) -----------------------------------------------

    def item_dates(self, response: TextResponse, page_type: str) -> dict[str, date | None]:
        """``{url_key: list date or None}`` of the items of a list, feed or sitemap page
        (:func:`infoshos.spiders.incremental.item_dates`)."""
        base = self.link_base(response)
        return incremental.item_dates(
            response, page_type, self.key_of(base), self.article_key(base), self.list_css
        )

    def select_links(self, response: TextResponse, page_type: str, links: list[Link]) -> list[Link]:
        """The links left after the incremental rules (known URLs, ``since``, pagination)."""
        if not self.known and self.since is None:
            return links
        dates = self.item_dates(response, page_type) if self.since is not None else None
        key_of = self.key_of(self.link_base(response))
        chosen = incremental.select_links(
            links, page_type, key_of, self.known, self.full, self.since, dates
        )
        self.known_skipped |= chosen.known_skipped
        self.since_skipped |= chosen.since_skipped
        self.pagination_stopped += chosen.pagination_stopped
        return chosen.links

    def closed(self, reason: str) -> None:
        stats = getattr(getattr(self, "crawler", None), "stats", None)
        if stats is not None:
            stats.set_value("infoshos/known_skipped", len(self.known_skipped))
            stats.set_value("infoshos/since_skipped", len(self.since_skipped))
            stats.set_value("infoshos/pagination_stopped", self.pagination_stopped)
            found = {via: len(links) for via, links in sorted(self.links_by_via.items())}
            stats.set_value("infoshos/links_by_via", found)

    # -- callbacks ----------------------------------------------------------------------------

    def parse(self, response: Response, **kwargs: Any) -> Iterator[scrapy.Request | Record]:
        page_type = str(response.meta.get("page_type") or self.default_start_type)
        page_type = self.classify(response, page_type)
        record = records.page_record(response, page_type, self.source, self.to_canonical)
        xml = isinstance(response, TextResponse) and response.status < 300
        is_navigation = page_type in NAVIGATION_PAGE_TYPES
        if xml and is_navigation and feeds.xml_kind(response) is not None:
            problem = feeds.feed_problem(cast(TextResponse, response))
            record["detail"] = problem or record["detail"]
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
            kind = feeds.xml_kind(response)
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
        kind = feeds.xml_kind(response)
        if kind is not None:
            return self.xml_links(response, kind)
        links = self.hint_links(response)
        links += self.pattern_links(response)
        links += self.checked_links(response, page_type)
        return links

    def xml_links(self, response: TextResponse, kind: str) -> list[Link]:
        """The links of a feed or sitemap (:func:`infoshos.spiders.feeds.xml_links`)."""
        article_key = self.article_key(self.link_base(response))
        return feeds.xml_links(
            response,
            kind,
            lambda href, via: self.content_link(href, response, via),
            lambda href: article_key(href) is not None,
        )

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
            absolute = absolute_url(base, href)
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
        """Links that are only checked (documents and other sites become skip records): those
        :attr:`ARTICLE_LINKS` selects in an article page (a hook)."""
        if not self.ARTICLE_LINKS or page_type not in ARTICLE_PAGE_TYPES:
            return []
        return [(href, None, "link") for href in response.css(self.ARTICLE_LINKS).getall()]
