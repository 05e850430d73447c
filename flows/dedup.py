"""Story clusters: exact and near duplicates of one text share a cluster (table ``clusters``).

Pure transform: records in, ``ClusterRow`` records out (``cluster_articles``); or columns in,
columns out (``cluster_columns``: no Python object per article, for the end of a run).

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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypedDict

import numpy as np
from datasketch import MinHash, MinHashLSH

from infoshos.flows.columns import ColumnMap, KeyIndex, find, pack, sort_unique

__all__ = [
    "DEFAULT_THRESHOLD",
    "MIN_WORDS",
    "NUM_PERM",
    "SHINGLE_K",
    "ClusterRow",
    "Clusters",
    "DedupColumns",
    "DedupInput",
    "IndexRecord",
    "SIGNATURE_BYTES",
    "SIGNATURE_SCHEME",
    "PERMUTATIONS_FINGERPRINT",
    "NearDuplicateIndex",
    "SignatureStore",
    "article_signatures",
    "cluster_articles",
    "cluster_columns",
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

# The permutation parameters (a, b) of the "affine32" scheme, frozen: datasketch 2.0's
# ``MinHash(num_perm=NUM_PERM, seed=SEED).permutations``, copied here so that a datasketch
# upgrade can never silently change stored signatures (tests/test_dedup.py checks that
# datasketch still gives these, bit for bit). Changing them is a new SIGNATURE_SCHEME.
PERM_A: tuple[int, ...] = (
    0xD583E84B,
    0xFE8F01D7,
    0x70CE5F19,
    0xDD782891,
    0x000EFDFF,
    0x41998713,
    0x9ACB5597,
    0xFF823D0B,
    0x4B23969F,
    0x78E0A781,
    0x2F470121,
    0xCB0CA103,
    0x5F5D7F99,
    0xC69C3C8F,
    0xB0ED55DB,
    0x56E8F3F9,
    0xCB251B0D,
    0xDEFEFA33,
    0x13DFC965,
    0xB14FAA29,
    0xD6A0A9FD,
    0xA06562CB,
    0x5ED51725,
    0x0C9193A9,
    0x68ADF717,
    0xE30C41F9,
    0xC1989BD5,
    0x758B2539,
    0x0E05BF3B,
    0x119EB31D,
    0x57478465,
    0xD3F2D489,
    0xD5A8F9AF,
    0xEA16BFAF,
    0x1E0C97D3,
    0xDC8485E3,
    0x47E0CBEF,
    0xE0D55BBD,
    0x656D8EC1,
    0x8E8908AD,
    0x99FB311B,
    0x6E93AFD3,
    0xEFBFFB13,
    0x9B03080F,
    0xA079227F,
    0x2F83967B,
    0x62781C2D,
    0x094B4A73,
    0xC0B61403,
    0xBAE3EF01,
    0xCA09E279,
    0xA885F1A3,
    0x2B8AEA11,
    0xA8C1C5B1,
    0x13FEFD1B,
    0x8BCD34E7,
    0x56F4035F,
    0x1E551FD5,
    0xC19BE4F3,
    0x574F7391,
    0x325A843D,
    0x2FA6488F,
    0xD79B6B07,
    0x57E30B8D,
    0xEA707F2B,
    0xD2D5DC63,
    0x10FB0A73,
    0x65256407,
    0x623DB789,
    0x944A5631,
    0xA18B43E3,
    0x48C3F857,
    0x5F7D0C99,
    0x910E9835,
    0xAB540E69,
    0xD3384AA1,
    0x095D14DB,
    0x117EE6E7,
    0x8012EA53,
    0x3F80DBA5,
    0xFA4C001F,
    0x523ED881,
    0x7F0F9189,
    0x98D46033,
    0x8F965ADF,
    0xE46BBDC5,
    0x941C6BAF,
    0x71BA4F0F,
    0x34DA0A35,
    0x258FFD33,
    0xE5524CD1,
    0xF040082D,
    0xD1336E13,
    0x313D7D87,
    0x965497CF,
    0xCE8688FD,
    0x93574A2F,
    0x3D2DDAFB,
    0x42931AC9,
    0x0CB28137,
    0x09EA774B,
    0x2AD0A273,
    0x5B9054A7,
    0xD56ED94D,
    0x6C5A8511,
    0xD2264A41,
    0x87F5BB45,
    0x990D5E15,
    0xFBAF7A2F,
    0x2B350D1F,
    0x1B5255DF,
    0x21BF38AF,
    0x25F2BE33,
    0x3A561F8F,
    0x4B2001E7,
    0xE9BF0AB9,
    0x2DB97495,
    0x859F097D,
    0x6646BA5D,
    0x7647A741,
    0x34652DB1,
    0x1120292F,
    0xD3FF256F,
    0xE65E4A83,
    0x63886AE3,
    0xFC724E9B,
    0xD40F4E07,
    0x14C99701,
)

PERM_B: tuple[int, ...] = (
    0x0CC9BFF8,
    0xC3F6D4FD,
    0x893081CD,
    0x0B9BC706,
    0xA9EE7234,
    0x23D4D1D5,
    0x83CFC5C6,
    0xCADAF602,
    0xF1D0F64C,
    0x07A10FDB,
    0x96287895,
    0xE21482CB,
    0xE7455907,
    0x8A71184D,
    0x23318AC8,
    0x72AED44B,
    0x23A79D4C,
    0xE463042B,
    0xCEB13214,
    0x60A95E1E,
    0x65CE2624,
    0x89D63367,
    0x2A54A707,
    0xA6FD0F2D,
    0xED7133C4,
    0x5C7B9A39,
    0x59072EF0,
    0x922D9DFC,
    0xC03538D2,
    0xA3494060,
    0xB9DB010D,
    0x20562C0A,
    0xE2205917,
    0xB0B13F7C,
    0x9FA8FB51,
    0xA5D2E787,
    0xC03DC379,
    0x5A9BC098,
    0x595166CA,
    0xC3633DDC,
    0x4519FE94,
    0x5B45A9A0,
    0xE558CC8C,
    0xC0B6BCC1,
    0x6D97625E,
    0xE19F9E3C,
    0xF6FFC1E9,
    0x02FCC098,
    0xA9D74D52,
    0x7F841373,
    0x9F277361,
    0x12E40882,
    0x1D5FFDEC,
    0xC975A6DC,
    0xF311BA67,
    0x1066B762,
    0x732D710A,
    0x5AF59EB6,
    0x94115760,
    0xF11C39E9,
    0x687BA752,
    0x613AC9D6,
    0x3CADCCC6,
    0xC34EBAC2,
    0xE743E147,
    0xC5873FE7,
    0x92DCA8B0,
    0x4D25F636,
    0x00BC1C0F,
    0xC5D23B85,
    0x9DFD3591,
    0x272668AA,
    0x539F0014,
    0x94215A76,
    0x86ED47B0,
    0x024E5916,
    0xE2CD19E5,
    0xB583CF8D,
    0x5B7607F1,
    0x787BEA72,
    0xE895C261,
    0xC3BC56B5,
    0x9F948754,
    0x77A70C0A,
    0x040CDC60,
    0x44DD40B7,
    0xEDEF993D,
    0xD4E9CE38,
    0xB0DE9ED9,
    0x8D23A195,
    0xFF508CE7,
    0x11F0DC60,
    0x2C1E81F9,
    0x78F41FD3,
    0x231B5419,
    0xBE25D5F1,
    0xEEBE938E,
    0x3124088D,
    0xB262ACD4,
    0x76DD1E74,
    0x10E5632B,
    0x3AF90E86,
    0xC16606CD,
    0x821C82B8,
    0xC0FE07BB,
    0x3564BB8F,
    0xEC4B5618,
    0x0C9F33FB,
    0xB6267C89,
    0x84D421C2,
    0x1FD038C7,
    0x2C1A6F35,
    0x0516DD45,
    0x6574C9A4,
    0x06B5C365,
    0x1B7C4AF8,
    0x073F1815,
    0x8282ED28,
    0x3F07B04D,
    0x1A2588DB,
    0xDC2ACAB1,
    0x49E96971,
    0x89F0D52F,
    0x3B5485CD,
    0x8D85BDA8,
    0xF7B915CE,
    0xD78F562D,
    0x473FE757,
)

#: sha256 (first 16 hex digits) of PERM_A then PERM_B as little-endian uint32.
PERMUTATIONS_FINGERPRINT = hashlib.sha256(
    np.array(PERM_A + PERM_B, dtype="<u4").tobytes()
).hexdigest()[:16]
#: What a stored signature depends on; store it alongside and drop signatures of another scheme.
SIGNATURE_SCHEME = (
    f"minhash-affine32/p{NUM_PERM}/seed{SEED}/perm-{PERMUTATIONS_FINGERPRINT}"
    f"/w{SHINGLE_K}-c{CJK_K}/min{MIN_WORDS}/blake2b-poly-v1"
)
_BATCH = 1000  # texts shingled together (bounds the token lists held at once)
_CHUNK_ROWS = 8192  # shingles permuted together (128 x 8192 uint32 = 4 MiB)
_U32 = np.uint64(32)
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))


@functools.cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """The frozen permutation parameters (a, b): ``NUM_PERM`` uint32 each."""
    return np.array(PERM_A, dtype=np.uint32), np.array(PERM_B, dtype=np.uint32)


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
    sig: SignatureRows, lang: np.ndarray, threshold: float, lsh_threshold: float
) -> np.ndarray:
    """Row pairs (i < j) of ``sig`` in the same language that share an LSH band and whose
    estimated Jaccard is ``>= threshold``; shape (pairs, 2)."""
    n = len(sig)
    found: list[np.ndarray] = []
    for lo, hi in _bands(lsh_threshold):
        band = sig.columns(lo, hi)
        cols = [band[:, c].astype(np.uint64) for c in range(hi - lo)] + [lang]
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
        equal[lo : lo + len(p)] = np.count_nonzero(sig.take(p[:, 0]) == sig.take(p[:, 1]), axis=1)
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
# Clustering runs over columns (``DedupColumns``: numpy arrays, the strings packed), never a
# Python object per article: at the end of a run it runs over every article of the warehouse.
# ``cluster_articles`` turns its records into columns and the result into rows.

#: ``reason`` codes of :class:`Clusters`.
REASONS: tuple[Reason, ...] = ("canonical", "same_content", "near_duplicate")
#: ``similarity`` of ``k`` equal signature entries (as ``round(k / NUM_PERM, 6)``).
_SIMILARITY = np.array([round(float(k) / float(NUM_PERM), 6) for k in range(NUM_PERM + 1)])
#: Rows turned into records at a time (``Clusters.rows``).
_ROWS_BATCH = 4096


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
    with _gc_paused():
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
    with _gc_paused():
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
    with _gc_paused():
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


class SignatureStore(Mapping[tuple[str, str], bytes]):
    """Signatures by content hash, compact: blocks of ``BLOCK_ROWS`` x ``NUM_PERM`` uint32
    (grown a block at a time: nothing copied, at most one block unused) and a packed hash ->
    row index (:class:`~infoshos.flows.columns.KeyIndex`). As a mapping it answers
    ``(article_id, content_hash)`` keys by the hash alone (the signature depends only on the
    text), so it can be passed to ``cluster_articles(..., signatures=...)`` for any article
    with a known text."""

    BLOCK_ROWS = 8192

    def __init__(self) -> None:
        self._index = KeyIndex()
        self._blocks: list[np.ndarray] = []
        self._n = 0

    def add(self, content_hash: str, signature: bytes | np.ndarray) -> None:
        if self.has(content_hash):
            return
        self._index.add(content_hash, self._append(_signature_row(content_hash, signature)))

    def add_many(self, content_hashes: np.ndarray, signatures: np.ndarray) -> None:
        """Add many at once: packed hashes and their ``(n, NUM_PERM)`` uint32 signatures (of
        equal hashes, and of hashes already here, the first one stays)."""
        if signatures.shape != (len(content_hashes), NUM_PERM):
            raise ValueError(f"signatures of shape {signatures.shape}")
        first = sort_unique(content_hashes)
        new = np.sort(first[self._index.find(content_hashes[first]) < 0])
        start = self._append(signatures[new])
        self._index.add_many(content_hashes[new], np.arange(start, self._n))

    def _append(self, rows: np.ndarray) -> int:
        """Append ``rows`` (2-d, or one 1-d row); the row number of the first."""
        rows = rows.reshape(-1, NUM_PERM)
        start = self._n
        done = 0
        while done < len(rows):
            block, at = divmod(self._n, self.BLOCK_ROWS)
            if block == len(self._blocks):
                self._blocks.append(np.empty((self.BLOCK_ROWS, NUM_PERM), dtype=np.uint32))
            take = min(self.BLOCK_ROWS - at, len(rows) - done)
            self._blocks[block][at : at + take] = rows[done : done + take]
            self._n += take
            done += take
        return start

    def has(self, content_hash: str) -> bool:
        return self._index.get(content_hash) is not None

    def rows(self, content_hashes: Sequence[str] | np.ndarray) -> np.ndarray:
        """The row of each hash (strings, or packed) in :meth:`matrix`, -1 where there is no
        signature."""
        packed = content_hashes if isinstance(content_hashes, np.ndarray) else pack(content_hashes)
        return self._index.find(packed)

    def view(self, rows: np.ndarray) -> SignatureRows:
        """The signatures of ``rows`` (from :meth:`rows`), gathered only when asked."""
        return SignatureRows(self._blocks, self.BLOCK_ROWS, rows)

    def matrix(self, rows: np.ndarray) -> np.ndarray:
        """The signatures of ``rows`` (from :meth:`rows`) as one ``(len(rows), NUM_PERM)``
        uint32 array."""
        return self.view(np.asarray(rows, np.int64)).take(np.arange(len(rows)))

    def signature(self, content_hash: str) -> bytes | None:
        row = self._index.get(content_hash)
        if row is None:
            return None
        block, at = divmod(row, self.BLOCK_ROWS)
        return self._blocks[block][at].astype("<u4").tobytes()

    def __getitem__(self, key: tuple[str, str]) -> bytes:
        sig = self.signature(key[1])
        if sig is None:
            raise KeyError(key)
        return sig

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return (("", h) for h in self._index)

    def __len__(self) -> int:
        return self._n


def _signature_row(content_hash: str, signature: bytes | np.ndarray) -> np.ndarray:
    row = np.frombuffer(signature, dtype="<u4") if isinstance(signature, bytes) else signature
    if row.shape != (NUM_PERM,):
        raise ValueError(f"signature of {content_hash!r}: {row.nbytes} bytes")
    return row


class SignatureRows:
    """Signatures, the ``i``-th being row ``rows[i]`` of ``blocks`` (each of ``block_rows``
    rows): gathered a few columns (or rows) at a time, never copied whole."""

    def __init__(self, blocks: Sequence[np.ndarray], block_rows: int, rows: np.ndarray) -> None:
        self.blocks = blocks
        self.block_rows = block_rows
        self.rows = rows
        block = rows // block_rows
        self._order = np.argsort(block, kind="stable")
        self._bounds = np.searchsorted(block[self._order], np.arange(len(blocks) + 1))

    @classmethod
    def of(cls, matrix: np.ndarray) -> SignatureRows:
        return cls([matrix], max(1, len(matrix)), np.arange(len(matrix)))

    def __len__(self) -> int:
        return len(self.rows)

    def columns(self, lo: int, hi: int) -> np.ndarray:
        """Columns ``lo:hi`` of every signature."""
        out = np.empty((len(self.rows), hi - lo), dtype=np.uint32)
        for b, block in enumerate(self.blocks):
            sel = self._order[self._bounds[b] : self._bounds[b + 1]]
            if len(sel):
                out[sel] = block[self.rows[sel] - b * self.block_rows, lo:hi]
        return out

    def take(self, idx: np.ndarray) -> np.ndarray:
        """The signatures ``idx`` (positions in this view), ``(len(idx), NUM_PERM)``."""
        rows = self.rows[idx]
        out = np.empty((len(rows), NUM_PERM), dtype=np.uint32)
        block = rows // self.block_rows
        for b in np.unique(block).tolist():
            sel = np.flatnonzero(block == b)
            out[sel] = self.blocks[b][rows[sel] - b * self.block_rows]
        return out


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
            computed, counts = _sketch_texts(texts(reps.order[at[part]]))
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
    lsh_threshold = max(0.05, threshold - LSH_MARGIN)
    pairs = sketched[_near_pairs(sig, lang, threshold, lsh_threshold)]
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
    for lo in range(0, len(near), _CHUNK_ROWS):
        part = near[lo : lo + _CHUNK_ROWS]
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
