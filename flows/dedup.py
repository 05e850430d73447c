"""Story clusters: exact and near duplicates of one text share a cluster (table ``clusters``).

Pure transform: records in, ``ClusterRow`` records out.

Rules (``cluster_articles``):

* Equal ``content_hash`` -> same cluster (``reason="same_content"``, similarity 1.0).
* Near duplicates: word 5-shingles of the casefolded text (character 3-grams when the text is
  mostly CJK), MinHash with 128 permutations, candidates from ``MinHashLSH`` (never all pairs),
  each candidate pair confirmed by an estimated Jaccard ``>= threshold``.
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
canonical member; the short-text rule counts tokens itself (``tokens``).

Threshold: ``DEFAULT_THRESHOLD = 0.5``. On the labelled pairs of ``tests/test_dedup.py`` the
exact shingle Jaccard of near duplicates (whitespace, one or two words changed, a sentence
dropped or added, a chrome line) is 0.71-1.0, of different stories sharing SCO boilerplate
0.0-0.13; the MinHash estimate has a standard error of about 0.044 at J = 0.5.

``cluster_articles`` pauses the cyclic garbage collector while it runs (restored after).
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypedDict

import numpy as np
from datasketch import MinHash, MinHashLSH

__all__ = [
    "DEFAULT_THRESHOLD",
    "MIN_WORDS",
    "NUM_PERM",
    "SHINGLE_K",
    "ClusterRow",
    "DedupInput",
    "IndexRecord",
    "NearDuplicateIndex",
    "cluster_articles",
    "minhashes",
    "shingle_hashes",
    "shingle_set",
    "tokens",
]

#: Estimated Jaccard (of shingle sets) from which two texts are near duplicates.
#: Tuned on the labelled pairs in ``tests/test_dedup.py``.
DEFAULT_THRESHOLD = 0.5
#: The LSH banding is built for ``threshold - LSH_MARGIN``, so that pairs at the confirmation
#: threshold are almost always candidates (0.5 -> 37 bands of 3 rows: 99.3% at J = 0.5).
LSH_MARGIN = 0.2
NUM_PERM = 128
SHINGLE_K = 5
CJK_K = 3
#: Texts with fewer tokens only match exactly.
MIN_WORDS = 30
SEED = 1

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


class IndexRecord(TypedDict):
    article_id: str
    text: str
    language: str


# --------------------------------------------------------------------------------- shingles

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def _split(text: str) -> tuple[list[str], bool]:
    """Casefolded words, and whether the text is mostly CJK (then: its word characters)."""
    text = text.casefold()
    words = _WORD.findall(text)
    if _CJK.search(text) is None:
        return words, False
    chars = sum(len(w) for w in words)
    if len(_CJK.findall(text)) * 2 > chars:
        return [c for w in words for c in w], True
    return words, False


def tokens(text: str) -> list[str]:
    """Casefolded ``\\w+`` words; for mostly-CJK text, its word characters one by one."""
    return _split(text)[0]


def shingle_set(text: str, k: int = SHINGLE_K) -> tuple[set[bytes], int]:
    """The shingles of ``text`` (UTF-8 bytes) and its token count.

    Word ``k``-shingles, or character 3-grams for mostly-CJK text. A text shorter than one
    shingle gives a single shingle of all its tokens (none for an empty text).
    """
    toks, cjk = _split(text)
    if not toks:
        return set(), 0
    sep, k = ("", CJK_K) if cjk else (" ", k)
    shingles = {sep.join(toks[i : i + k]) for i in range(max(1, len(toks) - k + 1))}
    return {s.encode("utf-8") for s in shingles}, len(toks)


# Shingles are hashed without one SHA-1 call each: every distinct token is hashed once
# (BLAKE2b, cached), the hashes of a shingle's tokens are combined with numpy (polynomial
# mod 2**64, then the splitmix64 finaliser) and cut to 32 bits, the width MinHash expects.
_TOKEN_HASHES: dict[str, int] = {}
_TOKEN_CACHE_MAX = 1 << 21
_POLY = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _token_hash(token: str) -> int:
    h = _TOKEN_HASHES.get(token)
    if h is None:
        digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
        h = int.from_bytes(digest, "little")
        if len(_TOKEN_HASHES) >= _TOKEN_CACHE_MAX:
            _TOKEN_HASHES.clear()
        _TOKEN_HASHES[token] = h
    return h


def shingle_hashes(text: str, k: int = SHINGLE_K) -> tuple[list[int], int]:
    """The distinct 32-bit hashes of the shingles of ``text`` (as in ``shingle_set``, sorted)
    and its token count."""
    toks, cjk = _split(text)
    n = len(toks)
    if n == 0:
        return [], 0
    if cjk:
        k = CJK_K
    k = min(k, n)
    values = list(map(_TOKEN_HASHES.get, toks))
    if None in values:
        values = [_token_hash(t) if v is None else v for t, v in zip(toks, values, strict=True)]
    th = np.array(values, dtype=np.uint64)
    m = n - k + 1
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            h = h * _POLY + th[j : j + m]
        h ^= h >> np.uint64(30)
        h *= _MIX1
        h ^= h >> np.uint64(27)
        h *= _MIX2
        h ^= h >> np.uint64(31)
    return np.unique(h >> np.uint64(32)).tolist(), n


def _identity(value: int) -> int:
    return value


def minhashes(hash_sets: Iterable[Iterable[int]]) -> list[MinHash]:
    """MinHashes (``NUM_PERM`` permutations, fixed seed) of many ``shingle_hashes`` at once."""
    return MinHash.bulk(hash_sets, num_perm=NUM_PERM, seed=SEED, hashfunc=_identity)


@contextmanager
def _gc_paused() -> Iterator[None]:
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


# --------------------------------------------------------------------------------- index


@dataclass(frozen=True)
class _Entry:
    language: str
    minhash: MinHash


class NearDuplicateIndex:
    """Incremental near-duplicate search: MinHash LSH, one index per language.

    Build it from records (``from_records``) or ``add`` articles one by one; ``query`` a new
    text to get the indexed articles it nearly duplicates, with their estimated Jaccard.
    Texts with fewer than ``min_words`` tokens are never indexed and never match.
    """

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        lsh_threshold: float | None = None,
        min_words: int = MIN_WORDS,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.lsh_threshold = (
            max(0.05, threshold - LSH_MARGIN) if lsh_threshold is None else lsh_threshold
        )
        self.min_words = min_words
        self._lsh: dict[str, MinHashLSH] = {}
        self._entries: dict[str, _Entry] = {}

    @classmethod
    def from_records(
        cls, records: Iterable[IndexRecord], threshold: float = DEFAULT_THRESHOLD, **kw: Any
    ) -> NearDuplicateIndex:
        """An index holding every record long enough to be indexed."""
        index = cls(threshold, **kw)
        recs = sorted(records, key=lambda r: r["article_id"])
        sets = [shingle_hashes(r["text"]) for r in recs]
        keep = [(r, s) for r, (s, n) in zip(recs, sets, strict=True) if n >= index.min_words]
        for rec, mh in zip(keep, minhashes(s for _, s in keep), strict=True):
            index.add_minhash(rec[0]["article_id"], mh, rec[0]["language"])
        return index

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._entries

    def sketch(self, text: str) -> MinHash | None:
        """The MinHash of ``text``, or ``None`` when it is too short to be matched."""
        hashes, n = shingle_hashes(text)
        if n < self.min_words:
            return None
        return minhashes([hashes])[0]

    def add(self, article_id: str, text: str, language: str) -> bool:
        """Index an article; ``False`` (and nothing indexed) when the text is too short."""
        mh = self.sketch(text)
        if mh is None:
            return False
        self.add_minhash(article_id, mh, language)
        return True

    def add_minhash(self, article_id: str, minhash: MinHash, language: str) -> None:
        """Index a precomputed MinHash (from ``minhashes``/``sketch``)."""
        if article_id in self._entries:
            raise ValueError(f"article {article_id} is already indexed")
        lsh = self._lsh.get(language)
        if lsh is None:
            lsh = self._lsh[language] = MinHashLSH(threshold=self.lsh_threshold, num_perm=NUM_PERM)
        lsh.insert(article_id, minhash, check_duplication=False)
        self._entries[article_id] = _Entry(language, minhash)

    def query(self, text: str, language: str) -> list[tuple[str, float]]:
        """Indexed articles that ``text`` nearly duplicates: ``(article_id, jaccard)``, best
        first (ties by id). Only the same language; ``[]`` for a too short text."""
        mh = self.sketch(text)
        return [] if mh is None else self.query_minhash(mh, language)

    def query_minhash(self, minhash: MinHash, language: str) -> list[tuple[str, float]]:
        lsh = self._lsh.get(language)
        if lsh is None:
            return []
        found = []
        for key in lsh.query(minhash):
            sim = float(minhash.jaccard(self._entries[key].minhash))
            if sim >= self.threshold:
                found.append((str(key), sim))
        found.sort(key=lambda p: (-p[1], p[0]))
        return found

    def minhash_of(self, article_id: str) -> MinHash:
        return self._entries[article_id].minhash


# --------------------------------------------------------------------------------- clusters


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller index becomes the root: deterministic for sorted input
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


def _seen_key(rec: DedupInput) -> tuple[Any, str]:
    return (rec["seen_order"], rec["article_id"])


def _canonical_key(rec: DedupInput) -> tuple[int, Any, str]:
    return (-int(rec["word_count"]), rec["seen_order"], rec["article_id"])


def cluster_articles(
    records: Sequence[DedupInput],
    previous: Mapping[str, str] | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[ClusterRow]:
    """Group ``records`` into story clusters (see the module docstring for the rules).

    ``previous`` maps article_id -> cluster_id from earlier runs; old cluster ids are kept.
    Returns one row per record, sorted by (cluster_id, role canonical first, article_id).
    """
    with _gc_paused():
        return _cluster(records, previous or {}, threshold)


def _cluster(
    records: Sequence[DedupInput], previous: Mapping[str, str], threshold: float
) -> list[ClusterRow]:
    recs = sorted(records, key=lambda r: r["article_id"])
    for a, b in zip(recs, recs[1:], strict=False):
        if a["article_id"] == b["article_id"]:
            raise ValueError(f"duplicate article_id {a['article_id']!r} in the input")
    n = len(recs)
    uf = _UnionFind(n)

    # exact duplicates: one representative per (content_hash) goes on to the near-dup search
    by_hash: dict[str, int] = {}
    reps: list[int] = []
    for i, rec in enumerate(recs):
        first = by_hash.setdefault(rec["content_hash"], i)
        if first == i:
            reps.append(i)
        else:
            uf.union(first, i)

    # near duplicates: MinHash + LSH, each representative queried before it is added
    index = NearDuplicateIndex(threshold)
    sets = [shingle_hashes(recs[i]["text"]) for i in reps]
    long_reps = [(i, s) for i, (s, count) in zip(reps, sets, strict=True) if count >= MIN_WORDS]
    sketches: dict[int, MinHash] = {}
    position = {rec["article_id"]: i for i, rec in enumerate(recs)}
    for (i, _), mh in zip(long_reps, minhashes(s for _, s in long_reps), strict=True):
        sketches[i] = mh
        lang = recs[i]["language"]
        for other, _sim in index.query_minhash(mh, lang):
            uf.union(position[other], i)
        index.add_minhash(recs[i]["article_id"], mh, lang)

    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[uf.find(i)].append(i)
    members = list(groups.values())

    cluster_ids = _assign_cluster_ids(recs, members, previous)
    rows: list[ClusterRow] = []
    for comp, cid in zip(members, cluster_ids, strict=True):
        canon = min(comp, key=lambda i: _canonical_key(recs[i]))
        canon_hash = recs[canon]["content_hash"]
        canon_rep = by_hash[canon_hash]
        for i in comp:
            rec = recs[i]
            if i == canon:
                role: Role = "canonical"
                reason: Reason = "canonical"
                sim = 1.0
            elif rec["content_hash"] == canon_hash:
                role, reason, sim = "duplicate", "same_content", 1.0
            else:
                role, reason = "duplicate", "near_duplicate"
                sim = _similarity(recs, sketches, by_hash[rec["content_hash"]], canon_rep)
            rows.append(
                ClusterRow(
                    cluster_id=cid,
                    article_id=rec["article_id"],
                    role=role,
                    similarity=sim,
                    reason=reason,
                )
            )
    rows.sort(key=lambda r: (r["cluster_id"], r["role"] != "canonical", r["article_id"]))
    return rows


def _similarity(recs: Sequence[DedupInput], sketches: dict[int, MinHash], a: int, b: int) -> float:
    for i in (a, b):
        if i not in sketches:  # short texts are not sketched during the search
            sketches[i] = minhashes([shingle_hashes(recs[i]["text"])[0]])[0]
    return round(float(sketches[a].jaccard(sketches[b])), 6)


def _assign_cluster_ids(
    recs: Sequence[DedupInput], members: list[list[int]], previous: Mapping[str, str]
) -> list[str]:
    """One cluster id per component (see the module docstring)."""
    comp_of = {}
    for c, comp in enumerate(members):
        for i in comp:
            comp_of[recs[i]["article_id"]] = c

    # every old id present: which components carry it, and from which earliest member
    claims: dict[str, dict[int, tuple[Any, str]]] = defaultdict(dict)
    for c, comp in enumerate(members):
        for i in comp:
            old = previous.get(recs[i]["article_id"])
            if old is None:
                continue
            key = _seen_key(recs[i])
            best = claims[old].get(c)
            if best is None or key < best:
                claims[old][c] = key

    # an old id belongs to one component: the one holding its namesake article, else the
    # one whose member carrying it was seen first
    owned: dict[int, list[tuple[tuple[Any, str], str]]] = defaultdict(list)
    for old, by_comp in claims.items():
        owner = comp_of.get(old)
        if owner is None or owner not in by_comp:
            owner = min(by_comp, key=lambda c: (by_comp[c], c))
        owned[owner].append((by_comp[owner], old))

    taken = {old for claimed in owned.values() for _, old in claimed}
    ids = []
    for c, comp in enumerate(members):
        if owned.get(c):
            ids.append(min(owned[c])[1])
            continue
        # the first-seen member's id, unless an old cluster elsewhere is already called that
        by_seen = [recs[i]["article_id"] for i in sorted(comp, key=lambda i: _seen_key(recs[i]))]
        ids.append(next((a for a in by_seen if a not in taken), by_seen[0]))
    return ids
