"""What guards the warehouse's files: checksums of the data files, the health of the catalog,
copies of the catalog, ``infoshos verify`` and ``infoshos recover``.

- **Checksums.** DuckLake's catalog records each data and delete file's size, not its content.
  Every transaction that publishes files also inserts, before its commit, one row per file it
  wrote into the lake table ``_files`` (path under the data folder, size, sha256): the files
  are found by comparing the data folder with the files the catalog already names, so only this
  run's files are hashed. (The one file the ``_files`` insert itself writes cannot hold its own
  checksum: ``_files``' files are checked by size.) DuckLake's compaction cannot change a table
  in its own transaction, so ``compact`` hashes the files it wrote into a journal
  (:data:`PENDING`) before its commit and records them right after; a compaction killed in
  between is recorded from the journal by the next writer.
- **Cheap check on every open.** A connection first checks that the catalog is an SQLite file
  that is not truncated and answers, and that every data file of the snapshot it reads exists
  with the size the catalog recorded (one ``stat`` per file). The full check (sha256) is done by
  ``infoshos verify`` and by ``compact`` before it rewrites files.
- **Catalog copies.** After each commit the catalog is copied with SQLite's backup API to
  ``catalog/lake-<snapshot>.sqlite`` (the last :data:`KEEP_COPIES`); a writer that finds the
  catalog newer than its newest copy makes one when it takes the lock. ``infoshos recover``
  installs the newest copy whose files are all present and intact.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from infoshos.warehouse.store import (
    LAKE,
    OWN_FILE,
    Warehouse,
    WarehouseError,
    _first_line,
    _q,
    attach_sql,
)

if TYPE_CHECKING:
    from infoshos.warehouse.store import Snapshot

#: The lake table of checksums: one row per data or delete file a transaction wrote.
FILES_TABLE = "_files"
FILES_COLUMNS = "path VARCHAR, size BIGINT, sha256 VARCHAR"
#: How many catalog copies are kept (the newest).
KEEP_COPIES = 20
#: The journal of a compaction's files between its commit and their recording.
PENDING = ".files-pending.json"
#: The minimum free space in the warehouse folder before a writer starts.
MIN_FREE_ENV = "INFOSHOS_MIN_FREE_MB"
DEFAULT_MIN_FREE_MB = 200
SQLITE_MAGIC = b"SQLite format 3\x00"
CHUNK = 1 << 20

log = logging.getLogger(__name__)


class CatalogDamaged(WarehouseError):
    """The catalog is missing beside data, or not a readable DuckLake catalog."""


@dataclass(frozen=True)
class DataFile:
    """A data or delete file the catalog names."""

    rel: str  # the path under the data folder (posix)
    path: Path
    size: int
    table: str
    begin: int
    end: int | None


def recover_hint(wh: Warehouse) -> str:
    return f"rebuild it with `infoshos recover --warehouse {wh.root}` (nothing was changed)"


# -- the catalog file -----------------------------------------------------------------------
def catalog_fault(path: Path) -> str | None:
    """Why the SQLite file at ``path`` cannot be a sound catalog (read from its header, no SQL),
    or None. A file shorter than the page count its header gives is truncated (checked only
    when no write-ahead log is pending, whose checkpoint may be growing the file)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if size == 0:
        return "empty (0 bytes)"
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return "not an SQLite database"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96]
    wal = path.with_name(path.name + "-wal")
    wal_pending = wal.exists() and wal.stat().st_size > 0
    if valid and pages and not wal_pending and size < pages * page_size:
        return f"truncated ({size} of {pages * page_size} bytes)"
    return None


@contextlib.contextmanager
def _read_sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        yield db
    finally:
        db.close()


