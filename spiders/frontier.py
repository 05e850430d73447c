"""A crawl frontier shared through Redis: several crawl workers (processes, machines) share one
request queue, one duplicate filter, one page budget, the robots.txt rules and each site's
request rate. Built on scrapy-redis (its scheduler, priority queue and dupefilter key), with:

- **claims**: a new request enters the queue only if its key (the spider's ``seen_key``, in
  ``meta["infoshos_key"]``) was never claimed in this crawl: claim, budget count and push are
  one Lua script, so a worker dying between them loses nothing. Retries and redirects
  (``retry_times`` / ``redirect_times`` in meta) are pushed without a claim.
- **leases** (reliable queue): a worker's pop moves the request into a lease sorted set (expiry
  = Redis time + ``INFOSHOS_FRONTIER_LEASE``), renewed while the worker lives. A request is
  acknowledged (its lease removed) only after its callback finished (its new requests pushed)
  *and* a spool part holding its records was written. Expired leases (a worker killed) go
  back to the queue, taken by whichever worker is idle: at least once, never lost.
- **politeness**: one slot per origin (scheme-less ``host:port``, as
  :func:`infoshos.spiders.urls.url_origin`): a request is sent only after taking the origin's
  slot, atomically in Redis (``next allowed time`` = Redis time + the delay), at the moment
  of sending (a download handler), so N workers never hit a site N times as often.
  robots.txt is fetched once per origin and crawl, its body shared.
- **the end**: a worker stops when the queue is empty and no lease is held, by anyone.

Keys, all below ``infoshos:frontier:<crawl>:``: ``requests`` (queue), ``dupefilter`` (claimed
keys), ``count`` (claims), ``leases``, ``scores``, ``robots:<origin>``, ``slot:<origin>``.
"""

from __future__ import annotations

import logging
from typing import Any, Self, cast

import redis
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import build_from_crawler
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from infoshos.spiders.urls import origin_text

logger = logging.getLogger(__name__)

PREFIX = "infoshos:frontier"
#: Seconds a popped request stays leased without renewal (renewed every third of it).
DEFAULT_LEASE = 30.0

_PUSH = """
if ARGV[3] ~= '' then
  if redis.call('SADD', KEYS[2], ARGV[3]) == 0 then return 0 end
  local n = redis.call('INCR', KEYS[3])
  if tonumber(ARGV[4]) > 0 and n > tonumber(ARGV[4]) then return -1 end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""
_NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
_POP = (
    _NOW
    + """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), r[1])
redis.call('HSET', KEYS[3], r[1], r[2])
return r[1]
"""
)
_RENEW = (
    _NOW
    + """
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
return #ARGV - 1
"""
)
_REQUEUE = (
    _NOW
    + """
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, data in ipairs(gone) do
  redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[3], data) or 0, data)
  redis.call('ZREM', KEYS[2], data)
  redis.call('HDEL', KEYS[3], data)
end
return #gone
"""
)
#: Take an origin's slot: 0 when taken (the next one is ``delay`` later), else the ms to wait.
_SLOT = (
    _NOW
    + """
local next = tonumber(redis.call('GET', KEYS[1]) or '0')
if next > now then return next - now end
redis.call('SET', KEYS[1], now + tonumber(ARGV[1]), 'PX', tonumber(ARGV[1]) + 60000)
return 0
"""
)


def crawl_key(crawl: str, name: str) -> str:
    return f"{PREFIX}:{crawl}:{name}"


def frontier_settings(
    redis_url: str, crawl: str, lease: float = DEFAULT_LEASE, max_pages: int = 0
) -> dict[str, Any]:
    """The Scrapy settings of a crawl worker joining the frontier ``crawl`` at ``redis_url``."""
    return {
        "REDIS_URL": redis_url,
        "SCHEDULER": "infoshos.spiders.frontier.FrontierScheduler",
        "SCHEDULER_QUEUE_CLASS": "infoshos.spiders.frontier.LeasedQueue",
        "SCHEDULER_QUEUE_KEY": crawl_key(crawl, "requests"),
        "SCHEDULER_DUPEFILTER_KEY": crawl_key(crawl, "dupefilter"),
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,  # a worker closing never clears the shared queue
        "INFOSHOS_FRONTIER": crawl,
        "INFOSHOS_FRONTIER_LEASE": lease,
        "INFOSHOS_FRONTIER_MAX_PAGES": max_pages,
        "INFOSHOS_SPOOL_PARTS": True,
    }


def frontier_keys(client: redis.Redis, crawl: str) -> list[str]:
    return [k.decode() for k in client.scan_iter(match=crawl_key(crawl, "*"))]


def reset_frontier(client: redis.Redis, crawl: str) -> int:
    """Forget a crawl's queue, claims, leases, robots and slots (before a new run of it)."""
    keys = frontier_keys(client, crawl)
    return int(client.delete(*keys)) if keys else 0


