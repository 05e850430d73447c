"""Keys in columns: what a run keeps per article, without Python objects per article.

A run keeps a few keys of every article it knows (stored or seen): a Python ``dict`` of
``str`` costs about a kilobyte an article, the same keys in numpy arrays a few dozen bytes.

- Strings that identify (article ids, content hashes, cluster ids) are *packed*: their UTF-8 in
  one fixed-width numpy ``S`` array (:func:`pack`). Comparing the bytes compares the strings
  (UTF-8 keeps code point order), so sorting and ``np.searchsorted`` give the order of the
  strings. An empty string packs as ``b""``, as None does (keys are never empty).
- Strings repeated over many rows (run ids, languages) are small integer codes (:class:`Codes`).
- Times are int64 microseconds since the epoch (UTC), ``NO_TIME`` for None: below every time,
  as the empty ISO text was below every ISO text (:func:`micros`).
- A set or a mapping by key is a sorted packed array searched with ``np.searchsorted``:
  :class:`KeyIndex` grows (a run's seen articles, signature rows), :class:`ColumnMap` reads
  columns as a ``Mapping``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

V = TypeVar("V")

#: ``micros`` of None: below every time.
NO_TIME = np.iinfo(np.int64).min
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
#: Keys added one at a time to a :class:`KeyIndex` merged into its arrays at once.
PENDING_MAX = 4096

Packed = np.ndarray


def pack(values: Iterable[str | None] | pa.Array | pa.ChunkedArray) -> Packed:
    """Strings (None as ``""``) as one ``S`` array of their UTF-8."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        if len(values) == 0:
            return np.empty(0, "S1")
        binary = pc.fill_null(values, "").cast(pa.binary())
        return np.asarray(binary.to_numpy(zero_copy_only=False).astype(bytes))
    items = [v.encode() if v else b"" for v in values]
    return np.array(items, dtype=bytes) if items else np.empty(0, "S1")


def unpack(value: bytes) -> str:
    return value.decode()


def widen(a: Packed, b: Packed) -> tuple[Packed, Packed]:
    """``a`` and ``b`` at the width of the wider (``np.searchsorted`` and ``np.insert`` would
    cut the wider one's values to the narrower width)."""
    width = max(a.dtype.itemsize, b.dtype.itemsize)
    return a.astype(f"S{width}", copy=False), b.astype(f"S{width}", copy=False)


def find(keys: Packed, values: Packed) -> np.ndarray:
    """The position of each of ``values`` in the sorted unique ``keys``, -1 where absent."""
    if not len(keys) or not len(values):
        return np.full(len(values), -1, dtype=np.int64)
    keys, values = widen(keys, values)
    pos = np.minimum(np.searchsorted(keys, values), len(keys) - 1)
    return np.where(keys[pos] == values, pos, -1).astype(np.int64)


def find_one(keys: Packed, value: str) -> int:
    """:func:`find` of one string."""
    raw = value.encode()
    if len(raw) > keys.dtype.itemsize or not len(keys) or not raw:
        return -1
    pos = int(np.searchsorted(keys, raw))
    return pos if pos < len(keys) and keys[pos] == raw else -1


