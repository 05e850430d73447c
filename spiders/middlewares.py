"""Downloader middlewares of the infoshos crawls.

:class:`OffsiteMiddleware` replaces Scrapy's: it refuses every request outside the spider's
site -- an origin, host and port (``PortalSpider.may_fetch``; ``allowed_domains`` for other
spiders) -- or with a scheme other than http(s), also requests with ``dont_filter`` (the
spiders set it on every request, since they deduplicate themselves), so a redirect to another
site, another port of the same host included, is refused before any DNS lookup or robots.txt.

:class:`RetryAfterMiddleware` honours ``Retry-After`` on 429 and 503 answers: before Scrapy's
retry middleware schedules the retry, it waits the number of seconds the server asked for
(capped by ``INFOSHOS_RETRY_AFTER_MAX``; longer or unparsable values are not waited for, the
retry then follows the usual schedule). No wait when the retries are used up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Self

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware as ScrapyOffsiteMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached

RETRY_AFTER_CODES = frozenset({429, 503})


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware:
    def __init__(self, max_wait: float, retry_times: int, codes: set[int]) -> None:
        self.max_wait = max_wait
        self.retry_times = retry_times
        self.codes = codes

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        codes = {int(c) for c in s.getlist("RETRY_HTTP_CODES")} & RETRY_AFTER_CODES
        if not s.getbool("RETRY_ENABLED"):
            codes = set()
        return cls(s.getfloat("INFOSHOS_RETRY_AFTER_MAX", 30.0), s.getint("RETRY_TIMES"), codes)

    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in self.codes or request.meta.get("dont_retry"):
            return response
        retries = request.meta.get("max_retry_times", self.retry_times)
        if request.meta.get("retry_times", 0) >= retries:
            return response
        raw = response.headers.get(b"Retry-After")
        wait = retry_after_seconds(raw.decode("latin-1") if raw else None)
        if wait is None or wait <= 0 or wait > self.max_wait:
            return response
        from twisted.internet import reactor
        from twisted.internet.task import deferLater

        await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))
        request.meta["infoshos_retry_after"] = wait
        return response


class OffsiteMiddleware(ScrapyOffsiteMiddleware):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        # Not on ``request_scheduled``: a request refused there is dropped without an errback;
        # refused when it is downloaded, it reaches the spider's errback (an ``offsite`` row).
        o = cls(crawler.stats)
        crawler.signals.connect(o.spider_opened, signal=signals.spider_opened)
        o.crawler = crawler
        return o

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if urlparse_cached(request).scheme not in ("http", "https"):
            raise IgnoreRequest(f"Filtered offsite request: scheme of {request.url[:80]!r}")
        if request.meta.get("allow_offsite"):
            return
        request_spider = self.crawler.spider
        assert request_spider is not None
        may_fetch = getattr(request_spider, "may_fetch", None)
        if may_fetch(request.url) if may_fetch else self.should_follow(request, request_spider):
            return
        parts = urlparse_cached(request)
        where = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        self.stats.inc_value("offsite/filtered")
        raise IgnoreRequest(f"Filtered offsite request to {where!r}")
