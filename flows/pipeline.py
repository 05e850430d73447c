"""The Prefect flow: crawl -> clean -> dedup -> enrich -> load.

Each stage is a task; the flow and its tasks are thin shells around the pure transforms in
``flows.clean``, ``flows.dedup``, ``flows.enrich`` and ``flows.merge``, and around the
warehouse. The crawl runs Scrapy in a subprocess per source, so the flow can run again in the
same process. The warehouse lock is held for the whole run and the run is published at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from infoshos.flows import merge
from infoshos.flows.clean.articles import CleanOutput, clean_pages
from infoshos.flows.dedup import DedupInput, cluster_articles
from infoshos.flows.enrich import enrich_articles
from infoshos.flows.sources import Source, adhoc_source, load_sources, select_sources
from infoshos.flows.summary import RunSummary
from infoshos.warehouse.catalog import build_catalog
from infoshos.warehouse.schema import SCHEMA_VERSION, TABLES
from infoshos.warehouse.store import Warehouse

PROGRESS_EVERY = 500


class CrawlError(RuntimeError):
    """A crawl subprocess failed as a whole (not a single page)."""


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def code_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("infoshos")
    except PackageNotFoundError:
        return "unknown"


def lock_hash() -> str | None:
    for folder in (Path.cwd(), Path(__file__).resolve().parent.parent):
        lock = folder / "requirements.lock"
        if lock.exists():
            return hashlib.sha256(lock.read_bytes()).hexdigest()
    return None


# -- crawl ---------------------------------------------------------------------------------
@dataclass
class CrawlPlan:
    source: Source
    start_urls: list[str]
    url_map: list[tuple[str, str]] = field(default_factory=list)


def crawl_argv(plan: CrawlPlan, out: Path) -> list[str]:
    src = plan.source
    argv = [
        sys.executable, "-m", "infoshos.spiders.crawl",
        "--spider", src.spider,
        "--source", src.name,
        "--out", str(out),
        "--delay", str(src.delay),
        "--concurrency", str(src.concurrency),
    ]  # fmt: skip
    if src.max_pages:
        argv += ["--max-pages", str(src.max_pages)]
    for url in plan.start_urls:
        argv += ["--start-url", url]
    for local, canonical in plan.url_map:
        argv += ["--url-map", f"{local}={canonical}"]
    return argv


@task(name="crawl", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def crawl_task(plan: CrawlPlan, out: Path) -> dict[str, Any]:
    """Run one source's crawl in a subprocess; its pages land in a spool file."""
    logger = get_run_logger()
    argv = crawl_argv(plan, out)
    logger.info("crawling %s from %d start URLs", plan.source.name, len(plan.start_urls))
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not out.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise CrawlError(f"crawl of {plan.source.name} failed ({proc.returncode}): {tail[0]}")
    stats: dict[str, Any] = {}
    for line in reversed(proc.stdout.strip().splitlines()):
        with contextlib.suppress(ValueError):
            stats = json.loads(line)
            break
    logger.info("crawled %s: %s", plan.source.name, stats)
    return stats


def read_spools(paths: list[Path], run_id: str) -> pa.Table:
    """The spool files as `pages` rows (page_id and run_id added)."""
    tables = [pq.read_table(p) for p in paths if p.exists()]
    if not tables:
        return TABLES["pages"].schema.empty_table()
    spool = pa.concat_tables(tables, promote_options="default")
    urls = spool["url"].to_pylist()
    fetched = spool["fetched_at"].to_pylist()
    fetch_urls = spool["fetch_url"].to_pylist()
    ids = [
        hashlib.sha256(f"{run_id}|{u}|{f}|{t.isoformat()}|{i}".encode()).hexdigest()[:24]
        for i, (u, f, t) in enumerate(zip(urls, fetch_urls, fetched, strict=True))
    ]
    spool = spool.append_column("page_id", pa.array(ids, pa.string()))
    return spool.append_column("run_id", pa.array([run_id] * spool.num_rows, pa.string()))


# -- clean, dedup, enrich ---------------------------------------------------------------------
@task(name="clean", cache_policy=NO_CACHE)
def clean_task(pages: pa.Table, sources: list[Source]) -> CleanOutput:
    logger = get_run_logger()
    styles = {s.name: s.style for s in sources}
    encodings = {s.name: s.encoding for s in sources}
    columns = [
        c
        for c in (
            "page_id", "url", "final_url", "source", "page_type", "status", "headers", "body",
            "skip_reason", "detail",
        )
        if c in pages.column_names
    ]  # fmt: skip
    rows = pages.select(columns).to_pylist()
    out = CleanOutput()
    for start in range(0, len(rows), PROGRESS_EVERY):
        part = clean_pages(rows[start : start + PROGRESS_EVERY], styles, encodings)
        _extend_clean(out, part)
        logger.info("cleaned %d/%d pages", min(start + PROGRESS_EVERY, len(rows)), len(rows))
    return out


