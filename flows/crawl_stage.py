"""The crawl stage: one Scrapy subprocess per source (a Twisted reactor cannot restart), fed with
what the warehouse already holds, writing a spool file the flow reads back."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from infoshos.flows import progress
from infoshos.flows.frontier import Frontier
from infoshos.flows.memory import parquet_batches
from infoshos.flows.merge import latest_fetches
from infoshos.flows.sources import Source
from infoshos.spiders.crawl import crawl_command
from infoshos.warehouse.schema import ARTICLE_PAGE_TYPES, KNOWN, REFETCH_REASONS, SPOOL
from infoshos.warehouse.store import Warehouse


class CrawlError(RuntimeError):
    """A crawl subprocess failed as a whole (not a single page)."""


# -- crawl ---------------------------------------------------------------------------------
@dataclass
class CrawlOptions:
    """``full``: fetch known pages again (conditionally); ``since``: a backfill limit on the
    publication date, inclusive; ``idn_from``/``idn_to`` (with ``idn_gap``, default the
    spider's 50): a backfill of an idn range, for sources crawled by the infoshos spider only
    (other spiders ignore it)."""

    full: bool = False
    since: date | None = None
    idn_from: int | None = None
    idn_to: int | None = None
    idn_gap: int | None = None


@dataclass
class CrawlPlan:
    source: Source
    start_urls: list[str]
    url_map: list[tuple[str, str]] = field(default_factory=list)
    options: CrawlOptions = field(default_factory=CrawlOptions)
    known: Path | None = None
    #: A crawl shared through Redis: this crawl is one of its workers, writing spool parts
    #: ``<out stem>-<n>.parquet`` (:mod:`infoshos.flows.frontier`).
    frontier: Frontier | None = None


def crawl_argv(plan: CrawlPlan, out: Path) -> list[str]:
    """The argv of a plan's crawl (:func:`infoshos.spiders.crawl.crawl_command`): the source's
    politeness, budget and discovery, the run's options. An idn range applies to the infoshos
    spider only; otherwise a source with ``idn_ahead`` walks up from the highest known idn in an
    incremental run (a known file); ``idn_gap`` goes with either walk."""
    src, opts, shared = plan.source, plan.options, plan.frontier
    backfill = src.spider == "infoshos" and opts.idn_from is not None and opts.idn_to is not None
    ahead = not backfill and src.idn_ahead and plan.known is not None
    return crawl_command(
        src.spider,
        src.name,
        plan.start_urls,
        out,
        url_map=plan.url_map,
        max_pages=src.max_pages or None,
        delay=src.delay,
        concurrency=src.concurrency,
        known=plan.known,
        full=opts.full,
        since=opts.since.isoformat() if opts.since is not None else None,
        idn_from=opts.idn_from if backfill else None,
        idn_to=opts.idn_to if backfill else None,
        idn_gap=opts.idn_gap if backfill or ahead else None,
        idn_ahead=ahead,
        article_patterns=src.article_patterns,
        list_patterns=src.list_patterns,
        list_css=src.list_css,
        next_css=src.next_css,
        list_depth=src.list_depth,
        redis=shared.redis if shared is not None else None,
        frontier=shared.crawl if shared is not None else None,
        lease=shared.lease if shared is not None else None,
    )


def run_crawl(
    plan: CrawlPlan,
    out: Path,
    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run one source's crawl in a subprocess; its pages land in the spool file ``out``.
    Progress lines go to ``on_progress``, Scrapy's warnings and errors to ``logger``. Returns
    the crawl's counts (its JSON line, plus ``log_warnings``/``log_errors``); a failed crawl
    raises :class:`CrawlError`."""
    progress_file = out.with_suffix(".progress.jsonl")
    progress_file.unlink(missing_ok=True)
    argv = crawl_argv(plan, out) + ["--progress", str(progress_file)]
    proc = progress.run_crawl(
        argv,
        progress_file,
        on_progress or (lambda _line: None),
        logger or logging.getLogger("infoshos.crawl"),
    )
    if proc.returncode != 0 or (plan.frontier is None and not out.exists()):
        tail = (proc.stderr_tail or proc.stdout.strip().splitlines())[-1:] or ["no output"]
        raise CrawlError(f"crawl of {plan.source.name} failed ({proc.returncode}): {tail[0]}")
    stats: dict[str, Any] = {}
    for line in reversed(proc.stdout.strip().splitlines()):
        with contextlib.suppress(ValueError):
            stats = json.loads(line)
            break
    stats["log_warnings"], stats["log_errors"] = proc.warnings, proc.errors
    return stats


@task(name="crawl", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def crawl_task(plan: CrawlPlan, out: Path) -> dict[str, Any]:
    """Run one source's crawl in a subprocess; its pages land in a spool file."""
    logger = get_run_logger()
    logger.info("crawling %s from %d start URLs", plan.source.name, len(plan.start_urls))
    view = progress.active_view() or progress.ProgressView(logger, mode="log")
    stats = run_crawl(plan, out, logger, view.update)
    logger.info("crawled %s: %s", plan.source.name, stats)
    return stats


def latest_article_fetches(wh: Warehouse, columns: list[str]) -> dict[str, dict[str, Any]]:
    """For each URL, its latest fetch of an article (or print) page that answered 200: the
    row's ``columns`` (plus url and fetched_at). Bodies are not read."""
    wanted = ["url", "page_type", "status", "fetched_at", *columns]
    pages = wh.read("pages", columns=list(dict.fromkeys(wanted)))
    return latest_fetches(pages.filter(pc.equal(pages["status"], 200)).to_pylist())


def latest_validators(wh: Warehouse) -> dict[str, tuple[str | None, str | None]]:
    """For each URL, the ETag and Last-Modified of its latest fetch of an article (or print)
    page that answered 200 (as ``latest_article_fetches`` picks it), read in Arrow: the headers
    of every stored page are never made Python objects."""
    pages = wh.read("pages", columns=["url", "page_type", "status", "fetched_at", "headers"])
    article = pc.is_in(pages["page_type"], pa.array(sorted(ARTICLE_PAGE_TYPES)))
    pages = pages.filter(pc.and_(pc.equal(pages["status"], 200), article))
    # oldest first, ties in stored order: the dict below keeps the last fetch of each URL
    pages = pages.take(pc.sort_indices(pages, sort_keys=[("fetched_at", "ascending")]))
    headers = pages["headers"]
    etags = pc.map_lookup(headers, "etag", "last").to_pylist()
    modified = pc.map_lookup(headers, "last-modified", "last").to_pylist()
    return dict(zip(pages["url"].to_pylist(), zip(etags, modified, strict=True), strict=True))


def _not_read_whole(wh: Warehouse, key: Callable[[str], str]) -> set[str]:
    """The keys of the URLs whose latest reject says the page was not read whole."""
    rejects = wh.read("rejects", columns=["url", "reason", "run_id", "stage"])
    rejects = rejects.filter(pc.equal(rejects["stage"], "clean"))  # the pages fetched
    latest: dict[str, tuple[str, str]] = {}
    columns = (rejects[c].to_pylist() for c in ("url", "reason", "run_id"))
    for url, reason, run in zip(*columns, strict=True):
        k = key(url)
        if k not in latest or run >= latest[k][0]:
            latest[k] = (run, reason)
    return {k for k, (_, reason) in latest.items() if reason in REFETCH_REASONS}


def write_known(wh: Warehouse, path: Path) -> int:
    """What the warehouse already holds, for an incremental crawl: every URL fetched as an
    article candidate (with the ETag and Last-Modified of its latest successful fetch) and every
    stored article. ``is_article`` is true only for URLs in the ``articles`` table: a candidate
    the clean stage rejected (a listing, a menu page) is fetched again when linked, and never
    stops a list's paging as a known article would. A candidate whose page was not read whole
    (``REFETCH_REASONS``) and is no article is listed without its validators: it is fetched
    whole again, not conditionally."""
    from infoshos.warehouse.keys import url_key

    cache = wh.root / KEY_CACHE
    cached = read_key_cache(cache)
    keys: dict[str, str] = {}

    def key(url: str) -> str:  # each URL keyed once, as the spiders key it
        k = keys.get(url)
        if k is None:
            k = keys[url] = cached[url] if url in cached else url_key(url)
        return k

    articles = {key(u) for u in wh.read("articles", columns=["url"])["url"].to_pylist()}
    latest: dict[str, tuple[str | None, str | None]] = {}
    refetch = _not_read_whole(wh, key) - articles
    for url, validators in latest_validators(wh).items():
        latest[url] = (None, None) if key(url) in refetch else validators
    fetched_keys = {key(u) for u in latest}
    for url in sorted(articles - fetched_keys):
        latest.setdefault(url, (None, None))
    table = pa.table(
        {
            "url": list(latest),
            "etag": [v[0] for v in latest.values()],
            "last_modified": [v[1] for v in latest.values()],
            "is_article": [key(u) in articles for u in latest],
            "key": [key(u) for u in latest],
        },
        schema=KNOWN,
    )
    pq.write_table(table, path)
    if keys != cached:  # new URLs keyed, or URLs no longer stored
        write_key_cache(cache, keys)
    return table.num_rows


#: The keys of the stored URLs, kept beside the lake between runs (derived: deleted, or made
#: under other key rules, it is made again): keying 100,000 URLs took 4 s of each run's start.
KEY_CACHE = "url-keys.parquet"
_FINGERPRINT = b"infoshos.key_rules"


def read_key_cache(path: Path) -> dict[str, str]:
    """URL -> key from ``path`` when it was made under the current key rules, else nothing."""
    from infoshos.warehouse.keys import rules_fingerprint

    try:
        table = pq.read_table(path)
        meta = table.schema.metadata or {}
        if meta.get(_FINGERPRINT, b"").decode() != rules_fingerprint():
            return {}
        return dict(zip(table["url"].to_pylist(), table["key"].to_pylist(), strict=True))
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return {}  # missing or unreadable: the keys are made again


def write_key_cache(path: Path, keys: Mapping[str, str]) -> None:
    """Replace the cache at once (a reader sees the old file or the new one); a folder that
    cannot take it costs only the time to make the keys again."""
    from infoshos.warehouse.keys import rules_fingerprint

    schema = pa.schema(
        [("url", pa.string()), ("key", pa.string())],
        metadata={_FINGERPRINT: rules_fingerprint().encode()},
    )
    table = pa.table({"url": list(keys), "key": list(keys.values())}, schema=schema)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _empty_spool() -> pa.Table:
    return (
        SPOOL.empty_table()
        .append_column("page_id", pa.array([], pa.string()))
        .append_column("run_id", pa.array([], pa.string()))
    )


def _with_ids(batch: pa.Table, run_id: str, first: int) -> pa.Table:
    """Spool rows with ``page_id`` (hash of run, URL, fetch URL, time and position in the
    run's spools, ``first`` being the position of the batch's first row) and ``run_id``."""
    urls = batch["url"].to_pylist()
    fetched = batch["fetched_at"].to_pylist()
    fetch_urls = batch["fetch_url"].to_pylist()
    ids = [
        hashlib.sha256(f"{run_id}|{u}|{f}|{t.isoformat()}|{i}".encode()).hexdigest()[:24]
        for i, (u, f, t) in enumerate(zip(urls, fetch_urls, fetched, strict=True), start=first)
    ]
    batch = batch.append_column("page_id", pa.array(ids, pa.string()))
    return batch.append_column("run_id", pa.array([run_id] * batch.num_rows, pa.string()))


def spool_batches(
    paths: list[Path], run_id: str, rows: int, columns: list[str] | None = None
) -> Iterator[pa.Table]:
    """The spool files as `pages` rows (page_id and run_id added), ``rows`` at a time, read
    batch by batch (never a whole file). ``columns``: only these spool columns (the ids are
    computed all the same)."""
    position = 0
    for path in paths:
        if not path.exists():
            continue
        names = pq.read_schema(path).names
        wanted = None
        if columns is not None:
            wanted = [c for c in dict.fromkeys([*columns, "url", "fetch_url", "fetched_at"])]
            wanted = [c for c in wanted if c in names]
        for batch in parquet_batches(path, rows, wanted):
            table = pa.Table.from_batches([batch])
            yield _with_ids(table, run_id, position)
            position += table.num_rows


def read_spools(paths: list[Path], run_id: str) -> pa.Table:
    """The spool files as `pages` rows (page_id and run_id added), all at once (small runs)."""
    tables = list(spool_batches(paths, run_id, 1 << 16))
    if not tables:
        return _empty_spool()
    return pa.concat_tables(tables, promote_options="default")


# -- clean, dedup, enrich ---------------------------------------------------------------------


@contextlib.contextmanager
def sample_site_if_needed(sources: list[Source]) -> Iterator[str | None]:
    if not any(s.sample for s in sources):
        yield None
        return
    from infoshos.spiders.sample_site import SampleSite

    with SampleSite(port=0) as site:
        yield site.base_url


def plan_crawls(
    sources: list[Source], base_url: str | None, options: CrawlOptions, known: Path | None
) -> list[CrawlPlan]:
    plans = []
    for src in sources:
        if src.sample:
            from infoshos.spiders import sample_site

            assert base_url is not None
            starts = sample_site.start_urls(base_url)[src.name]
            plans.append(
                CrawlPlan(src, list(starts), sample_site.url_map(base_url), options, known)
            )
        else:
            plans.append(CrawlPlan(src, list(src.start_urls), list(src.url_map), options, known))
    return plans