_LISTING = """
WITH t AS (SELECT table_id, schema_id, table_name, path, path_is_relative, max(begin_snapshot)
           FROM ducklake_table GROUP BY table_id),
     s AS (SELECT schema_id, path, path_is_relative, max(begin_snapshot)
           FROM ducklake_schema GROUP BY schema_id),
     f AS (SELECT table_id, path, path_is_relative, file_size_bytes, begin_snapshot, end_snapshot
           FROM ducklake_data_file
           UNION ALL
           SELECT table_id, path, path_is_relative, file_size_bytes, begin_snapshot, end_snapshot
           FROM ducklake_delete_file)
SELECT s.path, s.path_is_relative, t.path, t.path_is_relative, f.path, f.path_is_relative,
       f.file_size_bytes, t.table_name, f.begin_snapshot, f.end_snapshot
FROM f JOIN t USING (table_id) JOIN s USING (schema_id)
"""


def catalog_files(
    catalog: Path, data: Path, at: int | None = None, every: bool = False
) -> list[DataFile]:
    """The files the catalog names: of the current snapshot, of snapshot ``at``, or (``every``)
    of every retained snapshot. Raises sqlite3.Error when the catalog cannot answer."""
    where = ""
    args: tuple[int, ...] = ()
    if at is not None:
        where = " WHERE f.begin_snapshot <= ? AND (f.end_snapshot IS NULL OR f.end_snapshot > ?)"
        args = (at, at)
    elif not every:
        where = " WHERE f.end_snapshot IS NULL"
    with _read_sqlite(catalog) as db:
        rows = db.execute(_LISTING + where, args).fetchall()
    out = []
    for s_path, s_rel, t_path, t_rel, f_path, f_rel, size, table, begin, end in rows:
        full = Path(f_path)
        if f_rel:
            schema_dir = data / s_path if s_rel else Path(s_path)
            full = (schema_dir / t_path if t_rel else Path(t_path)) / f_path
        out.append(DataFile(_rel(data, full), full, int(size), table, int(begin), end))
    return out


def _rel(data: Path, path: Path) -> str:
    try:
        return path.relative_to(data).as_posix()
    except ValueError:
        return path.as_posix()


def _known_names(catalog: Path) -> set[str]:
    """The names of every file the catalog knows: named by a retained snapshot or scheduled for
    deletion (DuckLake's names are unique: ``ducklake-<uuid>``)."""
    with _read_sqlite(catalog) as db:
        rows = db.execute(
            "SELECT path FROM ducklake_data_file UNION ALL SELECT path FROM ducklake_delete_file "
            "UNION ALL SELECT path FROM ducklake_files_scheduled_for_deletion"
        ).fetchall()
    return {Path(r[0]).name for r in rows}


