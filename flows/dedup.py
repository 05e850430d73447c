"""Story clusters: exact and near duplicates of one text share a cluster (table ``clusters``).

Pure transform: records in, ``ClusterRow`` records out.

Rules (``cluster_articles``):

* Equal ``content_hash`` -> same cluster (``reason="same_content"``, similarity 1.0).
* Near duplicates: word 5-shingles of the casefolded text (character 3-grams when the text is
  mostly CJK), MinHash with 128 permutations (datasketch's "affine32" scheme), candidates
  from LSH bands (``MinHashLSH``'s banding for ``threshold - LSH_MARGIN``; never all pairs),
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

Speed and increments: texts are shingled and sketched in batches with numpy and banded with
sorts, not one datasketch object per text (same signatures, pairs and rows as the datasketch
path kept in ``bench/dedup_scale.py``; 3x faster). ``article_signatures`` returns the signature
of every sketched text, keyed by (article_id, content_hash); stored and passed back as
``cluster_articles(..., signatures=...)``, only new or changed texts are shingled and hashed,
and what remains per run is banding all signatures (numpy sorts).

``cluster_articles`` pauses the cyclic garbage collector while it runs (restored after).
"""

from __future__ import annotations

import functools
import gc
import hashlib
import itertools
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
    "SIGNATURE_BYTES",
    "SIGNATURE_SCHEME",
    "NearDuplicateIndex",
    "article_signatures",
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


def _split_batch(texts: Sequence[str]) -> list[tuple[list[str], bool]]:
    """``_split`` of several texts (one CJK search for the whole batch when it has none)."""
    folded = [t.casefold() for t in texts]
    if _CJK.search("\n".join(folded)) is not None:
        return [_split(t) for t in texts]
    return [(_WORD.findall(t), False) for t in folded]


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
class _TokenHashes(dict[str, int]):
    """token -> 64-bit hash; a missing token is hashed on lookup (``cache[token]``)."""

    def __missing__(self, token: str) -> int:
        return _token_hash(token)


_TOKEN_HASHES = _TokenHashes()
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
    """MinHashes (``NUM_PERM`` permutations, fixed seed) of many ``shingle_hashes`` at once:
    datasketch ``MinHash`` objects equal to ``MinHash.bulk(..., hashfunc=identity)``'s."""
    arrays = [np.fromiter(s, dtype=np.uint64).astype(np.uint32) for s in hash_sets]
    offsets = np.concatenate(([0], np.cumsum([len(x) for x in arrays], dtype=np.int64)))
    hashes = np.concatenate(arrays) if arrays else np.empty(0, dtype=np.uint32)
    return [_as_minhash(row) for row in _sketch_hashes(hashes, offsets)]


def _as_minhash(signature: np.ndarray) -> MinHash:
    return MinHash(
        seed=SEED,
        hashfunc=_identity,
        hashvalues=signature,
        permutations=_permutation_matrix(),
        scheme="affine32",
    )


# --------------------------------------------------------------------------------- batches
# ``cluster_articles`` sketches texts in batches with numpy instead of one datasketch MinHash
# each, and bands them itself instead of a ``MinHashLSH``; both give exactly what datasketch
# gives (its "affine32" scheme: hash -> MurmurHash3 fmix32 -> a*h + b mod 2**32, the same
# seeded a, b; LSH bands of its optimal (b, r) for the threshold), which
# ``bench/dedup_scale.py`` and ``tests/test_dedup.py`` check against the datasketch path.

#: Bytes of one stored signature: ``NUM_PERM`` little-endian uint32.
SIGNATURE_BYTES = NUM_PERM * 4
#: What a stored signature depends on; store it alongside and drop signatures of another scheme.
SIGNATURE_SCHEME = (
    f"minhash-affine32/p{NUM_PERM}/seed{SEED}/w{SHINGLE_K}-c{CJK_K}/min{MIN_WORDS}/blake2b-poly-v1"
)
_BATCH = 1000  # texts shingled together (bounds the token lists held at once)
_CHUNK_ROWS = 8192  # shingles permuted together (128 x 8192 uint32 = 4 MiB)
_U32 = np.uint64(32)
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))


