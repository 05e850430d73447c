"""A Parquet file larger than memory, read back in the order of one of its columns.

DuckDB's external sort does the work within ``SORT_MEMORY`` and spills to a folder the caller
owns; the rows come back ``batch_size`` at a time as Arrow record batches, so the caller holds
one batch, not the file. Times with time zone come back in UTC, whatever the machine's zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from infoshos.warehouse import extensions
from infoshos.warehouse.store import _q

#: DuckDB's memory while it sorts (beyond it, the sort spills to disk).
SORT_MEMORY = "256MB"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sorted_batches(
    path: Path, by: str, batch_size: int, spill: Path, memory: str = SORT_MEMORY
) -> Iterator[pa.RecordBatch]:
    """The rows of the Parquet file ``path`` ordered by its column ``by`` (nulls last, ties in
    file order), without that column, ``batch_size`` rows at a time."""
    con = extensions.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = {_q(memory)}")
        con.execute(f"SET temp_directory = {_q(str(spill))}")
        con.execute("SET enable_progress_bar = false")
        reader = con.execute(
            f"SELECT * EXCLUDE ({_ident(by)}, file_row_number) "
            "FROM read_parquet(?, file_row_number = true) "
            f"ORDER BY {_ident(by)} NULLS LAST, file_row_number",
            [str(path)],
        ).to_arrow_reader(batch_size)
        yield from reader
    finally:
        con.close()
