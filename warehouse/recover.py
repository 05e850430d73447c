"""``infoshos recover``: a missing or damaged catalog rebuilt from its newest sound copy.

A copy is sound when SQLite finds it intact and every file of every snapshot it retains is
present with the size and sha256 it records (checksums.py); the newest sound copy
(catalog_copies.py) is installed in the catalog's place.

Rules: under the write lock; a sound catalog is left alone (nothing to do); nothing is ever
deleted: the damaged catalog is moved aside into ``catalog/``, and data files no retained
snapshot of the installed copy names are moved to ``quarantine/``; the search index, derived,
is dropped (the next search rebuilds it).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from infoshos.warehouse.catalog_copies import backup, copies
from infoshos.warehouse.checksums import checksum_faults, recorded
from infoshos.warehouse.integrity import catalog_fault, check_catalog, lost_catalog
from infoshos.warehouse.listing import catalog_files, known_names, on_disk, read_sqlite
from infoshos.warehouse.store import Warehouse, WarehouseError, _first_line, attach_sql

if TYPE_CHECKING:
    from infoshos.warehouse.store import Snapshot


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
        with read_sqlite(copy) as db:
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
        backup(chosen, wh.catalog_path, "WAL")
        known = known_names(wh.catalog_path)
        quarantined = []
        for rel, p in sorted(on_disk(wh.data_path).items()):
            if p.name not in known:
                target = wh.quarantine_path / stamp / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(p, target)
                quarantined.append(target)
        from infoshos.warehouse.search import index_path

        index_path(wh).unlink(missing_ok=True)  # derived; rebuilt by the next search
        return Recovered(wh.current(), chosen, damaged, quarantined, skipped)
