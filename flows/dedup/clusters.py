"""Story clusters: exact and near duplicates of one text share a cluster (table ``clusters``).

Pure transform: records in, ``ClusterRow`` records out (``cluster_articles``); or columns in,
columns out (``cluster_columns``: no Python object per article, for the end of a run). The
texts are sketched by ``sketch.py`` and paired by ``lsh.py``; this module groups and names.

Rules (``cluster_articles``):

* Equal ``content_hash`` -> same cluster (``reason="same_content"``, similarity 1.0).
* Near duplicates: texts whose MinHash signatures (``sketch.py``) meet in an LSH band and whose
  estimated Jaccard is ``>= threshold`` (``lsh.py``).
* Only articles in the same ``language`` are compared (translations are linked elsewhere).
* Texts with fewer than ``MIN_WORDS`` tokens (words; CJK characters for CJK text) only match
  exactly.
* Clusters are the transitive closure (union-find) of those pairs.
* ``cluster_id``: the cluster id a member already has in ``previous``; if members carry several,
  the oldest one (the one whose members include the earliest ``seen_order``, then the smallest
  id). Otherwise the ``article_id`` of the member seen first (``seen_order``, then
  ``article_id``). An old id goes to one cluster only: if an old cluster splits, the part
  holding the article the id was named after (else the part seen first) keeps it.
* Canonical member: the most complete clean text (largest ``word_count``), ties broken by the
  earliest ``seen_order``, then the smallest ``article_id``.
* ``similarity``: estimated Jaccard with the canonical member (1.0 when the content hash is
  the canonical's); ``reason``: ``canonical``, ``same_content`` (same hash as the canonical)
  or ``near_duplicate``.

The result does not depend on the order of the input records. ``word_count`` only picks the
canonical member; the short-text rule counts tokens itself (``sketch.tokens``).

Threshold: ``DEFAULT_THRESHOLD = 0.5``. On the labelled pairs of ``tests/flows/test_dedup.py`` the
exact shingle Jaccard of near duplicates (whitespace, one or two words changed, a sentence
dropped or added, a chrome line) is 0.71-1.0, of different stories sharing SCO boilerplate
0.0-0.13; the MinHash estimate has a standard error of about 0.044 at J = 0.5.

Speed and increments: texts are sketched in batches with numpy and banded with sorts, not one
datasketch object per text (same signatures, pairs and rows as the datasketch path kept in
``bench/dedup_scale.py``; 3x faster). ``article_signatures`` returns the signature of every
sketched text, keyed by (article_id, content_hash); stored and passed back as
``cluster_articles(..., signatures=...)``, only new or changed texts are shingled and hashed,
and what remains per run is banding all signatures (numpy sorts). Clustering runs over columns
(``DedupColumns``: numpy arrays, the strings packed), never a Python object per article: at the
end of a run it runs over every article of the warehouse.

``cluster_articles`` and ``cluster_columns`` pause the cyclic garbage collector while they run
(restored after).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypedDict

import numpy as np

from infoshos.flows.columns import ColumnMap, find, pack
from infoshos.flows.dedup.lsh import banding_threshold, near_pairs
from infoshos.flows.dedup.permutations import NUM_PERM
from infoshos.flows.dedup.sketch import CHUNK_ROWS, MIN_WORDS, SIGNATURE_BYTES, sketch_texts
from infoshos.flows.dedup.store import SignatureRows, SignatureStore

__all__ = [
    "DEFAULT_THRESHOLD",
    "REASONS",
    "ClusterRow",
    "Clusters",
    "DedupColumns",
    "DedupInput",
    "Reason",
    "Role",
    "article_signatures",
    "cluster_articles",
    "cluster_columns",
    "gc_paused",
]

#: Estimated Jaccard (of shingle sets) from which two texts are near duplicates.
#: Tuned on the labelled pairs in ``tests/flows/test_dedup.py``.
DEFAULT_THRESHOLD = 0.5

Role = Literal["canonical", "duplicate"]
Reason = Literal["canonical", "same_content", "near_duplicate"]
#: Any sortable value: a string, or a tuple such as (first_seen_run, published_at iso, id).
SeenOrder = Any


class DedupInput(TypedDict):
    article_id: str
    url: str
    language: str
    text: str
    content_hash: str
    word_count: int
    seen_order: SeenOrder
    published_at: datetime | None


class ClusterRow(TypedDict):
    cluster_id: str
    article_id: str
    role: Role
    similarity: float
    reason: Reason


#: ``reason`` codes of :class:`Clusters`.
REASONS: tuple[Reason, ...] = ("canonical", "same_content", "near_duplicate")
#: ``similarity`` of ``k`` equal signature entries (as ``round(k / NUM_PERM, 6)``).
_SIMILARITY = np.array([round(float(k) / float(NUM_PERM), 6) for k in range(NUM_PERM + 1)])
#: Rows turned into records at a time (``Clusters.rows``).
_ROWS_BATCH = 4096
_BATCH = 1000  # texts sketched together (bounds the token lists held at once)


@dataclass
class DedupColumns:
    """The dedup input of many articles as columns, without texts: ``DedupInput`` but for
    the texts, one array each (strings packed with ``flows.keys.pack``)."""

    article_id: np.ndarray  # packed, distinct
    content_hash: np.ndarray  # packed
    #: codes: only equality counts
    language: np.ndarray
    word_count: np.ndarray
    #: the seen order as sort keys, the most significant first (ties broken by article_id)
    seen: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.article_id)


@dataclass
class Clusters:
    """``cluster_columns``'s result: one row per article, sorted by (cluster_id, canonical
    first, article_id), as columns; :meth:`rows` gives them as ``ClusterRow`` records."""

    article_id: np.ndarray  # packed
    cluster_id: np.ndarray  # packed
    canonical: np.ndarray  # bool
    reason: np.ndarray  # int8, index into REASONS
    similarity: np.ndarray  # float64

    @classmethod
    def empty(cls) -> Clusters:
        none = np.empty(0, "S1")
        return cls(none, none, np.empty(0, bool), np.empty(0, np.int8), np.empty(0))

    def __len__(self) -> int:
        return len(self.article_id)

    def rows(self) -> Iterator[ClusterRow]:
        """The rows as records, made a batch at a time."""
        for batch in self.batches():
            yield from batch

    def batches(self, size: int = _ROWS_BATCH) -> Iterator[list[ClusterRow]]:
        """The rows as records, ``size`` at a time."""
        for lo in range(0, len(self), size):
            hi = lo + size
            yield [
                ClusterRow(
                    cluster_id=cid.decode(),
                    article_id=aid.decode(),
                    role="canonical" if canon else "duplicate",
                    similarity=sim,
                    reason=REASONS[reason],
                )
                for aid, cid, canon, reason, sim in zip(
                    self.article_id[lo:hi].tolist(),
                    self.cluster_id[lo:hi].tolist(),
                    self.canonical[lo:hi].tolist(),
                    self.reason[lo:hi].tolist(),
                    self.similarity[lo:hi].tolist(),
                    strict=True,
                )
            ]

    def fields(self) -> ColumnMap[tuple[str, bool]]:
        """article_id -> (cluster_id, is_canonical), the cluster fields of an article row."""
        order = np.argsort(self.article_id, kind="stable")
        ids, cids, canon = self.article_id[order], self.cluster_id[order], self.canonical[order]
        return ColumnMap(ids, lambda i: (cids[i].decode(), bool(canon[i])))


def cluster_articles(
    records: Sequence[DedupInput],
    previous: Mapping[str, str] | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    signatures: Mapping[tuple[str, str], bytes] | None = None,
) -> list[ClusterRow]:
    """Group ``records`` into story clusters (see the module docstring for the rules).

    ``previous`` maps article_id -> cluster_id from earlier runs; old cluster ids are kept.
    ``signatures`` maps (article_id, content_hash) -> a stored ``article_signatures`` value:
    those texts are not shingled nor hashed again (the result is the same as without them).
    Returns one row per record, sorted by (cluster_id, role canonical first, article_id).
    """
    cols, texts = _record_columns(records)
    prev = pack(previous.get(r["article_id"]) for r in records) if previous else None
    with gc_paused():
        found = _cluster(cols, prev, threshold, signatures or {}, texts)
        return list(found.rows())


def cluster_columns(
    cols: DedupColumns,
    previous: np.ndarray | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    signatures: SignatureStore | None = None,
) -> Clusters:
    """``cluster_articles`` over columns, without texts: every text long enough to be
    sketched must have its signature in ``signatures`` (a text without one only matches
    exactly, as a short text). ``previous``: each article's cluster id from earlier runs
    (packed, ``b""`` for none)."""
    with gc_paused():
        return _cluster(cols, previous, threshold, signatures or SignatureStore(), None)


def article_signatures(
    records: Sequence[DedupInput], known: Mapping[tuple[str, str], bytes] | None = None
) -> dict[tuple[str, str], bytes]:
    """The MinHash signature (``NUM_PERM`` little-endian uint32, ``SIGNATURE_BYTES`` bytes) of
    every text ``cluster_articles`` sketches, keyed by (article_id, content_hash).

    Those are the texts with at least ``MIN_WORDS`` tokens that represent their content hash
    (the smallest article_id having it); a signature therefore also says "long enough".
    Entries of ``known`` are reused, the others computed. Store them with ``SIGNATURE_SCHEME``
    and pass them back as ``cluster_articles(..., signatures=...)``.
    """
    cols, texts = _record_columns(records)
    with gc_paused():
        reps = _Representatives(cols)
        sketched, sig = _rep_signatures(reps, known or {}, texts)
        rows = sig.take(np.arange(len(sketched)))
    return {
        (reps.ids[i].decode(), reps.hashes[i].decode()): row.astype("<u4").tobytes()
        for i, row in zip(sketched.tolist(), rows, strict=True)
    }


def _record_columns(
    records: Sequence[DedupInput],
) -> tuple[DedupColumns, Callable[[np.ndarray], list[str]]]:
    """Records as columns (the seen order as one rank) and their texts by input index."""
    n = len(records)
    languages: dict[str, int] = {}
    by_seen = sorted(range(n), key=lambda i: (records[i]["seen_order"], records[i]["article_id"]))
    seen = np.empty(n, dtype=np.int64)
    seen[by_seen] = np.arange(n)
    cols = DedupColumns(
        article_id=pack(r["article_id"] for r in records),
        content_hash=pack(r["content_hash"] for r in records),
        language=np.array(
            [languages.setdefault(r["language"], len(languages)) for r in records], np.int64
        ),
        word_count=np.array([int(r["word_count"]) for r in records], np.int64),
        seen=(seen,),
    )
    return cols, lambda idx: [records[i]["text"] for i in idx.tolist()]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: building many small objects otherwise triggers
    full collections whose cost grows with the heap
    (bench/dedup_scale.py, 20,000 articles: 8.9 s -> 6.6 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Representatives:
    """Columns sorted by article_id and, per article, the position of its hash's
    representative (the smallest article_id having it)."""

    def __init__(self, cols: DedupColumns) -> None:
        self.order = np.argsort(cols.article_id, kind="stable")
        self.ids = cols.article_id[self.order]
        dup = np.flatnonzero(self.ids[1:] == self.ids[:-1])
        if len(dup):
            raise ValueError(f"duplicate article_id {self.ids[dup[0]].decode()!r} in the input")
        self.hashes = cols.content_hash[self.order]
        _, first, inverse = np.unique(self.hashes, return_index=True, return_inverse=True)
        self.rep_of = first[inverse.reshape(-1)]
        self.reps = np.sort(first)


def _rep_signatures(
    reps: _Representatives,
    known: Mapping[tuple[str, str], bytes],
    texts: Callable[[np.ndarray], list[str]] | None,
) -> tuple[np.ndarray, SignatureRows]:
    """The representatives long enough to be sketched (positions, ascending) and their
    signatures: from ``known`` (a store's rows are not copied), else sketched from
    ``texts`` (by input index; without texts, not sketched)."""
    at = reps.reps
    if isinstance(known, SignatureStore):
        rows = known.rows(reps.hashes[at])
        if texts is None or not np.any(rows < 0):
            have = rows >= 0
            return at[have], known.view(rows[have])
        sig = np.empty((len(at), NUM_PERM), dtype=np.uint32)
        ok = rows >= 0
        sig[ok] = known.matrix(rows[ok])
    else:
        sig = np.empty((len(at), NUM_PERM), dtype=np.uint32)
        ok = np.zeros(len(at), dtype=bool)
        for j, i in enumerate(at.tolist()):
            aid, h = reps.ids[i].decode(), reps.hashes[i].decode()
            blob = known.get((aid, h))
            if blob is None:
                continue
            if len(blob) != SIGNATURE_BYTES:
                raise ValueError(f"signature of {aid!r}: {len(blob)} bytes")
            sig[j] = np.frombuffer(blob, dtype="<u4")
            ok[j] = True
    todo = np.flatnonzero(~ok)
    if texts is not None:
        for lo in range(0, len(todo), _BATCH):
            part = todo[lo : lo + _BATCH]
            computed, counts = sketch_texts(texts(reps.order[at[part]]))
            long_enough = np.array(counts, dtype=np.int64) >= MIN_WORDS
            sig[part[long_enough]] = computed[long_enough]
            ok[part[long_enough]] = True
    keep = np.flatnonzero(ok)
    return at[keep], SignatureRows.of(sig[keep])


def _cluster(
    cols: DedupColumns,
    previous: np.ndarray | None,
    threshold: float,
    known: Mapping[tuple[str, str], bytes],
    texts: Callable[[np.ndarray], list[str]] | None,
) -> Clusters:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    reps = _Representatives(cols)
    n = len(reps.ids)
    order = reps.order
    seen = _seen_rank([key[order] for key in cols.seen], n)

    # near duplicates: LSH bands over the signatures of the long representatives
    sketched, sig = _rep_signatures(reps, known, texts)
    lang = cols.language[order][sketched].astype(np.uint64)
    pairs = sketched[near_pairs(sig, lang, threshold, banding_threshold(threshold))]
    # exact duplicates: each article with its hash's representative
    comp = _components(reps.rep_of, pairs)
    ncomp = int(comp.max()) + 1 if n else 0

    canon = _first_by(comp, ncomp, seen, -cols.word_count[order].astype(np.int64))
    canon_of = canon[comp]
    positions = np.arange(n)
    is_canon = positions == canon_of
    same = ~is_canon & (reps.rep_of == reps.rep_of[canon_of])
    near = np.flatnonzero(~is_canon & ~same)
    # a near duplicate's hash and its canonical's are both sketched (they met in a band)
    row_of = np.full(n, -1, dtype=np.int64)
    row_of[sketched] = np.arange(len(sketched))
    assert not len(near) or row_of[reps.rep_of[near]].min() >= 0
    similarity = np.ones(n, dtype=np.float64)
    for lo in range(0, len(near), CHUNK_ROWS):
        part = near[lo : lo + CHUNK_ROWS]
        a = sig.take(row_of[reps.rep_of[part]])
        b = sig.take(row_of[reps.rep_of[canon_of[part]]])
        similarity[part] = _SIMILARITY[np.count_nonzero(a == b, axis=1)]
    reason = np.where(is_canon, 0, np.where(same, 1, 2)).astype(np.int8)

    prev = None if previous is None else previous[order]
    cid = _cluster_ids(reps.ids, comp, ncomp, seen, prev)[comp]
    out = np.lexsort((positions, ~is_canon, cid))
    return Clusters(reps.ids[out], cid[out], is_canon[out], reason[out], similarity[out])


def _seen_rank(keys: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Each position's rank in the seen order: ``keys`` (the most significant first), then
    the position (the columns are sorted by article_id)."""
    by_seen = np.lexsort((np.arange(n), *reversed(keys)))
    rank = np.empty(n, dtype=np.int64)
    rank[by_seen] = np.arange(n)
    return rank


def _components(rep_of: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Each position's component (the transitive closure of same hash and ``pairs``),
    numbered in the order of their smallest position."""
    parent = np.arange(len(rep_of))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    for a, b in pairs.tolist():  # few: the near-duplicate pairs
        ra, rb = find(a), find(b)
        if ra != rb:  # the smaller becomes the root: a root is its component's smallest
            parent[max(ra, rb)] = min(ra, rb)
    while True:  # every representative to its root
        up = parent[parent]
        if np.array_equal(up, parent):
            break
        parent = up
    root = parent[rep_of]
    return np.searchsorted(np.unique(root), root)


def _first_by(group: np.ndarray, ngroups: int, *keys: np.ndarray) -> np.ndarray:
    """Per group, the position whose ``keys`` (the most significant last, as
    ``np.lexsort``) are smallest."""
    order = np.lexsort((*keys, group))
    head = np.ones(len(order), dtype=bool)
    head[1:] = group[order][1:] != group[order][:-1]
    first = np.full(ngroups, -1, dtype=np.int64)
    first[group[order][head]] = order[head]
    return first


def _cluster_ids(
    ids: np.ndarray, comp: np.ndarray, ncomp: int, seen: np.ndarray, prev: np.ndarray | None
) -> np.ndarray:
    """One cluster id per component (see the module docstring), packed."""
    width = max(ids.dtype.itemsize, 1 if prev is None else prev.dtype.itemsize)
    out = np.zeros(ncomp, dtype=f"S{width}")
    owned = np.zeros(ncomp, dtype=bool)
    taken = np.empty(0, dtype="S1")
    carriers = np.empty(0, np.int64) if prev is None else np.flatnonzero(prev != b"")
    if len(carriers):
        assert prev is not None
        # every old id present: the components carrying it, each from its earliest member
        old, c, r = prev[carriers], comp[carriers], seen[carriers]
        by = np.lexsort((r, c, old))
        old, c, r = old[by], c[by], r[by]
        head = np.ones(len(old), dtype=bool)
        head[1:] = (old[1:] != old[:-1]) | (c[1:] != c[:-1])
        old, c, r = old[head], c[head], r[head]
        # an old id belongs to one component: the one holding its namesake article, else
        # the one whose member carrying it was seen first
        namesake = find(ids, old)
        is_namesake = (namesake >= 0) & (comp[np.maximum(namesake, 0)] == c)
        by = np.lexsort((r, ~is_namesake, old))
        old, c, r = old[by], c[by], r[by]
        head = np.ones(len(old), dtype=bool)
        head[1:] = old[1:] != old[:-1]
        taken = old[head]
        # a component owning several old ids takes the one carried by its earliest member
        owner, at = c[head], _first_by(c[head], ncomp, r[head])
        owned[owner] = True
        out[owned] = taken[at[owned]]
    # the others: the first-seen member's id, unless an old cluster elsewhere is called that
    rest = np.flatnonzero(~owned[comp])
    is_taken = find(taken, ids[rest]) >= 0 if len(taken) else np.zeros(len(rest), dtype=bool)
    first = _first_by(comp[rest], ncomp, seen[rest], is_taken)
    free = first >= 0
    out[free] = ids[rest[first[free]]]
    return out
