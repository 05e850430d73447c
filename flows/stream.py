"""A run over its pages chunk by chunk, in flat memory.

Each chunk of pages is cleaned, planned against the stored state (new, changed, unchanged),
signed (MinHash), enriched and written; what a run keeps between chunks is only keys and
signatures (:class:`RunIndex`): the dedup keys of every article (in columns, ``flows.keys``:
the stored state's, and those of the articles written), the signatures by content hash, the
link inputs (numbers and entity ids, no text) of the articles written, the entities found.
At the end the story clusters are computed over all of them, and the article rows, spilled by
the writer, are written with their cluster fields.

The decisions are the pure functions of ``flows.merge``; the stages after the crawl
(``flows.process``) call the steps here in order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from infoshos.flows import merge
from infoshos.flows.clean.articles import CleanOutput
from infoshos.flows.columns import Codes, ColumnMap, KeyIndex, find_one, pack, to_datetime
from infoshos.flows.dedup import (
    SIGNATURE_SCHEME,
    Clusters,
    DedupColumns,
    DedupInput,
    SignatureStore,
    article_signatures,
    cluster_columns,
)
from infoshos.flows.enrich import EnrichResult
from infoshos.flows.links import LinkRow, link_input, link_record, link_translations_by_day
from infoshos.flows.load import FACT_TABLES, rows_table
from infoshos.flows.state import ArticleKeys, StoredState, iso
from infoshos.warehouse.keys import article_id, url_key
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.sorting import sorted_batches

#: Pages per chunk: a few thousand articles' texts and bodies in memory at a time.
CHUNK_PAGES = 2000
#: A translation link's input without the text (``links.link_record``), as spilled.
LINK_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("language", pa.string()),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("event_date", pa.date32()),
        ("numbers", pa.list_(pa.string())),
        ("entity_ids", pa.list_(pa.string())),
    ]
)


#: The day a link input is swept on (``links.link_day``): its event date, else the UTC date of
#: its publication; null when it has neither (such an input is never linked).
DAY = "day"


def link_day_column(table: pa.Table) -> pa.Array:
    return pc.coalesce(table["event_date"], pc.cast(table["published_at"], pa.date32()))


class LinkSpill:
    """The translation-link inputs of a run's articles, spilled to a Parquet file as they are
    made (in memory when there is no staging folder), read back in day order at the end: the
    spill through an external sort (``warehouse.sorting``), one batch in memory at a time."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._writer: pq.ParquetWriter | None = None
        self._tables: list[pa.Table] = []

    def add(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        table = pa.Table.from_pylist(records, schema=LINK_SCHEMA)
        if self.path is None:
            self._tables.append(table)
            return
        table = table.append_column(DAY, link_day_column(table))
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self._writer.write_table(table)

    def by_day(self) -> Callable[[], Iterator[dict[str, Any]]]:
        """Every record, in the order of its day (``links.link_day``; ties in the order they
        were added), as often as asked."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        path = self.path
        if path is not None and path.exists():

            def spilled() -> Iterator[dict[str, Any]]:
                for batch in sorted_batches(path, DAY, 2000, path.with_name("sort")):
                    yield from batch.to_pylist()

            return spilled
        table = pa.concat_tables(self._tables) if self._tables else LINK_SCHEMA.empty_table()
        self._tables = []
        order = pc.sort_indices(
            pa.table({DAY: link_day_column(table)}), sort_keys=[(DAY, "ascending", "at_end")]
        )
        table = table.take(order)

        def records() -> Iterator[dict[str, Any]]:
            for batch in table.to_batches(max_chunksize=2000):
                yield from batch.to_pylist()

        return records


@dataclass
class ChunkPlan:
    """One chunk's decisions: the rows to write and what to enrich."""

    plan: merge.ArticlePlan
    rows: list[dict[str, Any]]
    updated: set[str]
    minhashes: list[dict[str, Any]]


class WrittenArticles(Mapping[str, bool]):
    """The articles a run writes, in columns: their dedup keys (:class:`ArticleKeys`), whether
    each was stored before (an update) and whether it changed (new or updated; a re-process
    also rewrites unchanged ones). As a mapping: article_id -> stored before."""

    def __init__(self) -> None:
        self._parts: list[tuple[ArticleKeys, np.ndarray, np.ndarray]] = []
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, keys: ArticleKeys, stored: np.ndarray, changed: np.ndarray) -> None:
        self._parts.append((keys, stored, changed))
        self._sorted = None

    def columns(self) -> tuple[ArticleKeys, np.ndarray, np.ndarray]:
        """The keys, stored and changed flags of every written article, in the order written."""
        if len(self._parts) != 1:
            keys = ArticleKeys.concat([k for k, _, _ in self._parts])
            stored = np.concatenate([s for _, s, _ in self._parts] or [np.empty(0, bool)])
            changed = np.concatenate([c for _, _, c in self._parts] or [np.empty(0, bool)])
            self._parts = [(keys, stored, changed)]
        return self._parts[0]

    def _index(self) -> tuple[np.ndarray, np.ndarray]:
        """The ids sorted, and the position of each in :meth:`columns`."""
        if self._sorted is None:
            ids = self.columns()[0].article_id
            order = np.argsort(ids, kind="stable")
            self._sorted = (ids[order], order)
        return self._sorted

    def _having(self, flag: np.ndarray) -> Collection[str]:
        """The written articles whose ``flag`` (of :meth:`columns`) is true."""
        ids, order = self._index()
        return ColumnMap(ids, lambda i: True, mask=flag[order])

    @property
    def updated(self) -> Collection[str]:
        """The written articles that were stored before."""
        return self._having(self.columns()[1])

    @property
    def changed(self) -> Collection[str]:
        """The written articles that are new or changed."""
        return self._having(self.columns()[2])

    def __getitem__(self, aid: str) -> bool:
        ids, order = self._index()
        i = find_one(ids, aid)
        if i < 0:
            raise KeyError(aid)
        return bool(self.columns()[1][order[i]])

    def __contains__(self, aid: object) -> bool:
        return isinstance(aid, str) and find_one(self._index()[0], aid) >= 0

    def __iter__(self) -> Iterator[str]:
        return iter(ColumnMap(self._index()[0], lambda i: True))

    def __len__(self) -> int:
        return sum(len(k) for k, _, _ in self._parts)


