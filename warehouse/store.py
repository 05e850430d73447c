"""The warehouse on disk: immutable Parquet files, snapshots and an atomic pointer.

Layout of a warehouse folder::

    tables/<table>/<run_id>-<n>.parquet   immutable data files (zstd)
    snapshots/<NNNNNN>.json               which files make up each table in snapshot N
    CURRENT                               the name of the current snapshot file
    infoshos.duckdb                       views over the current snapshot (see catalog.py)
    .lock                                 held by the one run that may write

A run writes new files first (they are invisible: no snapshot names them), then a new snapshot
manifest, then replaces ``CURRENT`` with ``os.replace``: that rename is the commit. A reader, or a
run killed at any moment, sees either the previous snapshot or the new one, never a mixture.
Files that no snapshot in ``KEEP_SNAPSHOTS`` names are removed after a commit.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from infoshos.warehouse.faults import crash_point
from infoshos.warehouse.schema import SCHEMA_VERSION, TABLES, Table

KEEP_SNAPSHOTS = 5
COMPRESSION = "zstd"
#: Rows per Parquet row group: DuckDB scans row groups in parallel, so a table of one huge
#: row group would be read by one thread.
ROW_GROUP_ROWS = 8192


class WarehouseError(Exception):
    """A problem with the warehouse folder, worded for the operator (one line)."""


class QualityGateError(WarehouseError):
    """The new snapshot failed a check; nothing was published."""


@dataclass
class Snapshot:
    number: int
    run_id: str | None
    created_at: str
    schema_version: int
    tables: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "snapshot": self.number,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "schema_version": self.schema_version,
            "tables": {
                name: {"files": files, "rows": self.rows.get(name, 0)}
                for name, files in self.tables.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        tables = data.get("tables", {})
        return cls(
            number=int(data["snapshot"]),
            run_id=data.get("run_id"),
            created_at=data.get("created_at", ""),
            schema_version=int(data.get("schema_version", 0)),
            tables={name: list(t["files"]) for name, t in tables.items()},
            rows={name: int(t.get("rows", 0)) for name, t in tables.items()},
        )


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, whole."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class Warehouse:
    """A warehouse folder. Reading needs no lock; writing goes through :meth:`transaction`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()

    # -- reading -----------------------------------------------------------------------------
    @property
    def current_path(self) -> Path:
        return self.root / "CURRENT"

    def exists(self) -> bool:
        return self.current_path.exists()

    def require(self) -> Warehouse:
        """This warehouse, or a clear error when nothing was ever published here."""
        if not self.exists():
            raise WarehouseError(f"no warehouse at {self.root} (run `infoshos run` first)")
        return self

    def current(self) -> Snapshot:
        """The published snapshot (an empty one, number 0, for a new warehouse)."""
        if not self.current_path.exists():
            return Snapshot(0, None, "", SCHEMA_VERSION, {name: [] for name in TABLES})
        name = self.current_path.read_text().strip()
        try:
            snap = Snapshot.from_json(json.loads((self.root / "snapshots" / name).read_text()))
        except (OSError, ValueError, KeyError) as exc:
            raise WarehouseError(
                f"warehouse {self.root}: snapshot {name!r} unreadable: {exc}"
            ) from exc
        if snap.schema_version > SCHEMA_VERSION:
            raise WarehouseError(
                f"warehouse {self.root} has schema version {snap.schema_version}, newer than "
                f"this infoshos ({SCHEMA_VERSION}); upgrade infoshos to read it"
            )
        for name in TABLES:
            snap.tables.setdefault(name, [])
        return snap

    def files(self, table: str, snapshot: Snapshot | None = None) -> list[Path]:
        snap = snapshot or self.current()
        return [self.root / f for f in snap.tables.get(table, [])]

    def read(
        self, table: str, columns: Sequence[str] | None = None, snapshot: Snapshot | None = None
    ) -> pa.Table:
        """The whole table of a snapshot as one Arrow table (typed even when empty)."""
        spec = TABLES[table]
        schema = spec.schema
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns])
        paths = self.files(table, snapshot)
        if not paths:
            return schema.empty_table()
        parts = [pq.read_table(p, columns=list(schema.names), schema=spec.schema) for p in paths]
        return pa.concat_tables(parts).cast(schema)

    # -- writing -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, wait_seconds: float = 0.0) -> Iterator[None]:
        """Hold the warehouse's write lock; a second writer waits, then fails clearly."""
        self._ensure_writable()
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
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    def _ensure_writable(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / "tables").mkdir(exist_ok=True)
            (self.root / "snapshots").mkdir(exist_ok=True)
            probe = self.root / f".probe-{uuid.uuid4().hex}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise WarehouseError(f"warehouse folder {self.root} is not writable: {reason}") from exc

    def transaction(self, run_id: str) -> Transaction:
        return Transaction(self, run_id)


