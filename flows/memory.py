"""What a run's process holds, for the progress log: resident memory, and the parts of it
that DuckDB and Arrow account for (the rest is Python objects, the models and the libraries).

A run streams its chunks in flat memory (``flows.stream``); these figures, logged after every
chunk, show whether it does on the operator's own data."""

from __future__ import annotations

import ctypes
import os
import resource
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

MB = 1 << 20


def resident_bytes() -> int:
    """This process's resident set now (Linux ``/proc``), else its peak so far."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def duckdb_bytes(con: Any) -> int | None:
    """The bytes DuckDB's buffer manager holds on ``con``'s database (None: not answerable,
    e.g. the connection is busy or closed)."""
    try:
        row = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
    except Exception:  # a figure for a log line: never fail the run for it
        return None
    return int(row[0] or 0) if row else None


def memory_line(con: Any = None) -> str:
    """``process 812 MB (DuckDB 120 MB, Arrow 31 MB)``."""
    parts = [f"Arrow {pa.total_allocated_bytes() / MB:.0f} MB"]
    held = duckdb_bytes(con) if con is not None else None
    if held is not None:
        parts.insert(0, f"DuckDB {held / MB:.0f} MB")
    return f"process {resident_bytes() / MB:.0f} MB ({', '.join(parts)})"


def _libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


_LIBC = _libc()


def release_freed() -> int | None:
    """Give the C heap's free pages back to the system: glibc keeps what the libraries free
    (lxml's parse trees, DuckDB's and the regex engine's buffers) in its arenas, and a run's
    process grows chunk after chunk with memory it no longer uses. Returns the bytes the
    resident set dropped by, None where there is no glibc ``malloc_trim``."""
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is None:
        return None
    before = resident_bytes()
    trim(0)
    return max(0, before - resident_bytes())


def parquet_batches(
    path: Path, batch_size: int, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """A Parquet file ``batch_size`` rows at a time, in flat memory. Not ``pre_buffer``
    (pyarrow's default): its read cache keeps every column chunk read until the file is
    closed, so a spool of 160,000 pages held 145 MB more at its end than at its start."""
    yield from pq.ParquetFile(path, pre_buffer=False).iter_batches(
        batch_size=batch_size, columns=columns
    )