def check_catalog(wh: Warehouse) -> None:
    """A one-line :class:`CatalogDamaged` when the catalog is not a readable DuckLake catalog."""
    fault = catalog_fault(wh.catalog_path)
    if fault is None:
        try:
            with _read_sqlite(wh.catalog_path) as db:
                db.execute("SELECT max(snapshot_id) FROM ducklake_snapshot").fetchone()
                db.execute(_LISTING + " LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            fault = _first_line(exc)
    if fault is not None:
        raise CatalogDamaged(
            f"warehouse {wh.root}: the catalog {wh.catalog_path.name} is damaged: {fault}; "
            + recover_hint(wh)
        )


def check_open(wh: Warehouse, as_of: str | int | None = None) -> None:
    """The cheap check of every open: the catalog answers, and each data file of the snapshot
    read (``as_of`` a number: that one; a time: every retained one) exists with the size the
    catalog recorded. Raises a one-line :class:`WarehouseError` naming the first bad file."""
    check_catalog(wh)
    try:
        files = catalog_files(
            wh.catalog_path,
            wh.data_path,
            at=as_of if isinstance(as_of, int) else None,
            every=isinstance(as_of, str),
        )
    except sqlite3.Error as exc:
        raise CatalogDamaged(
            f"warehouse {wh.root}: the catalog {wh.catalog_path.name} is damaged: "
            f"{_first_line(exc)}; " + recover_hint(wh)
        ) from exc
    for f in files:
        fault = size_fault(f)
        if fault is not None:
            raise WarehouseError(
                f"warehouse {wh.root}: data file {f.rel} of {f.table} {fault}; nothing was "
                "read: restore the file from a backup (`infoshos verify` lists every problem)"
            )


def size_fault(f: DataFile) -> str | None:
    try:
        size = f.path.stat().st_size
    except FileNotFoundError:
        return "is missing"
    except OSError as exc:
        return f"is unreadable ({exc.strerror or exc})"
    if size != f.size:
        return f"was changed: {size} bytes, the catalog recorded {f.size}"
    return None


def lost_catalog(wh: Warehouse) -> bool:
    """Whether the catalog is missing while data files or catalog copies exist."""
    if wh.catalog_path.exists() or wh.catalog_path.is_symlink():
        return False
    if wh.data_path.is_dir() and any(
        OWN_FILE.fullmatch(p.name) for p in wh.data_path.rglob("*.parquet")
    ):
        return True
    return bool(copies(wh))


# -- checksums ------------------------------------------------------------------------------
def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _on_disk(data: Path) -> dict[str, Path]:
    """DuckLake's files in the data folder, by path under it."""
    if not data.is_dir():
        return {}
    return {_rel(data, p): p for p in data.rglob("*.parquet") if OWN_FILE.fullmatch(p.name)}


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
    known = _known_names(catalog) if have else set()
    return {rel: p for rel, p in _on_disk(data).items() if rel not in have and p.name not in known}


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


# -- free space -----------------------------------------------------------------------------
def min_free_bytes() -> int:
    text = os.environ.get(MIN_FREE_ENV, str(DEFAULT_MIN_FREE_MB))
    try:
        value = float(text)
    except ValueError:
        raise WarehouseError(f"{MIN_FREE_ENV}={text!r} is not a number of megabytes") from None
    return int(max(value, 0) * 1024 * 1024)


def check_free_space(wh: Warehouse) -> None:
    """Refuse to start a write with less free space than ``INFOSHOS_MIN_FREE_MB`` (200 MB)."""
    need = min_free_bytes()
    free = shutil.disk_usage(wh.root).free
    if free < need:
        raise WarehouseError(
            f"only {free / 2**20:.0f} MB free in {wh.root}, less than the {need / 2**20:.0f} MB "
            f"a run needs ({MIN_FREE_ENV}); free some space first (nothing was changed)"
        )


def disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is a write that found no space."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if "No space left on device" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


# -- catalog copies -------------------------------------------------------------------------
def copies(wh: Warehouse) -> list[tuple[int, Path]]:
    """The catalog copies, newest first: (snapshot, file)."""
    folder = wh.copies_path
    if not folder.is_dir():
        return []
    found = []
    for p in folder.glob("lake-*.sqlite"):
        number = p.stem.removeprefix("lake-")
        if number.isdigit():
            found.append((int(number), p))
    return sorted(found, reverse=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _backup(src: Path, dst: Path, journal: str) -> None:
    """Copy the SQLite database ``src`` to ``dst`` whole (SQLite's backup API), atomically."""
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
    try:
        with _read_sqlite(src) as source:
            target = sqlite3.connect(tmp)
            try:
                source.backup(target)
                target.execute(f"PRAGMA journal_mode={journal}")
            finally:
                target.close()
        _fsync(tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def save_copy(wh: Warehouse) -> Path | None:
    """Copy the catalog to ``catalog/lake-<snapshot>.sqlite`` (kept: the newest
    :data:`KEEP_COPIES`). A failure is logged, never fatal: the copy is a safety net."""
    try:
        number = wh.snapshot_id()
        wh.copies_path.mkdir(exist_ok=True)
        final = wh.copies_path / f"lake-{number:08d}.sqlite"
        if not final.exists():
            _backup(wh.catalog_path, final, "DELETE")
        for _, old in copies(wh)[KEEP_COPIES:]:
            old.unlink(missing_ok=True)
        return final
    except (OSError, sqlite3.Error, WarehouseError) as exc:
        log.warning("catalog copy not made (%s); the next run makes one", exc)
        return None


def ensure_copy(wh: Warehouse) -> None:
    """Copy the catalog when it is newer than its newest copy (a writer killed between its
    commit and its copy): called when the lock is taken."""
    newest = copies(wh)
    try:
        current = wh.snapshot_id() if wh.exists() else 0
    except WarehouseError:
        return  # a damaged catalog is never copied
    if current and (not newest or newest[0][0] < current):
        save_copy(wh)


# -- verify ---------------------------------------------------------------------------------
@dataclass
class Report:
    """What ``infoshos verify`` found."""

    root: Path
    snapshot: int = 0
    snapshots: int = 0
    files: int = 0
    bytes: int = 0
    copies: int = 0
    newest_copy: int | None = None
    quarantined: int = 0
    index: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        verdict = "ok" if self.ok else f"{len(self.problems)} problem(s)"
        copy = f", newest snapshot {self.newest_copy}" if self.newest_copy is not None else ""
        quarantine = f"; {self.quarantined} files in quarantine/" if self.quarantined else ""
        return (
            f"verify {self.root}: snapshot {self.snapshot}, {self.snapshots} retained "
            f"snapshots, {self.files} data files ({self.bytes / 2**20:.1f} MB) checked by size "
            f"and sha256; {self.copies} catalog copies{copy}; search index {self.index}"
            f"{quarantine}: {verdict}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "warehouse": str(self.root),
            "ok": self.ok,
            "snapshot": self.snapshot,
            "retained_snapshots": self.snapshots,
            "files": self.files,
            "bytes": self.bytes,
            "catalog_copies": self.copies,
            "newest_copy": self.newest_copy,
            "quarantined": self.quarantined,
            "search_index": self.index,
            "problems": self.problems,
        }


def verify(wh: Warehouse) -> Report:
    """Check the whole warehouse: the catalog, its schema version, every file of every retained
    snapshot (present, recorded size, recorded sha256), files no snapshot names, the catalog
    copies and the search index. Raises WarehouseError only when there is no warehouse."""
    report = Report(wh.root)
    found = copies(wh)
    report.copies = len(found)
    report.newest_copy = found[0][0] if found else None
    if wh.quarantine_path.is_dir():
        report.quarantined = sum(1 for p in wh.quarantine_path.rglob("*") if p.is_file())
    try:
        if not wh.exists():
            raise WarehouseError(f"no warehouse at {wh.root} (run `infoshos run` first)")
        check_catalog(wh)
        con = wh.connect(read_only=True, check=False)
    except CatalogDamaged as exc:
        report.problems.append(f"catalog: {exc}")
        return report
    try:
        wh._check_version(con)
        sums = recorded(con)
        row = con.execute(f"SELECT count(*) FROM {LAKE}.snapshots()").fetchone()
        report.snapshots = int(row[0]) if row else 0
    except (duckdb.Error, WarehouseError) as exc:
        report.problems.append(f"catalog: {_first_line(exc)}")
        return report
    finally:
        con.close()
    report.snapshot = wh.snapshot_id()
    sums = {**{p: (s, h) for p, s, h in read_pending(wh)}, **sums}
    files = catalog_files(wh.catalog_path, wh.data_path, every=True)
    report.files = len(files)
    report.bytes = sum(f.size for f in files)
    for f, fault in checksum_faults(files, sums):
        report.problems.append(
            f"{f.rel} ({f.table}, snapshots {f.begin}-{f.end or 'now'}): {fault}"
        )
    known = _known_names(wh.catalog_path)
    for rel, p in sorted(_on_disk(wh.data_path).items()):
        if p.name not in known:
            report.problems.append(
                f"{rel}: named by no snapshot (a killed run's file; the next run deletes it)"
            )
    if report.newest_copy is None or report.newest_copy < report.snapshot:
        report.problems.append(
            f"catalog copies: none of snapshot {report.snapshot} (the next run makes one)"
        )
    report.index = _index_state(wh, report.snapshot)
    return report


def _index_state(wh: Warehouse, snapshot: int) -> str:
    from infoshos.warehouse.search import index_path, indexed_snapshot

    indexed = indexed_snapshot(index_path(wh))
    if indexed is None:
        return "absent (the next search builds it)"
    if indexed != snapshot:
        return f"of snapshot {indexed} (the next search rebuilds it)"
    return "fresh"


# -- recover --------------------------------------------------------------------------------
@dataclass
class Recovered:
    snapshot: Snapshot
    copy: Path
    damaged: list[Path]
    quarantined: list[Path]
    skipped: list[str]

    def lines(self) -> list[str]:
        rows = ", ".join(f"{k} {v}" for k, v in sorted(self.snapshot.rows.items()) if v)
        out = [
            f"recovered snapshot {self.snapshot.number} from {self.copy.name}: {rows or 'no rows'}"
        ]
        if self.damaged:
            out.append(f"the damaged catalog is kept as {', '.join(str(p) for p in self.damaged)}")
        if self.quarantined:
            out.append(
                f"{len(self.quarantined)} data files no retained snapshot names were moved to "
                f"{self.quarantined[0].parent}"
            )
        out += [f"skipped {s}" for s in self.skipped]
        return out


def _copy_fault(wh: Warehouse, copy: Path) -> str | None:
    """Why the catalog copy cannot be installed: damaged, or one of its files missing, of
    another size or with another sha256 than it records. None when it is sound."""
    fault = catalog_fault(copy)
    if fault is not None:
        return fault
    try:
        with _read_sqlite(copy) as db:
            row = db.execute("PRAGMA quick_check").fetchone()
            if not row or row[0] != "ok":
                return f"quick_check: {row[0] if row else 'no answer'}"
        files = catalog_files(copy, wh.data_path, every=True)
    except sqlite3.Error as exc:
        return _first_line(exc)
    con = _attach_copy(wh, copy)
    try:
        sums = recorded(con)
    except duckdb.Error as exc:
        return _first_line(exc)
    finally:
        con.close()
    for f, problem in checksum_faults(files, sums):
        if problem != "has no recorded checksum":
            return f"{f.rel} {problem}"
    return None


def _attach_copy(wh: Warehouse, copy: Path) -> duckdb.DuckDBPyConnection:
    from infoshos.warehouse import extensions

    con = extensions.load(extensions.connect())
    con.execute(attach_sql(wh.root, read_only=True, catalog=copy))
    return con


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def recover(wh: Warehouse) -> Recovered | None:
    """Rebuild a missing or damaged catalog from the newest sound copy (None when the catalog
    is sound: nothing to do). The damaged catalog is moved aside, never deleted; data files no
    retained snapshot of the copy names are moved to ``quarantine/``, never deleted."""
    with wh.hold_lock():
        if wh.catalog_path.exists():
            try:
                check_catalog(wh)
                wh.connect(check=False).close()
                return None
            except WarehouseError:
                pass
        elif not lost_catalog(wh):
            raise WarehouseError(f"no warehouse at {wh.root} (nothing to recover)")
        skipped = []
        chosen = None
        for number, copy in copies(wh):
            fault = _copy_fault(wh, copy)
            if fault is None:
                chosen = copy
                break
            skipped.append(f"the copy of snapshot {number}: {fault}")
        if chosen is None:
            why = "; ".join(skipped) or f"{wh.copies_path} holds none"
            raise WarehouseError(
                f"warehouse {wh.root}: no sound catalog copy to recover from ({why}); "
                "nothing was changed"
            )
        stamp = _stamp()
        damaged = []
        for suffix in ("", "-wal", "-shm"):
            old = wh.catalog_path.with_name(wh.catalog_path.name + suffix)
            if old.exists():
                aside = wh.copies_path / f"damaged-{stamp}-{old.name}"
                os.replace(old, aside)
                damaged.append(aside)
        _backup(chosen, wh.catalog_path, "WAL")
        known = _known_names(wh.catalog_path)
        quarantined = []
        for rel, p in sorted(_on_disk(wh.data_path).items()):
            if p.name not in known:
                target = wh.quarantine_path / stamp / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(p, target)
                quarantined.append(target)
        from infoshos.warehouse.search import index_path

        index_path(wh).unlink(missing_ok=True)  # derived; rebuilt by the next search
        return Recovered(wh.current(), chosen, damaged, quarantined, skipped)