class Transaction:
    """Changes to several tables, published together by :meth:`commit` (or not at all)."""

    def __init__(self, warehouse: Warehouse, run_id: str) -> None:
        self.wh = warehouse
        self.run_id = run_id
        self.base = warehouse.current()
        self.tables: dict[str, list[str]] = {k: list(v) for k, v in self.base.tables.items()}
        self.rows: dict[str, int] = dict(self.base.rows)
        self.changed: set[str] = set()
        self._written: list[Path] = []
        self._seq = 0

    def _write_file(self, table: str, rows: pa.Table) -> str:
        folder = self.wh.root / "tables" / table
        folder.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        rel = f"tables/{table}/{self.run_id}-{self._seq:03d}.parquet"
        final = self.wh.root / rel
        tmp = folder / f".{final.name}.{uuid.uuid4().hex}.tmp"
        pq.write_table(rows, tmp, compression=COMPRESSION, row_group_size=ROW_GROUP_ROWS)
        os.replace(tmp, final)
        self._written.append(final)
        return rel

    def _conform(self, table: str, rows: pa.Table) -> pa.Table:
        schema = TABLES[table].schema
        missing = [n for n in schema.names if n not in rows.column_names]
        for name in missing:
            rows = rows.append_column(name, pa.nulls(rows.num_rows, schema.field(name).type))
        return rows.select(schema.names).cast(schema)

    def current(self, table: str) -> pa.Table:
        """The table as this transaction will publish it."""
        snap = Snapshot(0, None, "", SCHEMA_VERSION, self.tables, self.rows)
        return self.wh.read(table, snapshot=snap)

    def append(self, table: str, rows: pa.Table) -> None:
        """Add rows as a new file (history tables; or state tables with only new keys)."""
        if rows.num_rows == 0:
            return
        rows = self._conform(table, rows)
        self.tables[table] = self.tables.get(table, []) + [self._write_file(table, rows)]
        self.rows[table] = self.rows.get(table, 0) + rows.num_rows
        self.changed.add(table)

    def replace(self, table: str, rows: pa.Table) -> None:
        """Make ``rows`` the whole table."""
        rows = self._conform(table, rows)
        self.tables[table] = [self._write_file(table, rows)] if rows.num_rows else []
        self.rows[table] = rows.num_rows
        self.changed.add(table)

    def upsert(
        self, table: str, rows: pa.Table, scope: tuple[str, Sequence[str]] | None = None
    ) -> None:
        """Insert or replace rows by the table's key.

        ``scope=(column, values)`` also drops every existing row whose ``column`` is in
        ``values`` (for example all mentions of the articles being replaced). When no existing
        row is touched the rows are simply appended as a new file.
        """
        spec = TABLES[table]
        rows = self._conform(table, rows)
        existing = self.current(table)
        if existing.num_rows == 0:
            self.append(table, rows)
            return
        drop = _key_mask(existing, rows, spec)
        if scope is not None and len(scope[1]):
            column, values = scope
            value_set = pa.array(list(values), type=existing.schema.field(column).type)
            drop = pc.or_(drop, pc.is_in(existing[column], value_set=value_set))
        if not pc.any(drop).as_py():
            self.append(table, rows)
            return
        kept = existing.filter(pc.invert(drop))
        self.replace(table, pa.concat_tables([kept, rows]))

    def commit(
        self,
        max_change: dict[str, float] | None = None,
        max_shrink: dict[str, float] | None = None,
    ) -> Snapshot:
        """Check, then publish every change at once. Raises QualityGateError and publishes
        nothing when a check fails."""
        snap = Snapshot(
            number=self.base.number + 1,
            run_id=self.run_id,
            created_at=datetime.now(UTC).isoformat(),
            schema_version=SCHEMA_VERSION,
            tables=self.tables,
            rows=self.rows,
        )
        try:
            check_snapshot(
                self.wh, snap, self.base, self.changed, max_change or {}, max_shrink or {}
            )
        except QualityGateError:
            self.rollback()
            raise
        name = f"{snap.number:06d}.json"
        crash_point("before-publish")
        write_atomic(
            self.wh.root / "snapshots" / name, json.dumps(snap.to_json(), indent=1).encode()
        )
        crash_point("after-manifest")
        write_atomic(self.wh.current_path, (name + "\n").encode())
        crash_point("after-publish")
        self._written.clear()
        collect_garbage(self.wh)
        return snap

    def rollback(self) -> None:
        for path in self._written:
            with contextlib.suppress(OSError):
                path.unlink()
        self._written.clear()


