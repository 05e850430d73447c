"""What an export keeps: the tables named, and the rows of each that the filters keep.

Filters apply consistently: ``since`` keeps articles published on or after that date (UTC), pages
fetched since then, and runs (with their rejects) started since then; ``sources`` keeps those
sources' articles, pages, rejects and the runs that crawled them. The tables about articles
(versions, clusters, links, mentions, roles, countries, topics) follow the articles kept, pages
that kept articles were extracted from are kept as well, and entities are those the kept rows
refer to.

Rules: the keys of the rows kept are worked out once, from the snapshot exported, before any
file is written (:func:`select`); a table's rows are then read in batches of at most
:data:`BATCH_ROWS` and filtered batch by batch (memory stays bounded: ``pages`` holds every
response body). :class:`ExportError`, the one error of a bad argument or target folder, is
declared here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import pyarrow as pa
import pyarrow.compute as pc

from infoshos.warehouse.schema import PUBLIC_TABLES, TS
from infoshos.warehouse.store import Snapshot, Warehouse, WarehouseError

#: Rows read from the warehouse at a time.
BATCH_ROWS = 20_000


class ExportError(WarehouseError, ValueError):
    """A bad argument or target folder for an export, worded for the operator (one line)."""


def check_tables(tables: Sequence[str] | None) -> list[str]:
    """The tables to export, in the declarations' order (default: every public table)."""
    if tables is None:
        return list(PUBLIC_TABLES)
    if isinstance(tables, str):
        tables = [tables]
    unknown = [t for t in tables if t not in PUBLIC_TABLES]
    if unknown:
        raise ExportError(
            f"unknown table{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"choose from {', '.join(PUBLIC_TABLES)}"
        )
    if not tables:
        raise ExportError("no tables to export")
    return [t for t in PUBLIC_TABLES if t in set(tables)]


def _in(column: pa.ChunkedArray | pa.Array, values: set[str]) -> pa.ChunkedArray | pa.Array:
    mask = pc.is_in(column, value_set=pa.array(sorted(values), pa.string()))
    return pc.fill_null(mask, False)


def _since(column: pa.ChunkedArray | pa.Array, cut: datetime) -> pa.ChunkedArray | pa.Array:
    return pc.fill_null(pc.greater_equal(column, pa.scalar(cut, TS)), False)


def _and(*masks: pa.ChunkedArray | pa.Array | None) -> pa.ChunkedArray | pa.Array | None:
    out: pa.ChunkedArray | pa.Array | None = None
    for m in masks:
        if m is not None:
            out = m if out is None else pc.and_(out, m)
    return out


@dataclass
class Selection:
    """Which rows of each table an export keeps (``None``: every row)."""

    article_ids: set[str] | None = None
    page_ids: set[str] = field(default_factory=set)
    entity_ids: set[str] | None = None
    run_ids: set[str] | None = None
    sources: set[str] | None = None
    cut: datetime | None = None

    def mask(self, name: str, rows: pa.Table) -> pa.ChunkedArray | pa.Array | None:
        if self.article_ids is None and self.run_ids is None and self.sources is None:
            return None
        ids = self.article_ids
        if name == "articles":
            return None if ids is None else _in(rows["article_id"], ids)
        if name == "pages":
            by_time = _and(
                None if self.sources is None else _in(rows["source"], self.sources),
                None if self.cut is None else _since(rows["fetched_at"], self.cut),
            )
            if by_time is None:
                return None
            return pc.or_(by_time, _in(rows["page_id"], self.page_ids))
        if name == "article_links":
            assert ids is not None
            return pc.and_(_in(rows["article_id"], ids), _in(rows["other_id"], ids))
        if "article_id" in rows.column_names and name != "rejects":
            assert ids is not None
            return _in(rows["article_id"], ids)
        if name == "entities":
            assert self.entity_ids is not None
            return _in(rows["entity_id"], self.entity_ids)
        if name in ("rejects", "runs"):
            by_source = None
            if self.sources is not None and name == "rejects":
                by_source = _in(rows["source"], self.sources)
            by_run = None if self.run_ids is None else _in(rows["run_id"], self.run_ids)
            return _and(by_source, by_run)
        raise AssertionError(f"no filter for table {name}")


def kept_rows(wh: Warehouse, snap: Snapshot, name: str, sel: Selection) -> Iterator[pa.Table]:
    """The rows of the table that ``sel`` keeps, as it was in ``snap``, in batches of at most
    ``BATCH_ROWS`` rows, typed as the schema says."""
    for rows in wh.scan(name, snapshot=snap, batch_rows=BATCH_ROWS):
        mask = sel.mask(name, rows)
        yield rows if mask is None else rows.filter(mask)


def _read(wh: Warehouse, snap: Snapshot, name: str, columns: Sequence[str]) -> pa.Table:
    return wh.read(name, columns=columns, snapshot=snap)


def select(
    wh: Warehouse, snap: Snapshot, since: date | None, sources: Sequence[str] | None
) -> Selection:
    """The rows the filters keep; an unknown source is an :class:`ExportError`."""
    if since is None and sources is None:
        return Selection()
    wanted = set(sources) if sources is not None else None
    if wanted is not None:
        known: set[str] = set()
        for name in ("articles", "pages", "rejects"):
            known.update(
                v for v in pc.unique(_read(wh, snap, name, ["source"])["source"]).to_pylist() if v
            )
        unknown = sorted(wanted - known)
        if unknown:
            raise ExportError(
                f"unknown source{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                f"the warehouse has: {', '.join(sorted(known)) or 'none'}"
            )
    cut = datetime.combine(since, time(0), tzinfo=UTC) if since is not None else None
    sel = Selection(sources=wanted, cut=cut)

    articles = _read(wh, snap, "articles", ["article_id", "source", "published_at", "page_id"])
    mask = _and(
        None if wanted is None else _in(articles["source"], wanted),
        None if cut is None else _since(articles["published_at"], cut),
    )
    kept = articles.filter(mask) if mask is not None else articles
    sel.article_ids = set(kept["article_id"].to_pylist())
    sel.page_ids = {p for p in kept["page_id"].to_pylist() if p}
    versions = _read(wh, snap, "article_versions", ["article_id", "page_id"])
    versions = versions.filter(_in(versions["article_id"], sel.article_ids))
    sel.page_ids.update(p for p in versions["page_id"].to_pylist() if p)

    entity_ids: set[str] = set()
    for name, cols in (
        ("mentions", ["entity_id"]),
        ("article_countries", ["entity_id"]),
        ("roles", ["person_id", "org_id"]),
    ):
        rows = _read(wh, snap, name, ["article_id", *cols])
        rows = rows.filter(_in(rows["article_id"], sel.article_ids))
        for col in cols:
            entity_ids.update(v for v in rows[col].to_pylist() if v)
    sel.entity_ids = entity_ids

    runs = _read(wh, snap, "runs", ["run_id", "started_at", "sources"])
    run_ids = set()
    for run_id, started, crawled in zip(
        runs["run_id"].to_pylist(),
        runs["started_at"].to_pylist(),
        runs["sources"].to_pylist(),
        strict=True,
    ):
        if cut is not None and (started is None or started < cut):
            continue
        if wanted is not None and not (set(crawled or []) & wanted):
            continue
        run_ids.add(run_id)
    sel.run_ids = run_ids
    return sel
