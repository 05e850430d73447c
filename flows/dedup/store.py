"""Stored signatures: many MinHash signatures held compactly and gathered without copies.

Rules:

* A signature depends only on the text, so the store is keyed by content hash: one row per
  hash, the first one added stays (a later signature for the same hash is ignored).
* Rows live in blocks of ``SignatureStore.BLOCK_ROWS`` x ``NUM_PERM`` uint32, grown a block at
  a time: nothing is copied when the store grows, at most one block is unused.
* Reading never copies the store: :class:`SignatureRows` gathers a few columns or rows at a
  time, as the banding and the similarity need them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from infoshos.flows.columns import KeyIndex, pack, sort_unique
from infoshos.flows.dedup.permutations import NUM_PERM

__all__ = ["SignatureRows", "SignatureStore"]


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
