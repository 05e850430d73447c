"""Scrapy settings for the infoshos crawls.

The defaults are polite for live portals (one request at a time per domain, a delay between
requests, AutoThrottle on). ``python -m infoshos.spiders.crawl --delay 0 --concurrency 8``
overrides them for the local sample site. Load with ``Settings().setmodule(...)`` or use
:func:`as_dict`.
"""

from __future__ import annotations

from typing import Any

BOT_NAME = "infoshos"
# Only the portal spiders: the spider loader imports these eagerly.
SPIDER_MODULES = [
    "infoshos.spiders.infoshos",
    "infoshos.spiders.sectsco",
    "infoshos.spiders.ecrats",
    "infoshos.spiders.generic",
]

USER_AGENT = "infoshos/0.1 (+https://github.com/infoshos/infoshos)"

# Scrapy 2.19 opens a remote-control port unless told not to; so does the telnet console.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False

ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False

# Politeness (live defaults).
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # +-50 %
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
#: Items processed in parallel per response (Scrapy default 100): each is an asyncio task, and
#: with a handful of records per page the bookkeeping costs more than it saves.
CONCURRENT_ITEMS = 8
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 408, 429]

# Every status reaches the spider and becomes a spool row (a 404 is data, not an exception).
HTTPERROR_ALLOW_ALL = True

DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30

DNSCACHE_ENABLED = True
DNS_TIMEOUT = 20

REDIRECT_MAX_TIMES = 10

# Off-site filtering of every request, redirects included (ours also ignores dont_filter).
# Retry-After is honoured before the retry middleware (550) sees the response.
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "infoshos.spiders.middlewares.OffsiteMiddleware": 50,
    "infoshos.spiders.middlewares.RetryAfterMiddleware": 560,
}
#: Longest Retry-After (seconds) waited for before a retry.
INFOSHOS_RETRY_AFTER_MAX = 30.0

ITEM_PIPELINES = {"infoshos.spiders.spool.SpoolWriter": 300}
#: Path of the spool Parquet file; the pipeline is disabled while it is unset.
INFOSHOS_SPOOL: str | None = None
#: Rows buffered before a row group is written.
INFOSHOS_SPOOL_BATCH = 200

# Live progress: one JSON line every INFOSHOS_PROGRESS_INTERVAL seconds to INFOSHOS_PROGRESS
# (off while unset); see infoshos.spiders.progress.
EXTENSIONS = {"infoshos.spiders.progress.ProgressReporter": 500}
INFOSHOS_PROGRESS: str | None = None
INFOSHOS_PROGRESS_INTERVAL = 2.0

LOG_LEVEL = "WARNING"
STATS_DUMP = False


def as_dict() -> dict[str, Any]:
    """The settings above as a plain dict (upper-case names only)."""
    return {k: v for k, v in globals().items() if k.isupper()}
