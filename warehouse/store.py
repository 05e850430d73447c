"""The warehouse on disk, opened and read: a DuckLake (Parquet data files, a SQLite catalog).

Layout of a warehouse folder::

    lake.sqlite     the DuckLake catalog: tables, snapshots, which files make up each snapshot
    lake/           the Parquet data files (and delete files) of every table (zstd)
    catalog/        copies of the catalog after each commit (``infoshos recover``)
    quarantine/     data files ``infoshos recover`` found named by no snapshot (never deleted)
    search.duckdb   the full-text search index, derived from ``articles`` (see search.py)
    .lock           held by the one run that may write

A ``warehouse.yaml`` in the folder puts the catalog and the data files elsewhere (a PostgreSQL
catalog, an S3 data path: see location.py); runs into such a shared lake lock their sources and
commit one at a time (shared.py). The checks, checksums and catalog copies (integrity.py,
checksums.py, catalog_copies.py) are the local lake's (a shared lake's catalog and files are the
database's and the object store's).

A :class:`Warehouse` opens such a folder and reads it: the current snapshot or an older one
(``AT (VERSION => n)``, ``infoshos sql --as-of``, until ``infoshos compact --keep-days`` expires
it), a table whole, in batches or by key, an append-only table's files. Its other jobs each have
their module, reached through its methods (callers import their names from there):

    ddl.py             the lake created from the declarations of ``schema.py``, and evolved
    locks.py           the write lock (``lock``, ``hold_lock``, ``lock_wait``), a killed run's files
    transaction.py     a run's changes, the quality gate and the commit (``transaction``)
    maintenance.py     ``infoshos compact``
    integrity.py       the checks made on every open and by ``infoshos verify``
    checksums.py       each data file's sha256, recorded by the transaction that wrote it
    catalog_copies.py  the catalog's copies, from which recover.py rebuilds it

Rules: reading needs no lock, and each read opens and closes its own connection (one kept open
would pin the snapshot it first saw); a lake of a newer schema version is refused, and so is a
catalog missing beside data files (never taken for a new warehouse). The lake's names (``LAKE``,
``META_TABLE``, ``OWN_FILE``, ``COMPRESSION``), its errors and :class:`Snapshot` are declared here
for those modules.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from infoshos.warehouse import extensions, shared
from infoshos.warehouse.legacy import is_legacy
from infoshos.warehouse.location import LAKE_CATALOG, LAKE_DATA, Location, LocationError
from infoshos.warehouse.schema import SCHEMA_VERSION, TABLES

if TYPE_CHECKING:
    from infoshos.warehouse.transaction import Transaction

COMPRESSION = "zstd"
__all__ = ["LAKE_CATALOG", "LAKE_DATA"]  # (re-exported: declared in location.py)
#: The name the lake is attached under (``lake.articles``; ``USE lake`` makes it the default).
LAKE = "lake"
#: A one-row table in the lake: the schema version of the declarations that wrote it.
META_TABLE = "_infoshos"
#: The names DuckLake gives the files it writes (the only files a cleanup may delete).
OWN_FILE = re.compile(r"ducklake-[0-9a-f-]{36}(-delete)?\.parquet")
#: Rows per batch when a table is streamed (``scan``): memory stays bounded.
BATCH_ROWS = 8192
#: Copies of the catalog (catalog_copies.py) and files ``recover`` set aside.
CATALOG_COPIES = "catalog"
QUARANTINE = "quarantine"


class WarehouseError(Exception):
    """A problem with the warehouse folder, worded for the operator (one line)."""


class QualityGateError(WarehouseError):
    """The new snapshot failed a check; nothing was published."""


LakeMoved = shared.LakeMoved


@dataclass
class Snapshot:
    """A committed state of the lake: DuckLake's snapshot id, the run that made it, and the
    number of rows of each table."""

    number: int
    run_id: str | None
    created_at: str
    schema_version: int
    rows: dict[str, int] = field(default_factory=dict)


def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def duckdb_type(t: pa.DataType) -> str:
    """The DuckDB type of an Arrow type used in our schemas."""
    simple = {
        pa.string(): "VARCHAR",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
        pa.binary(): "BLOB",
        pa.date32(): "DATE",
    }
    if t in simple:
        return simple[t]
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_list(t):
        return duckdb_type(t.value_type) + "[]"
    if pa.types.is_map(t):
        return f"MAP({duckdb_type(t.key_type)}, {duckdb_type(t.item_type)})"
    raise TypeError(f"no DuckDB type for {t}")


def attach_sql(
    root: Path,
    read_only: bool = False,
    as_of: str | int | None = None,
    catalog: Path | None = None,
) -> str:
    """The ``ATTACH`` statement of the lake of the folder ``root`` (see location.py);
    ``catalog``: another SQLite catalog file over the same data (a copy)."""
    loc = Location.of(root)
    if catalog is not None:
        loc = Location(loc.root, f"sqlite:{catalog}", loc.data_path)
    return loc.attach_sql(read_only=read_only, as_of=as_of, name=LAKE)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, whole."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Warehouse:
    """A warehouse folder. Reading needs no lock; writing goes through :meth:`transaction`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()
        try:
            self.location = Location.of(self.root)
        except LocationError as exc:
            raise WarehouseError(f"warehouse {self.root}: {exc}") from None
        self._exists = False

    # -- paths and state ----------------------------------------------------------------------
    @property
    def catalog_path(self) -> Path:
        return self.location.catalog_file or self.root / LAKE_CATALOG

    @property
    def checked(self) -> bool:
        """Whether the checks, checksums and catalog copies of integrity.py, checksums.py and
        catalog_copies.py apply (the default, local lake)."""
        return self.location.is_default

    @property
    def data_path(self) -> Path:
        return self.root / LAKE_DATA

    @property
    def copies_path(self) -> Path:
        return self.root / CATALOG_COPIES

    @property
    def quarantine_path(self) -> Path:
        return self.root / QUARANTINE

    def exists(self) -> bool:
        """Whether the catalog exists; a catalog missing beside data files (or beside copies of
        the catalog) is refused, never taken for a new warehouse."""
        from infoshos.warehouse import integrity

        if self.location.shared:  # once there, a lake stays: asked until seen
            self._exists = self._exists or shared.has_table(self.location, META_TABLE)
            return self._exists
        if self.catalog_path.exists():
            return True
        if self.checked and integrity.lost_catalog(self):
            raise integrity.CatalogDamaged(
                f"warehouse {self.root} has data files but its catalog {LAKE_CATALOG} is "
                "missing; " + integrity.recover_hint(self)
            )
        return False

    def _refuse_legacy(self) -> None:
        if not self.exists() and is_legacy(self.root):
            raise WarehouseError(
                f"warehouse {self.root} is in the old snapshot format; convert it with "
                f"`infoshos migrate --warehouse {self.root}`"
            )

    def require(self) -> Warehouse:
        """This warehouse, or a clear error when nothing was ever published here."""
        self._refuse_legacy()
        if not self.exists():
            raise WarehouseError(f"no warehouse at {self.root} (run `infoshos run` first)")
        return self

    def connect(
        self, read_only: bool = True, as_of: str | int | None = None, check: bool = True
    ) -> duckdb.DuckDBPyConnection:
        """A new connection with the lake attached as ``lake`` (the default catalog). ``check``
        first checks the catalog and the size of every data file of the snapshot read."""
        self.require()
        if check and self.checked:
            from infoshos.warehouse.integrity import check_open

            check_open(self, as_of)
        con = extensions.connect()
        try:
            self.location.prepare(con)
            con.execute(self.location.attach_sql(read_only=read_only, as_of=as_of, name=LAKE))
            con.execute(f"USE {LAKE}")
            con.execute("SET TimeZone = 'UTC'")
        except (duckdb.Error, LocationError) as exc:
            con.close()
            raise WarehouseError(f"warehouse {self.root}: {_first_line(exc)}") from exc
        return con

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for one read, closed after it. (A connection kept open
        across reads pins the catalog's state: in one process, a DuckLake attached later would
        still see the snapshot it saw, not a commit another process made since.)"""
        con = self.connect(read_only=True)
        try:
            self._check_version(con)
            yield con
        finally:
            con.close()

    def close(self) -> None:
        """Nothing to release: every read opens and closes its own connection."""

    def _check_version(self, con: duckdb.DuckDBPyConnection) -> int:
        try:
            row = con.execute(f"SELECT schema_version FROM {LAKE}.{META_TABLE}").fetchone()
        except duckdb.Error as exc:
            raise WarehouseError(
                f"warehouse {self.root}: no schema version ({_first_line(exc)})"
            ) from exc
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise WarehouseError(
                f"warehouse {self.root} has schema version {version}, newer than "
                f"this infoshos ({SCHEMA_VERSION}); upgrade infoshos to read it"
            )
        return version

    def current(self) -> Snapshot:
        """The published snapshot (an empty one, number 0, for a new warehouse)."""
        if not self.exists():
            self._refuse_legacy()
            return Snapshot(0, None, "", SCHEMA_VERSION, dict.fromkeys(TABLES, 0))
        with self._cursor() as cur:
            return _snapshot(cur)

    def snapshot_id(self) -> int:
        """The number of the latest snapshot, read straight from the SQLite catalog (cheap: no
        DuckDB, no row counts); 0 for a new warehouse."""
        from infoshos.warehouse.integrity import catalog_fault, check_catalog

        if self.location.shared:
            return shared.snapshot_id(self.location)
        if not self.exists():
            return 0
        if catalog_fault(self.catalog_path) is not None:
            check_catalog(self)  # the one-line refusal that offers `infoshos recover`
        try:
            db = sqlite3.connect(f"{self.catalog_path.as_uri()}?mode=ro", uri=True)
            try:
                row = db.execute("SELECT max(snapshot_id) FROM ducklake_snapshot").fetchone()
            finally:
                db.close()
        except sqlite3.Error as exc:
            check_catalog(self)
            raise WarehouseError(f"warehouse {self.root}: catalog unreadable: {exc}") from exc
        return int(row[0]) if row and row[0] is not None else 0

    def snapshots(self) -> list[dict[str, Any]]:
        """Every snapshot still in the lake, oldest first: number, time, run and changes."""
        with self.require()._cursor() as cur:
            rows = cur.execute(
                f"SELECT snapshot_id, snapshot_time, commit_message, changes "
                f"FROM {LAKE}.snapshots() ORDER BY snapshot_id"
            ).fetchall()
        return [
            {"snapshot": n, "time": t.isoformat(), "run_id": m, "changes": c} for n, t, m, c in rows
        ]

    # -- reading -----------------------------------------------------------------------------
    def _select(self, table: str, columns: Sequence[str] | None, snapshot: Snapshot | None) -> str:
        spec = TABLES[table]
        cols = list(columns) if columns is not None else spec.column_names
        for c in cols:
            spec.schema.field(c)  # KeyError for a column the table does not have
        at = f" AT (VERSION => {int(snapshot.number)})" if snapshot is not None else ""
        return f"SELECT {', '.join(cols)} FROM {LAKE}.{table}{at}"

    def read(
        self, table: str, columns: Sequence[str] | None = None, snapshot: Snapshot | None = None
    ) -> pa.Table:
        """The table (only ``columns``, default all) as one Arrow table, typed even when empty;
        ``snapshot``: as it was in that snapshot."""
        schema = _schema(table, columns)
        if not self.exists():
            self._refuse_legacy()
            return schema.empty_table()
        with self._cursor() as cur:
            return _fetch(cur, self._select(table, columns, snapshot), schema)

    def scan(
        self,
        table: str,
        columns: Sequence[str] | None = None,
        snapshot: Snapshot | None = None,
        batch_rows: int = BATCH_ROWS,
    ) -> Iterator[pa.Table]:
        """The table in batches of at most ``batch_rows`` rows (memory stays bounded)."""
        schema = _schema(table, columns)
        if not self.exists():
            self._refuse_legacy()
            return
        with self._cursor() as cur:
            sql = self._select(table, columns, snapshot)
            for batch in cur.execute(sql).to_arrow_reader(batch_rows):
                yield pa.Table.from_batches([batch]).cast(schema)

    def rows_by_key(
        self, table: str, key: str, values: Sequence[str], columns: Sequence[str] | None = None
    ) -> pa.Table:
        """The rows (``columns``, default all) whose ``key`` is in ``values``: DuckDB filters
        while it reads, so only the matching rows are ever in memory."""
        schema = _schema(table, columns)
        if not values or not self.exists():
            self._refuse_legacy()
            return schema.empty_table()
        with self._cursor() as cur:
            # outside a transaction a registered view is released when unregistered
            cur.register("_keys", pa.table({"v": pa.array(list(values), pa.string())}))
            try:
                sql = self._select(table, columns, None) + f" WHERE {key} IN (SELECT v FROM _keys)"
                return _fetch(cur, sql, schema)
            finally:
                cur.unregister("_keys")

    def files(self, table: str, snapshot: Snapshot | None = None) -> list[str]:
        """The Parquet data files of an append-only table (``mode="append"``): each holds whole
        rows, none is ever partly deleted. Use :meth:`read` or :meth:`scan` for the others."""
        if TABLES[table].mode != "append":
            raise WarehouseError(f"{table} has deleted rows in its files; read it with read()")
        if not self.exists():
            return []
        at = f", snapshot_version => {int(snapshot.number)}" if snapshot is not None else ""
        with self._cursor() as cur:
            rows = cur.execute(
                f"SELECT data_file FROM ducklake_list_files({_q(LAKE)}, {_q(table)}{at})"
            ).fetchall()
        return [str(r[0]) for r in rows]

    def read_file(self, path: str) -> pa.Table:
        """One data file named by :meth:`files` (a local path or an ``s3://`` URL)."""
        return pq.read_table(self.location.fs_path(path), filesystem=self.location.filesystem())

    def file_count(self, table: str) -> int:
        """How many data files make up the table now (``compact`` merges them)."""
        if not self.exists():
            return 0
        with self._cursor() as cur:
            return _file_counts(cur, (table,))[table]

    # -- writing -----------------------------------------------------------------------------
    def lock(
        self, wait_seconds: float = 0.0, sources: Sequence[str] | None = None
    ) -> contextlib.AbstractContextManager[None]:
        """Hold the write lock: one run at a time, a second waits ``wait_seconds`` then fails
        clearly; once held, the lake is checked and a killed run's files deleted. Re-entrant in
        a process; in a shared lake a run locks only its ``sources`` (see locks.py)."""
        from infoshos.warehouse import locks

        return locks.lock(self, wait_seconds, sources)

    def hold_lock(self, wait_seconds: float = 0.0) -> contextlib.AbstractContextManager[None]:
        """Only the lock (no check, no cleanup): what ``recover`` takes on a damaged catalog."""
        from infoshos.warehouse import locks

        return locks.hold_lock(self, wait_seconds)

    def orphans(self) -> list[str]:
        """Data files in the lake's folder that no snapshot names (a killed run's)."""
        from infoshos.warehouse import locks

        return locks.orphans(self)

    def transaction(
        self, run_id: str, base: int | None = None, spill: Path | None = None
    ) -> Transaction:
        """A write transaction (the caller holds :meth:`lock`); creates the lake if needed.
        ``base``: the snapshot the caller's decisions read; the commit refuses (LakeMoved) when
        another writer committed after it. ``spill``: where DuckDB spills (see Transaction)."""
        from infoshos.warehouse.transaction import Transaction

        return Transaction(self.ensure(), run_id, base, spill)

    def ensure(self) -> Warehouse:
        """This warehouse, its lake created if there is none yet (the caller holds the lock)."""
        self._refuse_legacy()
        if not self.exists():
            from infoshos.warehouse.ddl import create

            create(self)
        return self

    @contextlib.contextmanager
    def committing(self) -> Iterator[None]:
        """Commits one at a time (a shared lake; the lock of a local one already does it)."""
        if self.location.shared:
            with shared.commit_lock(self.location):
                yield
        else:
            yield


def _schema(table: str, columns: Sequence[str] | None) -> pa.Schema:
    schema = TABLES[table].schema
    if columns is None:
        return schema
    return pa.schema([schema.field(c) for c in columns])


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, schema: pa.Schema) -> pa.Table:
    return con.execute(sql).arrow().read_all().cast(schema)


