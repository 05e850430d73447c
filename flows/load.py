"""The load stage: everything a run decided to write, published as one snapshot."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from prefect import task
from prefect.cache_policies import NO_CACHE

from infoshos.flows import merge
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.search import index
from infoshos.warehouse.store import Snapshot, Warehouse

FACT_TABLES = ("mentions", "roles", "article_countries", "article_topics")


@dataclass
class Enriched:
    """Enrichment results: entities as records (few, merged with the stored ones) and the
    per-article facts as Arrow tables (many rows: kept compact)."""

    entities: list[dict[str, Any]]
    tables: dict[str, pa.Table]


def rows_table(table: str, rows: list[dict[str, Any]], run_id: str) -> pa.Table:
    schema = TABLES[table].schema
    for row in rows:
        row.setdefault("run_id", run_id)
    return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)


def pages_rows(pages: pa.Table, encodings: dict[str, str]) -> pa.Table:
    """Spool rows as `pages` rows: fetches only (links not followed live in `rejects`)."""
    if pages.num_rows == 0:
        return pages
    mask = pc.is_null(pages["skip_reason"])
    pages = pages.filter(mask)
    enc = [encodings.get(pid) for pid in pages["page_id"].to_pylist()]
    errors = [
        d if s is None else None
        for d, s in zip(pages["detail"].to_pylist(), pages["status"].to_pylist(), strict=True)
    ]
    pages = pages.append_column("encoding", pa.array(enc, pa.string()))
    return pages.append_column("error", pa.array(errors, pa.string()))


@dataclass
class Changes:
    """Everything one run writes, decided before anything is written."""

    pages: pa.Table
    rejects: list[dict[str, Any]]
    plan: merge.ArticlePlan
    articles: list[dict[str, Any]]
    clusters: list[dict[str, Any]]
    enriched: Enriched
    links: list[dict[str, Any]] | None = None  # None: unchanged
    minhashes: list[dict[str, Any]] = field(default_factory=list)
    replace_derived: bool = False


@task(name="load", cache_policy=NO_CACHE)
def load_task(wh: Warehouse, run_id: str, changes: Changes, run_row: dict[str, Any]) -> Snapshot:
    """Write the run's files and publish them as one snapshot."""
    started = time.perf_counter()
    tx = wh.transaction(run_id)
    tx.append("pages", changes.pages)
    tx.append("rejects", rows_table("rejects", changes.rejects, run_id))
    tx.append("article_versions", rows_table("article_versions", changes.plan.versions, run_id))
    enriched = changes.enriched
    if changes.replace_derived:
        tx.replace("articles", rows_table("articles", changes.articles, run_id))
        tx.replace("clusters", rows_table("clusters", changes.clusters, run_id))
        tx.replace("entities", rows_table("entities", enriched.entities, run_id))
        for table in FACT_TABLES:
            tx.replace(table, enriched.tables[table])
    else:
        if changes.articles:
            tx.upsert("articles", rows_table("articles", changes.articles, run_id))
        if changes.clusters:
            tx.upsert("clusters", rows_table("clusters", changes.clusters, run_id))
        if enriched.entities:
            tx.upsert("entities", rows_table("entities", enriched.entities, run_id))
        changed_ids = [a["article_id"] for a in changes.plan.updated]
        for table in FACT_TABLES:
            rows = enriched.tables[table]
            if rows.num_rows or changed_ids:
                tx.upsert(table, rows, scope=("article_id", changed_ids))
    run_row["stage_seconds"]["load"] = round(time.perf_counter() - started, 3)
    if changes.links is not None:
        tx.replace("article_links", rows_table("article_links", changes.links, run_id))
    if changes.replace_derived:
        tx.replace("minhashes", rows_table("minhashes", changes.minhashes, run_id))
    elif changes.minhashes:
        tx.upsert("minhashes", rows_table("minhashes", changes.minhashes, run_id))
    tx.append("runs", rows_table("runs", [run_row], run_id))
    shrink = None if changes.replace_derived else dict.fromkeys(STATE_TABLES, MAX_SHRINK)
    snap = tx.commit(max_shrink=shrink)
    index(wh)  # derived: a failure leaves a stale index that the next reader rebuilds
    return snap


STATE_TABLES = ("articles", "clusters", "entities", "mentions")
#: The quality gate refuses a publish that would shrink a keyed table by more than this.
MAX_SHRINK = 0.10