def _key_mask(existing: pa.Table, rows: pa.Table, spec: Table) -> pa.ChunkedArray:
    """True where an existing row has the same key as one of ``rows``."""
    if rows.num_rows == 0:
        return pc.equal(pa.chunked_array([pa.array([False] * existing.num_rows)]), True)
    if len(spec.key) == 1:
        k = spec.key[0]
        return pc.is_in(existing[k], value_set=rows[k].combine_chunks())
    joined_new = _joined_key(rows, spec.key)
    return pc.is_in(_joined_key(existing, spec.key), value_set=joined_new.combine_chunks())


def _joined_key(table: pa.Table, key: Sequence[str]) -> pa.ChunkedArray:
    parts = [pc.cast(table[k], pa.string()) for k in key]
    return pc.binary_join_element_wise(*parts, "\x1f")


def check_snapshot(
    wh: Warehouse,
    snap: Snapshot,
    base: Snapshot,
    changed: set[str],
    max_change: dict[str, float],
    max_shrink: dict[str, float] | None = None,
) -> None:
    """The quality gate: unique keys, required columns not null, bounded row-count changes
    (``max_change``: either way; ``max_shrink``: a keyed table losing rows)."""
    problems: list[str] = []
    for name in sorted(changed):
        spec = TABLES[name]
        table = wh.read(name, snapshot=snap)
        for column in spec.required:
            nulls = table[column].null_count
            if nulls:
                problems.append(f"{name}.{column} has {nulls} null values")
        if spec.mode == "state" and table.num_rows:
            keys = _joined_key(table, spec.key) if len(spec.key) > 1 else table[spec.key[0]]
            distinct = pc.count_distinct(keys).as_py()
            if distinct != table.num_rows:
                problems.append(
                    f"{name} key {'/'.join(spec.key)} not unique: "
                    f"{table.num_rows - distinct} duplicate rows"
                )
        bound = max_change.get(name)
        before = base.rows.get(name, 0)
        after = snap.rows.get(name, 0)
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


def collect_garbage(wh: Warehouse) -> None:
    """Remove data files no recent snapshot names, and old snapshot manifests."""
    snap_dir = wh.root / "snapshots"
    manifests = sorted(snap_dir.glob("[0-9]*.json"))
    keep = manifests[-KEEP_SNAPSHOTS:]
    referenced: set[str] = set()
    for path in keep:
        with contextlib.suppress(OSError, ValueError, KeyError):
            snap = Snapshot.from_json(json.loads(path.read_text()))
            for files in snap.tables.values():
                referenced.update(files)
    for path in manifests[: -KEEP_SNAPSHOTS or None]:
        if path not in keep:
            with contextlib.suppress(OSError):
                path.unlink()
    tables_dir = wh.root / "tables"
    if not tables_dir.exists():
        return
    for path in tables_dir.glob("*/*"):
        rel = path.relative_to(wh.root).as_posix()
        if rel not in referenced:
            with contextlib.suppress(OSError):
                path.unlink()


def compact(wh: Warehouse, run_id: str, min_files: int = 2) -> dict[str, tuple[int, int]]:
    """Rewrite every table made of ``min_files`` or more files as one file, published as a new
    snapshot like a run (atomic; readers see the old files or the new one). Returns
    ``{table: (files before, files after)}`` for the tables compacted."""
    done: dict[str, tuple[int, int]] = {}
    with wh.lock():
        tx = wh.transaction(run_id)
        for name in TABLES:
            files = tx.tables.get(name, [])
            if len(files) >= min_files:
                rows = tx.current(name)
                tx.replace(name, rows)
                done[name] = (len(files), len(tx.tables[name]))
        if done:
            tx.commit()
    return done
