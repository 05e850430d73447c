"""The health of the local lake, checked: cheaply on every open, free space before a write, and
the whole warehouse by ``infoshos verify``.

- **Cheap check on every open.** A connection first checks that the catalog is an SQLite file
  that is not truncated and answers, and that every data file of the snapshot it reads exists
  with the size the catalog recorded (one ``stat`` per file). The full check (sha256,
  checksums.py) is done by ``infoshos verify`` and by ``compact`` before it rewrites files.
- **Free space.** A writer refuses to start with less free space than ``INFOSHOS_MIN_FREE_MB``;
  :func:`disk_full` finds a full disk in the chain of an error's causes.
- **verify.** Every file of every retained snapshot against its recorded size and sha256, the
  files no snapshot names, the catalog copies (catalog_copies.py) and the search index.

Rules: a check never changes anything; a problem is one line for the operator, offering
``infoshos recover`` (recover.py) when the catalog is lost or damaged; a catalog missing beside
data files or catalog copies is lost, never a new warehouse.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from infoshos.warehouse.catalog_copies import copies
from infoshos.warehouse.checksums import checksum_faults, read_pending, recorded
from infoshos.warehouse.listing import catalog_files, known_names, on_disk, probe, size_fault
from infoshos.warehouse.store import LAKE, OWN_FILE, Warehouse, WarehouseError, _first_line

#: The minimum free space in the warehouse folder before a writer starts.
MIN_FREE_ENV = "INFOSHOS_MIN_FREE_MB"
DEFAULT_MIN_FREE_MB = 200
SQLITE_MAGIC = b"SQLite format 3\x00"


class CatalogDamaged(WarehouseError):
    """The catalog is missing beside data, or not a readable DuckLake catalog."""


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


def check_catalog(wh: Warehouse) -> None:
    """A one-line :class:`CatalogDamaged` when the catalog is not a readable DuckLake catalog."""
    fault = catalog_fault(wh.catalog_path)
    if fault is None:
        try:
            probe(wh.catalog_path)
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


def lost_catalog(wh: Warehouse) -> bool:
    """Whether the catalog is missing while data files or catalog copies exist."""
    if wh.catalog_path.exists() or wh.catalog_path.is_symlink():
        return False
    if wh.data_path.is_dir() and any(
        OWN_FILE.fullmatch(p.name) for p in wh.data_path.rglob("*.parquet")
    ):
        return True
    return bool(copies(wh))


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
    known = known_names(wh.catalog_path)
    for rel, p in sorted(on_disk(wh.data_path).items()):
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