def _counts(
    con: duckdb.DuckDBPyConnection, tables: Sequence[str] = tuple(TABLES)
) -> dict[str, int]:
    sql = " UNION ALL ".join(f"SELECT {_q(name)}, count(*) FROM {LAKE}.{name}" for name in tables)
    return {name: int(n) for name, n in con.execute(sql).fetchall()}


def _snapshot(con: duckdb.DuckDBPyConnection) -> Snapshot:
    """The snapshot ``con``'s transaction reads."""
    row = con.execute(
        f"SELECT s.snapshot_id, s.snapshot_time, s.commit_message FROM {LAKE}.snapshots() s "
        f"WHERE s.snapshot_id = (SELECT id FROM {LAKE}.current_snapshot())"
    ).fetchone()
    version = con.execute(f"SELECT schema_version FROM {LAKE}.{META_TABLE}").fetchone()
    number, created, message = row if row else (0, None, None)
    return Snapshot(
        number=int(number),
        run_id=message,
        created_at=created.isoformat() if created else "",
        schema_version=int(version[0]) if version else 0,
        rows=_counts(con),
    )


def _file_counts(
    con: duckdb.DuckDBPyConnection, tables: Sequence[str] = tuple(TABLES)
) -> dict[str, int]:
    counts = {}
    for name in tables:
        row = con.execute(
            f"SELECT count(*) FROM ducklake_list_files({_q(LAKE)}, {_q(name)})"
        ).fetchone()
        counts[name] = int(row[0]) if row else 0
    return counts
