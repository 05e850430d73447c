"""The datasketch-object side of dedup that only the tests use (moved out of flows/dedup).

Its job: references to check ``infoshos.flows.dedup`` against, built from datasketch objects.

* ``shingle_set``: a text's shingles as bytes, for the exact Jaccard of labelled pairs.
* ``minhashes``: datasketch ``MinHash`` objects holding our signatures (equal to
  ``MinHash.bulk``'s over the same shingle hashes).
* ``NearDuplicateIndex``: incremental near-duplicate search, one datasketch ``MinHashLSH`` per
  language; it gives the estimated Jaccard of the labelled pairs.

Rules: no logic of its own beyond datasketch's: tokens, shingles and signatures come from
``flows.dedup.sketch``, thresholds from ``flows.dedup``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
from datasketch import MinHash, MinHashLSH
from dedup_scale import identity

from infoshos.flows.dedup import DEFAULT_THRESHOLD, MIN_WORDS, NUM_PERM, SEED, SHINGLE_K
from infoshos.flows.dedup.lsh import banding_threshold
from infoshos.flows.dedup.permutations import parameters
from infoshos.flows.dedup.sketch import CJK_K, sketch_hashes, sketch_texts, split_text

#: Texts sketched together by ``NearDuplicateIndex.from_records``.
BATCH = 1000


class IndexRecord(TypedDict):
    article_id: str
    text: str
    language: str


def shingle_set(text: str, k: int = SHINGLE_K) -> tuple[set[bytes], int]:
    """The shingles of ``text`` (UTF-8 bytes) and its token count.

    Word ``k``-shingles, or character 3-grams for mostly-CJK text. A text shorter than one
    shingle gives a single shingle of all its tokens (none for an empty text).
    """
    toks, cjk = split_text(text)
    if not toks:
        return set(), 0
    sep, k = ("", CJK_K) if cjk else (" ", k)
    shingles = {sep.join(toks[i : i + k]) for i in range(max(1, len(toks) - k + 1))}
    return {s.encode("utf-8") for s in shingles}, len(toks)


def minhashes(hash_sets: Iterable[Iterable[int]]) -> list[MinHash]:
    """MinHashes (``NUM_PERM`` permutations, fixed seed) of many ``shingle_hashes`` at once:
    datasketch ``MinHash`` objects equal to ``MinHash.bulk(..., hashfunc=identity)``'s."""
    arrays = [np.fromiter(s, dtype=np.uint64).astype(np.uint32) for s in hash_sets]
    offsets = np.concatenate(([0], np.cumsum([len(x) for x in arrays], dtype=np.int64)))
    hashes = np.concatenate(arrays) if arrays else np.empty(0, dtype=np.uint32)
    return [as_minhash(row) for row in sketch_hashes(hashes, offsets)]


def as_minhash(signature: np.ndarray) -> MinHash:
    return MinHash(
        seed=SEED,
        hashfunc=identity,
        hashvalues=signature,
        permutations=np.stack(parameters()),
        scheme="affine32",
    )


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
            banding_threshold(threshold) if lsh_threshold is None else lsh_threshold
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
        for start in range(0, len(recs), BATCH):
            part = recs[start : start + BATCH]
            sig, counts = sketch_texts([r["text"] for r in part])
            for rec, row, count in zip(part, sig, counts, strict=True):
                if count >= index.min_words:
                    index.add_minhash(rec["article_id"], as_minhash(row), rec["language"])
        return index

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._entries

    def sketch(self, text: str) -> MinHash | None:
        """The MinHash of ``text``, or ``None`` when it is too short to be matched."""
        sig, counts = sketch_texts([text])
        return None if counts[0] < self.min_words else as_minhash(sig[0])

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