def frontier_state(client: redis.Redis, crawl: str) -> dict[str, int]:
    """Queued requests, leased requests and claimed keys of a crawl."""
    return {
        "queued": int(client.zcard(crawl_key(crawl, "requests"))),
        "leased": int(client.zcard(crawl_key(crawl, "leases"))),
        "claimed": int(client.scard(crawl_key(crawl, "dupefilter"))),
    }


def _is_new(request: Request) -> bool:
    """A request from a spider callback (claimed once), not a retry or a redirect of one."""
    return not (request.meta.get("retry_times") or request.meta.get("redirect_times"))


class LeasedQueue(PriorityQueue):
    """scrapy-redis's priority queue with claims on push and leases on pop."""

    def __init__(self, server: redis.Redis, spider: Spider, key: str, serializer: Any = None):
        super().__init__(server, spider, key, serializer)
        settings = spider.crawler.settings
        crawl = settings.get("INFOSHOS_FRONTIER")
        self.lease_ms = int(settings.getfloat("INFOSHOS_FRONTIER_LEASE", DEFAULT_LEASE) * 1000)
        self.max_pages = settings.getint("INFOSHOS_FRONTIER_MAX_PAGES", 0)
        self.keys = {n: crawl_key(crawl, n) for n in ("dupefilter", "count", "leases", "scores")}
        self._push = server.register_script(_PUSH)
        self._pop = server.register_script(_POP)
        self._renew = server.register_script(_RENEW)
        self._requeue = server.register_script(_REQUEUE)
        #: Requests this worker popped and has not acknowledged: request -> lease member.
        self.held: dict[Request, bytes] = {}

    def push(self, request: Request) -> None:
        key = str(request.meta.get("infoshos_key") or "") if _is_new(request) else ""
        k = self.keys
        self._push(
            keys=[self.key, k["dupefilter"], k["count"]],
            args=[self._encode_request(request), -request.priority, key, self.max_pages],
        )

    def pop(self, timeout: int = 0) -> Request | None:
        data = self._pop(keys=[self.key, self.keys["leases"], self.keys["scores"]],
                         args=[self.lease_ms])  # fmt: skip
        if data is None:
            return None
        request: Request = self._decode_request(data)
        self.held[request] = data
        return request

    def ack(self, requests: list[Request]) -> None:
        members = [self.held.pop(r) for r in requests if r in self.held]
        if members:
            pipe = self.server.pipeline()
            pipe.zrem(self.keys["leases"], *members)
            pipe.hdel(self.keys["scores"], *members)
            pipe.execute()

    def renew(self) -> None:
        if self.held:
            self._renew(keys=[self.keys["leases"]], args=[self.lease_ms, *self.held.values()])

    def requeue_expired(self) -> int:
        keys = [self.key, self.keys["leases"], self.keys["scores"]]
        return int(self._requeue(keys=keys) or 0)

    def leased(self) -> int:
        return int(self.server.zcard(self.keys["leases"]))

    def clear(self) -> None:
        """Never: the queue is the crawl's, not this worker's (see :func:`reset_frontier`)."""


class FrontierScheduler(Scheduler):
    """scrapy-redis's scheduler: every request goes to the shared queue (the queue claims)."""

    queue: LeasedQueue

    def enqueue_request(self, request: Request) -> bool:
        self.queue.push(request)
        self.stats.inc_value("scheduler/enqueued/redis")
        return True


