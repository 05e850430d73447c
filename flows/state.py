"""What the warehouse already holds, as a run needs it: one object, read column by column.

:class:`StoredState` reads the keys of the stored articles (content hash, first run, gone mark,
cluster fields, latest version), their dedup keys and their MinHash signatures once, at the start
of a run; nothing with a text or a body. It keeps them in columns (numpy arrays sorted by
article_id, ``flows.keys``: a few dozen bytes an article, plus 512 for a signature) and answers
by article_id through read-only mappings. Full rows, texts and the small keyed tables are read
only when a decision asks for them (a few articles that moved cluster or are gone; the texts of
articles without a signature; the link inputs of the stored articles when links are
recomputed), each through one method here, so that the flow never reads a table itself.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from infoshos.flows.columns import (
    NO_TIME,
    Codes,
    ColumnMap,
    find,
    find_one,
    micros,
    pack,
    sort_unique,
    to_datetime,
)
from infoshos.flows.dedup import SIGNATURE_BYTES, SIGNATURE_SCHEME, SignatureStore
from infoshos.flows.links import link_input, link_record
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.store import Warehouse

#: A stored article as dedup sees it: (language, content_hash, word_count, first_seen_run,
#: published_at as ISO text, for the seen order).
DedupKey = tuple[str, str, int, str, str]
#: Signatures read at a time (``StoredState.read``).
SIGNATURE_BATCH = 8192


def iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


@dataclass
class ArticleKeys:
    """The keys dedup needs of many articles, one array each (``flows.keys``): ``language``
    and ``first_seen_run`` are codes of a :class:`~infoshos.flows.columns.Codes` kept beside
    (``language`` None as "und", ``word_count`` None as 0), ``published_at`` microseconds."""

    article_id: np.ndarray
    content_hash: np.ndarray
    language: np.ndarray
    word_count: np.ndarray
    first_seen_run: np.ndarray
    published_at: np.ndarray

    @classmethod
    def empty(cls) -> ArticleKeys:
        return cls.concat([])

    @classmethod
    def of_rows(
        cls, rows: Sequence[Mapping[str, Any]], languages: Codes, runs: Codes
    ) -> ArticleKeys:
        return cls(
            article_id=pack(r["article_id"] for r in rows),
            content_hash=pack(r["content_hash"] for r in rows),
            language=languages.codes(r.get("language") or "und" for r in rows),
            word_count=np.array([r.get("word_count") or 0 for r in rows], dtype=np.int32),
            first_seen_run=runs.codes(r.get("first_seen_run") for r in rows),
            published_at=micros(r.get("published_at") for r in rows),
        )

    @classmethod
    def concat(cls, parts: list[ArticleKeys]) -> ArticleKeys:
        def joined(name: str, dtype: Any) -> np.ndarray:
            arrays = [getattr(p, name) for p in parts]
            return np.concatenate(arrays) if arrays else np.empty(0, dtype)

        return cls(
            article_id=joined("article_id", "S1"),
            content_hash=joined("content_hash", "S1"),
            language=joined("language", np.int32),
            word_count=joined("word_count", np.int32),
            first_seen_run=joined("first_seen_run", np.int32),
            published_at=joined("published_at", np.int64),
        )

    def take(self, idx: np.ndarray) -> ArticleKeys:
        return ArticleKeys(
            self.article_id[idx],
            self.content_hash[idx],
            self.language[idx],
            self.word_count[idx],
            self.first_seen_run[idx],
            self.published_at[idx],
        )

    def __len__(self) -> int:
        return len(self.article_id)


class _ArticleKeys(Mapping[str, Mapping[str, Any]]):
    """``merge.plan_articles``'s view of the stored articles: content_hash, first_seen_run
    and gone_at by article_id, made on lookup from the state's columns."""

    def __init__(self, state: StoredState) -> None:
        self.state = state

    def __getitem__(self, aid: str) -> Mapping[str, Any]:
        state = self.state
        i = find_one(state.keys.article_id, aid)
        if i < 0:
            raise KeyError(aid)
        return {
            "content_hash": state.keys.content_hash[i].decode(),
            "first_seen_run": state.runs.values[state.keys.first_seen_run[i]],
            "gone_at": to_datetime(state.gone[i]),
        }

    def __contains__(self, aid: object) -> bool:
        return isinstance(aid, str) and find_one(self.state.keys.article_id, aid) >= 0

    def __iter__(self) -> Iterator[str]:
        return iter(self.state.hashes)

    def __len__(self) -> int:
        return len(self.state.keys)


