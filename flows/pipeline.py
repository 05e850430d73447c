"""The Prefect flows: a run (crawl -> clean -> dedup -> enrich -> load) and a re-process.

The flows only sequence the stages. A run crawls its sources (``flows.crawl_stage``: a Scrapy
subprocess per source, so the flow can run again in the same process; with ``redis``, crawls
shared through ``flows.frontier``), checks each source's yield (``flows.health``), then hands
its spools to the stages after the crawl (``flows.process``), which a re-process shares,
reading the stored pages instead. The warehouse lock is held for the whole run, the run's
spools live in a staging folder locked while the run lives, and the run is published at once;
a run that loses the commit to another writer of a shared lake is processed again once, under
the commit lock. Flow names and parameters are the deployments' (``prefect.yaml``,
``flows.schedule``): keep them.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from prefect import flow, get_run_logger

from infoshos.flows import health
from infoshos.flows.crawl_stage import (
    CrawlOptions,
    CrawlPlan,
    crawl_task,
    plan_crawls,
    read_spools,
    sample_site_if_needed,
    spool_batches,
    write_known,
)
from infoshos.flows.frontier import (
    Frontier,
    frontier_folder,
    spool_parts,
    start_crawl,
    worker_name,
)
from infoshos.flows.process import RunPages, finish, latest_pages, process, publish
from infoshos.flows.progress import progress_view
from infoshos.flows.sources import Source, adhoc_source, load_sources, select_sources
from infoshos.flows.state import StoredState
from infoshos.flows.stream import CHUNK_PAGES, gone_fetches
from infoshos.flows.summary import RunSummary
from infoshos.warehouse.faults import crash_point
from infoshos.warehouse.locks import lock_wait
from infoshos.warehouse.store import LakeMoved, Warehouse, WarehouseError


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def spool_columns(paths: list[Path], run_id: str, columns: list[str]) -> pa.Table:
    """A few columns of every spool row (with page_id), without the bodies."""
    parts = list(spool_batches(paths, run_id, 1 << 16, columns=columns))
    if not parts:
        return read_spools([], run_id)
    return pa.concat_tables(parts, promote_options="default")


@contextlib.contextmanager
def _run_folder(wh: Warehouse, run_id: str) -> Iterator[Path]:
    """A staging folder for the run's spools, locked while the run lives; leftovers of killed
    runs (folders nobody holds: runs of other sources may share the folder) are removed."""
    root = wh.root / "_staging"
    staging = root / run_id
    staging.mkdir(parents=True, exist_ok=True)
    mine = open(staging / ".lock", "a")  # noqa: SIM115 - held across the yield
    fcntl.flock(mine, fcntl.LOCK_EX)
    for old in root.iterdir():
        if old != staging and not _held(old / ".lock"):
            shutil.rmtree(old, ignore_errors=True)
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        mine.close()
        with contextlib.suppress(OSError):
            root.rmdir()


def _held(path: Path) -> bool:
    """Whether a live process holds the lock file ``path`` (False when there is none)."""
    try:
        fh = open(path)  # noqa: SIM115 - closed below
    except OSError:
        return False
    try:
        fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        fh.close()


# -- the flows ------------------------------------------------------------------------------


@flow(name="infoshos-run", log_prints=False)
def run_pipeline(
    warehouse: str = "data",
    sources: list[str] | None = None,
    start_urls: list[str] | None = None,
    sources_file: str | None = None,
    full: bool = False,
    since: date | None = None,
    idn_from: int | None = None,
    idn_to: int | None = None,
    idn_gap: int | None = None,
    timezone: str | None = None,
    redis: str | None = None,
    dask: str | None = None,
) -> Any:
    """Crawl the sources (default: the bundled sample site; ``["all"]``: every live source),
    clean, deduplicate, enrich and publish one snapshot of the warehouse.

    An incremental crawl (the default) skips pages the warehouse already has; ``full`` fetches
    everything again with conditional requests; ``since`` limits a backfill to articles
    published on or after that date; ``idn_from``/``idn_to`` (``idn_gap``) make
    infoshos-style sources walk that idn range instead of their lists; ``timezone`` (an IANA
    name) is the zone of datelines without an offset on ``start_urls`` (default UTC, and the
    summary says so; configured sources use their own ``timezone``). Returns the run
    summary; the flow run fails (after publishing) when a source yields nothing or far less
    than in its recent runs. ``dask`` (``local[:N]`` or a scheduler address; default
    ``$INFOSHOS_DASK``) runs the chunks' cleaning and enrichment on a Dask cluster."""
    logger = get_run_logger()
    catalog = load_sources(sources_file)
    note = None
    if start_urls:
        selected = [adhoc_source(start_urls, timezone)]
        note = timezone or f"UTC (no --timezone given for {selected[0].name})"
    else:
        selected = select_sources(sources, catalog)
    wh = Warehouse(warehouse)
    run_id = new_run_id()
    # a run into a warehouse without articles crawls everything: it counts as a full run, so
    # that the yield of later incremental runs is compared with incremental runs only
    mode = "full" if full or wh.current().rows.get("articles", 0) == 0 else "incremental"
    if idn_from is not None:
        mode = "backfill"  # a range walk: only a zero yield is alarming, ranges differ
    summary = RunSummary(run_id=run_id, sources=[s.name for s in selected], timezone_note=note)
    options = CrawlOptions(
        full=full, since=since, idn_from=idn_from, idn_to=idn_to, idn_gap=idn_gap
    )
    locked = wh.lock(wait_seconds=lock_wait(), sources=[s.name for s in selected])
    with locked, _run_folder(wh, run_id) as staging:
        with (
            summary.stage("crawl"),
            sample_site_if_needed(selected) as base_url,
            progress_view(logger),
        ):
            known = staging / "known.parquet"
            write_known(wh, known)
            plans = plan_crawls(selected, base_url, options, known)
            outs = [staging / f"spool-{i}.parquet" for i in range(len(plans))]
            if redis is not None:  # each crawl shared: this run is one of its workers
                outs = [shared_crawl(wh, p, redis) for p in plans]
            futures = [crawl_task.submit(p, o) for p, o in zip(plans, outs, strict=True)]
            stats = [f.result() for f in futures]
            if redis is not None:  # every worker's parts, the crawls being done
                outs = [part for o in outs for part in spool_parts(o.parent)]
        summary.crawl_warnings = sum(int(st.get("log_warnings", 0)) for st in stats)
        summary.crawl_errors = sum(int(st.get("log_errors", 0)) for st in stats)
        crash_point("after-crawl")
        # the few columns the decisions need before any chunk: no bodies
        heads = spool_columns(outs, run_id, ["source", "page_type", "status", "skip_reason"])
        fetched = pc.sum(pc.is_null(heads["skip_reason"])).as_py() or 0
        summary.items["crawl"] = summary.pages_fetched = int(fetched)
        skipped = {
            p.source.name: int(st.get("known_skipped", 0))
            for p, st in zip(plans, stats, strict=True)
        }
        yields = health.source_yield(
            heads.select(["source", "page_type", "status", "skip_reason"]).to_pylist(), skipped
        )
        count, gone = heads.num_rows, gone_fetches(heads)
        del heads
        crawled = copy.deepcopy(summary)
        for replay in (False, True):
            # a replay (another writer of a shared lake committed first) holds the commit
            # lock throughout, so that it cannot lose again
            with wh.committing() if replay else contextlib.nullcontext():
                summary = copy.deepcopy(crawled)
                base = wh.ensure().snapshot_id()  # (a new lake's creation is not a move)
                state = StoredState.read(wh)
                history = state.yield_history(mode)
                summary.messages += health.yield_alarms(summary.sources, yields, history)
                if summary.messages:
                    summary.status = "flagged"
                pages = RunPages(spool_batches(outs, run_id, CHUNK_PAGES), count, gone)
                writer = process(
                    wh, state, run_id, pages, selected, summary, staging, dask=dask, base=base
                )
                try:
                    publish(writer, summary, selected, mode, yields)
                    break
                except LakeMoved as exc:
                    writer.abort()
                    if replay:
                        raise WarehouseError(f"run {run_id} not published: {exc}") from None
                    logger.warning("another run committed first (%s); processing again", exc)
    logger.info("run %s published snapshot %s", run_id, summary.snapshot)
    return finish(summary, wh)


