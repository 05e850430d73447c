"""The stages after the crawl, shared by a run and a re-process: clean, dedup, enrich, load.

A run's pages (:class:`RunPages`: a run's spools, or for a re-process the latest stored fetch
of every URL, :func:`latest_pages`) are cleaned, deduplicated, enriched and written chunk by
chunk against the stored state (:func:`process`), then published as one snapshot
(:func:`publish`); :func:`finish` makes the flow's return value. These functions only
sequence the steps: the pure transforms (``flows.clean``, ``flows.dedup``, ``flows.links``,
``flows.enrich``) and decisions (``flows.merge``), the run's keys between chunks
(``flows.stream``) and the writing (``flows.load``). The pages are processed in chunks, each
chunk's enrichment running on worker processes while the next chunk is cleaned (from
``POOL_MIN_PAGES`` pages on); with ``dask``, the chunks' cleaning, page files and enrichment
run on a Dask cluster instead (``flows.runner``, ``flows.chunks``). The Prefect tasks here
(``enrich``, ``dedup``, ``load``) keep their names; the flows, the crawl and the run's lock and
folder are ``flows.pipeline``'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import pyarrow as pa
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed
from prefect.utilities.annotations import quote

from infoshos.flows import merge
from infoshos.flows.chunks import Collect, chunk_runner, staged
from infoshos.flows.clean.articles import CleanOutput
from infoshos.flows.crawl_stage import latest_article_fetches
from infoshos.flows.dedup import Clusters
from infoshos.flows.enrich import EnrichResult
from infoshos.flows.enrich.parallel import default_workers
from infoshos.flows.load import RunWriter
from infoshos.flows.memory import memory_line, release_freed
from infoshos.flows.runner import dask_setting
from infoshos.flows.sources import Source
from infoshos.flows.state import StoredState
from infoshos.flows.stream import CHUNK_PAGES, ChunkPlan, RunIndex
from infoshos.flows.summary import RunSummary, rule_miss_warnings
from infoshos.warehouse.faults import crash_point
from infoshos.warehouse.report import report_markdown
from infoshos.warehouse.schema import SCHEMA_VERSION
from infoshos.warehouse.store import Snapshot, Warehouse

#: A run with fewer pages enriches in its own process (starting the workers and loading their
#: models, ~10 s, costs more than a second core saves).
POOL_MIN_PAGES = 3000
T = TypeVar("T")


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
            release_freed()  # the chunk's parse trees and buffers, back to the system
            done += got.count
            logger.info(
                "processed %d/%d pages: %d articles, %d to write; memory: %s",
                done, pages.count, len(index.seen), len(index.written), memory_line(writer.tx.con),
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
