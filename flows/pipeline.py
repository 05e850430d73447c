"""The Prefect flows: a run (crawl -> clean -> dedup -> enrich -> load) and a re-process.

Each stage is a task; the flows and tasks only sequence the steps: the pure transforms
(``flows.clean``, ``flows.dedup``, ``flows.links``, ``flows.enrich``) and decisions
(``flows.merge``), the stored state (``flows.state``: every read of the warehouse), the run's
keys between chunks (``flows.stream``) and the writing (``flows.load``). The crawl stage lives
in ``flows.crawl_stage`` (a Scrapy subprocess per source, so the flow can run again in the same
process). The pages are processed in chunks of ``CHUNK_PAGES``, each chunk's enrichment running
on worker processes while the next chunk is cleaned; with ``dask``, the chunks' cleaning, page
files and enrichment run on a Dask cluster instead (``flows.runner``, ``flows.chunks``). The
warehouse lock is held for the whole run and the run is published at once.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import pyarrow as pa
import pyarrow.compute as pc
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed
from prefect.utilities.annotations import quote

from infoshos.flows import health, merge
from infoshos.flows.chunks import Collect, chunk_runner, staged
from infoshos.flows.clean.articles import CleanOutput
from infoshos.flows.crawl_stage import (
    CrawlOptions,
    CrawlPlan,
    crawl_task,
    latest_article_fetches,
    plan_crawls,
    read_spools,
    sample_site_if_needed,
    spool_batches,
    write_known,
)
from infoshos.flows.dedup import Clusters
from infoshos.flows.enrich import EnrichResult
from infoshos.flows.enrich.parallel import default_workers
from infoshos.flows.frontier import (
    Frontier,
    frontier_folder,
    spool_parts,
    start_crawl,
    worker_name,
)
from infoshos.flows.load import RunWriter
from infoshos.flows.progress import progress_view
from infoshos.flows.runner import dask_setting
from infoshos.flows.sources import Source, adhoc_source, load_sources, select_sources
from infoshos.flows.state import StoredState
from infoshos.flows.stream import CHUNK_PAGES, ChunkPlan, RunIndex, gone_fetches
from infoshos.flows.summary import RunSummary, rule_miss_warnings
from infoshos.warehouse.faults import crash_point
from infoshos.warehouse.locks import lock_wait
from infoshos.warehouse.report import report_markdown
from infoshos.warehouse.schema import SCHEMA_VERSION
from infoshos.warehouse.store import LakeMoved, Snapshot, Warehouse, WarehouseError

#: A run with fewer pages enriches in its own process (starting the workers and loading their
#: models, ~10 s, costs more than a second core saves).
POOL_MIN_PAGES = 3000
T = TypeVar("T")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def code_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("infoshos")
    except PackageNotFoundError:
        return "unknown"


#: The hashed lock of the runtime packages (the dev tools' lock does not change a run).
RUNTIME_LOCK = Path("requirements") / "runtime.lock"


def lock_hash() -> str | None:
    for folder in (Path.cwd(), Path(__file__).resolve().parent.parent):
        lock = folder / RUNTIME_LOCK
        if lock.exists():
            return hashlib.sha256(lock.read_bytes()).hexdigest()
    return None


def spool_columns(paths: list[Path], run_id: str, columns: list[str]) -> pa.Table:
    """A few columns of every spool row (with page_id), without the bodies."""
    parts = list(spool_batches(paths, run_id, 1 << 16, columns=columns))
    if not parts:
        return read_spools([], run_id)
    return pa.concat_tables(parts, promote_options="default")


def big(value: T) -> T:
    """Hand a large argument to a task as it is: Prefect would otherwise walk every element
    looking for futures (at 10,000 articles that walk cost 48 of the load stage's 51 s)."""
    return cast(T, quote(value))


@task(name="enrich", cache_policy=NO_CACHE)
def enrich_task(collect: Collect) -> tuple[list[EnrichResult], float]:
    """Wait for one chunk's enrichment (on the pool's or the cluster's workers): the results
    and the seconds they took on the cores."""
    return collect()


def enrich_record(article: dict[str, Any]) -> dict[str, Any]:
    return {
        "article_id": article["article_id"],
        "language": article.get("language") or "und",
        "text": article.get("text") or "",
        "published_at": article.get("published_at"),
    }


@task(name="dedup", cache_policy=NO_CACHE)
def dedup_task(index: RunIndex, state: StoredState) -> tuple[Clusters, list[dict[str, Any]]]:
    """Story clusters over every article; the stored texts signed for the first time."""
    signed = index.sign_stored(state)
    return index.cluster(state), signed


def write_chunk(
    index: RunIndex,
    writer: RunWriter,
    summary: RunSummary,
    cleaned: CleanOutput,
    planned: ChunkPlan,
    collect: Collect,
) -> None:
    """Collect a chunk's enrichment and write the chunk. The enrich stage counts the seconds
    enrichment took on the cores (it overlaps the cleaning of the next chunk)."""
    results, seconds = enrich_task(big(collect))
    with summary.stage("enrich"):
        facts = index.enriched(planned.rows, results)
    summary.seconds["enrich"] = summary.seconds.get("enrich", 0.0) + seconds
    with summary.stage("load"):
        writer.chunk(
            cleaned.rejects,
            planned.plan.versions,
            planned.rows,
            planned.updated,
            facts,
            planned.minhashes,
        )


# -- the stages after the crawl: shared by a run and a re-process ----------------------------
@dataclass
class RunPages:
    """A run's pages: the chunks to process and the few columns the decisions need first."""

    chunks: Iterator[pa.Table]
    count: int
    gone: list[dict[str, Any]]


def process(
    wh: Warehouse,
    state: StoredState,
    run_id: str,
    pages: RunPages,
    sources: list[Source],
    summary: RunSummary,
    staging: Path,
    reprocess: bool = False,
    dask: str | None = None,
    base: int | None = None,
) -> RunWriter:
    """Clean, deduplicate, enrich and write ``pages`` chunk by chunk against the stored
    ``state`` (read at snapshot ``base``); then cluster, write the articles and decide the
    end-of-run rows. Returns the writer, ready to commit. ``dask``: run the chunks' cleaning
    and enrichment on that Dask cluster (:mod:`infoshos.flows.runner`; default
    ``$INFOSHOS_DASK``, else in process).
    A run that fails here rolls its transaction back at once (its files are orphans the next
    run deletes), rather than holding it open until the process ends."""
    writer = RunWriter(wh, run_id, staging, reprocess, base)
    try:
        fill(writer, state, pages, sources, summary, staging, dask)
    except BaseException:
        writer.abort()
        raise
    return writer


def fill(
    writer: RunWriter,
    state: StoredState,
    pages: RunPages,
    sources: list[Source],
    summary: RunSummary,
    staging: Path,
    dask: str | None,
) -> None:
    """The steps of :func:`process`, into ``writer``."""
    logger = get_run_logger()
    run_id, reprocess = writer.run_id, writer.reprocess
    index = RunIndex.start(state, run_id, reprocess, staging)
    workers = default_workers() if pages.count >= POOL_MIN_PAGES else 0
    done = 0
    pending: tuple[CleanOutput, ChunkPlan, Collect] | None = None
    with chunk_runner(dask_setting(dask), workers) as runner:
        chunks = runner.clean(pages.chunks, sources, writer.pages_folder)
        for n, got in enumerate(staged(chunks, summary, "clean")):
            cleaned = got.output
            if n == 0:
                crash_point("after-clean")
            with summary.stage("dedup"):
                planned = index.plan(state, index.take(cleaned))
            with summary.stage("load"):
                writer.pages(got.pages, cleaned.encodings)
            # the workers enrich this chunk while the next one is cleaned
            if pending is not None:
                write_chunk(index, writer, summary, *pending)
            pending = (cleaned, planned, runner.enrich([enrich_record(a) for a in planned.rows]))
            done += got.count
            logger.info(
                "processed %d/%d pages: %d articles, %d to write",
                done, pages.count, len(index.seen), len(index.written),
            )  # fmt: skip
        if pending is not None:
            write_chunk(index, writer, summary, *pending)
    summary.items["clean"] = len(index.seen)
    for warning in rule_miss_warnings(index.rule_misses, index.rule_miss_examples):
        logger.warning(warning)
        summary.warnings.append(warning)

    clusters = Clusters.empty()
    with summary.stage("dedup"):
        if reprocess or index.written:
            clusters, signed = dedup_task(big(index), big(state))
            writer.keyed("minhashes", signed)
    summary.items["dedup"] = len(clusters)
    candidates = merge.gone_candidates(pages.gone)
    known = {
        aid: state.gone_at.get(aid)
        for aid in candidates
        if aid in index.written or (not reprocess and aid in state.hashes)
    }
    gone = merge.gone_articles(candidates, known)

    with summary.stage("load"):
        fields = clusters.fields()
        moved = (
            {}
            if reprocess
            else merge.moved_articles(state.clusters, clusters.rows(), index.written)
        )
        stored = state.article_rows(set(moved) | {a for a in gone if a not in index.written})
        for row in stored:
            aid = row["article_id"]
            if aid in moved:
                row["cluster_id"], row["is_canonical"] = moved[aid]
            if aid in gone:
                row["gone_at"] = gone[aid]
            row["run_id"] = run_id

        def with_fields(row: dict[str, Any]) -> dict[str, Any]:
            aid = row["article_id"]
            if aid in fields:
                row["cluster_id"], row["is_canonical"] = fields[aid]
            if aid in gone:
                row["gone_at"] = gone[aid]
            return row

        summary.items["load"] = writer.articles(with_fields, index.written.updated, stored)
        stored_clusters = {} if reprocess or not clusters else state.cluster_rows()
        changes = (
            row
            for part in clusters.batches()
            for row in merge.cluster_changes(stored_clusters, part, run_id)
        )
        writer.keyed("clusters", changes)
        del stored_clusters

    with summary.stage("enrich"):
        found = list(index.entities.values())
        stored_entities = {} if reprocess or not found else state.entities()
        writer.keyed("entities", merge.merge_entities(stored_entities, found, run_id))
        if reprocess or index.written:  # unchanged articles: unchanged links
            links = [dict(r) for r in index.translation_links(state)]
            if reprocess or not merge.links_unchanged(state.links(), links):
                writer.links(links)
    summary.items["enrich"] = index.counts["enriched"]

    summary.articles_new = index.counts["new"]
    summary.articles_updated = index.counts["updated"]
    summary.articles_unchanged = index.counts["unchanged"]
    summary.articles_gone = len(gone)
    summary.duplicates = sum(
        1 for r in clusters.rows() if r["role"] == "duplicate" and r["article_id"] in index.changed
    )
    summary.rejects = index.rejects
    summary.mentions_new = index.counts["mentions"]
    summary.repairs = index.repairs
    summary.rule_misses = index.rule_misses


def publish(
    writer: RunWriter,
    summary: RunSummary,
    sources: list[Source],
    mode: str,
    source_yield: dict[str, int] | None = None,
) -> None:
    with summary.stage("load"):
        run_row = summary.run_row(
            code_version=code_version(),
            schema_version=SCHEMA_VERSION,
            lock_hash=lock_hash(),
            config=json.dumps([s.to_json() for s in sources]),
            mode=mode,
            source_yield=source_yield,
        )
        snap = load_task(writer, run_row)
    summary.entities = snap.rows.get("entities", 0)
    summary.articles_total = snap.rows.get("articles", 0)
    summary.snapshot = snap.number


@task(name="load", cache_policy=NO_CACHE)
def load_task(writer: RunWriter, run_row: dict[str, Any]) -> Snapshot:
    """Publish the run's rows as one snapshot (the quality gate runs first)."""
    return writer.commit(run_row)


def finish(summary: RunSummary, wh: Warehouse | None = None) -> Any:
    """The flow's return value: the summary, or a Failed state carrying it when flagged."""
    text = summary.markdown()
    with contextlib.suppress(Exception):
        create_markdown_artifact(text, key="infoshos-run-summary", description="infoshos run")
    if wh is not None:
        try:  # the warehouse at a glance, as the HTML report shows it (shorter)
            create_markdown_artifact(
                report_markdown(wh), key="infoshos-warehouse", description="the warehouse"
            )
        except Exception as exc:  # a report problem must not fail a published run
            get_run_logger().warning("warehouse summary artifact not made: %s", exc)
    result = summary.to_json()
    if summary.messages:
        return Failed(message="; ".join(summary.messages), data=result)
    return result


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
            chunks, count = latest_pages(wh)
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


def latest_pages(wh: Warehouse, chunk: int = CHUNK_PAGES) -> tuple[Iterator[pa.Table], int]:
    """For each URL, the latest fetch of an article page that answered 200, with its body:
    chunks of ``chunk`` pages in fetch order (only one chunk's bodies read at a time), and how
    many pages there are."""
    best = latest_article_fetches(wh, ["page_id"])
    ids = [
        r["page_id"] for r in sorted(best.values(), key=lambda r: (r["fetched_at"], r["page_id"]))
    ]
    del best

    def chunks() -> Iterator[pa.Table]:
        for start in range(0, len(ids), chunk):
            pages = wh.rows_by_key("pages", "page_id", ids[start : start + chunk])
            pages = pages.sort_by([("fetched_at", "ascending"), ("page_id", "ascending")])
            nulls = pa.nulls(pages.num_rows, pa.string())
            yield pages.append_column("skip_reason", nulls).append_column("detail", nulls)

    return chunks(), len(ids)