def _extend_clean(out: CleanOutput, part: CleanOutput) -> None:
    seen = {a["article_id"] for a in out.articles}
    out.articles += [a for a in part.articles if a["article_id"] not in seen]
    out.rejects += part.rejects
    out.encodings.update(part.encodings)
    out.repairs.update(part.repairs)


@task(name="dedup", cache_policy=NO_CACHE)
def dedup_task(
    all_articles: dict[str, dict[str, Any]], previous: dict[str, str]
) -> list[dict[str, Any]]:
    records = [
        DedupInput(
            article_id=a["article_id"],
            url=a["url"],
            language=a.get("language") or "und",
            text=a.get("text") or "",
            content_hash=a["content_hash"],
            word_count=a.get("word_count") or 0,
            seen_order=(
                a.get("first_seen_run") or "",
                _iso(a.get("published_at")),
                a["article_id"],
            ),
            published_at=a.get("published_at"),
        )
        for a in all_articles.values()
    ]
    rows = cluster_articles(records, previous)
    return [_as_dict(r) for r in rows]


@task(name="enrich", cache_policy=NO_CACHE)
def enrich_task(articles: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    logger = get_run_logger()
    result: dict[str, list[dict[str, Any]]] = {
        "entities": [], "mentions": [], "roles": [], "article_countries": [], "article_topics": [],
    }  # fmt: skip
    batch = max(PROGRESS_EVERY // 2, 1)
    for start in range(0, len(articles), batch):
        part = enrich_articles(
            [
                {
                    "article_id": a["article_id"],
                    "language": a.get("language") or "und",
                    "text": a.get("text") or "",
                    "published_at": a.get("published_at"),
                }
                for a in articles[start : start + batch]
            ]
        )
        for key in result:
            result[key] += [_as_dict(r) for r in getattr(part, key)]
        logger.info("enriched %d/%d articles", min(start + batch, len(articles)), len(articles))
    return result


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


def _as_dict(row: Any) -> dict[str, Any]:
    if isinstance(row, dict):
        return dict(row)
    if hasattr(row, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(row)
    return dict(row._asdict()) if hasattr(row, "_asdict") else dict(row)


# -- load -----------------------------------------------------------------------------------
def _rows_table(table: str, rows: list[dict[str, Any]], run_id: str) -> pa.Table:
    schema = TABLES[table].schema
    for row in rows:
        row.setdefault("run_id", run_id)
    return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)


@dataclass
class LoadResult:
    counts: dict[str, int]
    snapshot: int


def _by_id(table: pa.Table, key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in table.to_pylist()}


@task(name="load", cache_policy=NO_CACHE)
def load_task(
    wh: Warehouse,
    run_id: str,
    pages: pa.Table,
    clean: CleanOutput,
    plan: merge.ArticlePlan,
    articles_out: list[dict[str, Any]],
    cluster_rows: list[dict[str, Any]],
    enriched: dict[str, list[dict[str, Any]]],
    run_row: dict[str, Any],
) -> LoadResult:
    tx = wh.transaction(run_id)
    encodings = clean.encodings
    enc = [encodings.get(pid) for pid in pages["page_id"].to_pylist()]
    pages_rows = pages.append_column("encoding", pa.array(enc, pa.string()))
    if "detail" in pages_rows.column_names:
        errors = [
            d if s is None and not k else None
            for d, s, k in zip(
                pages_rows["detail"].to_pylist(),
                pages_rows["status"].to_pylist(),
                pages_rows["skip_reason"].to_pylist(),
                strict=True,
            )
        ]
        pages_rows = pages_rows.append_column("error", pa.array(errors, pa.string()))
    if "skip_reason" in pages_rows.column_names:
        # links not fetched are not fetches: they live in `rejects` only
        mask = [k is None for k in pages_rows["skip_reason"].to_pylist()]
        pages_rows = pages_rows.filter(pa.array(mask))
    tx.append("pages", pages_rows)
    tx.append("rejects", _rows_table("rejects", clean.rejects, run_id))
    tx.append("article_versions", _rows_table("article_versions", plan.versions, run_id))
    if articles_out:
        tx.upsert("articles", _rows_table("articles", articles_out, run_id))
    if cluster_rows:
        tx.upsert("clusters", _rows_table("clusters", cluster_rows, run_id))
    changed_ids = [a["article_id"] for a in plan.updated]
    if enriched["entities"]:
        tx.upsert("entities", _rows_table("entities", enriched["entities"], run_id))
    for table in ("mentions", "roles", "article_countries", "article_topics"):
        rows = enriched[table]
        if rows or changed_ids:
            tx.upsert(table, _rows_table(table, rows, run_id), scope=("article_id", changed_ids))
    tx.append("runs", _rows_table("runs", [run_row], run_id))
    snap = tx.commit()
    build_catalog(wh, snap)
    return LoadResult(counts=dict(snap.rows), snapshot=snap.number)


# -- the flow -------------------------------------------------------------------------------
@contextlib.contextmanager
def _sample_site_if_needed(sources: list[Source]) -> Iterator[str | None]:
    if not any(s.sample for s in sources):
        yield None
        return
    from infoshos.spiders.sample_site import SampleSite

    with SampleSite(port=0) as site:
        yield site.base_url


def plan_crawls(sources: list[Source], base_url: str | None) -> list[CrawlPlan]:
    plans = []
    for src in sources:
        if src.sample:
            from infoshos.spiders import sample_site

            assert base_url is not None
            starts = sample_site.start_urls(base_url)[src.name]
            plans.append(CrawlPlan(src, list(starts), sample_site.url_map(base_url)))
        else:
            plans.append(CrawlPlan(src, list(src.start_urls), list(src.url_map)))
    return plans


@flow(name="infoshos-run", log_prints=False)
def run_pipeline(
    warehouse: str = "data",
    sources: list[str] | None = None,
    start_urls: list[str] | None = None,
    sources_file: str | None = None,
) -> dict[str, Any]:
    """Crawl the sources (default: the bundled sample site), clean, deduplicate, enrich and
    publish one snapshot of the warehouse. Returns the run summary."""
    logger = get_run_logger()
    catalog = load_sources(sources_file)
    selected = [adhoc_source(start_urls)] if start_urls else select_sources(sources, catalog)
    wh = Warehouse(warehouse)
    run_id = new_run_id()
    summary = RunSummary(run_id=run_id, sources=[s.name for s in selected])
    with wh.lock(wait_seconds=float(os.environ.get("INFOSHOS_LOCK_WAIT", "0"))):
        staging = wh.root / "_staging" / run_id
        staging.mkdir(parents=True, exist_ok=True)
        try:
            with summary.stage("crawl"), _sample_site_if_needed(selected) as base_url:
                plans = plan_crawls(selected, base_url)
                outs = [staging / f"spool-{i}.parquet" for i in range(len(plans))]
                futures = [crawl_task.submit(p, o) for p, o in zip(plans, outs, strict=True)]
                for fut in futures:
                    fut.result()
                pages = read_spools(outs, run_id)
            fetched = (
                [k is None for k in pages["skip_reason"].to_pylist()] if pages.num_rows else []
            )
            summary.items["crawl"] = sum(fetched)
            summary.pages_fetched = sum(fetched)

            with summary.stage("clean"):
                cleaned = clean_task(pages, selected)
            summary.items["clean"] = len(cleaned.articles)

            with summary.stage("dedup"):
                stored = _by_id(wh.read("articles"), "article_id")
                versions = wh.read("article_versions", columns=["article_id", "version"])
                latest: dict[str, int] = {}
                for aid, ver in zip(
                    versions["article_id"].to_pylist(),
                    versions["version"].to_pylist(),
                    strict=True,
                ):
                    latest[aid] = max(latest.get(aid, 0), ver)
                plan = merge.plan_articles(stored, latest, cleaned.articles, run_id)
                everything = {aid: dict(a) for aid, a in stored.items()}
                for art in plan.changed:
                    everything[art["article_id"]] = art
                previous = {aid: a["cluster_id"] for aid, a in stored.items()}
                cluster_rows = dedup_task(everything, previous)
                changed_ids = {a["article_id"] for a in plan.changed}
                articles_out = merge.apply_clusters(everything, cluster_rows, changed_ids, run_id)
                stored_clusters = _by_id(wh.read("clusters"), "article_id")
                cluster_out = merge.cluster_changes(stored_clusters, cluster_rows, run_id)
            summary.items["dedup"] = len(everything)

            with summary.stage("enrich"):
                enriched = enrich_task(plan.changed)
                stored_entities = _by_id(wh.read("entities"), "entity_id")
                enriched["entities"] = merge.merge_entities(
                    stored_entities, enriched["entities"], run_id
                )
            summary.items["enrich"] = len(plan.changed)

            summary.articles_new = len(plan.new)
            summary.articles_updated = len(plan.updated)
            summary.articles_unchanged = len(plan.unchanged)
            roles = {r["article_id"]: r["role"] for r in cluster_rows}
            summary.duplicates = sum(
                1 for a in plan.changed if roles.get(a["article_id"]) == "duplicate"
            )
            summary.rejects = Counter(r["reason"] for r in cleaned.rejects)
            summary.mentions_new = len(enriched["mentions"])
            summary.repairs = cleaned.repairs

            with summary.stage("load"):
                run_row = summary.run_row(
                    code_version=code_version(),
                    schema_version=SCHEMA_VERSION,
                    lock_hash=lock_hash(),
                    config=json.dumps([s.to_json() for s in selected]),
                )
                result = load_task(
                    wh, run_id, pages, cleaned, plan, articles_out, cluster_out, enriched,
                    run_row,
                )  # fmt: skip
            summary.items["load"] = len(articles_out)
            summary.entities = result.counts.get("entities", 0)
            summary.articles_total = result.counts.get("articles", 0)
            summary.snapshot = result.snapshot
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                (wh.root / "_staging").rmdir()
    text = summary.markdown()
    with contextlib.suppress(Exception):
        create_markdown_artifact(text, key="infoshos-run-summary", description="infoshos run")
    logger.info("run %s published snapshot %s", run_id, summary.snapshot)
    return summary.to_json()