@flow(name="infoshos-reprocess", log_prints=False)
def reprocess_pipeline(
    warehouse: str = "data", sources_file: str | None = None, dask: str | None = None
) -> Any:
    """Rebuild the clean, dedup and enrichment tables from the stored raw pages (no network):
    for every URL, its latest successful fetch. `pages`, `rejects` history and `runs` stay.
    ``dask``: as for a run."""
    logger = get_run_logger()
    catalog = load_sources(sources_file)
    wh = Warehouse(warehouse)
    run_id = new_run_id()
    with wh.lock(wait_seconds=lock_wait()), _run_folder(wh, run_id) as staging:
        with_stored = wh.read("pages", columns=["source"])
        names = sorted(set(with_stored["source"].to_pylist()))
        summary = RunSummary(run_id=run_id, sources=names)
        selected = [catalog[n] if n in catalog else adhoc_source_named(n) for n in names]
        with summary.stage("crawl"):
            chunks, count = latest_pages(wh, CHUNK_PAGES)
        summary.items["crawl"] = count
        state = StoredState.read(wh, signatures=False)
        pages = RunPages(chunks, count, [])
        writer = process(
            wh, state, run_id, pages, selected, summary, staging, reprocess=True, dask=dask
        )
        publish(writer, summary, selected, "reprocess")
    logger.info("re-process %s published snapshot %s", run_id, summary.snapshot)
    return finish(summary, wh)


def shared_crawl(wh: Warehouse, plan: CrawlPlan, redis: str) -> Path:
    """Start a source's crawl shared through Redis (:mod:`infoshos.flows.frontier`): a fresh
    frontier and spool folder, the known file in it for the other workers; the spool stem of
    this run's own worker."""
    crawl = Frontier(redis, plan.source.name)
    folder = frontier_folder(wh.root, crawl.crawl)
    start_crawl(crawl, folder)
    if plan.known is not None:
        shutil.copyfile(plan.known, folder / "known.parquet")
        plan.known = folder / "known.parquet"
    plan.frontier = crawl
    return folder / f"{worker_name()}.parquet"


def adhoc_source_named(name: str) -> Source:
    """A stored source no longer configured: re-process it with the generic rules."""
    return Source(name=name, spider="generic", style="generic")
