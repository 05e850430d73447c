"""Run one crawl into a spool Parquet file.

    python -m infoshos.spiders.crawl --spider infoshos --source infoshos \\
        --start-url http://127.0.0.1:8000/infoshos/en/news/?page=1 \\
        --url-map http://127.0.0.1:8000/infoshos/=http://infoshos.sample.test/ \\
        --out data/spool/infoshos.parquet --max-pages 200 --delay 0 --concurrency 8

One crawl per process (a Twisted reactor cannot be restarted). On a finished crawl it prints one
JSON line with counts, ``{"pages": n, "skipped": n, "errors": n, "known_skipped": n,
"not_modified": n, ...}``, and exits 0 (failed fetches are spool rows, not a failed crawl); bad
arguments give a one-line error on stderr and exit 2; a crawl that did not finish exits 1.

Incremental options: ``--known PATH.parquet`` (url, etag, last_modified, is_article: what the
warehouse has; known articles are not fetched and lists stop paging at known items),
``--full`` (fetch everything, known articles conditionally: a 304 is a row with status 304 and
no body), ``--since YYYY-MM-DD`` (items listed before that date are not followed). Limits:
``--max-bytes`` (download size limit, compressed or not), ``--timeout``, ``--retries``.

Discovery: ``--article-pattern REGEX`` and ``--list-pattern REGEX`` (repeatable; default: the
spider's own), ``--list-css CSS`` and ``--next-css CSS`` (optional hints), ``--list-depth N``
(navigation hops from a start URL, default 20); see :class:`infoshos.spiders.base.PortalSpider`.

Backfill (infoshos spider only): ``--idn-from N --idn-to M [--idn-gap K]`` walks the idn range
instead of the lists (both languages per idn; stops after K consecutive idns without an
article, default 50; see :mod:`infoshos.spiders.infoshos`). Backfill misses (404/410 at a
never-used idn) are not spool rows: the JSON line counts them as ``idn_missing`` and gives the
highest idn walked as ``idn_last`` (null when not backfilling). ``--idn-ahead`` (infoshos
only): with ``--known``, also walk idns upward from the highest known one until the gap.

Shared frontier (:mod:`infoshos.spiders.frontier`): ``--redis URL --frontier NAME`` makes this
process one worker of the crawl ``NAME``, sharing its queue, duplicate filter, page budget,
robots.txt and per-site delay (``--delay``) with every worker of that crawl; ``--out`` is then
the stem of the worker's spool parts (``<stem>-<n>.parquet``); ``--lease SECONDS`` (default 30)
is how long a killed worker's requests stay taken before they are re-queued.

Progress: ``--progress PATH`` appends a JSON line of counts every ``--progress-interval``
seconds (default 2) while the crawl runs (see :mod:`infoshos.spiders.progress`).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

#: The spiders by name (``--spider``; a source's ``spider``): ``module:class``, imported only by
#: the crawl that runs one (this module stays light: the CLI and the sources file read it).
SPIDERS = {
    "infoshos": "infoshos.spiders.infoshos:InfoshosSpider",
    "sectsco": "infoshos.spiders.sectsco:SectscoSpider",
    "ecrats": "infoshos.spiders.ecrats:EcratsSpider",
    "generic": "infoshos.spiders.generic:GenericSpider",
}
#: Navigation hops (lists, section fronts, pagination) followed from a start URL when neither
#: ``--list-depth`` nor a source's ``list_depth`` says (:func:`infoshos.spiders.policy.too_deep`).
DEFAULT_LIST_DEPTH = 20
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ArgumentError(message)


def crawl_command(
    spider: str,
    source: str,
    start_urls: Sequence[str],
    out: str | Path,
    url_map: Sequence[tuple[str, str]] | None = None,
    max_pages: int | None = None,
    delay: float | None = None,
    concurrency: int | None = None,
    log_level: str | None = None,
    python: str | None = None,
    known: str | Path | None = None,
    full: bool = False,
    since: str | None = None,
    max_bytes: int | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    no_robots: bool = False,
    idn_from: int | None = None,
    idn_to: int | None = None,
    idn_gap: int | None = None,
    progress: str | Path | None = None,
    progress_interval: float | None = None,
    article_patterns: Sequence[str] = (),
    list_patterns: Sequence[str] = (),
    list_css: str | None = None,
    next_css: str | None = None,
    list_depth: int | None = None,
    idn_ahead: bool = False,
    redis: str | None = None,
    frontier: str | None = None,
    lease: float | None = None,
) -> list[str]:
    """The argv of a crawl (``python -m infoshos.spiders.crawl ...``) for a subprocess: the one
    builder of a crawl's command line (the flow's crawl stage calls it too). An option left at
    its default (None, False, empty) is not written."""
    argv = [python or sys.executable, "-m", "infoshos.spiders.crawl", "--spider", spider]
    argv += ["--source", source]
    for url in start_urls:
        argv += ["--start-url", url]
    for local, canonical in url_map or []:
        argv += ["--url-map", f"{local}={canonical}"]
    argv += ["--out", str(out)]
    if max_pages is not None:
        argv += ["--max-pages", str(max_pages)]
    if delay is not None:
        argv += ["--delay", str(delay)]
    if concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    if log_level is not None:
        argv += ["--log-level", log_level]
    if known is not None:
        argv += ["--known", str(known)]
    if full:
        argv += ["--full"]
    if since is not None:
        argv += ["--since", str(since)]
    if max_bytes is not None:
        argv += ["--max-bytes", str(max_bytes)]
    if timeout is not None:
        argv += ["--timeout", str(timeout)]
    if retries is not None:
        argv += ["--retries", str(retries)]
    if no_robots:
        argv += ["--no-robots"]
    if progress is not None:
        argv += ["--progress", str(progress)]
    if progress_interval is not None:
        argv += ["--progress-interval", str(progress_interval)]
    argv += discovery_argv(article_patterns, list_patterns, list_css, next_css, list_depth)
    if idn_from is not None:
        argv += ["--idn-from", str(idn_from)]
    if idn_to is not None:
        argv += ["--idn-to", str(idn_to)]
    if idn_gap is not None:
        argv += ["--idn-gap", str(idn_gap)]
    if idn_ahead:
        argv += ["--idn-ahead"]
    argv += frontier_argv(redis, frontier, lease)
    return argv


def frontier_argv(redis: str | None, frontier: str | None, lease: float | None = None) -> list[str]:
    """The options that make a crawl one worker of a shared frontier (none without redis)."""
    if redis is None:
        return []
    argv = ["--redis", redis, "--frontier", str(frontier)]
    return argv + (["--lease", str(lease)] if lease is not None else [])


def discovery_argv(
    article_patterns: Sequence[str] = (),
    list_patterns: Sequence[str] = (),
    list_css: str | None = None,
    next_css: str | None = None,
    list_depth: int | None = None,
) -> list[str]:
    """The discovery options of a crawl's argv (a source's patterns and hints)."""
    argv: list[str] = []
    for pattern in article_patterns:
        argv.append(f"--article-pattern={pattern}")
    for pattern in list_patterns:
        argv.append(f"--list-pattern={pattern}")
    if list_css:
        argv.append(f"--list-css={list_css}")
    if next_css:
        argv.append(f"--next-css={next_css}")
    if list_depth is not None:
        argv += ["--list-depth", str(list_depth)]
    return argv


def finite_number(text: str, what: str = "a number") -> float:
    """A float option's value (an argparse type, here and in ``infoshos.flows.cli.parser``);
    ``nan`` and ``inf`` are refused: no option of ours means them."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m infoshos.spiders.crawl", description=__doc__.split("\n")[0])
    p.add_argument("--spider", required=True, choices=sorted(SPIDERS))
    p.add_argument("--source", required=True)
    p.add_argument("--start-url", action="append", required=True, dest="start_urls")
    p.add_argument("--url-map", action="append", default=[], metavar="LOCAL=CANONICAL")
    p.add_argument("--out", required=True)
    p.add_argument("--max-pages", type=int, default=0, help="0 = no limit")
    p.add_argument("--max-depth", type=int, default=None, help="generic spider only")
    p.add_argument("--prefer-print", action="store_true", help="infoshos: fetch print pages")
    p.add_argument(
        "--delay", type=finite_number, default=None, help="seconds; disables AutoThrottle"
    )
    p.add_argument("--concurrency", type=int, default=None, help="requests per domain")
    p.add_argument("--log-level", default="WARNING", type=str.upper, choices=LOG_LEVELS)
    p.add_argument("--no-robots", action="store_true", help="ignore robots.txt (local tests)")
    p.add_argument("--known", default=None, metavar="PATH.parquet", help="what is already stored")
    p.add_argument("--full", action="store_true", help="refetch known articles conditionally")
    p.add_argument("--since", default=None, metavar="YYYY-MM-DD", help="skip items listed before")
    p.add_argument("--max-bytes", type=int, default=None, help="download size limit in bytes")
    p.add_argument(
        "--timeout", type=finite_number, default=None, help="download timeout in seconds"
    )
    p.add_argument("--retries", type=int, default=None, help="retries of a failed request")
    p.add_argument("--idn-from", type=int, default=None, help="infoshos: backfill idns from N")
    p.add_argument("--idn-to", type=int, default=None, help="infoshos: backfill idns up to M")
    p.add_argument(
        "--idn-gap", type=int, default=None, help="infoshos: stop after K idns without article"
    )
    p.add_argument(
        "--progress", default=None, metavar="PATH", help="append a JSON progress line here"
    )
    p.add_argument(
        "--progress-interval",
        type=finite_number,
        default=None,
        help="seconds between progress lines",
    )
    p.add_argument(
        "--idn-ahead", action="store_true", help="infoshos: walk idns up from the highest known"
    )
    p.add_argument("--article-pattern", action="append", default=[], dest="article_patterns")
    p.add_argument("--list-pattern", action="append", default=[], dest="list_patterns")
    p.add_argument("--list-css", default=None, help="CSS of one list item (optional hint)")
    p.add_argument("--next-css", default=None, help="CSS of the next-page link (optional hint)")
    p.add_argument("--list-depth", type=int, default=None, help="navigation hops followed")
    p.add_argument("--redis", default=None, metavar="URL", help="join a shared frontier")
    p.add_argument("--frontier", default=None, metavar="NAME", help="the shared crawl's name")
    p.add_argument(
        "--lease", type=finite_number, default=None, help="seconds a taken request is held"
    )
    return p


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    from infoshos.spiders.urls import parse_url_map

    args = build_parser().parse_args(list(argv))
    for url in args.start_urls:
        if not url.startswith(("http://", "https://")):
            raise ArgumentError(f"--start-url must be an http(s) URL: {url!r}")
    try:
        args.url_map = parse_url_map(args.url_map)
    except ValueError as exc:
        raise ArgumentError(f"--url-map: {exc}") from exc
    if args.max_pages < 0:
        raise ArgumentError("--max-pages must be >= 0")
    if args.delay is not None and not args.delay >= 0:
        raise ArgumentError("--delay must be >= 0")
    if args.concurrency is not None and args.concurrency < 1:
        raise ArgumentError("--concurrency must be >= 1")
    if args.max_depth is not None and (args.spider != "generic" or args.max_depth < 0):
        raise ArgumentError("--max-depth applies to the generic spider only, >= 0")
    if args.prefer_print and args.spider != "infoshos":
        raise ArgumentError("--prefer-print applies to the infoshos spider only")
    if not args.source.strip():
        raise ArgumentError("--source must not be empty")
    if args.known is not None:
        from infoshos.spiders.incremental import KnownFileError, load_known

        try:
            args.known_pages = load_known(args.known)
        except KnownFileError as exc:
            raise ArgumentError(f"--known: {exc}") from exc
    else:
        args.known_pages = None
    if args.since is not None:
        from infoshos.spiders.incremental import parse_since

        try:
            args.since = parse_since(args.since)
        except ValueError as exc:
            raise ArgumentError(f"--since: {exc}") from exc
    if args.max_bytes is not None and args.max_bytes < 1:
        raise ArgumentError("--max-bytes must be >= 1")
    if args.timeout is not None and not args.timeout > 0:
        raise ArgumentError("--timeout must be > 0")
    if args.progress_interval is not None and not args.progress_interval > 0:
        raise ArgumentError("--progress-interval must be > 0")
    if args.retries is not None and args.retries < 0:
        raise ArgumentError("--retries must be >= 0")
    backfill = (args.idn_from, args.idn_to, args.idn_gap)
    if any(v is not None for v in backfill) and args.spider != "infoshos":
        raise ArgumentError("--idn-from/--idn-to/--idn-gap apply to the infoshos spider only")
    if (args.idn_from is None) != (args.idn_to is None):
        raise ArgumentError("--idn-from and --idn-to go together")
    if args.idn_gap is not None and args.idn_from is None and not args.idn_ahead:
        raise ArgumentError("--idn-gap needs --idn-from and --idn-to (or --idn-ahead)")
    if args.idn_from is not None and not 0 <= args.idn_from <= args.idn_to:
        raise ArgumentError(f"bad idn range: --idn-from {args.idn_from} --idn-to {args.idn_to}")
    if args.idn_gap is not None and args.idn_gap < 1:
        raise ArgumentError("--idn-gap must be >= 1")
    if args.idn_ahead and args.spider != "infoshos":
        raise ArgumentError("--idn-ahead applies to the infoshos spider only")
    for pattern in [*args.article_patterns, *args.list_patterns]:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ArgumentError(f"bad pattern {pattern!r}: {exc}") from None
    if args.list_depth is not None and args.list_depth < 0:
        raise ArgumentError("--list-depth must be >= 0")
    if (args.redis is None) != (args.frontier is None):
        raise ArgumentError("--redis and --frontier go together")
    if args.redis is not None and not args.redis.startswith(("redis://", "rediss://", "unix://")):
        raise ArgumentError(f"--redis must be a redis:// URL: {args.redis!r}")
    if args.lease is not None and (args.redis is None or not args.lease > 0):
        raise ArgumentError("--lease needs --redis and must be > 0")
    out = Path(args.out)
    if out.exists() and out.is_dir():
        raise ArgumentError(f"--out is a directory: {out}")
    return args