@dataclass
class RunIndex:
    """What a run keeps between chunks (see the module docstring), in columns: the keys of
    the articles seen and written (``flows.keys``), with the stored state's for the others."""

    run_id: str
    reprocess: bool
    #: the codes of the languages and run ids in the keys (the stored state's, then new ones)
    languages: Codes = field(default_factory=Codes)
    runs: Codes = field(default_factory=Codes)
    signatures: SignatureStore = field(default_factory=SignatureStore)
    #: every article cleaned so far (the first page of an article wins)
    seen: KeyIndex = field(default_factory=KeyIndex)
    #: the articles written by this run: article_id -> stored before (an update)
    written: WrittenArticles = field(default_factory=WrittenArticles)
    links: LinkSpill = field(default_factory=LinkSpill)
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    rejects: Counter[str] = field(default_factory=Counter)
    repairs: Counter[str] = field(default_factory=Counter)
    rule_misses: Counter[str] = field(default_factory=Counter)
    rule_miss_examples: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(
        cls, state: StoredState, run_id: str, reprocess: bool, staging: Path | None = None
    ) -> RunIndex:
        """A run over ``state``: a re-process starts from nothing (its pages are everything),
        a run from the stored articles' keys and signatures. ``staging``: a folder for the
        link inputs spilled as the chunks go (default: kept in memory)."""
        index = cls(run_id, reprocess, state.languages.copy(), state.runs.copy())
        index.links = LinkSpill(staging / "link-inputs.parquet" if staging else None)
        if not reprocess:
            index.signatures = state.signatures
        return index

    @property
    def changed(self) -> Collection[str]:
        """The articles this run found new or changed."""
        return self.written.changed

    # -- per chunk ---------------------------------------------------------------------------
    def take(self, cleaned: CleanOutput) -> list[dict[str, Any]]:
        """The chunk's articles not seen before (in an earlier chunk, or earlier in this one);
        counts its rejects and repairs."""
        ids = pack(a["article_id"] for a in cleaned.articles)
        new = self.seen.add_many(ids, np.zeros(len(ids), np.int64))
        articles = [a for a, keep in zip(cleaned.articles, new.tolist(), strict=True) if keep]
        self.rejects.update(r["reason"] for r in cleaned.rejects)
        self.repairs.update(cleaned.repairs)
        self.rule_misses.update(cleaned.rule_misses)
        for source, example in cleaned.rule_miss_examples.items():
            self.rule_miss_examples.setdefault(source, example)
        return articles

    def plan(self, state: StoredState, articles: list[dict[str, Any]]) -> ChunkPlan:
        """Plan a chunk's articles against the stored state; sign the texts not yet signed."""
        existing = state.articles
        plan = merge.plan_articles(existing, state.versions, articles, self.run_id)
        rows = merge.rows_to_write(plan, articles, existing, self.run_id, self.reprocess)
        self.counts.update(
            new=len(plan.new), updated=len(plan.updated), unchanged=len(plan.unchanged)
        )
        keys = ArticleKeys.of_rows(rows, self.languages, self.runs)
        stored = state.positions(keys.article_id) >= 0
        changed = np.isin(keys.article_id, pack(a["article_id"] for a in plan.changed))
        self.written.add(keys, stored, changed)
        updated = {r["article_id"] for r, was in zip(rows, stored.tolist(), strict=True) if was}
        todo: dict[str, DedupInput] = {}
        signed = self.signatures.rows(keys.content_hash).tolist()
        for row, sig_row in zip(rows, signed, strict=True):
            if sig_row < 0:
                todo.setdefault(row["content_hash"], dedup_input(row))
        for (_, h), sig in article_signatures(list(todo.values())).items():
            self.signatures.add(h, sig)
        minhashes = []
        for row in rows:
            blob = self.signatures.signature(row["content_hash"])
            if blob is not None:
                minhashes.append(
                    {
                        "article_id": row["article_id"],
                        "content_hash": row["content_hash"],
                        "scheme": SIGNATURE_SCHEME,
                        "signature": blob,
                    }
                )
        return ChunkPlan(plan, rows, updated, minhashes)

    def enriched(
        self, rows: list[dict[str, Any]], results: Iterable[EnrichResult]
    ) -> dict[str, pa.Table]:
        """Keep the entities and link inputs of a chunk's enrichment; its facts as tables."""
        parts: dict[str, list[dict[str, Any]]] = {t: [] for t in FACT_TABLES}
        for part in results:
            for ent in part.entities:
                row = dict(ent)
                known = self.entities.get(row["entity_id"])
                if known is not None:
                    aliases = set(known["aliases"] or []) | set(row["aliases"] or [])
                    row["aliases"] = sorted(aliases)
                self.entities[row["entity_id"]] = row
            for table in FACT_TABLES:
                parts[table] += [dict(r) for r in getattr(part, table)]
        entity_ids: dict[str, set[str]] = {}
        for m in parts["mentions"]:
            entity_ids.setdefault(m["article_id"], set()).add(m["entity_id"])
        self.links.add(
            [
                link_record(r["article_id"], link_input(r, entity_ids.get(r["article_id"], ())))
                for r in rows
            ]
        )
        self.counts["mentions"] += len(parts["mentions"])
        self.counts["enriched"] += len(rows)
        return {t: rows_table(t, parts[t], self.run_id) for t in FACT_TABLES}

    # -- at the end --------------------------------------------------------------------------
    def keys(self, state: StoredState) -> tuple[ArticleKeys, np.ndarray]:
        """The keys of every article (the stored ones not written by this run, unless a
        re-process, then this run's) and each one's stored cluster id (packed, b"" for
        none)."""
        written = self.written.columns()[0]
        parts = [written]
        if not self.reprocess:
            others = ~np.isin(state.keys.article_id, written.article_id)
            parts.insert(0, state.keys.take(np.flatnonzero(others)))
        keys = ArticleKeys.concat(parts)
        return keys, state.cluster_ids(keys.article_id)

    def cluster(self, state: StoredState) -> Clusters:
        """Story clusters over every article (stored and of this run), from their keys and
        signatures (the stored texts without one are signed first: ``sign_stored``)."""
        keys, previous = self.keys(state)
        columns = DedupColumns(
            article_id=keys.article_id,
            content_hash=keys.content_hash,
            language=keys.language,
            word_count=keys.word_count,
            # the seen order: (first_seen_run, published_at, article_id)
            seen=(self.runs.ranks()[keys.first_seen_run], keys.published_at),
        )
        return cluster_columns(columns, previous, signatures=self.signatures)

    def sign_stored(self, state: StoredState) -> list[dict[str, Any]]:
        """Sign the stored articles whose text has no signature yet (a warehouse written before
        signatures were kept, or short texts, which stay unsigned): their minhash rows."""
        if self.reprocess:
            return []
        written = self.written.columns()[0].article_id
        stored = state.keys
        missing = np.flatnonzero(
            ~np.isin(stored.article_id, written) & (self.signatures.rows(stored.content_hash) < 0)
        )
        if not len(missing):
            return []
        ids = [a.decode() for a in stored.article_id[missing].tolist()]
        texts = state.texts(ids)
        records = [
            dedup_input(
                {
                    "article_id": aid,
                    "content_hash": h.decode(),
                    "language": self.languages.values[lang],
                    "word_count": wc,
                    "first_seen_run": self.runs.values[first],
                    "published_at": to_datetime(published),
                    "text": texts.get(aid),
                }
            )
            for aid, h, lang, wc, first, published in zip(
                ids,
                stored.content_hash[missing].tolist(),
                stored.language[missing].tolist(),
                stored.word_count[missing].tolist(),
                stored.first_seen_run[missing].tolist(),
                stored.published_at[missing].tolist(),
                strict=True,
            )
        ]
        rows = []
        for (aid, h), sig in article_signatures(records).items():
            self.signatures.add(h, sig)
            rows.append(
                {"article_id": aid, "content_hash": h, "scheme": SIGNATURE_SCHEME, "signature": sig}
            )
        return rows

    def translation_links(self, state: StoredState) -> list[LinkRow]:
        """Translation links over every article (a new translation may link to an old one):
        the stored articles' inputs join the spill, which is then swept day by day."""
        if not self.reprocess:
            for batch in state.link_input_batches(skip=self.written):
                self.links.add(batch)
        return link_translations_by_day(self.links.by_day())


def dedup_input(row: Mapping[str, Any]) -> DedupInput:
    """An article row as ``article_signatures`` takes it (the seen order: first_seen_run,
    published_at, article_id)."""
    aid = row["article_id"]
    return DedupInput(
        article_id=aid,
        url="",
        language=row.get("language") or "und",
        text=row.get("text") or "",
        content_hash=row["content_hash"],
        word_count=row.get("word_count") or 0,
        seen_order=(row.get("first_seen_run") or "", iso(row.get("published_at")), aid),
        published_at=None,
    )


def gone_fetches(pages: pa.Table) -> list[dict[str, Any]]:
    """The fetches a gone decision needs, keyed by article id (``merge.gone_candidates``)."""
    cols = ["url", "status", "page_type", "fetched_at"]
    return [
        dict(r, article_id=article_id(url_key(r["url"])))
        for r in pages.select(cols).to_pylist()
        if r["status"] in merge.GONE_STATUSES
    ]


def empty_facts() -> dict[str, pa.Table]:
    return {t: TABLES[t].schema.empty_table() for t in FACT_TABLES}
