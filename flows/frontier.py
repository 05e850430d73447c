"""Crawls shared by several workers through Redis (:mod:`infoshos.spiders.frontier`).

A crawl of a source is named after the source; its workers write their spool parts to one
folder of the warehouse, ``<warehouse>/_frontier/<source>/`` (``<worker>-<n>.parquet``, one
stem per worker process: ``<host>-<pid>``), with the known file the run wrote there. Workers
on other machines see that folder through a shared file system (the same ``--warehouse``).

``infoshos run --redis URL`` resets each selected source's crawl (queue, claims, leases, spool
folder), writes the known file, runs one worker itself, and processes every part in the folder
once its worker is done, which is when the whole crawl is done (no request queued or leased,
every acknowledged request in a part). ``infoshos crawl-worker --redis URL --source NAME``
joins that crawl from any machine while it runs (started alone, it crawls on its own).
"""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

FOLDER = "_frontier"


@dataclass(frozen=True)
class Frontier:
    """Where a crawl worker joins: the Redis URL and the crawl's name (``lease``: seconds a
    killed worker's requests stay taken; None: the default)."""

    redis: str
    crawl: str
    lease: float | None = None


def frontier_folder(warehouse: str | os.PathLike[str], crawl: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in crawl)
    return Path(warehouse) / FOLDER / safe


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def spool_parts(folder: Path) -> list[Path]:
    """Every worker's spool parts in the folder (parts being written end in ``.tmp``)."""
    return sorted(folder.glob("*.parquet")) if folder.exists() else []


def check_redis(url: str) -> None:
    """A reachable Redis, else a ConfigError naming the URL (one line, before any crawl)."""
    import redis

    from infoshos.flows.sources import ConfigError

    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"--redis {url!r} is not a redis:// URL")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except (redis.RedisError, ValueError) as exc:
        raise ConfigError(f"--redis {url}: {exc}") from None


def start_crawl(frontier: Frontier, folder: Path) -> None:
    """A new crawl: the previous one's queue, claims, leases and spool parts are forgotten."""
    import redis

    from infoshos.spiders.frontier import reset_frontier

    reset_frontier(redis.Redis.from_url(frontier.redis), frontier.crawl)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
