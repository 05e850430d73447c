"""The warehouse on disk: a DuckLake (Parquet data files, a SQLite catalog of snapshots).

Layout of a warehouse folder::

    lake.sqlite     the DuckLake catalog: tables, snapshots, which files make up each snapshot
    lake/           the Parquet data files (and delete files) of every table (zstd)
    catalog/        copies of the catalog after each commit (``infoshos recover``)
    quarantine/     data files ``infoshos recover`` found named by no snapshot (never deleted)
    search.duckdb   the full-text search index, derived from ``articles`` (see search.py)
    .lock           held by the one run that may write

A ``warehouse.yaml`` in the folder puts the catalog and the data files elsewhere (a PostgreSQL
catalog, an S3 data path: see location.py); runs into such a shared lake lock their sources and
commit one at a time (shared.py). The checksums and catalog copies of ``integrity.py`` are the
local lake's (a shared lake's catalog and files are the database's and the object store's).

The tables are declared in ``schema.py``; the lake is created from those declarations and gains
the columns a newer declaration adds. A run is one DuckLake transaction: it writes new files (no
snapshot names them yet), the quality gate checks the transaction's state, and the commit writes
a new snapshot into the catalog. A reader, or a run killed at any moment, sees either the previous
snapshot or the new one, never a mixture. Files a killed run left behind (no snapshot names them)
are deleted by the next run once it holds the lock. Each data file's size (DuckLake's catalog)
and sha256 (the lake table ``_files``) are recorded in the transaction that publishes it; see
``integrity.py`` for the checks made on every open and by ``infoshos verify``. Old snapshots
stay readable (``AT (VERSION => n)``, ``infoshos sql --as-of``) until ``infoshos compact
--keep-days`` expires them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from infoshos.warehouse import extensions, shared
from infoshos.warehouse.faults import crash_point
from infoshos.warehouse.held import HeldLocks
from infoshos.warehouse.legacy import is_legacy
from infoshos.warehouse.location import LAKE_CATALOG, LAKE_DATA, Location, LocationError
from infoshos.warehouse.schema import SCHEMA_VERSION, TABLES, Table

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
#: Copies of the catalog (``integrity.py``) and files ``recover`` set aside.
CATALOG_COPIES = "catalog"
QUARANTINE = "quarantine"
#: Seconds a writer waits for the lock held by another run (default 0: fail at once).
LOCK_WAIT_ENV = "INFOSHOS_LOCK_WAIT"

#: The warehouse locks this process holds: resolved root -> the open lock file (``held``).
_HELD = HeldLocks()


def lock_wait() -> float:
    try:
        return float(os.environ.get(LOCK_WAIT_ENV, "0"))
    except ValueError:
        raise WarehouseError(f"{LOCK_WAIT_ENV} is not a number of seconds") from None


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
        """Whether the checksums and catalog copies of ``integrity.py`` apply (the default,
        local lake)."""
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
    @contextlib.contextmanager
    def lock(
        self, wait_seconds: float = 0.0, sources: Sequence[str] | None = None
    ) -> Iterator[None]:
        """Hold the warehouse's write lock; a second writer waits, then fails clearly. Once
        held: the catalog and the current snapshot's files are checked, files a killed run left
        behind (named by no snapshot) are deleted, and the catalog is copied if its newest copy
        is older (again when the lock is released). Re-entrant within a process (the checks
        run once, at the first hold). In a shared lake a run locks only its ``sources`` (see
        shared.py)."""
        from infoshos.warehouse import integrity

        self._refuse_legacy()
        if self.location.shared:
            self._ensure_writable()
            try:
                with shared.writer_lock(self.location, wait_seconds, sources, self._delete_orphans):
                    yield
            except shared.LockBusy as exc:
                what = f"source {str(exc).split(':', 1)[1]}" if ":" in str(exc) else "the lake"
                raise WarehouseError(
                    f"warehouse {self.root}: {what} is locked by another run; "
                    "try again when it has finished"
                ) from None
            return
        if self._lock_key() in _HELD:
            with self.hold_lock():
                yield
            return
        self._ensure_writable()
        with self.hold_lock(wait_seconds):
            if self.exists():
                if self.checked:
                    integrity.check_open(self)
                self._delete_orphans()
                if self.checked:
                    integrity.settle_pending(self)
                    integrity.ensure_copy(self)
            yield
            if self.checked:
                integrity.ensure_copy(self)  # after a commit no copy followed (`sql --write`)

    def _lock_key(self) -> Path:
        return self.root.resolve()

    @contextlib.contextmanager
    def hold_lock(self, wait_seconds: float = 0.0) -> Iterator[None]:
        """Only the lock (no check, no cleanup): what ``recover`` takes on a damaged catalog."""
        key = self._lock_key()
        if key in _HELD:
            yield
            return
        fh = open(self.root / ".lock", "a+")  # noqa: SIM115 - held across the yield
        deadline = time.monotonic() + wait_seconds
        try:
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise WarehouseError(
                            f"warehouse {self.root} is locked by another run; "
                            "try again when it has finished"
                        ) from None
                    time.sleep(0.2)
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            with _HELD.holding(key, fh):
                yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    def orphans(self) -> list[str]:
        """Data files in the lake's folder that no snapshot names (a killed run's)."""
        if not self.exists():
            return []
        con = self.connect(read_only=False)  # DuckLake asks for it, even for a dry run
        try:
            rows = con.execute(
                f"SELECT path FROM ducklake_delete_orphaned_files({_q(LAKE)}, dry_run => true, "
                "cleanup_all => true)"
            ).fetchall()
        finally:
            con.close()
        return [str(r[0]) for r in rows]

    def _delete_orphans(self) -> None:
        """Delete data files no snapshot names (a killed run's); only under the lock, and only
        files DuckLake itself names (``ducklake-<uuid>[-delete].parquet``): a file someone put
        in the folder by hand is left alone."""
        fs = self.location.filesystem()
        for path in self.orphans():
            if OWN_FILE.fullmatch(path.rsplit("/", 1)[-1]):
                with contextlib.suppress(OSError):
                    fs.delete_file(self.location.fs_path(path))

    def _ensure_writable(self) -> None:
        """The folder, its data folder and its catalog writable, the catalog not lost, and
        enough free space (``INFOSHOS_MIN_FREE_MB``): checked before any run starts."""
        from infoshos.warehouse.integrity import check_free_space

        for folder in (self.root, self.data_path):
            try:
                if folder == self.root:
                    folder.mkdir(parents=True, exist_ok=True)
                elif not folder.is_dir():
                    continue
                probe = folder / f".probe-{uuid.uuid4().hex}"
                probe.write_bytes(b"")
                probe.unlink()
            except OSError as exc:
                reason = exc.strerror or str(exc)
                raise WarehouseError(
                    f"warehouse folder {folder} is not writable: {reason}"
                ) from exc
        if not self.location.shared and self.exists():
            try:
                with open(self.catalog_path, "r+b"):
                    pass
            except OSError as exc:
                reason = exc.strerror or str(exc)
                raise WarehouseError(
                    f"warehouse catalog {self.catalog_path} is not writable: {reason}"
                ) from exc
        check_free_space(self)

    def _create(self) -> None:
        """Create the lake from the declarations, whole or not at all (built under a temporary
        name, then renamed)."""
        from infoshos.warehouse import integrity

        self._ensure_writable()
        if self.location.shared:  # in one transaction, one writer at a time
            with shared.commit_lock(self.location):
                if not self.exists():
                    con = self.location.prepare(extensions.connect())
                    try:
                        con.execute(self.location.attach_sql(name=LAKE))
                        self._create_tables(con)
                    finally:
                        con.close()
            return
        tmp = self.root / f".{LAKE_CATALOG}.{uuid.uuid4().hex}.tmp"
        con = self.location.prepare(extensions.connect())
        try:
            con.execute(attach_sql(self.root, catalog=tmp))
            record = lambda: integrity.record_new_files(con, tmp, self.data_path)  # noqa: E731
            self._create_tables(con, record if self.checked else None)
        finally:
            con.close()
        # WAL: readers never block a writer's commit (the mode is kept in the file)
        db = sqlite3.connect(tmp)
        try:
            db.execute("PRAGMA journal_mode=WAL")
        finally:
            db.close()
        os.replace(tmp, self.catalog_path)
        integrity.save_copy(self)

    @staticmethod
    def _create_tables(con: duckdb.DuckDBPyConnection, record: Any = None) -> None:
        """The tables of the declarations, in one transaction (``record()``: before the
        commit, the local lake's file checksums)."""
        from infoshos.warehouse import integrity

        con.execute("BEGIN")
        con.execute(f"CREATE TABLE {LAKE}.{META_TABLE} (schema_version INTEGER)")
        con.execute(f"INSERT INTO {LAKE}.{META_TABLE} VALUES ({SCHEMA_VERSION})")
        for spec in TABLES.values():
            con.execute(create_sql(spec))
        if record is not None:
            integrity.create_files_table(con)
            record()
        con.execute(
            f"CALL {LAKE}.set_commit_message('infoshos', 'create', "
            f"extra_info => {_q(json.dumps({'schema_version': SCHEMA_VERSION}))})"
        )
        con.execute("COMMIT")

    def _evolve(self, con: duckdb.DuckDBPyConnection) -> None:
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
        from infoshos.warehouse.integrity import FILES_TABLE, create_files_table

        if FILES_TABLE not in have:  # a lake written before checksums were recorded
            create_files_table(con)
        for spec in TABLES.values():
            if spec.name not in have:
                con.execute(create_sql(spec))
                continue
            for col in spec.columns:
                if col.name not in have[spec.name]:
                    con.execute(
                        f"ALTER TABLE {LAKE}.{spec.name} ADD COLUMN {col.name} "
                        f"{duckdb_type(col.type)}"
                    )
        if self._check_version(con) < SCHEMA_VERSION:
            con.execute(f"UPDATE {LAKE}.{META_TABLE} SET schema_version = {SCHEMA_VERSION}")

    def transaction(self, run_id: str, base: int | None = None) -> Transaction:
        """A write transaction (the caller holds :meth:`lock`); creates the lake if needed.
        ``base``: the snapshot the caller's decisions read; the commit refuses (LakeMoved) when
        another writer committed after it."""
        return Transaction(self.ensure(), run_id, base)

    def ensure(self) -> Warehouse:
        """This warehouse, its lake created if there is none yet (the caller holds the lock)."""
        self._refuse_legacy()
        if not self.exists():
            self._create()
        return self

    @contextlib.contextmanager
    def committing(self) -> Iterator[None]:
        """Commits one at a time (a shared lake; the lock of a local one already does it)."""
        if self.location.shared:
            with shared.commit_lock(self.location):
                yield
        else:
            yield


def create_sql(spec: Table) -> str:
    cols = ", ".join(f"{c.name} {duckdb_type(c.type)}" for c in spec.columns)
    return f"CREATE TABLE {LAKE}.{spec.name} ({cols})"


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


def conform(table: str, rows: pa.Table) -> pa.Table:
    """``rows`` with the table's declared columns, in order and types (missing ones null)."""
    schema = TABLES[table].schema
    missing = [n for n in schema.names if n not in rows.column_names]
    for name in missing:
        rows = rows.append_column(name, pa.nulls(rows.num_rows, schema.field(name).type))
    return rows.select(schema.names).cast(schema)


def _null_count(meta: pq.FileMetaData, column: str) -> int:
    """Nulls of a top-level, non-nested column of a Parquet file, from its statistics."""
    leaf = next(j for j in range(meta.num_columns) if meta.schema.column(j).path == column)
    total = 0
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(leaf).statistics
        if stats is None or not stats.has_null_count:
            raise WarehouseError(f"a data file without null counts for {column}")
        total += stats.null_count
    return total


def data_file(folder: Path) -> Path:
    """A new name for a data file written outside DuckLake (by a Dask worker) into ``folder``,
    for :meth:`Transaction.add_files` to register: named as DuckLake names its own files, so
    that one left by a killed run (named by no snapshot) is deleted by the next run's cleanup
    (``OWN_FILE``), like DuckLake's."""
    return folder / f"ducklake-{uuid.uuid4()}.parquet"


def _key(spec: Table, alias: str = "") -> str:
    cols = [f"{alias}{k}" for k in spec.key]
    return cols[0] if len(cols) == 1 else "(" + ", ".join(cols) + ")"


class Transaction:
    """Changes to several tables, published together by :meth:`commit` (or not at all): one
    DuckLake transaction."""

    def __init__(self, warehouse: Warehouse, run_id: str, base: int | None = None) -> None:
        self.wh = warehouse
        self.run_id = run_id
        self.expect = base
        self.con = warehouse.connect(read_only=False)
        self.con.execute("BEGIN")
        warehouse._evolve(self.con)
        self.base = _snapshot(self.con)
        self.rows: dict[str, int] = dict(self.base.rows)
        self.changed: set[str] = set()
        self._problems: list[str] = []
        self._seq = 0

    def _conform(self, table: str, rows: pa.Table) -> pa.Table:
        rows = conform(table, rows)
        for column in TABLES[table].required:  # nulls: the Arrow statistics suffice
            nulls = rows[column].null_count
            if nulls:
                self._problems.append(f"{table}.{column} has {nulls} null values")
        return rows

    def _stage(self, rows: pa.Table) -> str:
        """Copy ``rows`` into a temporary table of this connection (drop it with
        :meth:`_unstage`). Not ``register``: a view registered inside a DuckLake transaction
        keeps its Arrow table alive until the commit, even once unregistered, so a run held
        every row it wrote in memory (1.1 GB of page bodies at 100,000 articles)."""
        self._seq += 1
        name = f"temp.main._rows_{self._seq}"
        cols = ", ".join(f'"{f.name}" {duckdb_type(f.type)}' for f in rows.schema)
        self.con.execute(f"CREATE TEMP TABLE {name} ({cols})")
        self.con.from_arrow(rows).insert_into(name)
        return name

    def _unstage(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def _insert(self, table: str, source: str) -> int:
        row = self.con.execute(f"INSERT INTO {LAKE}.{table} SELECT * FROM {source}").fetchone()
        n = int(row[0]) if row else 0
        self.rows[table] = self.rows.get(table, 0) + n
        self.changed.add(table)
        return n

    def _delete(self, table: str, where: str) -> int:
        row = self.con.execute(f"DELETE FROM {LAKE}.{table} WHERE {where}").fetchone()
        n = int(row[0]) if row else 0
        self.rows[table] = self.rows.get(table, 0) - n
        if n:
            self.changed.add(table)
        return n

    def data_folder(self, table: str) -> Path:
        """The folder of ``table``'s data files (``lake/<schema>/<table>/``, from the catalog),
        where files for :meth:`add_files` are written (see :func:`data_file`)."""
        row = self.con.execute(
            f"SELECT s.path, s.path_is_relative, t.path, t.path_is_relative "
            f"FROM __ducklake_metadata_{LAKE}.ducklake_table t "
            f"JOIN __ducklake_metadata_{LAKE}.ducklake_schema s USING (schema_id) "
            f"WHERE t.table_name = ? AND t.end_snapshot IS NULL AND s.end_snapshot IS NULL",
            [table],
        ).fetchone()
        if row is None:
            raise WarehouseError(f"no table {table} in the lake")
        if self.wh.location.remote_data:
            raise WarehouseError(
                f"the lake's data path {self.wh.location.data_path} is on S3: workers write "
                "their files into a local data folder only (run without --dask)"
            )
        schema_path, schema_rel, table_path, table_rel = row
        data = Path(self.wh.location.data_path)
        folder = Path(schema_path) if not schema_rel else data / schema_path
        folder = Path(table_path) if not table_rel else folder / table_path
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def add_files(self, table: str, paths: Sequence[Path]) -> None:
        """Register Parquet files written outside this connection (by Dask workers, named by
        :func:`data_file` in :meth:`data_folder`) as rows of ``table``: DuckLake's
        ``ducklake_add_data_files`` adds them to this transaction without copying, published
        by the commit like every other change. From then on they are the lake's own files
        (compaction merges them and deletes the originals). Each file must have the table's
        declared columns and types (else a WarehouseError); nulls in the required columns are
        counted from the files' statistics, for the quality gate."""
        schema = TABLES[table].schema
        for path in paths:
            meta = pq.read_metadata(path)
            columns = [(f.name, f.type) for f in meta.schema.to_arrow_schema()]
            if columns != [(f.name, f.type) for f in schema]:
                raise WarehouseError(f"{path.name}: not the declared columns of {table}")
            for column in TABLES[table].required:
                nulls = _null_count(meta, column)
                if nulls:
                    self._problems.append(f"{table}.{column} has {nulls} null values")
            self.con.execute(
                f"CALL ducklake_add_data_files({_q(LAKE)}, {_q(table)}, {_q(str(path))})"
            )
            self.rows[table] = self.rows.get(table, 0) + meta.num_rows
            self.changed.add(table)

    def current(self, table: str) -> pa.Table:
        """The table as this transaction will publish it."""
        return _fetch(self.con, f"SELECT * FROM {LAKE}.{table}", TABLES[table].schema)

    def append(self, table: str, rows: pa.Table) -> None:
        """Add rows (history tables; or state tables with only new keys). May be called once
        per chunk: each call writes new files, nothing earlier is rewritten."""
        if rows.num_rows == 0:
            return
        rows = self._conform(table, rows)
        self.con.from_arrow(rows).insert_into(f"{LAKE}.{table}")  # no view: see _stage
        self.rows[table] = self.rows.get(table, 0) + rows.num_rows
        self.changed.add(table)

    def replace(self, table: str, rows: pa.Table) -> None:
        """Make ``rows`` the whole table."""
        rows = self._conform(table, rows)
        self._delete(table, "true")
        self.changed.add(table)
        self.append(table, rows)

    def upsert(
        self, table: str, rows: pa.Table, scope: tuple[str, Sequence[str]] | None = None
    ) -> None:
        """Insert or replace rows by the table's key, writing only what changed.

        A row equal to the stored row of its key is left alone (nothing written); a changed
        row's old version is marked deleted (a small delete file) and the new one appended.
        ``scope=(column, values)`` also drops every existing row whose ``column`` is in
        ``values`` (for example all mentions of the articles being replaced).
        """
        spec = TABLES[table]
        new = self._stage(self._conform(table, rows))
        scoped = vals = ""
        try:
            if scope is not None and len(scope[1]):
                column, values = scope
                vals = self._stage(pa.table({"v": pa.array(list(values), pa.string())}))
                typ = duckdb_type(spec.schema.field(column).type)
                scoped = f"{column} IN (SELECT v::{typ} FROM {vals})"
            keep = f" AND NOT ({scoped})" if scoped else ""
            # the new rows that differ from what is stored (EXCEPT ALL keeps duplicates, so the
            # gate still sees a key given twice)
            changed = f"_changed_{self._seq}"
            self.con.execute(
                f"CREATE TEMP TABLE {changed} AS SELECT * FROM {new} EXCEPT ALL "
                f"SELECT * FROM {LAKE}.{table} WHERE {_key(spec)} IN "
                f"(SELECT {_key(spec)} FROM {new}){keep}"
            )
            where = f"{_key(spec)} IN (SELECT {_key(spec)} FROM {changed})"
            self._delete(table, f"{where} OR ({scoped})" if scoped else where)
            self._insert(table, changed)
            self.con.execute(f"DROP TABLE {changed}")
        finally:
            for name in (new, vals):
                if name:
                    self._unstage(name)

    def commit(
        self,
        max_change: dict[str, float] | None = None,
        max_shrink: dict[str, float] | None = None,
    ) -> Snapshot:
        """Check, then publish every change at once. Raises QualityGateError and publishes
        nothing when a check fails."""
        try:
            check_transaction(self, max_change or {}, max_shrink or {})
        except QualityGateError:
            self.rollback()
            raise
        from infoshos.warehouse import integrity

        if self.wh.checked:
            integrity.record_new_files(self.con, self.wh.catalog_path, self.wh.data_path)
        extra = json.dumps({"schema_version": SCHEMA_VERSION, "rows": self.rows})
        self.con.execute(
            f"CALL {LAKE}.set_commit_message('infoshos', {_q(self.run_id)}, "
            f"extra_info => {_q(extra)})"
        )
        crash_point("before-publish")
        with self.wh.committing():
            latest = self.wh.snapshot_id() if self.expect is not None else None
            if latest is not None and latest != self.expect:
                self.rollback()
                raise LakeMoved(f"snapshot {latest} was committed after {self.expect}")
            try:
                self.con.execute("COMMIT")
            except duckdb.Error as exc:
                self.rollback()
                raise WarehouseError(f"commit failed: {_first_line(exc)}") from exc
        crash_point("after-publish")
        snap = _snapshot(self.con)
        self.con.close()
        if self.wh.checked:
            integrity.save_copy(self.wh)
        return snap

    def rollback(self) -> None:
        """Publish nothing (files already written are deleted by DuckLake or the next run)."""
        with contextlib.suppress(duckdb.Error):
            self.con.execute("ROLLBACK")
        self.con.close()


def check_transaction(
    tx: Transaction, max_change: dict[str, float], max_shrink: dict[str, float] | None = None
) -> None:
    """The quality gate, inside the transaction before its commit: required columns not null
    (checked on the rows written, from their Arrow null counts), keys unique (reading only the
    key columns), bounded row-count changes (``max_change``: either way; ``max_shrink``: a keyed
    table losing rows; counts from the lake's metadata)."""
    problems = list(tx._problems)
    for name in sorted(tx.changed):
        spec = TABLES[name]
        if spec.mode == "state":
            row = tx.con.execute(
                f"SELECT count(*) - count(DISTINCT {_key(spec)}) FROM {LAKE}.{name}"
            ).fetchone()
            dupes = int(row[0]) if row else 0
            if dupes:
                problems.append(
                    f"{name} key {'/'.join(spec.key)} not unique: {dupes} duplicate rows"
                )
        bound = max_change.get(name)
        before = tx.base.rows.get(name, 0)
        after = tx.rows.get(name, 0)
        if bound is not None and before > 0 and abs(after - before) / before > bound:
            problems.append(
                f"{name} would change from {before} to {after} rows "
                f"(more than {bound:.0%}); not published"
            )
        shrink = (max_shrink or {}).get(name)
        if shrink is not None and before > 0 and after < before * (1 - shrink):
            problems.append(
                f"{name} would shrink from {before} to {after} rows "
                f"(more than {shrink:.0%}); not published"
            )
    if problems:
        raise QualityGateError("quality gate failed: " + "; ".join(problems))


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


def compact(
    wh: Warehouse, run_id: str, keep_days: float | None = None
) -> dict[str, tuple[int, int]]:
    """DuckLake's own maintenance, under the lock: rewrite files with many deleted rows, merge
    small adjacent files (one new snapshot; readers see the old files or the new ones), then,
    with ``keep_days``, expire the snapshots older than that and delete the files only they
    named. Every current file's sha256 is checked first (a changed file is refused, naming it);
    the files written are hashed into a journal before the commit and recorded in ``_files``
    right after (DuckLake's compaction cannot change a table in its own transaction). Returns
    ``{table: (files before, files after)}`` for the tables changed."""
    from infoshos.warehouse import integrity

    with wh.lock():
        con = wh.connect(read_only=False)
        try:
            if wh.checked:
                integrity.ensure_files_table(con)
                integrity.check_checksums(wh, con)
            before = _file_counts(con)
            con.execute("BEGIN")
            con.execute(f"CALL ducklake_rewrite_data_files({_q(LAKE)})")
            con.execute(f"CALL ducklake_merge_adjacent_files({_q(LAKE)})")
            written = (
                integrity.hashed(integrity.unrecorded(con, wh.catalog_path, wh.data_path))
                if wh.checked
                else []
            )
            if written:
                integrity.write_pending(wh, written)
            con.execute("COMMIT")
            if keep_days is not None:
                cutoff = datetime.now(UTC) - timedelta(days=keep_days)
                con.execute(
                    f"CALL ducklake_expire_snapshots({_q(LAKE)}, older_than => ?::TIMESTAMPTZ)",
                    [cutoff],
                )
                con.execute(f"CALL ducklake_cleanup_old_files({_q(LAKE)}, cleanup_all => true)")
            after = _file_counts(con)
        finally:
            con.close()
        if wh.checked:
            _record_compaction(wh, run_id)
    return {t: (before[t], after[t]) for t in TABLES if before[t] != after[t]}


def _record_compaction(wh: Warehouse, run_id: str) -> None:
    """Record the compaction's files from its journal and drop the rows of files no retained
    snapshot names any more (one snapshot, only when something changes)."""
    from infoshos.warehouse import integrity

    pending = integrity.read_pending(wh)
    con = wh.connect(read_only=False)
    try:
        con.execute("BEGIN")
        have = integrity.recorded(con)
        n = integrity.record(con, [e for e in pending if e[0] not in have])
        n += integrity.prune_records(con, wh.catalog_path, wh.data_path)
        if n:
            con.execute(f"CALL {LAKE}.set_commit_message('infoshos', {_q(run_id)})")
        con.execute("COMMIT")
    finally:
        con.close()
    (wh.root / integrity.PENDING).unlink(missing_ok=True)
    integrity.save_copy(wh)
