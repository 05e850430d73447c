"""The lake's tables made from the declarations of schema.py: the lake created, and evolved.

:func:`create` makes a new lake whole or not at all: a local catalog is built under a temporary
name (in WAL mode: readers never block a writer's commit) and renamed into place; a shared lake's
tables are created in one transaction under its commit lock. :func:`evolve`, at the start of
every write transaction, adds the tables and columns a newer declaration gained, sets the data
files' compression (``COMPRESSION``) and raises the lake's schema version.

Rules: the tables are declared only in schema.py (nothing here names a column); tables and
columns are added, never dropped or retyped (a lake of a newer schema version is refused, by
``Warehouse._check_version``); a local lake's creation records its files' checksums in the same
transaction (checksums.py).
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from typing import Any

import duckdb

from infoshos.warehouse import catalog_copies, checksums, extensions, shared
from infoshos.warehouse.locks import ensure_writable
from infoshos.warehouse.schema import SCHEMA_VERSION, TABLES, Table
from infoshos.warehouse.store import (
    COMPRESSION,
    LAKE,
    LAKE_CATALOG,
    META_TABLE,
    Warehouse,
    _q,
    attach_sql,
    duckdb_type,
)


def create(wh: Warehouse) -> None:
    """Create the lake from the declarations, whole or not at all (built under a temporary
    name, then renamed)."""
    ensure_writable(wh)
    if wh.location.shared:  # in one transaction, one writer at a time
        with shared.commit_lock(wh.location):
            if not wh.exists():
                con = wh.location.prepare(extensions.connect())
                try:
                    con.execute(wh.location.attach_sql(name=LAKE))
                    _create_tables(con)
                finally:
                    con.close()
        return
    tmp = wh.root / f".{LAKE_CATALOG}.{uuid.uuid4().hex}.tmp"
    con = wh.location.prepare(extensions.connect())
    try:
        con.execute(attach_sql(wh.root, catalog=tmp))
        record = lambda: checksums.record_new_files(con, tmp, wh.data_path)  # noqa: E731
        _create_tables(con, record if wh.checked else None)
    finally:
        con.close()
    # WAL: readers never block a writer's commit (the mode is kept in the file)
    db = sqlite3.connect(tmp)
    try:
        db.execute("PRAGMA journal_mode=WAL")
    finally:
        db.close()
    os.replace(tmp, wh.catalog_path)
    catalog_copies.save_copy(wh)


def _create_tables(con: duckdb.DuckDBPyConnection, record: Any = None) -> None:
    """The tables of the declarations, in one transaction (``record()``: before the
    commit, the local lake's file checksums)."""
    con.execute("BEGIN")
    con.execute(f"CREATE TABLE {LAKE}.{META_TABLE} (schema_version INTEGER)")
    con.execute(f"INSERT INTO {LAKE}.{META_TABLE} VALUES ({SCHEMA_VERSION})")
    for spec in TABLES.values():
        con.execute(create_sql(spec))
    if record is not None:
        checksums.create_files_table(con)
        record()
    con.execute(
        f"CALL {LAKE}.set_commit_message('infoshos', 'create', "
        f"extra_info => {_q(json.dumps({'schema_version': SCHEMA_VERSION}))})"
    )
    con.execute("COMMIT")


def evolve(wh: Warehouse, con: duckdb.DuckDBPyConnection) -> None:
    """Add the tables and columns the declarations gained since the lake was written; the
    data files are written with ``COMPRESSION`` (DuckLake's default is snappy)."""
    row = con.execute(
        f"SELECT value FROM {LAKE}.options() WHERE option_name = 'parquet_compression'"
    ).fetchone()
    if not row or row[0] != COMPRESSION:
        con.execute(f"CALL {LAKE}.set_option('parquet_compression', {_q(COMPRESSION)})")
    have: dict[str, set[str]] = {}
    for t, c in con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        f"WHERE table_catalog = {_q(LAKE)}"
    ).fetchall():
        have.setdefault(t, set()).add(c)
    if checksums.FILES_TABLE not in have:  # a lake written before checksums were recorded
        checksums.create_files_table(con)
    for spec in TABLES.values():
        if spec.name not in have:
            con.execute(create_sql(spec))
            continue
        for col in spec.columns:
            if col.name not in have[spec.name]:
                con.execute(
                    f"ALTER TABLE {LAKE}.{spec.name} ADD COLUMN {col.name} {duckdb_type(col.type)}"
                )
    if wh._check_version(con) < SCHEMA_VERSION:
        con.execute(f"UPDATE {LAKE}.{META_TABLE} SET schema_version = {SCHEMA_VERSION}")


def create_sql(spec: Table) -> str:
    cols = ", ".join(f"{c.name} {duckdb_type(c.type)}" for c in spec.columns)
    return f"CREATE TABLE {LAKE}.{spec.name} ({cols})"
