"""The DuckDB catalog: ``<warehouse>/infoshos.duckdb`` with one view per table.

Each view lists the files of the current snapshot by relative path (never a glob), so a published
run appears all at once and the folder can be moved or copied. DuckDB resolves relative paths
against the current directory, so readers either ``cd`` into the warehouse or set
``file_search_path`` (``infoshos sql`` does that for you).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa

from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.store import Snapshot, Warehouse, WarehouseError

CATALOG_NAME = "infoshos.duckdb"
META_TABLE = "_infoshos_snapshot"


def duckdb_type(t: pa.DataType) -> str:
    """The DuckDB type of an Arrow type used in our schemas."""
    if pa.types.is_string(t):
        return "VARCHAR"
    if pa.types.is_int32(t):
        return "INTEGER"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_int16(t):
        return "SMALLINT"
    if pa.types.is_float64(t):
        return "DOUBLE"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_binary(t):
        return "BLOB"
    if pa.types.is_date32(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_list(t):
        return duckdb_type(t.value_type) + "[]"
    if pa.types.is_map(t):
        return f"MAP({duckdb_type(t.key_type)}, {duckdb_type(t.item_type)})"
    raise TypeError(f"no DuckDB type for {t}")


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def view_sql(table: str, files: list[str]) -> str:
    spec = TABLES[table]
    if not files:
        cols = ", ".join(f"CAST(NULL AS {duckdb_type(c.type)}) AS {c.name}" for c in spec.columns)
        return f"CREATE OR REPLACE VIEW {table} AS SELECT {cols} WHERE false"
    paths = ", ".join(_quote(f) for f in files)
    cols = ", ".join(spec.column_names)
    return (
        f"CREATE OR REPLACE VIEW {table} AS SELECT {cols} "
        f"FROM read_parquet([{paths}], union_by_name = true)"
    )


def catalog_path(wh: Warehouse) -> Path:
    return wh.root / CATALOG_NAME


def catalog_snapshot(wh: Warehouse) -> int | None:
    """The snapshot number the catalog file describes, or None if absent or unreadable."""
    path = catalog_path(wh)
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute(f"SELECT snapshot FROM {META_TABLE}").fetchone()
        return int(row[0]) if row else None
    except duckdb.Error:
        return None
    finally:
        con.close()


def build_catalog(wh: Warehouse, snapshot: Snapshot | None = None) -> Path:
    """Write the catalog for ``snapshot`` (default: current) and swap it in atomically."""
    snap = snapshot or wh.current()
    final = catalog_path(wh)
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
    con = duckdb.connect(str(tmp))
    try:
        con.execute(f"SET file_search_path = {_quote(str(wh.root))}")
        for name in TABLES:
            con.execute(view_sql(name, snap.tables.get(name, [])))
        con.execute(f"CREATE TABLE {META_TABLE} (snapshot INTEGER, run_id VARCHAR)")
        con.execute(f"INSERT INTO {META_TABLE} VALUES (?, ?)", [snap.number, snap.run_id])
    finally:
        con.close()
    os.replace(tmp, final)
    with contextlib.suppress(OSError):
        Path(str(tmp) + ".wal").unlink()
    return final


def ensure_catalog(wh: Warehouse) -> Path:
    """Rebuild the catalog if it is missing or describes an older snapshot."""
    snap = wh.current()
    if catalog_snapshot(wh) != snap.number:
        try:
            build_catalog(wh, snap)
        except OSError as exc:
            raise WarehouseError(f"cannot write the catalog in {wh.root}: {exc}") from exc
    return catalog_path(wh)


def connect(wh: Warehouse, write: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the catalog with relative paths resolved against the warehouse."""
    path = ensure_catalog(wh.require())
    con = duckdb.connect(str(path), read_only=not write)
    con.execute(f"SET file_search_path = {_quote(str(wh.root))}")
    return con