@dataclass
class StoredState:
    """The keys of a warehouse's current snapshot (see the module docstring), in columns
    sorted by article_id (``flows.keys``); read as mappings by article_id through
    :attr:`hashes`, :attr:`first_seen`, :attr:`gone_at`, :attr:`clusters`, :attr:`versions`,
    :attr:`dedup` and :attr:`articles`."""

    wh: Warehouse
    keys: ArticleKeys = field(default_factory=ArticleKeys.empty)
    runs: Codes = field(default_factory=Codes)
    languages: Codes = field(default_factory=Codes)
    #: when each article was marked gone (``NO_TIME``: present)
    gone: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    #: cluster_id (packed, b"" for None) and is_canonical (-1 for None, 0, 1)
    cluster_id: np.ndarray = field(default_factory=lambda: np.empty(0, "S1"))
    canonical: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))
    #: the latest version of each article having one: sorted packed ids, versions
    version_ids: np.ndarray = field(default_factory=lambda: np.empty(0, "S1"))
    version: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
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
        ids = pack(t["article_id"])
        keep = sort_unique(ids, last=True)  # of one id stored twice, the last row
        lang = pc.fill_null(t["language"], "und")
        state.keys = ArticleKeys(
            article_id=ids[keep],
            content_hash=pack(t["content_hash"])[keep],
            language=state.languages.codes(pc.if_else(pc.equal(lang, ""), "und", lang))[keep],
            word_count=_filled(t["word_count"], 0, np.int32)[keep],
            first_seen_run=state.runs.codes(t["first_seen_run"])[keep],
            published_at=micros(t["published_at"])[keep],
        )
        state.gone = micros(t["gone_at"])[keep]
        state.cluster_id = pack(t["cluster_id"])[keep]
        state.canonical = _filled(t["is_canonical"].cast(pa.int8()), -1, np.int8)[keep]
        del t, ids, keep
        v = wh.read("article_versions", columns=["article_id", "version"])
        if v.num_rows:
            latest = v.group_by("article_id").aggregate([("version", "max")])
            vids = pack(latest["article_id"])
            order = np.argsort(vids, kind="stable")
            state.version_ids = vids[order]
            state.version = _filled(latest["version_max"], 0, np.int64)[order]
        if signatures:
            m = wh.read("minhashes", columns=["content_hash", "scheme", "signature"])
            m = m.filter(pc.equal(m["scheme"], SIGNATURE_SCHEME))
            for batch in m.to_batches(max_chunksize=SIGNATURE_BATCH):
                state.signatures.add_many(*_signature_batch(batch))
        return state

    def __len__(self) -> int:
        return len(self.keys)

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """The row of each article id (packed), -1 for those not stored."""
        return find(self.keys.article_id, ids)

    def cluster_ids(self, ids: np.ndarray) -> np.ndarray:
        """The stored cluster id of each article id (packed; b"" for none, or not stored)."""
        pos = self.positions(ids)
        if not len(self.cluster_id):
            return np.zeros(len(ids), dtype="S1")
        return np.where(pos >= 0, self.cluster_id[np.maximum(pos, 0)], b"")

    # -- the columns as mappings by article_id -----------------------------------------------
    @property
    def articles(self) -> Mapping[str, Mapping[str, Any]]:
        """The stored articles' content_hash, first_seen_run and gone_at, by article_id."""
        return _ArticleKeys(self)

    @property
    def hashes(self) -> Mapping[str, str]:
        return ColumnMap(self.keys.article_id, lambda i: self.keys.content_hash[i].decode())

    @property
    def first_seen(self) -> Mapping[str, str | None]:
        return ColumnMap(
            self.keys.article_id, lambda i: self.runs.values[self.keys.first_seen_run[i]]
        )

    @property
    def gone_at(self) -> Mapping[str, datetime]:
        """Only the articles marked gone."""
        return ColumnMap(
            self.keys.article_id, lambda i: _gone(self.gone[i]), mask=self.gone != NO_TIME
        )

    @property
    def clusters(self) -> Mapping[str, tuple[str | None, bool | None]]:
        return ColumnMap(
            self.keys.article_id,
            lambda i: (
                self.cluster_id[i].decode() or None,
                None if self.canonical[i] < 0 else bool(self.canonical[i]),
            ),
        )

    @property
    def versions(self) -> Mapping[str, int]:
        return ColumnMap(self.version_ids, lambda i: int(self.version[i]))

    @property
    def dedup(self) -> Mapping[str, DedupKey]:
        k = self.keys

        def key(i: int) -> DedupKey:
            lang = self.languages.values[k.language[i]]
            return (
                lang or "und",
                k.content_hash[i].decode(),
                int(k.word_count[i]),
                self.runs.values[k.first_seen_run[i]] or "",
                iso(to_datetime(k.published_at[i])),
            )

        return ColumnMap(k.article_id, key)

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

    def cluster_rows(self) -> Mapping[str, dict[str, Any]]:
        """The stored cluster rows by article_id (columns; a row made on lookup)."""
        cols = ["article_id", "cluster_id", "role", "reason", "similarity"]
        t = self.wh.read("clusters", columns=cols)
        ids = pack(t["article_id"])
        keep = sort_unique(ids, last=True)
        ids, cluster_id = ids[keep], pack(t["cluster_id"])[keep]
        roles, reasons = Codes(), Codes()
        role, reason = roles.codes(t["role"])[keep], reasons.codes(t["reason"])[keep]
        similarity = _filled(t["similarity"], np.nan, np.float64)[keep]
        known = ~pc.is_null(t["similarity"]).to_numpy(zero_copy_only=False)[keep]
        del t

        def row(i: int) -> dict[str, Any]:
            return {
                "article_id": ids[i].decode(),
                "cluster_id": cluster_id[i].decode() or None,
                "role": roles.values[role[i]],
                "reason": reasons.values[reason[i]],
                "similarity": float(similarity[i]) if known[i] else None,
            }

        return ColumnMap(ids, row)

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


def _filled(values: pa.ChunkedArray | pa.Array, null: float, dtype: Any) -> np.ndarray:
    """A numeric column as a numpy array, nulls as ``null``."""
    return np.asarray(pc.fill_null(values, null).to_numpy(zero_copy_only=False), dtype)


def _gone(value: int) -> datetime:
    when = to_datetime(value)
    assert when is not None
    return when


def _signature_batch(batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
    """The packed hashes and the signature matrix of a batch of minhash rows."""
    sigs = batch.column("signature")
    lengths = pc.fill_null(pc.binary_length(sigs), 0).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(lengths != SIGNATURE_BYTES)
    if len(bad):
        h = batch.column("content_hash")[int(bad[0])].as_py()
        raise ValueError(f"signature of {h!r}: {int(lengths[bad[0]])} bytes")
    blob = b"".join(sigs.to_pylist())
    matrix = np.frombuffer(blob, dtype="<u4").reshape(-1, SIGNATURE_BYTES // 4)
    return pack(batch.column("content_hash")), matrix
