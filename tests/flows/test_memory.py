"""The per-chunk memory figures of the run log (``flows/memory.py``) follow what is held."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from infoshos.flows.memory import (
    MB,
    duckdb_bytes,
    memory_line,
    parquet_batches,
    release_freed,
    resident_bytes,
)

LINE = re.compile(r"process (\d+) MB \((?:DuckDB (\d+) MB, )?Arrow (\d+) MB\)")


def figures(line: str) -> tuple[int, int | None, int]:
    m = LINE.fullmatch(line)
    assert m, line
    return int(m[1]), None if m[2] is None else int(m[2]), int(m[3])


def test_resident_memory_follows_an_allocation() -> None:
    before = resident_bytes()
    block = bytearray(96 * MB)  # zero-filled: every page touched
    after = resident_bytes()
    assert after - before >= 80 * MB
    del block


def test_arrow_figure_counts_arrow_buffers() -> None:
    _, _, before = figures(memory_line())
    array = pa.array(range(8_000_000), pa.int64())  # 61 MB
    _, duck, after = figures(memory_line())
    assert duck is None  # no connection given: no DuckDB part
    assert after - before >= 55
    del array


def test_duckdb_figure_counts_what_its_buffer_manager_holds() -> None:
    con = duckdb.connect()
    empty = duckdb_bytes(con)
    con.execute("CREATE TABLE t AS SELECT range AS i, range::VARCHAR AS s FROM range(3000000)")
    held = duckdb_bytes(con)
    assert empty is not None and held is not None
    assert held - empty >= 20 * MB
    _, duck, _ = figures(memory_line(con))
    assert duck is not None and duck >= 20
    con.close()
    assert duckdb_bytes(con) is None  # a closed connection: no figure, and no error
    assert figures(memory_line(con))[1] is None


def test_release_freed_gives_freed_heap_memory_back() -> None:
    import ctypes

    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: glibc keeps what is freed (as a long run does)
    libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD: small and large blocks come from the heap
    try:
        blocks = [ctypes.create_string_buffer(64 * 1024) for _ in range(1500)]  # ~94 MB
        del blocks
        released = release_freed()
    finally:
        libc.mallopt(-1, 128 * 1024)
        libc.mallopt(-3, 128 * 1024)
    assert released is not None and released >= 40 * MB


def test_parquet_batches_read_a_spool_in_flat_memory(tmp_path: Path) -> None:
    """A spool as the crawl writes it (row groups of 200 pages, bodies that do not compress):
    pyarrow's pre-buffered reader keeps every column chunk it read until the end."""
    path = tmp_path / "spool.parquet"
    rng = np.random.default_rng(7)
    with pq.ParquetWriter(path, pa.schema([("body", pa.binary())]), compression="zstd") as out:
        for _ in range(150):  # 30,000 pages, ~60 MB
            sizes = rng.integers(500, 3500, 200)
            out.write_table(pa.table({"body": [rng.bytes(int(n)) for n in sizes]}))

    def growth(batches: Iterator[pa.RecordBatch]) -> int:
        start, peak = pa.total_allocated_bytes(), 0
        for batch in batches:
            peak = max(peak, pa.total_allocated_bytes() - start)
            del batch
        return peak

    pre_buffered = growth(pq.ParquetFile(path, pre_buffer=True).iter_batches(batch_size=2000))
    assert pre_buffered > 40 * MB  # what a run's spool reader held before
    assert growth(parquet_batches(path, 2000)) < 15 * MB  # about two batches
    assert sum(b.num_rows for b in parquet_batches(path, 2000, ["body"])) == 30_000
