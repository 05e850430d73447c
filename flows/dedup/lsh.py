"""Near-duplicate pairs: LSH bands over MinHash signatures, each candidate pair confirmed.

Rules:

* Bands are the ones datasketch's ``MinHashLSH`` would use for the banding threshold
  (:func:`banding_threshold`; its optimal (bands, rows) for ``NUM_PERM``): only their column
  ranges are taken from it, the banding itself is numpy sorts, never all pairs and never one
  object per text.
* Two signatures are candidates when they are equal on every column of some band and have the
  same language code (texts in different languages are never compared).
* A candidate is a pair when its estimated Jaccard (equal entries / ``NUM_PERM``) is at least
  the threshold. The result is the same as querying a ``MinHashLSH`` with each signature and
  confirming with ``MinHash.jaccard`` (bench/dedup_scale.py's reference).
"""

from __future__ import annotations

import functools

import numpy as np
from datasketch import MinHashLSH

from infoshos.flows.dedup.permutations import NUM_PERM
from infoshos.flows.dedup.sketch import CHUNK_ROWS
from infoshos.flows.dedup.store import SignatureRows

__all__ = ["LSH_MARGIN", "bands", "banding_threshold", "near_pairs"]

#: The LSH banding is built for ``threshold - LSH_MARGIN``, so that pairs at the confirmation
#: threshold are almost always candidates (0.5 -> 37 bands of 3 rows: 99.3% at J = 0.5).
LSH_MARGIN = 0.2
_U32 = np.uint64(32)


def banding_threshold(threshold: float) -> float:
    """The threshold the bands are built for, given the confirmation ``threshold``."""
    return max(0.05, threshold - LSH_MARGIN)


@functools.cache
def bands(lsh_threshold: float) -> tuple[tuple[int, int], ...]:
    """The (start, end) column ranges of the LSH bands ``MinHashLSH`` uses for a threshold."""
    lsh = MinHashLSH(threshold=lsh_threshold, num_perm=NUM_PERM)
    return tuple((int(lo), int(hi)) for lo, hi in lsh.hashranges)


def near_pairs(
    sig: SignatureRows, lang: np.ndarray, threshold: float, lsh_threshold: float
) -> np.ndarray:
    """Row pairs (i < j) of ``sig`` in the same language that share an LSH band and whose
    estimated Jaccard is ``>= threshold``; shape (pairs, 2)."""
    n = len(sig)
    found: list[np.ndarray] = []
    for lo, hi in bands(lsh_threshold):
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
    for lo in range(0, len(pairs), CHUNK_ROWS):
        p = pairs[lo : lo + CHUNK_ROWS]
        equal[lo : lo + len(p)] = np.count_nonzero(sig.take(p[:, 0]) == sig.take(p[:, 1]), axis=1)
    return pairs[equal / float(NUM_PERM) >= threshold]