class FrontierWorker:
    """The worker's side of the leases: renews them, acknowledges finished requests after each
    spool part is written, re-queues expired leases and keeps an idle worker alive (polling the
    queue) until the whole crawl is done."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.interval = max(0.2, crawler.settings.getfloat("INFOSHOS_FRONTIER_LEASE") / 3)
        self._loop: Any = None
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)
        crawler.signals.connect(self.idle, signal=signals.spider_idle)
        from infoshos.spiders.spool import spool_part_written

        crawler.signals.connect(self.part_written, signal=spool_part_written)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        from scrapy.exceptions import NotConfigured

        if not crawler.settings.get("INFOSHOS_FRONTIER"):
            raise NotConfigured("not a frontier crawl")
        return cls(crawler)

    @property
    def queue(self) -> LeasedQueue:
        assert self.crawler.engine is not None
        return self.crawler.engine._slot.scheduler.queue  # type: ignore[union-attr]

    def opened(self) -> None:
        from twisted.internet import task

        self._loop = task.LoopingCall(self.tick)
        self._loop.start(self.interval, now=False)

    def closed(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def tick(self) -> None:
        queue = self.queue
        queue.renew()
        queue.requeue_expired()

    def part_written(self) -> None:
        """Acknowledge the requests whose processing ended (their records are in the buffer
        that was just written: the write is synchronous, nothing ran in between)."""
        engine = self.crawler.engine
        slot = getattr(engine, "_slot", None)
        if slot is None:
            return
        queue = slot.scheduler.queue
        done = [r for r in queue.held if r not in slot.inprogress]
        queue.ack(done)

    def idle(self) -> None:
        queue = self.queue
        queue.requeue_expired()
        if len(queue) or queue.leased():
            from twisted.internet import reactor

            engine = self.crawler.engine
            slot = getattr(engine, "_slot", None)
            if slot is not None:  # poll again soon, not at the 5 s heartbeat
                cast(Any, reactor).callLater(min(self.interval, 0.5), slot.nextcall.schedule)
            raise DontCloseSpider("the shared frontier is not done")


class PoliteHTTPHandler:
    """Scrapy's HTTP handler behind the shared per-origin slot: waits (without blocking the
    reactor) until the origin's slot is free in Redis, takes it, then sends the request."""

    lazy = True

    def __init__(self, crawler: Crawler) -> None:
        from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

        self.inner = HTTP11DownloadHandler(crawler)
        s = crawler.settings
        self.delay_ms = int(s.getfloat("INFOSHOS_FRONTIER_DELAY", 0.0) * 1000)
        self.crawl = s.get("INFOSHOS_FRONTIER")
        self.server = redis.Redis.from_url(s.get("REDIS_URL"))
        self._slot = self.server.register_script(_SLOT)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def download_request(self, request: Request) -> Response:
        if self.delay_ms > 0:
            from twisted.internet import reactor
            from twisted.internet.task import deferLater

            key = crawl_key(self.crawl, f"slot:{origin_text(request.url)}")
            while wait := int(self._slot(keys=[key], args=[self.delay_ms])):
                await maybe_deferred_to_future(deferLater(reactor, wait / 1000, lambda: None))
        response: Response = await self.inner.download_request(request)
        return response

    async def close(self) -> None:
        await self.inner.close()
        self.server.close()


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """robots.txt fetched once per origin and crawl: the first worker stores its body in Redis,
    the others parse the stored body (the same rules for every worker)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        s = crawler.settings
        self.crawl = s.get("INFOSHOS_FRONTIER")
        self.server = redis.Redis.from_url(s.get("REDIS_URL")) if self.crawl else None

    def _key(self, request: Request) -> str:
        return crawl_key(self.crawl, f"robots:{origin_text(request.url)}")

    async def robot_parser(self, request: Request) -> Any:
        from scrapy.utils.httpobj import urlparse_cached

        netloc = urlparse_cached(request).netloc
        if self.server is not None and netloc not in self._parsers:
            body = self.server.get(self._key(request))
            if body is not None:
                self._parsers[netloc] = build_from_crawler(
                    cast(Any, self._parserimpl), self.crawler, body
                )
                self._stats.inc_value("robotstxt/shared")
        return await super().robot_parser(request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if self.server is not None and response.status < 500:
            body = response.body if response.status < 300 else b""
            self.server.set(self._key(request), body, nx=True)
        await super()._parse_robots(response, netloc, request)
