"""The tables of an export written as Parquet files, and the checksums of what was written.

A table is one file, ``<table>/part-0.parquet``, or (``articles``, ``pages``: :data:`PARTITIONED`)
hive partitions by source and by the year of a timestamp,
``<table>/source=<s>/year=<yyyy>/part-0.parquet``. Partition columns (``source``, ``year``) live
in the folder names only, as hive readers expect (DuckDB ``hive_partitioning = true``,
``pyarrow.dataset`` ``partitioning="hive"``). While writing, :class:`TableWriter` notes an
example value of each column for the export's description (describe.py).

Rules: every file is zstd-compressed and typed as the schema declares; rows are buffered per file
and written as row groups of about :data:`ROW_GROUP_ROWS` rows (memory stays bounded); an empty
table is still one typed file.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from infoshos.warehouse.schema import Table
from infoshos.warehouse.store import COMPRESSION

#: Tables written as hive partitions by source and by the year of this timestamp column.
PARTITIONED: dict[str, str] = {"articles": "published_at", "pages": "fetched_at"}
#: Rows are buffered per output file and written as row groups of about this many rows.
ROW_GROUP_ROWS = 100_000
#: The year partition of rows whose timestamp is null.
UNKNOWN_YEAR = 0
EXAMPLE_CHARS = 80


def example(value: Any, type_: pa.DataType) -> Any:
    """A JSON-friendly, short rendering of one value."""
    if value is None:
        return None
    if pa.types.is_map(type_):
        return {str(k): example(v, type_.item_type) for k, v in list(value)[:5]}
    if pa.types.is_list(type_):
        return [example(v, type_.value_type) for v in list(value)[:5]]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        head = value[:32].decode("utf-8", "replace")
        return f"{head}{'…' if len(value) > 32 else ''} ({len(value)} bytes)"
    if isinstance(value, str):
        value = value.replace("\n", "\\n")
        return value if len(value) <= EXAMPLE_CHARS else value[: EXAMPLE_CHARS - 1] + "…"
    return value


class TableWriter:
    """Writes one table's rows into its folder: one file, or one file per hive partition."""

    def __init__(self, root: Path, spec: Table) -> None:
        self.root = root
        self.spec = spec
        self.ts_column = PARTITIONED.get(spec.name)
        self.file_schema = spec.schema
        if self.ts_column is not None:
            self.file_schema = pa.schema([f for f in spec.schema if f.name != "source"])
        self.buffers: dict[str, list[pa.Table]] = {}
        self.buffered: dict[str, int] = {}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.rows: dict[str, int] = {}
        self.examples: dict[str, Any] = {}

    def add(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        self._note_examples(rows)
        if self.ts_column is None:
            self._buffer("part-0.parquet", rows)
            return
        years = pc.fill_null(pc.cast(pc.year(rows[self.ts_column]), pa.int32()), UNKNOWN_YEAR)
        if "year" not in self.examples:
            self.examples["year"] = years[0].as_py()
        keys = pa.table({"source": rows["source"], "year": years})
        for group in keys.group_by(["source", "year"]).aggregate([]).to_pylist():
            source, year = group["source"], group["year"]
            mask = pc.and_(pc.equal(rows["source"], source), pc.equal(years, year))
            part = rows.filter(mask).select(self.file_schema.names)
            rel = f"source={quote(source, safe='')}/year={year}/part-0.parquet"
            self._buffer(rel, part)

    def _note_examples(self, rows: pa.Table) -> None:
        for column in self.spec.columns:
            if column.name in self.examples:
                continue
            values = rows[column.name].drop_null()
            if len(values):
                self.examples[column.name] = example(values[0].as_py(), column.type)

    def _buffer(self, rel: str, rows: pa.Table) -> None:
        self.buffers.setdefault(rel, []).append(rows)
        self.buffered[rel] = self.buffered.get(rel, 0) + rows.num_rows
        self.rows[rel] = self.rows.get(rel, 0) + rows.num_rows
        if self.buffered[rel] >= ROW_GROUP_ROWS:
            self._flush(rel)

    def _flush(self, rel: str) -> None:
        parts = self.buffers.pop(rel, [])
        self.buffered.pop(rel, None)
        if not parts:
            return
        writer = self.writers.get(rel)
        if writer is None:
            path = self.root / self.spec.name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(path, self.file_schema, compression=COMPRESSION)
            self.writers[rel] = writer
        writer.write_table(pa.concat_tables(parts).cast(self.file_schema))

    def close(self) -> dict[str, int]:
        """Finish every file; returns rows per file (relative to the export root)."""
        for rel in list(self.buffers):
            self._flush(rel)
        for writer in self.writers.values():
            writer.close()
        if not self.writers:
            # an empty table is still one typed file (with its partition columns, if any)
            schema = self.spec.schema
            if self.ts_column is not None:
                schema = schema.append(pa.field("year", pa.int32()))
            folder = self.root / self.spec.name
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(schema.empty_table(), folder / "part-0.parquet", compression=COMPRESSION)
            self.rows["part-0.parquet"] = 0
        return {f"{self.spec.name}/{rel}": n for rel, n in sorted(self.rows.items())}
