"""The load stage: a run's rows written into one warehouse transaction, chunk by chunk, and
published as one snapshot at the end.

:class:`RunWriter` appends each chunk's pages, rejects, versions, facts and signatures as they
are made, and spills the chunk's article rows to a staging file: their cluster fields are known
only once every chunk is deduplicated. ``finish`` writes them from there batch by batch, with the
other end-of-run rows, and commits (the quality gate runs in the commit).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from infoshos.flows.memory import parquet_batches
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.search import index
from infoshos.warehouse.store import COMPRESSION, Snapshot, Warehouse
from infoshos.warehouse.transaction import Transaction, conform, data_file

FACT_TABLES = ("mentions", "roles", "article_countries", "article_topics")
#: The tables a re-process rebuilds from the pages (emptied first, then written as in a run).
DERIVED_TABLES = ("articles", "clusters", "entities", *FACT_TABLES, "minhashes")
STATE_TABLES = ("articles", "clusters", "entities", "mentions")
#: The quality gate refuses a publish that would shrink a keyed table by more than this.
MAX_SHRINK = 0.10
#: Article rows read back from the staging file at a time.
SPILL_BATCH = 2000
T = TypeVar("T")


@dataclass
class Enriched:
    """Enrichment results of a chunk: entities as records and the per-article facts as Arrow
    tables."""

    entities: list[dict[str, Any]]
    tables: dict[str, pa.Table]


def rows_table(table: str, rows: list[dict[str, Any]], run_id: str) -> pa.Table:
    schema = TABLES[table].schema
    for row in rows:
        row.setdefault("run_id", run_id)
    return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)


def batched(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    """``rows`` in lists of ``size`` (the last one shorter)."""
    it = iter(rows)
    while part := list(itertools.islice(it, size)):
        yield part


def pages_rows(pages: pa.Table, encodings: Mapping[str, str]) -> pa.Table:
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


def write_pages_file(pages: pa.Table, encodings: Mapping[str, str], folder: Path) -> Path | None:
    """Write a chunk's `pages` rows as one Parquet file in ``folder`` (a Dask worker does; the
    run's transaction registers it with :meth:`RunWriter.pages`). None: no fetch in the chunk."""
    rows = conform("pages", pages_rows(pages, encodings))
    if rows.num_rows == 0:
        return None
    path = data_file(folder)
    pq.write_table(rows, path, compression=COMPRESSION)
    return path


class RunWriter:
    """One run's writes (see the module docstring). ``reprocess``: the derived tables are
    emptied first and every row is appended."""

    def __init__(
        self, wh: Warehouse, run_id: str, staging: Path, reprocess: bool, base: int | None = None
    ) -> None:
        """``base``: the snapshot the run's decisions read (the commit checks it is the latest:
        see ``Transaction``)."""
        self.wh = wh
        self.run_id = run_id
        self.reprocess = reprocess
        self.tx: Transaction = wh.transaction(run_id, base, spill=staging / "duckdb")
        self.spill_path = staging / "articles.parquet"
        self._spill: pq.ParquetWriter | None = None
        self.written = 0
        if reprocess:
            for table in DERIVED_TABLES:
                self.tx.replace(table, TABLES[table].schema.empty_table())

    def _put(self, table: str, rows: pa.Table, updated: Collection[str], scope: bool) -> None:
        """Rows of new articles are appended; with updated ones, the stored rows of those
        articles (by key, or all of theirs with ``scope``) are replaced."""
        if rows.num_rows == 0 and not (scope and updated):
            return
        if self.reprocess or not updated:
            self.tx.append(table, rows)
        else:
            self.tx.upsert(table, rows, scope=("article_id", list(updated)) if scope else None)

    def pages(self, pages: pa.Table | Path | None, encodings: Mapping[str, str]) -> None:
        """A chunk's page rows: from its spool rows, or a file a worker wrote
        (:func:`write_pages_file` in :meth:`pages_folder`)."""
        if self.reprocess or pages is None:
            return
        if isinstance(pages, Path):
            self.tx.add_files("pages", [pages])
        else:
            self.tx.append("pages", pages_rows(pages, encodings))

    def pages_folder(self) -> Path | None:
        """Where workers write the chunks' page files (None: a re-process writes no pages)."""
        return None if self.reprocess else self.tx.data_folder("pages")

    def chunk(
        self,
        rejects: list[dict[str, Any]],
        versions: list[dict[str, Any]],
        articles: list[dict[str, Any]],
        updated: Collection[str],
        facts: Mapping[str, pa.Table],
        minhashes: list[dict[str, Any]],
    ) -> None:
        """A chunk's rows; ``updated``: the ids of stored articles among ``articles``."""
        self.tx.append("rejects", rows_table("rejects", rejects, self.run_id))
        self.tx.append("article_versions", rows_table("article_versions", versions, self.run_id))
        for table in FACT_TABLES:
            self._put(table, facts[table], updated, scope=True)
        self._put("minhashes", rows_table("minhashes", minhashes, self.run_id), updated, False)
        if articles:
            rows = rows_table("articles", articles, self.run_id)
            if self._spill is None:
                self._spill = pq.ParquetWriter(self.spill_path, rows.schema)
            self._spill.write_table(rows)

    def articles(
        self,
        fields: Callable[[dict[str, Any]], dict[str, Any]],
        updated: Collection[str],
        stored: list[dict[str, Any]],
    ) -> int:
        """The spilled rows, each through ``fields`` (cluster fields, gone marks), then the
        ``stored`` rows that changed without being in the run. Returns the rows written."""
        count = 0
        for rows in self._spilled():
            rows = [fields(r) for r in rows]
            ids = [r["article_id"] for r in rows if r["article_id"] in updated]
            self._put("articles", rows_table("articles", rows, self.run_id), ids, False)
            count += len(rows)
        if stored:
            self.tx.upsert("articles", rows_table("articles", stored, self.run_id))
        self.written = count + len(stored)
        return self.written

    def _spilled(self) -> Iterator[list[dict[str, Any]]]:
        if self._spill is None:
            return
        self._spill.close()
        self._spill = None
        for batch in parquet_batches(self.spill_path, SPILL_BATCH):
            yield batch.to_pylist()

    def keyed(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        """Changed rows of a keyed table (clusters, entities), made into Arrow a batch at a time
        (a first run's clusters are a row per article)."""
        parts = [rows_table(table, part, self.run_id) for part in batched(rows, SPILL_BATCH)]
        if not parts:
            return
        rows_of = pa.concat_tables(parts)
        if self.reprocess:
            self.tx.append(table, rows_of)
        else:
            self.tx.upsert(table, rows_of)

    def links(self, rows: list[dict[str, Any]]) -> None:
        self.tx.replace("article_links", rows_table("article_links", rows, self.run_id))

    def commit(self, run_row: dict[str, Any]) -> Snapshot:
        self.tx.append("runs", rows_table("runs", [run_row], self.run_id))
        shrink = None if self.reprocess else dict.fromkeys(STATE_TABLES, MAX_SHRINK)
        snap = self.tx.commit(max_shrink=shrink)
        index(self.wh)  # derived: a failure leaves a stale index that the next reader rebuilds
        return snap

    def abort(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        self.tx.rollback()
