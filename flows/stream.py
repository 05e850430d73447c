"""A run over its pages chunk by chunk, in flat memory.

Each chunk of pages is cleaned, planned against the stored state (new, changed, unchanged),
signed (MinHash), enriched and written; what a run keeps between chunks is only keys and
signatures (:class:`RunIndex`): the dedup keys of every article, the signatures by content hash,
the link inputs (numbers and entity ids, no text) of the articles written, the entities found.
At the end the story clusters are computed over all of them, and the article rows, spilled by
the writer, are written with their cluster fields.

The decisions are the pure functions of ``flows.merge``; the flow (``flows.pipeline``) calls
the steps here in order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from infoshos.flows import merge
from infoshos.flows.clean.articles import CleanOutput
from infoshos.flows.dedup import (
    SIGNATURE_SCHEME,
    ClusterRow,
    DedupInput,
    SignatureStore,
    article_signatures,
    cluster_articles,
)
from infoshos.flows.enrich import EnrichResult
from infoshos.flows.links import LinkRow, link_input, link_record, link_translations_by_day
from infoshos.flows.load import FACT_TABLES, rows_table
from infoshos.flows.state import DedupKey, StoredState, iso
from infoshos.warehouse.keys import article_id, canonical_url
from infoshos.warehouse.schema import TABLES

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


class LinkSpill:
    """The translation-link inputs of a run's articles, spilled to a Parquet file as they are
    made (in memory when there is no staging folder), read back in day order at the end."""

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
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, LINK_SCHEMA, compression="zstd")
        self._writer.write_table(table)

    def by_day(self) -> Callable[[], Iterator[dict[str, Any]]]:
        """Every record, in the order of its day (``links.link_day``), as often as asked."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._tables = [pq.read_table(self.path)]
        table = pa.concat_tables(self._tables) if self._tables else LINK_SCHEMA.empty_table()
        self._tables = []
        day = pc.coalesce(table["event_date"], pc.cast(table["published_at"], pa.date32()))
        order = pc.sort_indices(pa.table({"day": day}), sort_keys=[("day", "ascending", "at_end")])
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


@dataclass
class RunIndex:
    """What a run keeps between chunks (see the module docstring)."""

    run_id: str
    reprocess: bool
    dedup: dict[str, DedupKey] = field(default_factory=dict)
    signatures: SignatureStore = field(default_factory=SignatureStore)
    #: every article cleaned so far (the first page of an article wins)
    seen: set[str] = field(default_factory=set)
    #: the articles written by this run: article_id -> stored before (an update)
    written: dict[str, bool] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
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
        index = cls(run_id, reprocess)
        index.links = LinkSpill(staging / "link-inputs.parquet" if staging else None)
        if not reprocess:
            index.dedup = dict(state.dedup)
            index.signatures = state.signatures
        return index

    # -- per chunk ---------------------------------------------------------------------------
    def take(self, cleaned: CleanOutput) -> list[dict[str, Any]]:
        """The chunk's articles not seen in an earlier chunk; counts its rejects and repairs."""
        articles = [a for a in cleaned.articles if a["article_id"] not in self.seen]
        self.seen.update(a["article_id"] for a in articles)
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
        self.changed.update(a["article_id"] for a in plan.changed)
        updated = {a["article_id"] for a in rows if a["article_id"] in state.hashes}
        todo: dict[str, DedupInput] = {}
        for row in rows:
            if not self.signatures.has(row["content_hash"]):
                todo.setdefault(row["content_hash"], dedup_input(row))
        for (_, h), sig in article_signatures(list(todo.values())).items():
            self.signatures.add(h, sig)
        minhashes = []
        for row in rows:
            aid = row["article_id"]
            self.written[aid] = aid in state.hashes
            self.dedup[aid] = dedup_key(row)
            blob = self.signatures.signature(row["content_hash"])
            if blob is not None:
                minhashes.append(
                    {
                        "article_id": aid,
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
    def cluster(self, state: StoredState) -> list[ClusterRow]:
        """Story clusters over every article (stored and of this run). Stored texts without a
        signature are read and signed first (their signatures returned as minhash rows by
        ``unsigned_minhashes``)."""
        records = [dedup_input_key(aid, key) for aid, key in self.dedup.items()]
        previous = {aid: c for aid, (c, _) in state.clusters.items() if c}
        return cluster_articles(records, previous, signatures=self.signatures)

    def sign_stored(self, state: StoredState) -> list[dict[str, Any]]:
        """Sign the stored articles whose text has no signature yet (a warehouse written before
        signatures were kept, or short texts, which stay unsigned): their minhash rows."""
        if self.reprocess:
            return []
        missing = [
            aid
            for aid, key in self.dedup.items()
            if aid not in self.written and not self.signatures.has(key[1])
        ]
        if not missing:
            return []
        texts = state.texts(missing)
        records = [dedup_input_key(aid, self.dedup[aid], texts.get(aid)) for aid in missing]
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


def dedup_key(row: Mapping[str, Any]) -> DedupKey:
    return (
        row.get("language") or "und",
        row["content_hash"],
        row.get("word_count") or 0,
        row.get("first_seen_run") or "",
        iso(row.get("published_at")),
    )


def dedup_input_key(aid: str, key: DedupKey, text: str | None = None) -> DedupInput:
    """A dedup record from a key; without a text, the article must be signed already (or
    short: a short text is never sketched)."""
    lang, h, wc, first, published = key
    return DedupInput(
        article_id=aid,
        url="",
        language=lang,
        text=text or "",
        content_hash=h,
        word_count=wc,
        seen_order=(first, published, aid),
        published_at=None,
    )


def dedup_input(row: Mapping[str, Any]) -> DedupInput:
    return dedup_input_key(row["article_id"], dedup_key(row), row.get("text"))


def gone_fetches(pages: pa.Table) -> list[dict[str, Any]]:
    """The fetches a gone decision needs, keyed by article id (``merge.gone_candidates``)."""
    cols = ["url", "status", "page_type", "fetched_at"]
    return [
        dict(r, article_id=article_id(canonical_url(r["url"])))
        for r in pages.select(cols).to_pylist()
        if r["status"] in merge.GONE_STATUSES
    ]


def empty_facts() -> dict[str, pa.Table]:
    return {t: TABLES[t].schema.empty_table() for t in FACT_TABLES}