@functools.cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """datasketch's permutation parameters (a, b) for ``NUM_PERM`` and ``SEED``."""
    mh = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_identity)
    a, b = mh.permutations
    if a.dtype != np.uint32 or mh.scheme != "affine32":  # a datasketch change: fail loudly
        raise RuntimeError(f"unexpected datasketch MinHash scheme {mh.scheme!r}")
    return a.astype(np.uint32), b.astype(np.uint32)


@functools.cache
def _permutation_matrix() -> np.ndarray:
    return np.stack(_permutations())


@functools.cache
def _bands(lsh_threshold: float) -> tuple[tuple[int, int], ...]:
    """The (start, end) column ranges of the LSH bands ``MinHashLSH`` uses for a threshold."""
    lsh = MinHashLSH(threshold=lsh_threshold, num_perm=NUM_PERM)
    return tuple((int(lo), int(hi)) for lo, hi in lsh.hashranges)


def _shingle_batch(texts: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The 32-bit shingle hashes of several texts at once (as ``shingle_hashes``, neither
    deduplicated nor sorted), their offsets (len(texts) + 1) and the token counts."""
    split = _split_batch(texts)
    counts = [len(toks) for toks, _ in split]
    lens = np.array(counts, dtype=np.int64)
    ks = np.minimum(np.array([CJK_K if cjk else k for _, cjk in split], dtype=np.int64), lens)
    m = np.where(lens > 0, lens - ks + 1, 0)
    flat = list(itertools.chain.from_iterable(toks for toks, _ in split))
    th = np.fromiter(map(_TOKEN_HASHES.__getitem__, flat), dtype=np.uint64, count=len(flat))
    tok_off = np.concatenate(([0], np.cumsum(lens)))
    sh_off = np.concatenate(([0], np.cumsum(m)))
    out = np.empty(int(sh_off[-1]), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for kk in np.unique(ks[m > 0]).tolist():
            sel = np.flatnonzero((ks == kk) & (m > 0))
            mm = m[sel]
            within = np.arange(int(mm.sum())) - np.repeat(np.cumsum(mm) - mm, mm)
            width = len(th) - kk + 1
            h = np.zeros(width, dtype=np.uint64)
            for j in range(kk):
                h = h * _POLY + th[j : j + width]
            out[np.repeat(sh_off[sel], mm) + within] = h[np.repeat(tok_off[sel], mm) + within]
        out ^= out >> np.uint64(30)
        out *= _MIX1
        out ^= out >> np.uint64(27)
        out *= _MIX2
        out ^= out >> np.uint64(31)
    return (out >> _U32).astype(np.uint32), sh_off, counts


def _sketch_texts(texts: Sequence[str], k: int = SHINGLE_K) -> tuple[np.ndarray, list[int]]:
    """MinHash signatures (len(texts) x ``NUM_PERM`` uint32, equal to datasketch's
    ``hashvalues`` of ``minhashes``) and token counts of ``texts``."""
    hashes, offsets, counts = _shingle_batch(texts, k)
    return _sketch_hashes(hashes, offsets), counts


def _sketch_hashes(hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """MinHash signatures (len(offsets) - 1 rows) of the 32-bit hash sets
    ``hashes[offsets[i]:offsets[i + 1]]``; an empty set gives datasketch's empty signature."""
    a, b = _permutations()
    s1, m1, s2, m2 = _FMIX32
    h = hashes ^ (hashes >> s1)
    h *= m1
    h ^= h >> s2
    h *= m2
    h ^= h >> s1
    sig = np.full((len(offsets) - 1, NUM_PERM), np.iinfo(np.uint32).max, dtype=np.uint32)
    total = len(h)
    # permutations x shingles: each permutation's minimum per text is a contiguous reduction
    # (5x faster than shingles x permutations)
    buf = np.empty((NUM_PERM, min(total, _CHUNK_ROWS)), dtype=np.uint32)
    a, b = a[:, None], b[:, None]
    starts = offsets[:-1]
    for lo in range(0, total, _CHUNK_ROWS):
        hi = min(lo + _CHUNK_ROWS, total)
        part = buf[:, : hi - lo]
        np.multiply(a, h[None, lo:hi], out=part)
        np.add(part, b, out=part)
        # segments inside [lo, hi): the chunk start, then every text starting inside it
        first = int(np.searchsorted(offsets, lo, side="right")) - 1
        inner = np.flatnonzero((starts > lo) & (starts < hi))
        seg_starts = np.concatenate(([lo], starts[inner])) - lo
        seg_texts = np.concatenate(([first], inner))
        # texts without shingles share their start with the next text: keep the last one
        keep = np.append(seg_starts[1:] != seg_starts[:-1], True)
        seg_starts, seg_texts = seg_starts[keep], seg_texts[keep]
        reduced = np.minimum.reduceat(part, seg_starts, axis=1)
        sig[seg_texts] = np.minimum(sig[seg_texts], reduced.T)
    return sig


def _near_pairs(
    sig: np.ndarray, lang: np.ndarray, threshold: float, lsh_threshold: float
) -> np.ndarray:
    """Row pairs (i < j) of ``sig`` in the same language that share an LSH band and whose
    estimated Jaccard is ``>= threshold``; shape (pairs, 2)."""
    n = len(sig)
    found: list[np.ndarray] = []
    for lo, hi in _bands(lsh_threshold):
        cols = [sig[:, c].astype(np.uint64) for c in range(lo, hi)] + [lang]
        keys = [
            (cols[c] << _U32) | cols[c + 1] if c + 1 < len(cols) else cols[c]
            for c in range(0, len(cols), 2)
        ]
        order = np.lexsort(keys[::-1])
        same = np.ones(n - 1 if n else 0, dtype=bool)
        for key in keys:
            ks = key[order]
            same &= ks[1:] == ks[:-1]
        if not same.any():
            continue
        run = np.concatenate(([0], np.cumsum(~same)))
        d = 1
        while d < n:
            hit = np.flatnonzero(run[d:] == run[:-d])
            if not len(hit):
                break
            i, j = order[hit], order[hit + d]
            found.append(np.minimum(i, j) * n + np.maximum(i, j))
            d += 1
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    codes = np.unique(np.concatenate(found))
    pairs = np.stack([codes // n, codes % n], axis=1)
    equal = np.empty(len(pairs), dtype=np.int64)
    for lo in range(0, len(pairs), _CHUNK_ROWS):
        p = pairs[lo : lo + _CHUNK_ROWS]
        equal[lo : lo + len(p)] = np.count_nonzero(sig[p[:, 0]] == sig[p[:, 1]], axis=1)
    return pairs[equal / float(NUM_PERM) >= threshold]


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
        for start in range(0, len(recs), _BATCH):
            part = recs[start : start + _BATCH]
            sig, counts = _sketch_texts([r["text"] for r in part])
            for rec, row, count in zip(part, sig, counts, strict=True):
                if count >= index.min_words:
                    index.add_minhash(rec["article_id"], _as_minhash(row), rec["language"])
        return index

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._entries

    def sketch(self, text: str) -> MinHash | None:
        """The MinHash of ``text``, or ``None`` when it is too short to be matched."""
        sig, counts = _sketch_texts([text])
        return None if counts[0] < self.min_words else _as_minhash(sig[0])

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
    signatures: Mapping[tuple[str, str], bytes] | None = None,
) -> list[ClusterRow]:
    """Group ``records`` into story clusters (see the module docstring for the rules).

    ``previous`` maps article_id -> cluster_id from earlier runs; old cluster ids are kept.
    ``signatures`` maps (article_id, content_hash) -> a stored ``article_signatures`` value:
    those texts are not shingled nor hashed again (the result is the same as without them).
    Returns one row per record, sorted by (cluster_id, role canonical first, article_id).
    """
    with _gc_paused():
        return _cluster(records, previous or {}, threshold, signatures or {})


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
    with _gc_paused():
        recs, by_hash, reps = _representatives(records)
        rows, sig = _rep_signatures(recs, reps, known or {})
    return {
        (recs[i]["article_id"], recs[i]["content_hash"]): sig[row].tobytes()
        for row, i in enumerate(rows)
    }


def _representatives(
    records: Sequence[DedupInput],
) -> tuple[list[DedupInput], dict[str, int], list[int]]:
    """Records sorted by id, content_hash -> first index, and those first indexes."""
    recs = sorted(records, key=lambda r: r["article_id"])
    for a, b in zip(recs, recs[1:], strict=False):
        if a["article_id"] == b["article_id"]:
            raise ValueError(f"duplicate article_id {a['article_id']!r} in the input")
    by_hash: dict[str, int] = {}
    reps: list[int] = []
    for i, rec in enumerate(recs):
        if by_hash.setdefault(rec["content_hash"], i) == i:
            reps.append(i)
    return recs, by_hash, reps


def _rep_signatures(
    recs: Sequence[DedupInput], reps: Sequence[int], known: Mapping[tuple[str, str], bytes]
) -> tuple[list[int], np.ndarray]:
    """The representatives long enough to be sketched (ascending) and their signatures."""
    given: dict[int, bytes] = {}
    todo: list[int] = []
    for i in reps:
        blob = known.get((recs[i]["article_id"], recs[i]["content_hash"]))
        if blob is None:
            todo.append(i)
        elif len(blob) != SIGNATURE_BYTES:
            raise ValueError(f"signature of {recs[i]['article_id']!r}: {len(blob)} bytes")
        else:
            given[i] = blob
    rows: dict[int, np.ndarray] = {}
    if given:
        order = sorted(given)
        block = np.frombuffer(b"".join(given[i] for i in order), dtype="<u4")
        block = block.reshape(len(order), NUM_PERM).astype(np.uint32)
        rows.update(zip(order, block, strict=True))
    for start in range(0, len(todo), _BATCH):
        part = todo[start : start + _BATCH]
        sig, counts = _sketch_texts([recs[i]["text"] for i in part])
        for i, row, count in zip(part, sig, counts, strict=True):
            if count >= MIN_WORDS:
                rows[i] = row
    keys = sorted(rows)
    if not keys:
        return [], np.empty((0, NUM_PERM), dtype=np.uint32)
    return keys, np.stack([rows[i] for i in keys])


def _cluster(
    records: Sequence[DedupInput],
    previous: Mapping[str, str],
    threshold: float,
    known: Mapping[tuple[str, str], bytes],
) -> list[ClusterRow]:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    recs, by_hash, reps = _representatives(records)
    n = len(recs)
    uf = _UnionFind(n)
    for i, rec in enumerate(recs):  # exact duplicates
        first = by_hash[rec["content_hash"]]
        if first != i:
            uf.union(first, i)

    # near duplicates: LSH bands over the signatures of the long representatives
    sketched, sig = _rep_signatures(recs, reps, known)
    languages: dict[str, int] = {}
    lang = np.array(
        [languages.setdefault(recs[i]["language"], len(languages)) for i in sketched],
        dtype=np.uint64,
    )
    lsh_threshold = max(0.05, threshold - LSH_MARGIN)
    for a, b in _near_pairs(sig, lang, threshold, lsh_threshold).tolist():
        uf.union(sketched[a], sketched[b])

    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[uf.find(i)].append(i)
    members = list(groups.values())

    row_of = {i: r for r, i in enumerate(sketched)}
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
                sim = _similarity(recs, sig, row_of, by_hash[rec["content_hash"]], canon_rep)
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


def _similarity(
    recs: Sequence[DedupInput], sig: np.ndarray, row_of: Mapping[int, int], a: int, b: int
) -> float:
    pair = []
    for i in (a, b):
        if i in row_of:
            pair.append(sig[row_of[i]])
        else:  # short texts are not sketched during the search
            pair.append(_sketch_texts([recs[i]["text"]])[0][0])
    equal = int(np.count_nonzero(pair[0] == pair[1]))
    return round(float(equal) / float(NUM_PERM), 6)


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
