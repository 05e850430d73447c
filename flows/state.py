"""What the warehouse already holds, as a run needs it: one object, read column by column.

:class:`StoredState` reads the keys of the stored articles (content hash, first run, gone mark,
cluster fields, latest version), their dedup keys and their MinHash signatures once, at the start
of a run; nothing with a text or a body. Full rows, texts and the small keyed tables are read
only when a decision asks for them (a few articles that moved cluster or are gone; the texts of
articles without a signature; the link inputs of the stored articles when links are
recomputed), each through one method here, so that the flow never reads a table itself.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from infoshos.flows.dedup import SIGNATURE_SCHEME, SignatureStore
from infoshos.flows.links import link_input, link_record
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.store import Warehouse

#: A stored article as dedup sees it: (language, content_hash, word_count, first_seen_run,
#: published_at as ISO text, for the seen order).
DedupKey = tuple[str, str, int, str, str]


def iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


def _interned(values: list[Any]) -> list[Any]:
    """Strings repeated over many rows (run ids, languages) as one object each."""
    return [sys.intern(v) if isinstance(v, str) else v for v in values]


class _ArticleKeys(Mapping[str, Mapping[str, Any]]):
    """``merge.plan_articles``'s view of the stored articles: content_hash and first_seen_run
    by article_id, made on lookup from the state's maps."""

    def __init__(self, state: StoredState) -> None:
        self.state = state

    def __getitem__(self, aid: str) -> Mapping[str, Any]:
        return {
            "content_hash": self.state.hashes[aid],
            "first_seen_run": self.state.first_seen[aid],
            "gone_at": self.state.gone_at.get(aid),
        }

    def __iter__(self) -> Iterator[str]:
        return iter(self.state.hashes)

    def __len__(self) -> int:
        return len(self.state.hashes)


@dataclass
class StoredState:
    """The keys of a warehouse's current snapshot (see the module docstring)."""

    wh: Warehouse
    hashes: dict[str, str] = field(default_factory=dict)
    first_seen: dict[str, str] = field(default_factory=dict)
    #: Only the articles marked gone.
    gone_at: dict[str, datetime] = field(default_factory=dict)
    clusters: dict[str, tuple[str | None, bool | None]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    dedup: dict[str, DedupKey] = field(default_factory=dict)
    signatures: SignatureStore = field(default_factory=SignatureStore)

    @classmethod
    def read(cls, wh: Warehouse, signatures: bool = True) -> StoredState:
        """The state of ``wh`` (``signatures=False``: without the stored signatures, as a
        re-process computes them again)."""
        state = cls(wh)
        t = wh.read(
            "articles",
            columns=[
                "article_id", "content_hash", "first_seen_run", "gone_at", "cluster_id",
                "is_canonical", "language", "word_count", "published_at",
            ],
        )  # fmt: skip
        ids = t["article_id"].to_pylist()
        hashes = t["content_hash"].to_pylist()
        first = _interned(t["first_seen_run"].to_pylist())
        state.hashes = dict(zip(ids, hashes, strict=True))
        state.first_seen = dict(zip(ids, first, strict=True))
        state.gone_at = {
            a: g for a, g in zip(ids, t["gone_at"].to_pylist(), strict=True) if g is not None
        }
        state.clusters = dict(
            zip(
                ids,
                zip(t["cluster_id"].to_pylist(), t["is_canonical"].to_pylist(), strict=True),
                strict=True,
            )
        )
        published = [iso(p) for p in t["published_at"].to_pylist()]
        state.dedup = {
            aid: (lang or "und", h, wc or 0, fs or "", pub)
            for aid, lang, h, wc, fs, pub in zip(
                ids,
                _interned(t["language"].to_pylist()),
                hashes,
                t["word_count"].to_pylist(),
                first,
                published,
                strict=True,
            )
        }
        del t
        v = wh.read("article_versions", columns=["article_id", "version"])
        if v.num_rows:
            latest = v.group_by("article_id").aggregate([("version", "max")])
            state.versions = dict(
                zip(
                    latest["article_id"].to_pylist(),
                    latest["version_max"].to_pylist(),
                    strict=True,
                )
            )
        if signatures:
            m = wh.read("minhashes", columns=["content_hash", "scheme", "signature"])
            m = m.filter(pc.equal(m["scheme"], SIGNATURE_SCHEME))
            for h, sig in zip(
                m["content_hash"].to_pylist(), m["signature"].to_pylist(), strict=True
            ):
                state.signatures.add(h, sig)
        return state

    @property
    def articles(self) -> Mapping[str, Mapping[str, Any]]:
        """The stored articles' content_hash, first_seen_run and gone_at, by article_id."""
        return _ArticleKeys(self)

    # -- read on demand ----------------------------------------------------------------------
    def _rows(self, table: str, key: str, ids: Collection[str], columns: list[str]) -> pa.Table:
        """``columns`` of the rows of ``table`` whose ``key`` is in ``ids`` (filtered as the
        warehouse reads them)."""
        return self.wh.rows_by_key(table, key, sorted(ids), columns)

    def article_rows(self, ids: Collection[str]) -> list[dict[str, Any]]:
        """The full stored rows of a few articles."""
        return self._rows(
            "articles", "article_id", ids, TABLES["articles"].schema.names
        ).to_pylist()

    def texts(self, ids: Collection[str]) -> dict[str, str]:
        t = self._rows("articles", "article_id", ids, ["article_id", "text"])
        return dict(zip(t["article_id"].to_pylist(), t["text"].to_pylist(), strict=True))

    def link_input_batches(self, skip: Collection[str]) -> Iterator[list[dict[str, Any]]]:
        """``links.link_record`` of every stored article not in ``skip`` (its numbers from the
        stored text, its entities from the stored mentions), a batch of articles at a time."""
        if all(a in skip for a in self.hashes):
            return
        entity_ids: dict[str, set[str]] = {}
        m = self.wh.read("mentions", columns=["article_id", "entity_id"])
        for aid, eid in zip(m["article_id"].to_pylist(), m["entity_id"].to_pylist(), strict=True):
            entity_ids.setdefault(aid, set()).add(sys.intern(eid))  # one object per entity
        del m
        columns = ["article_id", "language", "published_at", "event_date", "text"]
        for batch in self.wh.scan("articles", columns=columns, batch_rows=2000):
            yield [
                link_record(
                    row["article_id"], link_input(row, entity_ids.get(row["article_id"], ()))
                )
                for row in batch.to_pylist()
                if row["article_id"] not in skip
            ]

    def entities(self) -> dict[str, dict[str, Any]]:
        return {r["entity_id"]: r for r in self.wh.read("entities").to_pylist()}

    def cluster_rows(self) -> dict[str, dict[str, Any]]:
        cols = ["article_id", "cluster_id", "role", "reason", "similarity"]
        t = self.wh.read("clusters", columns=cols)
        return {r["article_id"]: r for r in t.to_pylist()}

    def links(self) -> list[dict[str, Any]]:
        cols = ["article_id", "other_id", "kind", "score"]
        return self.wh.read("article_links", columns=cols).to_pylist()

    def yield_history(self, mode: str) -> list[dict[str, int]]:
        """The per-source yields of the completed runs of ``mode`` (none for a backfill)."""
        runs = self.wh.read("runs", columns=["mode", "status", "source_yield"]).to_pylist()
        return [
            dict(r["source_yield"] or [])
            for r in runs
            if r["mode"] == mode and r["status"] == "completed" and mode != "backfill"
        ]
