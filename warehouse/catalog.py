"""SQL over the warehouse: DuckDB connections with the lake attached as ``lake`` (the default
catalog, so ``SELECT ... FROM articles`` works) and the search index as ``search``.

A read-only connection (the default) can read the warehouse and nothing else: the lake is
attached read-only, external access is off except for the warehouse folder, no extension is
installed or loaded, and the configuration is locked. ``run_query`` (query.py) also accepts only
statements DuckDB's own parser types as reads.
"""

from __future__ import annotations

import duckdb

from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.store import (
    Warehouse,
    WarehouseError,
    _first_line,
    _q,
    duckdb_type,
)

__all__ = ["connect", "duckdb_type", "view_sql"]


def view_sql(table: str, files: list[str] | None = None) -> str:
    """An empty typed view of ``table`` (for reading a folder that holds no warehouse yet)."""
    del files
    spec = TABLES[table]
    cols = ", ".join(f"CAST(NULL AS {duckdb_type(c.type)}) AS {c.name}" for c in spec.columns)
    return f"CREATE OR REPLACE VIEW {table} AS SELECT {cols} WHERE false"


def _attach_search(wh: Warehouse, con: duckdb.DuckDBPyConnection) -> None:
    from infoshos.warehouse.search import SEARCH_ALIAS, ensure_index

    path = ensure_index(wh)
    if path is not None:
        con.execute(f"ATTACH {_q(str(path))} AS {SEARCH_ALIAS} (READ_ONLY)")


def connect(
    wh: Warehouse,
    write: bool = False,
    as_of: str | int | None = None,
    memory_limit: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """A connection to the lake (``lake``, the default catalog) and, when it can be built, the
    search index (``search``). Read-only unless ``write``; ``as_of``: a snapshot number or a
    timestamp to read the lake as it was then; ``memory_limit``: DuckDB's, e.g. ``256MB``."""
    con = wh.require().connect(read_only=not write, as_of=as_of)
    try:
        if memory_limit is not None:
            con.execute(f"SET memory_limit = {_q(memory_limit)}")
        if as_of is None:
            _attach_search(wh, con)
        if not write:
            readable = ", ".join(_q(d) for d in wh.location.readable_directories())
            con.execute(f"SET allowed_directories = [{readable}]")
            con.execute("SET enable_external_access = false")
            con.execute("SET allowed_configs = ['TimeZone']")  # harmless: how times print
            con.execute("SET lock_configuration = true")
    except duckdb.Error as exc:
        con.close()
        raise WarehouseError(f"warehouse {wh.root}: {_first_line(exc)}") from exc
    return con
