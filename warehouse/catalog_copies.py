"""Copies of the local lake's catalog, the safety net ``infoshos recover`` installs from.

After each commit the catalog is copied with SQLite's backup API to
``catalog/lake-<snapshot>.sqlite`` (the last :data:`KEEP_COPIES`); a writer that finds the catalog
newer than its newest copy (a writer killed between its commit and its copy) makes one when it
takes the lock (:func:`ensure_copy`).

Rules: a copy is written whole under a temporary name, synced and renamed into place
(:func:`backup`, also how ``recover`` installs one); failing to make a copy is logged, never
fatal; a damaged catalog is never copied.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import uuid
from pathlib import Path

from infoshos.warehouse.listing import read_sqlite
from infoshos.warehouse.store import Warehouse, WarehouseError

#: How many catalog copies are kept (the newest).
KEEP_COPIES = 20

log = logging.getLogger(__name__)


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


def backup(src: Path, dst: Path, journal: str) -> None:
    """Copy the SQLite database ``src`` to ``dst`` whole (SQLite's backup API), atomically."""
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
    try:
        with read_sqlite(src) as source:
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
            backup(wh.catalog_path, final, "DELETE")
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
