"""Sketching: a text's tokens, its shingles and its MinHash signature (``NUM_PERM`` uint32).

Pure functions of the text; the clustering (``clusters.py``) only ever sees signatures.

Rules:

* Tokens: the casefolded words of ``flows/text.py``; a text that is mostly CJK (its CJK
  characters are more than half of its word characters) is split into its word characters
  one by one.
* Shingles: word ``SHINGLE_K``-shingles, character ``CJK_K``-grams for mostly-CJK text; a text
  shorter than one shingle gives a single shingle of all its tokens (none when it is empty).
* Hashes: every distinct token is hashed once (BLAKE2b, cached), the hashes of a shingle's
  tokens are combined with numpy (polynomial mod 2**64, then the splitmix64 finaliser) and cut
  to 32 bits, the width MinHash expects; no SHA-1 call per shingle.
* Signatures: MinHash with datasketch's "affine32" scheme (hash -> MurmurHash3 fmix32 ->
  a*h + b mod 2**32) and the frozen permutations of ``permutations.py``, computed for many
  texts at once with numpy: bit-identical to datasketch's ``MinHash.bulk``
  (tests/flows/test_dedup.py and bench/dedup_scale.py check it), without datasketch at run time.
* ``SIGNATURE_SCHEME`` names everything a stored signature depends on: changing the tokens, the
  CJK range, ``SHINGLE_K``, ``CJK_K``, ``MIN_WORDS``, the hashing or the permutations is a new
  scheme (stored signatures of another scheme are dropped, not reused).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence

import numpy as np

from infoshos.flows.dedup.permutations import NUM_PERM, PERMUTATIONS_FINGERPRINT, SEED, parameters
from infoshos.flows.text import HAN_BMP, HANGUL, KANA, chars, split_words

SHINGLE_K = 5
CJK_K = 3
#: Texts with fewer tokens are not sketched: they only match exactly.
MIN_WORDS = 30
#: Bytes of one stored signature: ``NUM_PERM`` little-endian uint32.
SIGNATURE_BYTES = NUM_PERM * 4
#: What a stored signature depends on; store it alongside and drop signatures of another scheme.
SIGNATURE_SCHEME = (
    f"minhash-affine32/p{NUM_PERM}/seed{SEED}/perm-{PERMUTATIONS_FINGERPRINT}"
    f"/w{SHINGLE_K}-c{CJK_K}/min{MIN_WORDS}/blake2b-poly-v1"
)
#: Rows (shingles, pairs, signatures) handled together (128 x 8192 uint32 = 4 MiB).
CHUNK_ROWS = 8192
_U32 = np.uint64(32)
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))

# --------------------------------------------------------------------------------- tokens

#: The CJK characters that make a text "mostly CJK": part of SIGNATURE_SCHEME, so kept as the
#: scheme was made with (kana, the BMP's Han, hangul); Han beyond the BMP would be a new scheme.
_CJK = chars(KANA, HAN_BMP, HANGUL)


def split_text(text: str) -> tuple[list[str], bool]:
    """Casefolded words, and whether the text is mostly CJK (then: its word characters)."""
    text = text.casefold()
    found = split_words(text)
    if _CJK.search(text) is None:
        return found, False
    letters = sum(len(w) for w in found)
    if len(_CJK.findall(text)) * 2 > letters:
        return [c for w in found for c in w], True
    return found, False


def _split_batch(texts: Sequence[str]) -> list[tuple[list[str], bool]]:
    """``split_text`` of several texts (one CJK search for the whole batch when it has none)."""
    folded = [t.casefold() for t in texts]
    if _CJK.search("\n".join(folded)) is not None:
        return [split_text(t) for t in texts]
    return [(split_words(t), False) for t in folded]


def tokens(text: str) -> list[str]:
    """Casefolded ``\\w+`` words; for mostly-CJK text, its word characters one by one."""
    return split_text(text)[0]


# --------------------------------------------------------------------------------- hashes


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
    """The distinct 32-bit hashes of the shingles of ``text`` (sorted; ``sketch_texts`` hashes
    shingles the same way, in batches) and its token count."""
    toks, cjk = split_text(text)
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


# --------------------------------------------------------------------------------- batches


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


def sketch_texts(texts: Sequence[str], k: int = SHINGLE_K) -> tuple[np.ndarray, list[int]]:
    """MinHash signatures (len(texts) x ``NUM_PERM`` uint32, equal to the ``hashvalues`` of
    datasketch's ``MinHash.bulk`` over ``shingle_hashes``) and token counts of ``texts``."""
    hashes, offsets, counts = _shingle_batch(texts, k)
    return sketch_hashes(hashes, offsets), counts


def sketch_hashes(hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """MinHash signatures (len(offsets) - 1 rows) of the 32-bit hash sets
    ``hashes[offsets[i]:offsets[i + 1]]``; an empty set gives datasketch's empty signature."""
    a, b = parameters()
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
    buf = np.empty((NUM_PERM, min(total, CHUNK_ROWS)), dtype=np.uint32)
    a, b = a[:, None], b[:, None]
    starts = offsets[:-1]
    for lo in range(0, total, CHUNK_ROWS):
        hi = min(lo + CHUNK_ROWS, total)
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
