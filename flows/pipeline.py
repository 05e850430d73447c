"""The Prefect flows: a run (crawl -> clean -> dedup -> enrich -> load) and a re-process.

Each stage is a task; the flows and tasks are thin shells around the pure transforms in
``flows.clean``, ``flows.dedup``, ``flows.links``, ``flows.enrich`` and ``flows.merge``. The
crawl stage lives in ``flows.crawl_stage`` (a Scrapy subprocess per source, so the flow can run
again in the same process) and the writing in ``flows.load``. The warehouse lock is held for the
whole run and the run is published at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed
from prefect.utilities.annotations import quote

from infoshos.flows import health, merge
from infoshos.flows.clean.articles import CleanOutput, clean_pages
from infoshos.flows.clean.urls import article_id, canonical_url
from infoshos.flows.crawl_stage import (
    CrawlOptions,
    crawl_task,
    latest_article_fetches,
    plan_crawls,
    read_spools,
    sample_site_if_needed,
    write_known,
)
from infoshos.flows.dedup import (
    SIGNATURE_SCHEME,
    DedupInput,
    article_signatures,
    cluster_articles,
)
from infoshos.flows.enrich import enrich_articles
from infoshos.flows.links import link_translations
from infoshos.flows.load import FACT_TABLES, Changes, Enriched, load_task, pages_rows, rows_table
from infoshos.flows.progress import progress_view
from infoshos.flows.sources import Source, adhoc_source, load_sources, select_sources
from infoshos.flows.summary import RunSummary, rule_miss_warnings
from infoshos.warehouse.faults import crash_point
from infoshos.warehouse.report import report_markdown
from infoshos.warehouse.schema import SCHEMA_VERSION, TABLES
from infoshos.warehouse.store import Warehouse

PROGRESS_EVERY = 500
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


def big(value: T) -> T:
    """Hand a large argument to a task as it is: Prefect would otherwise walk every element
    looking for futures (at 10,000 articles that walk cost 48 of the load stage's 51 s)."""
    return cast(T, quote(value))


@task(name="clean", cache_policy=NO_CACHE)
def clean_task(pages: pa.Table, sources: list[Source]) -> CleanOutput:
    logger = get_run_logger()
    styles = {s.name: s.style for s in sources}
    encodings = {s.name: s.encoding for s in sources}
    timezones = {s.name: s.timezone for s in sources}
    columns = [
        c
        for c in (
            "page_id", "url", "final_url", "source", "page_type", "status", "headers", "body",
            "skip_reason", "detail", "language_hint",
        )
        if c in pages.column_names
    ]  # fmt: skip
    out = CleanOutput()
    done = 0
    # batch by batch from Arrow: never a Python copy of every body at once
    for batch in pages.select(columns).to_batches(max_chunksize=PROGRESS_EVERY):
        part = clean_pages(batch.to_pylist(), styles, encodings, timezones=timezones)
        _extend_clean(out, part)
        done += batch.num_rows
        logger.info("cleaned %d/%d pages", done, pages.num_rows)
    return out


def _extend_clean(out: CleanOutput, part: CleanOutput) -> None:
    seen = {a["article_id"] for a in out.articles}
    out.articles += [a for a in part.articles if a["article_id"] not in seen]
    out.rejects += part.rejects
    out.encodings.update(part.encodings)
    out.repairs.update(part.repairs)
    out.rule_misses.update(part.rule_misses)
    for source, example in part.rule_miss_examples.items():
        out.rule_miss_examples.setdefault(source, example)


@task(name="dedup", cache_policy=NO_CACHE)
def dedup_task(
    all_articles: dict[str, dict[str, Any]],
    previous: dict[str, str],
    stored_signatures: dict[tuple[str, str], bytes],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Cluster every article; only texts without a stored signature are hashed. Returns the
    cluster rows and the new signatures to store."""
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
    signatures = article_signatures(records, stored_signatures)
    rows = cluster_articles(records, previous, signatures=signatures)
    new = [
        {"article_id": aid, "content_hash": h, "scheme": SIGNATURE_SCHEME, "signature": sig}
        for (aid, h), sig in signatures.items()
        if (aid, h) not in stored_signatures
    ]
    return [_as_dict(r) for r in rows], new


def stored_signatures(wh: Warehouse) -> dict[tuple[str, str], bytes]:
    t = wh.read("minhashes", columns=["article_id", "content_hash", "scheme", "signature"])
    return {
        (a, h): sig
        for a, h, scheme, sig in zip(
            t["article_id"].to_pylist(),
            t["content_hash"].to_pylist(),
            t["scheme"].to_pylist(),
            t["signature"].to_pylist(),
            strict=True,
        )
        if scheme == SIGNATURE_SCHEME
    }


@task(name="enrich", cache_policy=NO_CACHE)
def enrich_task(articles: list[dict[str, Any]], run_id: str) -> Enriched:
    logger = get_run_logger()
    entities: dict[str, dict[str, Any]] = {}
    parts: dict[str, list[pa.Table]] = {t: [] for t in FACT_TABLES}
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
        for ent in part.entities:
            row = _as_dict(ent)
            known = entities.get(row["entity_id"])
            if known is not None:
                row["aliases"] = sorted(set(known["aliases"] or []) | set(row["aliases"] or []))
            entities[row["entity_id"]] = row
        for table in FACT_TABLES:
            rows = [_as_dict(r) for r in getattr(part, table)]
            parts[table].append(rows_table(table, rows, run_id))
        logger.info("enriched %d/%d articles", min(start + batch, len(articles)), len(articles))
    tables = {
        t: pa.concat_tables(p) if p else TABLES[t].schema.empty_table() for t, p in parts.items()
    }
    return Enriched(list(entities.values()), tables)


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
def _by_id(table: pa.Table, key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in table.to_pylist()}


def gone_updates(
    pages: pa.Table, stored: dict[str, dict[str, Any]], run_id: str
) -> list[dict[str, Any]]:
    """Known articles whose URL now answers 404 or 410: marked ``gone_at``, never deleted."""
    out: dict[str, dict[str, Any]] = {}
    if pages.num_rows == 0:
        return []
    for row in pages.select(["url", "status", "page_type", "fetched_at"]).to_pylist():
        if row["status"] not in (404, 410) or row["page_type"] not in ("article", "print"):
            continue
        aid = article_id(canonical_url(row["url"]))
        art = stored.get(aid)
        if art is not None and art.get("gone_at") is None and aid not in out:
            out[aid] = dict(art, gone_at=row["fetched_at"], run_id=run_id)
    return list(out.values())


# -- the stages after the crawl: shared by a run and a re-process ----------------------------
def process(
    wh: Warehouse,
    run_id: str,
    pages: pa.Table,
    sources: list[Source],
    summary: RunSummary,
    reprocess: bool = False,
) -> Changes:
    """Clean, deduplicate and enrich ``pages`` against the stored state; decide the changes."""
    with summary.stage("clean"):
        cleaned = clean_task(big(pages), sources)
    summary.items["clean"] = len(cleaned.articles)
    summary.rule_misses = Counter(cleaned.rule_misses)
    for warning in rule_miss_warnings(cleaned.rule_misses, cleaned.rule_miss_examples):
        get_run_logger().warning(warning)
        summary.warnings.append(warning)
    crash_point("after-clean")

    with summary.stage("dedup"):
        stored = _by_id(wh.read("articles"), "article_id")
        versions = wh.read("article_versions", columns=["article_id", "version"])
        latest: dict[str, int] = {}
        for aid, ver in zip(
            versions["article_id"].to_pylist(), versions["version"].to_pylist(), strict=True
        ):
            latest[aid] = max(latest.get(aid, 0), ver)
        plan = merge.plan_articles(stored, latest, cleaned.articles, run_id)
        for art in plan.changed:
            old = stored.get(art["article_id"])
            art["gone_at"] = None if old is None else old.get("gone_at")
        everything = {aid: dict(a) for aid, a in stored.items()}
        if reprocess:  # the derived tables are rebuilt from the pages alone
            kept = {a["article_id"] for a in cleaned.articles}
            everything = {aid: a for aid, a in everything.items() if aid in kept}
        for art in plan.changed:
            everything[art["article_id"]] = art
        gone = gone_updates(pages, everything, run_id)
        for art in gone:
            everything[art["article_id"]] = art
        cluster_rows: list[dict[str, Any]] = []
        minhashes: list[dict[str, Any]] = []
        articles_out: list[dict[str, Any]] = gone  # nothing new: only gone_at marks change
        cluster_out: list[dict[str, Any]] = []
        if reprocess or plan.changed:
            previous = {aid: a["cluster_id"] for aid, a in stored.items() if a.get("cluster_id")}
            known_sigs = {} if reprocess else stored_signatures(wh)
            cluster_rows, minhashes = dedup_task(big(everything), big(previous), big(known_sigs))
            changed_ids = {a["article_id"] for a in plan.changed} | {a["article_id"] for a in gone}
            if reprocess:
                changed_ids = set(everything)
            articles_out = merge.apply_clusters(everything, cluster_rows, changed_ids, run_id)
            stored_clusters = {} if reprocess else _by_id(wh.read("clusters"), "article_id")
            cluster_out = merge.cluster_changes(stored_clusters, cluster_rows, run_id)
    summary.items["dedup"] = len(everything) if cluster_rows else 0

    with summary.stage("enrich"):
        to_enrich = list(everything.values()) if reprocess else plan.changed
        enriched = enrich_task(big(to_enrich), run_id)
        stored_entities = {} if reprocess else _by_id(wh.read("entities"), "entity_id")
        enriched.entities = merge.merge_entities(stored_entities, enriched.entities, run_id)
        links = None  # unchanged articles: unchanged links
        if reprocess or plan.changed:
            links = translation_links(wh, everything, enriched.tables["mentions"], reprocess)
    summary.items["enrich"] = len(to_enrich)

    roles = {r["article_id"]: r["role"] for r in cluster_rows}
    summary.articles_new = len(plan.new)
    summary.articles_updated = len(plan.updated)
    summary.articles_unchanged = len(plan.unchanged)
    summary.articles_gone = len(gone)
    summary.duplicates = sum(1 for a in plan.changed if roles.get(a["article_id"]) == "duplicate")
    summary.rejects = Counter(r["reason"] for r in cleaned.rejects)
    summary.mentions_new = enriched.tables["mentions"].num_rows
    summary.repairs = cleaned.repairs
    return Changes(
        pages=pages_rows(pages, cleaned.encodings) if not reprocess else pages.slice(0, 0),
        rejects=cleaned.rejects,
        plan=plan,
        articles=articles_out,
        clusters=cluster_out,
        enriched=enriched,
        links=links,
        minhashes=minhashes,
        replace_derived=reprocess,
    )


def translation_links(
    wh: Warehouse,
    articles: dict[str, dict[str, Any]],
    new_mentions: pa.Table,
    reprocess: bool,
) -> list[dict[str, Any]] | None:
    """Translation links over all articles (a new translation may link to an old article);
    None when they equal the stored ones."""
    entity_ids: dict[str, set[str]] = {}
    fresh_pairs = list(
        zip(
            new_mentions["article_id"].to_pylist(),
            new_mentions["entity_id"].to_pylist(),
            strict=True,
        )
    )
    fresh = {aid for aid, _ in fresh_pairs}
    if not reprocess:
        stored = wh.read("mentions", columns=["article_id", "entity_id"])
        for aid, eid in zip(
            stored["article_id"].to_pylist(), stored["entity_id"].to_pylist(), strict=True
        ):
            if aid not in fresh:
                entity_ids.setdefault(aid, set()).add(eid)
    for aid, eid in fresh_pairs:
        entity_ids.setdefault(aid, set()).add(eid)
    rows: list[dict[str, Any]] = [
        dict(r)
        for r in link_translations(
            [
                {
                    "article_id": a["article_id"],
                    "language": a.get("language") or "und",
                    "published_at": a.get("published_at"),
                    "event_date": a.get("event_date"),
                    "text": a.get("text") or "",
                    "entity_ids": entity_ids.get(a["article_id"], set()),
                }
                for a in articles.values()
            ]
        )
    ]
    if not reprocess:
        old = wh.read("article_links", columns=["article_id", "other_id", "kind", "score"])
        key = sorted(
            (r["article_id"], r["other_id"], r["kind"], round(float(r["score"]), 9)) for r in rows
        )
        was = sorted(
            (r["article_id"], r["other_id"], r["kind"], round(r["score"] or 0, 9))
            for r in old.to_pylist()
        )
        if key == was:
            return None
    return rows


def publish(
    wh: Warehouse,
    run_id: str,
    changes: Changes,
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
        snap = load_task(wh, run_id, big(changes), run_row)
    summary.items["load"] = len(changes.articles)
    summary.entities = snap.rows.get("entities", 0)
    summary.articles_total = snap.rows.get("articles", 0)
    summary.snapshot = snap.number


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
    """A staging folder for the run's spools; leftovers of killed runs are removed first."""
    root = wh.root / "_staging"
    if root.exists():
        for old in root.iterdir():
            shutil.rmtree(old, ignore_errors=True)
    staging = root / run_id
    staging.mkdir(parents=True, exist_ok=True)
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            root.rmdir()


# -- the flows ------------------------------------------------------------------------------
def _lock_wait() -> float:
    return float(os.environ.get("INFOSHOS_LOCK_WAIT", "0"))


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
    than in its recent runs."""
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
    with wh.lock(wait_seconds=_lock_wait()), _run_folder(wh, run_id) as staging:
        with (
            summary.stage("crawl"),
            sample_site_if_needed(selected) as base_url,
            progress_view(logger),
        ):
            known = staging / "known.parquet"
            write_known(wh, known)
            plans = plan_crawls(selected, base_url, options, known)
            outs = [staging / f"spool-{i}.parquet" for i in range(len(plans))]
            futures = [crawl_task.submit(p, o) for p, o in zip(plans, outs, strict=True)]
            stats = [f.result() for f in futures]
            pages = read_spools(outs, run_id)
        summary.crawl_warnings = sum(int(st.get("log_warnings", 0)) for st in stats)
        summary.crawl_errors = sum(int(st.get("log_errors", 0)) for st in stats)
        crash_point("after-crawl")
        fetched = pc.sum(pc.is_null(pages["skip_reason"])).as_py() or 0
        summary.items["crawl"] = summary.pages_fetched = int(fetched)
        skipped = {
            p.source.name: int(st.get("known_skipped", 0))
            for p, st in zip(plans, stats, strict=True)
        }
        yields = health.source_yield(
            pages.select(["source", "page_type", "status", "skip_reason"]).to_pylist(), skipped
        )
        history = [
            dict(r["source_yield"] or [])
            for r in wh.read("runs", columns=["mode", "status", "source_yield"]).to_pylist()
            if r["mode"] == mode and r["status"] == "completed" and mode != "backfill"
        ]
        summary.messages += health.yield_alarms(summary.sources, yields, history)
        if summary.messages:
            summary.status = "flagged"
        changes = process(wh, run_id, pages, selected, summary)
        publish(wh, run_id, changes, summary, selected, mode, yields)
    logger.info("run %s published snapshot %s", run_id, summary.snapshot)
    return finish(summary, wh)


@flow(name="infoshos-reprocess", log_prints=False)
def reprocess_pipeline(warehouse: str = "data", sources_file: str | None = None) -> Any:
    """Rebuild the clean, dedup and enrichment tables from the stored raw pages (no network):
    for every URL, its latest successful fetch. `pages`, `rejects` history and `runs` stay."""
    logger = get_run_logger()
    catalog = load_sources(sources_file)
    wh = Warehouse(warehouse)
    run_id = new_run_id()
    with wh.lock(wait_seconds=_lock_wait()):
        with_stored = wh.read("pages", columns=["source"])
        names = sorted(set(with_stored["source"].to_pylist()))
        summary = RunSummary(run_id=run_id, sources=names)
        selected = [catalog[n] if n in catalog else adhoc_source_named(n) for n in names]
        with summary.stage("crawl"):
            pages = latest_pages(wh)
        summary.items["crawl"] = pages.num_rows
        changes = process(wh, run_id, pages, selected, summary, reprocess=True)
        publish(wh, run_id, changes, summary, selected, "reprocess")
    logger.info("re-process %s published snapshot %s", run_id, summary.snapshot)
    return finish(summary, wh)


def adhoc_source_named(name: str) -> Source:
    """A stored source no longer configured: re-process it with the generic rules."""
    return Source(name=name, spider="generic", style="generic")


def latest_pages(wh: Warehouse) -> pa.Table:
    """For each URL, the latest fetch of an article page that answered 200, with its body."""
    best = latest_article_fetches(wh, ["page_id"])
    keep = pa.array([row["page_id"] for row in best.values()], pa.string())
    parts = []
    for path in wh.files("pages"):
        table = pq.read_table(path)
        parts.append(table.filter(pc.is_in(table["page_id"], value_set=keep)))
    if not parts:
        return read_spools([], "none")
    pages = pa.concat_tables(parts, promote_options="default").sort_by("fetched_at")
    return pages.append_column("skip_reason", pa.nulls(pages.num_rows, pa.string())).append_column(
        "detail", pa.nulls(pages.num_rows, pa.string())
    )
