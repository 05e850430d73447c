"""Live progress of a crawl: a Scrapy extension that appends one JSON line every
``INFOSHOS_PROGRESS_INTERVAL`` seconds (and a last one at the end) to the file
``INFOSHOS_PROGRESS`` (unset: the extension is off). The flow tails that file while the crawl
subprocess runs (see ``infoshos.flows.progress``).

A line: ``{"source", "elapsed", "pages", "articles", "rejects": {reason: n}, "rate", "done",
"total", "eta", "final"}``: pages fetched (any answer), candidate article pages fetched (200 or
304), links skipped and failed fetches by reason, pages per second over the last interval, and
``done``/``total``/``eta`` (seconds) when the total is known: an idn range (idns walked) or a
``max_pages`` limit (pages fetched); otherwise null.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from infoshos.warehouse.schema import ARTICLE_PAGE_TYPES

#: Stats counters of the spiders that are skips too (``infoshos/<name>``).
SKIP_STATS = ("known_skipped", "since_skipped")


def eta(done: int | None, total: int | None, rate: float) -> float | None:
    """Seconds left at ``rate`` units per second, when the total is known."""
    if done is None or total is None or rate <= 0:
        return None
    return max(total - done, 0) / rate


class ProgressReporter:
    def __init__(self, crawler: Crawler, path: Path, interval: float) -> None:
        self.crawler = crawler
        self.path = path
        self.interval = interval
        self.pages = 0
        self.articles = 0
        self.rejects: Counter[str] = Counter()
        self.started = time.monotonic()
        self._last = (self.started, 0, 0)  # time, pages, done at the last line
        self._task: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressReporter:
        path = crawler.settings.get("INFOSHOS_PROGRESS")
        if not path:
            raise NotConfigured("INFOSHOS_PROGRESS is not set")
        interval = crawler.settings.getfloat("INFOSHOS_PROGRESS_INTERVAL", 2.0)
        ext = cls(crawler, Path(path), interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        from twisted.internet.task import LoopingCall

        self.started = time.monotonic()
        self._last = (self.started, 0, 0)
        self._task = LoopingCall(self.write, spider)
        self._task.start(self.interval, now=False)

    def spider_closed(self, spider: Spider) -> None:
        if self._task is not None and self._task.running:
            self._task.stop()
        self.write(spider, final=True)

    def item_scraped(self, item: Any, spider: Spider) -> None:
        record = dict(item)
        status = record.get("status")
        reason = record.get("skip_reason")
        if reason:
            self.rejects[str(reason)] += 1
            return
        if status is None:
            self.rejects["http_error"] += 1  # no answer
            return
        self.pages += 1
        if int(status) >= 400:
            self.rejects["http_error"] += 1
        elif record.get("page_type") in ARTICLE_PAGE_TYPES and int(status) in (200, 304):
            self.articles += 1

    def _stat(self, name: str) -> Any:
        stats = self.crawler.stats
        return stats.get_value(f"infoshos/{name}") if stats is not None else None

    def _done_total(self, spider: Spider) -> tuple[int | None, int | None]:
        lo, hi = getattr(spider, "idn_from", None), getattr(spider, "idn_to", None)
        if lo is not None and hi is not None:
            last = self._stat("idn_last")
            return (0 if last is None else int(last) - lo + 1), hi - lo + 1
        limit = int(getattr(spider, "max_pages", 0) or 0)
        if limit:  # an upper bound: the crawl may end before it
            return min(self.pages, limit), limit
        return None, None

    def snapshot(self, spider: Spider, final: bool = False) -> dict[str, Any]:
        now = time.monotonic()
        done, total = self._done_total(spider)
        then, pages_then, done_then = self._last
        span = max(now - then, 1e-9)
        rate = (self.pages - pages_then) / span
        unit_rate = ((done or 0) - done_then) / span if done is not None else 0.0
        self._last = (now, self.pages, done or 0)
        rejects = Counter(self.rejects)
        for name in SKIP_STATS:
            rejects[name.removesuffix("_skipped")] += int(self._stat(name) or 0)
        return {
            "source": getattr(spider, "source", spider.name),
            "elapsed": round(now - self.started, 2),
            "pages": self.pages,
            "articles": self.articles,
            "rejects": {k: v for k, v in sorted(rejects.items()) if v},
            "rate": round(rate, 2),
            "done": done,
            "total": total,
            "eta": None if final else eta(done, total, unit_rate),
            "final": final,
        }

    def write(self, spider: Spider, final: bool = False) -> None:
        line = json.dumps(self.snapshot(spider, final), sort_keys=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
