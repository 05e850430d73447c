"""The checksums of the local lake's data files: the lake table ``_files`` and its journal.

DuckLake's catalog records each data and delete file's size, not its content. Every transaction
that publishes files also inserts, before its commit, one row per file it wrote into the lake
table ``_files`` (path under the data folder, size, sha256): the files are found by comparing the
data folder with the files the catalog already names, so only this run's files are hashed. (The
one file the ``_files`` insert itself writes cannot hold its own checksum: ``_files``' files are
checked by size.) DuckLake's compaction cannot change a table in its own transaction, so
``compact`` hashes the files it wrote into a journal (:data:`PENDING`) before its commit and
records them right after; a compaction killed in between is recorded from the journal by the
next writer (:func:`settle_pending`, when it takes the lock).

Rules: rows are inserted in the caller's transaction, one statement per batch (each INSERT writes
a file); the journal counts as a record until it is settled; :func:`checksum_faults` is the one
comparison of files with their records (``compact``, ``infoshos verify``, ``infoshos recover``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from infoshos.warehouse.listing import DataFile, catalog_files, known_names, on_disk, size_fault
from infoshos.warehouse.store import LAKE, Warehouse, WarehouseError, _q

#: The lake table of checksums: one row per data or delete file a transaction wrote.
FILES_TABLE = "_files"
FILES_COLUMNS = "path VARCHAR, size BIGINT, sha256 VARCHAR"
#: The journal of a compaction's files between its commit and their recording.
PENDING = ".files-pending.json"
CHUNK = 1 << 20


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file's bytes, read in chunks (the lake's ``_files``, an export's
    manifest)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def recorded(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, str]]:
    """``_files`` as the connection's transaction sees it: path -> (size, sha256); empty for a
    lake written before checksums were recorded (no ``_files`` yet)."""
    try:
        rows = con.execute(f"SELECT path, size, sha256 FROM {LAKE}.{FILES_TABLE}").fetchall()
    except duckdb.CatalogException:
        return {}
    return {p: (int(s), h) for p, s, h in rows}


def ensure_files_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``_files`` in a lake written before checksums were recorded (its own commit)."""
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        f"WHERE table_catalog = {_q(LAKE)} AND table_name = {_q(FILES_TABLE)}"
    ).fetchone()
    if not row or not row[0]:
        create_files_table(con)


def create_files_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TABLE {LAKE}.{FILES_TABLE} ({FILES_COLUMNS})")


def unrecorded(con: duckdb.DuckDBPyConnection, catalog: Path, data: Path) -> dict[str, Path]:
    """The files in the data folder that the open transaction wrote: named by no file the
    catalog knows and not in ``_files``. When ``_files`` is empty (a lake written before
    checksums were recorded), every file the catalog names is included, once."""
    have = recorded(con)
    known = known_names(catalog) if have else set()
    return {rel: p for rel, p in on_disk(data).items() if rel not in have and p.name not in known}


def record(con: duckdb.DuckDBPyConnection, entries: Iterable[tuple[str, int, str]]) -> int:
    """Insert ``(path, size, sha256)`` rows into ``_files`` (in the connection's transaction)."""
    rows = list(entries)
    if rows:  # one statement: one small file (each INSERT writes its own)
        _with_paths(con, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
        con.execute(f"INSERT INTO {LAKE}.{FILES_TABLE} SELECT path, size, sha256 FROM _paths")
        con.unregister("_paths")
    return len(rows)


def _with_paths(
    con: duckdb.DuckDBPyConnection,
    paths: list[str],
    sizes: list[int] | None = None,
    sums: list[str] | None = None,
) -> None:
    """Register ``_paths`` (path[, size, sha256]) as a relation of ``con``."""
    columns: dict[str, pa.Array] = {"path": pa.array(paths, pa.string())}
    if sizes is not None and sums is not None:
        columns["size"] = pa.array(sizes, pa.int64())
        columns["sha256"] = pa.array(sums, pa.string())
    con.register("_paths", pa.table(columns))


def hashed(files: dict[str, Path]) -> list[tuple[str, int, str]]:
    return [(rel, p.stat().st_size, sha256(p)) for rel, p in sorted(files.items())]


def record_new_files(con: duckdb.DuckDBPyConnection, catalog: Path, data: Path) -> int:
    """Record the checksums of the files the open transaction wrote (before its commit)."""
    return record(con, hashed(unrecorded(con, catalog, data)))


def write_pending(wh: Warehouse, entries: list[tuple[str, int, str]]) -> None:
    from infoshos.warehouse.store import write_atomic

    write_atomic(wh.root / PENDING, json.dumps(entries).encode())


def read_pending(wh: Warehouse) -> list[tuple[str, int, str]]:
    try:
        data = json.loads((wh.root / PENDING).read_text())
        return [(str(p), int(s), str(h)) for p, s, h in data]
    except (OSError, ValueError, TypeError):
        return []


def settle_pending(wh: Warehouse) -> int:
    """Record the journal of a compaction killed after its commit (the files it published and
    no row records yet); returns how many rows were added. Under the lock."""
    pending = read_pending(wh)
    if not pending and not (wh.root / PENDING).exists():
        return 0
    con = wh.connect(read_only=False)
    try:
        con.execute("BEGIN")
        have = recorded(con)
        listed = {f.rel for f in catalog_files(wh.catalog_path, wh.data_path, every=True)}
        n = record(con, [e for e in pending if e[0] in listed and e[0] not in have])
        if n:
            con.execute(f"CALL {LAKE}.set_commit_message('infoshos', 'record-checksums')")
        con.execute("COMMIT")
    finally:
        con.close()
    (wh.root / PENDING).unlink(missing_ok=True)
    return n


def prune_records(con: duckdb.DuckDBPyConnection, catalog: Path, data: Path) -> int:
    """Delete ``_files`` rows of files no retained snapshot names any more (after an expiry)."""
    listed = {f.rel for f in catalog_files(catalog, data, every=True)}
    gone = [p for p in recorded(con) if p not in listed]
    if gone:
        _with_paths(con, gone)
        con.execute(f"DELETE FROM {LAKE}.{FILES_TABLE} WHERE path IN (SELECT path FROM _paths)")
        con.unregister("_paths")
    return len(gone)


def checksum_faults(
    files: Iterable[DataFile], sums: dict[str, tuple[int, str]]
) -> Iterator[tuple[DataFile, str]]:
    """(file, what is wrong) for each file that is missing, of another size, or whose sha256
    differs from the recorded one. Files of ``_files`` itself are checked by size only."""
    for f in files:
        fault = size_fault(f)
        if fault is None and f.table != FILES_TABLE:
            want = sums.get(f.rel)
            if want is None:
                fault = "has no recorded checksum"
            elif sha256(f.path) != want[1]:
                fault = "was changed: its sha256 differs from the one recorded"
        if fault is not None:
            yield f, fault


def check_checksums(wh: Warehouse, con: duckdb.DuckDBPyConnection) -> None:
    """The full check of the current snapshot's files (before ``compact`` rewrites them)."""
    files = catalog_files(wh.catalog_path, wh.data_path)
    sums = {**{p: (s, h) for p, s, h in read_pending(wh)}, **recorded(con)}
    for f, fault in checksum_faults(files, sums):
        if fault != "has no recorded checksum":
            raise WarehouseError(
                f"warehouse {wh.root}: data file {f.rel} of {f.table} {fault}; nothing was "
                "compacted: restore the file from a backup (`infoshos verify` lists every problem)"
            )
