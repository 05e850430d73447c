"""A run's changes to the lake: one DuckLake transaction, checked by the quality gate and
published by its commit as one new snapshot (or not at all).

A :class:`Transaction` comes from ``Warehouse.transaction`` (the caller holds the lock; see
locks.py). It writes new data files that no snapshot names yet: rows appended, replaced or
upserted by key, files written by Dask workers (named by :func:`data_file`) registered without
copying. The commit runs the quality gate (:func:`check_transaction`: required columns not null,
keys unique, bounded row-count changes; a failed check publishes nothing), records each new
file's size and sha256 (checksums.py), refuses when another writer committed after the
snapshot the run read (``LakeMoved``), then writes the new snapshot into the catalog. A reader,
or a run killed at any moment, sees the previous snapshot or the new one, never a mixture.

Rules: every row written is first given its table's declared columns and types (:func:`conform`);
rows are staged in temporary tables, never registered views (a run's memory stays bounded); the
nulls the gate counts come from Arrow or Parquet statistics, never a scan.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from infoshos.warehouse import catalog_copies, checksums
from infoshos.warehouse.ddl import evolve
from infoshos.warehouse.faults import crash_point
from infoshos.warehouse.schema import SCHEMA_VERSION, TABLES, Table
from infoshos.warehouse.store import (
    LAKE,
    LakeMoved,
    QualityGateError,
    Snapshot,
    Warehouse,
    WarehouseError,
    _fetch,
    _first_line,
    _q,
    _snapshot,
    duckdb_type,
)

#: DuckDB's memory in a write transaction. Beyond it, the gate's key checks and the upserts'
#: joins spill to the transaction's spill folder instead of growing with the archive (the key
#: check of ``mentions`` alone held 700 MB more at 300,000 articles without a bound).
WRITE_MEMORY = "512MB"


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

    def __init__(
        self, warehouse: Warehouse, run_id: str, base: int | None = None, spill: Path | None = None
    ) -> None:
        """``spill``: a folder of the caller's for what DuckDB spills beyond ``WRITE_MEMORY``
        (default: a temporary folder of this transaction, removed with it)."""
        self.wh = warehouse
        self.run_id = run_id
        self.expect = base
        self._own_spill = None if spill is not None else Path(tempfile.mkdtemp(prefix="infoshos-"))
        self.con = warehouse.connect(read_only=False)
        try:
            self.con.execute(f"SET memory_limit = {_q(WRITE_MEMORY)}")
            self.con.execute(f"SET temp_directory = {_q(str(spill or self._own_spill))}")
        except BaseException:
            self._close()
            raise
        self.con.execute("BEGIN")
        evolve(warehouse, self.con)
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
        if self.wh.checked:
            checksums.record_new_files(self.con, self.wh.catalog_path, self.wh.data_path)
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
        self._close()
        if self.wh.checked:
            catalog_copies.save_copy(self.wh)
        return snap

    def rollback(self) -> None:
        """Publish nothing (files already written are deleted by DuckLake or the next run)."""
        with contextlib.suppress(duckdb.Error):
            self.con.execute("ROLLBACK")
        self._close()

    def _close(self) -> None:
        self.con.close()
        if self._own_spill is not None:
            shutil.rmtree(self._own_spill, ignore_errors=True)


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
            # grouped, not count(DISTINCT): a grouping spills beyond WRITE_MEMORY in seconds
            keys = ", ".join(spec.key)
            row = tx.con.execute(
                f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {LAKE}.{name} "
                f"GROUP BY {keys} HAVING count(*) > 1)"
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