def spool_counts(path: str | Path | list[Path]) -> dict[str, Any]:
    """Counts of a spool file (or of parts): fetched pages, skipped links, failed requests,
    statuses."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from infoshos.warehouse.schema import SPOOL

    paths = path if isinstance(path, list) else [path]
    columns = ["status", "skip_reason"]
    parts = [pq.read_table(p, columns=columns) for p in paths]
    table = pa.concat_tables(parts) if parts else SPOOL.empty_table().select(columns)
    statuses = table.column("status").to_pylist()
    reasons = table.column("skip_reason").to_pylist()
    by_status: dict[str, int] = {}
    for status in statuses:
        if status is not None:
            by_status[str(status)] = by_status.get(str(status), 0) + 1
    return {
        "not_modified": by_status.get("304", 0),
        "pages": sum(s is not None for s in statuses),
        "skipped": sum(r is not None for r in reasons),
        "errors": sum(s is None and r is None for s, r in zip(statuses, reasons, strict=True)),
        "rows": table.num_rows,
        "statuses": by_status,
    }


def frontier_overrides(args: argparse.Namespace, settings: Any) -> dict[str, Any]:
    """Settings of a worker of a shared frontier: the scrapy-redis scheduler with leases, the
    source's delay kept per site in Redis (no local delay on top), robots.txt shared."""
    from infoshos.spiders.frontier import DEFAULT_LEASE, frontier_settings

    delay = settings.getfloat("DOWNLOAD_DELAY") if args.delay is None else args.delay
    overrides = frontier_settings(
        args.redis, args.frontier, args.lease or DEFAULT_LEASE, args.max_pages
    )
    handler = "infoshos.spiders.frontier.PoliteHTTPHandler"
    middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    middlewares["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] = None
    middlewares["infoshos.spiders.frontier.SharedRobotsTxtMiddleware"] = 100
    extensions = dict(settings.getdict("EXTENSIONS"))
    extensions["infoshos.spiders.frontier.FrontierWorker"] = 510
    overrides.update(
        {
            "INFOSHOS_FRONTIER_DELAY": delay,
            "DOWNLOAD_DELAY": 0,
            "DOWNLOAD_DELAY_JITTER": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
            "DOWNLOADER_MIDDLEWARES": middlewares,
            "EXTENSIONS": extensions,
        }
    )
    return overrides


def run(args: argparse.Namespace) -> int:
    from importlib import import_module

    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from infoshos.spiders import settings as settings_module

    module_name, class_name = SPIDERS[args.spider].split(":")
    spider_cls = getattr(import_module(module_name), class_name)

    out = Path(args.out).resolve()
    settings = Settings()
    settings.setmodule(settings_module, priority="project")
    overrides: dict[str, Any] = {"INFOSHOS_SPOOL": str(out), "LOG_LEVEL": args.log_level}
    if args.delay is not None:
        overrides["DOWNLOAD_DELAY"] = args.delay
        overrides["AUTOTHROTTLE_ENABLED"] = False
        if args.delay == 0:
            overrides["DOWNLOAD_DELAY_JITTER"] = 0
    if args.concurrency is not None:
        overrides["CONCURRENT_REQUESTS_PER_DOMAIN"] = args.concurrency
        overrides["CONCURRENT_REQUESTS"] = max(args.concurrency, 8)
    if args.no_robots:
        overrides["ROBOTSTXT_OBEY"] = False
    if args.max_bytes is not None:
        overrides["DOWNLOAD_MAXSIZE"] = args.max_bytes
        overrides["DOWNLOAD_WARNSIZE"] = min(settings.getint("DOWNLOAD_WARNSIZE"), args.max_bytes)
    if args.timeout is not None:
        overrides["DOWNLOAD_TIMEOUT"] = args.timeout
    if args.retries is not None:
        overrides["RETRY_TIMES"] = args.retries
    if args.progress is not None:
        overrides["INFOSHOS_PROGRESS"] = str(Path(args.progress).resolve())
    if args.progress_interval is not None:
        overrides["INFOSHOS_PROGRESS_INTERVAL"] = args.progress_interval
    if args.redis is not None:
        overrides.update(frontier_overrides(args, settings))
    settings.setdict(overrides, priority="cmdline")

    kwargs: dict[str, Any] = {
        "source": args.source,
        "start_urls": args.start_urls,
        "url_map": args.url_map,
        "max_pages": args.max_pages,
    }
    if args.max_depth is not None:
        kwargs["max_depth"] = args.max_depth
    if args.prefer_print:
        kwargs["prefer_print"] = True
    if args.known_pages is not None:
        kwargs["known"] = args.known_pages
    if args.full:
        kwargs["full"] = True
    if args.since is not None:
        kwargs["since"] = args.since
    if args.idn_from is not None:
        kwargs["idn_from"] = args.idn_from
        kwargs["idn_to"] = args.idn_to
    if args.idn_gap is not None:
        kwargs["idn_gap"] = args.idn_gap
    if args.idn_ahead:
        kwargs["idn_ahead"] = True
    for name in ("article_patterns", "list_patterns", "list_css", "next_css", "list_depth"):
        if getattr(args, name) not in (None, [], ""):
            kwargs[name] = getattr(args, name)

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_cls)
    process.crawl(crawler, **kwargs)
    process.start()

    reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
    if args.redis is not None:
        from infoshos.spiders.spool import part_paths

        counts = spool_counts(part_paths(out))
    elif not out.exists():
        from infoshos.spiders.spool import SPOOL_ERROR

        why = crawler.stats.get_value(SPOOL_ERROR) if crawler.stats else None
        if why:
            print(f"crawl: error: the spool could not be written: {why}", file=sys.stderr)
        else:
            print(f"crawl: error: no spool written ({reason})", file=sys.stderr)
        return 1
    else:
        counts = spool_counts(out)
    counts["finish_reason"] = reason
    stats = crawler.stats
    for name in ("known_skipped", "since_skipped", "pagination_stopped", "idn_missing"):
        counts[name] = int((stats.get_value(f"infoshos/{name}") if stats else None) or 0)
    counts["idn_last"] = stats.get_value("infoshos/idn_last") if stats else None
    counts["links_by_via"] = (stats.get_value("infoshos/links_by_via") if stats else None) or {}
    print(json.dumps(counts, sort_keys=True))
    return 0 if reason == "finished" else 1


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        return run(args)
    except ArgumentError as exc:
        print(f"crawl: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
