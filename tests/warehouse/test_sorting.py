"""warehouse/sorting.py: a Parquet file in the order of one column, through DuckDB's external
sort, as Arrow batches."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from infoshos.warehouse.sorting import sorted_batches


def test_rows_come_in_column_order_nulls_last_ties_in_file_order(tmp_path: Path) -> None:
    days = [date(2024, 5, 2), None, date(2024, 5, 1), date(2024, 5, 2), None, date(2024, 5, 1)]
    table = pa.table(
        {
            "id": [f"a{i}" for i in range(len(days))],
            "at": pa.array(
                [datetime(2024, 5, 1, 23, 30, tzinfo=UTC)] * len(days), pa.timestamp("us", "UTC")
            ),
            "tags": [["x", "y"], [], None, ["z"], ["x"], ["y"]],
            "day": pa.array(days, pa.date32()),
        }
    )
    path = tmp_path / "in.parquet"
    pq.write_table(table, path, row_group_size=2)  # ties across row groups
    got = pa.Table.from_batches(list(sorted_batches(path, "day", 4, tmp_path / "spill")))
    assert got.column_names == ["id", "at", "tags"]  # the sort column is not returned
    assert got["id"].to_pylist() == ["a2", "a5", "a0", "a3", "a1", "a4"]
    assert got["tags"].to_pylist() == [None, ["y"], ["x", "y"], ["z"], [], ["x"]]
    # a time with time zone comes back as the same instant, in UTC
    assert got["at"].to_pylist()[0] == datetime(2024, 5, 1, 23, 30, tzinfo=UTC)
    assert got["at"].type.tz == "UTC"


def test_a_file_larger_than_the_memory_bound_is_sorted_by_spilling(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 400_000
    keys = rng.integers(0, 1_000_000, n)
    table = pa.table({"pad": pa.array([rng.bytes(200) for _ in range(n)], pa.binary()), "k": keys})
    path = tmp_path / "big.parquet"
    pq.write_table(table, path, compression="none")  # ~90 MB of rows, sorted in 100 MB
    spill = tmp_path / "spill"
    batches = sorted_batches(path, "k", 10_000, spill, memory="100MB")
    first = next(batches)
    assert sum(f.stat().st_size for f in spill.iterdir()) > 5 * 2**20  # it spilled
    got = pa.Table.from_batches([first, *batches])
    expected = table.take(pc.sort_indices(table, sort_keys=[("k", "ascending")]))
    assert got["pad"].equals(expected["pad"])
    assert not spill.exists()  # DuckDB's spill files go with the connection