def sort_unique(keys: Packed, last: bool = False) -> np.ndarray:
    """The positions of ``keys`` in sorted order, one per distinct key: its first occurrence,
    or its last with ``last`` (as a dict built from the rows in order keeps)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    if not len(order):
        return order
    if last:
        keep = np.append(ordered[1:] != ordered[:-1], True)
    else:
        keep = np.insert(ordered[1:] != ordered[:-1], 0, True)
    return order[keep]


def micros(values: Iterable[datetime | None] | pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Times as int64 microseconds since the epoch (a naive time taken as UTC, as the
    warehouse stores it), None as ``NO_TIME``."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        us = values.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
        return np.asarray(pc.fill_null(us, NO_TIME).to_numpy(zero_copy_only=False), np.int64)
    return np.fromiter((_micros(v) for v in values), np.int64)


def _micros(value: datetime | None) -> int:
    if value is None:
        return int(NO_TIME)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // _MICRO


def to_datetime(value: int) -> datetime | None:
    """A time from :func:`micros` (UTC)."""
    return None if value == NO_TIME else EPOCH + timedelta(microseconds=int(value))


class Codes:
    """Strings repeated over many rows (run ids, languages) as int32 codes, numbered in the
    order they first came; None is a value of its own."""

    def __init__(self, values: Iterable[str | None] = ()) -> None:
        self.values: list[str | None] = []
        self._code: dict[str | None, int] = {}
        for value in values:
            self.code(value)

    def code(self, value: str | None) -> int:
        code = self._code.get(value)
        if code is None:
            code = self._code[value] = len(self.values)
            self.values.append(value)
        return code

    def codes(self, values: Iterable[str | None] | pa.Array | pa.ChunkedArray) -> np.ndarray:
        if isinstance(values, pa.ChunkedArray | pa.Array):
            encoded = values.dictionary_encode()
            parts = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
            out = [np.empty(0, np.int32)]
            for part in parts:
                table = [self.code(v) for v in part.dictionary.to_pylist()]
                if part.null_count:  # a null: the code after the dictionary's
                    table.append(self.code(None))
                idx = pc.fill_null(part.indices, len(table) - 1)
                out.append(np.array(table, np.int32)[idx.to_numpy(zero_copy_only=False)])
            return np.concatenate(out)
        return np.fromiter((self.code(v) for v in values), np.int32)

    def ranks(self, key: Callable[[str | None], Any] = lambda v: v or "") -> np.ndarray:
        """Each code's dense rank in the order of ``key`` of its string (equal keys: equal
        ranks; by default None ranks with ``""``)."""
        keys = [key(v) for v in self.values]
        distinct = sorted(set(keys))
        rank = {k: r for r, k in enumerate(distinct)}
        return np.array([rank[k] for k in keys], dtype=np.int64)

    def copy(self) -> Codes:
        return Codes(self.values)


class KeyIndex:
    """Distinct string keys, each with an int value: sorted packed arrays searched with
    ``np.searchsorted``. Keys added one at a time wait in a small dict until the next lookup
    of many (or until there are ``PENDING_MAX`` of them); :meth:`add_many` merges at once."""

    def __init__(self) -> None:
        self._keys: Packed = np.empty(0, "S1")
        self._values = np.empty(0, np.int64)
        self._pending: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._keys) + len(self._pending)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        self._merge()
        return unpacked(self._keys)

    def get(self, key: str) -> int | None:
        value = self._pending.get(key)
        if value is not None:
            return value
        pos = find_one(self._keys, key)
        return None if pos < 0 else int(self._values[pos])

    def add(self, key: str, value: int) -> bool:
        """Add ``key`` unless it is there (then nothing changes): whether it was added."""
        if not key:
            raise ValueError("an empty key")
        if self.get(key) is not None:
            return False
        self._pending[key] = value
        if len(self._pending) >= PENDING_MAX:
            self._merge()
        return True

    def add_many(self, keys: Packed, values: np.ndarray) -> np.ndarray:
        """Add the ``keys`` not there yet (of equal keys, the first); a mask of the added."""
        self._merge()
        added = np.zeros(len(keys), dtype=bool)
        first = sort_unique(keys)
        if len(first) and not keys[first[0]]:
            raise ValueError("an empty key")
        first = first[find(self._keys, keys[first]) < 0]
        added[first] = True
        self._insert(keys[first], np.asarray(values, np.int64)[first])
        return added

    def find(self, keys: Packed) -> np.ndarray:
        """The value of each of ``keys``, -1 where absent."""
        self._merge()
        pos = find(self._keys, keys)
        if not len(self._keys):
            return pos
        return np.where(pos >= 0, self._values[np.maximum(pos, 0)], -1)

    def keys(self) -> Packed:
        """Every key, packed, sorted."""
        self._merge()
        return self._keys

    def values(self) -> np.ndarray:
        """The value of each of :meth:`keys`."""
        self._merge()
        return self._values

    def _merge(self) -> None:
        if not self._pending:
            return
        keys = pack(self._pending)
        order = np.argsort(keys, kind="stable")
        values = np.fromiter(self._pending.values(), np.int64, len(self._pending))
        self._pending = {}
        self._insert(keys[order], values[order])

    def _insert(self, keys: Packed, values: np.ndarray) -> None:
        """Insert sorted keys that are not there."""
        if not len(keys):
            return
        self._keys, keys = widen(self._keys, keys)
        pos = np.searchsorted(self._keys, keys)
        self._keys = np.insert(self._keys, pos, keys)
        self._values = np.insert(self._values, pos, values)


class ColumnMap(Mapping[str, V]):
    """A read-only mapping over columns: sorted unique packed ``keys``, and ``value(i)`` the
    value of the key at position ``i``; with ``mask``, only the keys where it is true."""

    def __init__(
        self, keys: Packed, value: Callable[[int], V], mask: np.ndarray | None = None
    ) -> None:
        self._keys = keys
        self._value = value
        self._mask = mask

    def _pos(self, key: object) -> int:
        if not isinstance(key, str):
            return -1
        pos = find_one(self._keys, key)
        return -1 if pos < 0 or (self._mask is not None and not self._mask[pos]) else pos

    def __getitem__(self, key: str) -> V:
        pos = self._pos(key)
        if pos < 0:
            raise KeyError(key)
        return self._value(pos)

    def __contains__(self, key: object) -> bool:
        return self._pos(key) >= 0

    def __iter__(self) -> Iterator[str]:
        return unpacked(self._keys if self._mask is None else self._keys[self._mask])

    def __len__(self) -> int:
        return len(self._keys) if self._mask is None else int(np.count_nonzero(self._mask))


def unpacked(keys: Packed, batch: int = 4096) -> Iterator[str]:
    """The strings of ``keys``, unpacked a batch at a time."""
    for lo in range(0, len(keys), batch):
        yield from (unpack(k) for k in keys[lo : lo + batch].tolist())
