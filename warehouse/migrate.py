"""``infoshos migrate``: convert a warehouse written by the old snapshot store into the lake.

The current snapshot's tables are copied, file by file, into a new lake in one transaction
(published only when every table holds the same number of rows as the old snapshot). The old
files are then moved, untouched, into ``legacy-store/`` inside the warehouse: nothing is deleted.
"""

from __future__ import annotations

import os
from pathlib import Path

from infoshos.warehouse.legacy import LEGACY_ENTRIES, is_legacy, read_batches, read_current
from infoshos.warehouse.schema import SCHEMA_VERSION, TABLES
from infoshos.warehouse.search import index
from infoshos.warehouse.store import QualityGateError, Snapshot, Warehouse, WarehouseError

LEGACY_FOLDER = "legacy-store"


def migrate(wh: Warehouse) -> tuple[int, Snapshot]:
    """Copy the old store's current snapshot into a new lake; returns (old snapshot number,
    the lake's snapshot)."""
    root = wh.root
    if wh.exists():
        raise WarehouseError(f"warehouse {root} is already a lake; nothing to migrate")
    if not is_legacy(root):
        raise WarehouseError(f"no warehouse of the old format at {root} (no CURRENT file)")
    try:
        old = read_current(root)
    except (OSError, ValueError, KeyError) as exc:
        raise WarehouseError(f"warehouse {root}: the old snapshot is unreadable: {exc}") from exc
    if old.schema_version > SCHEMA_VERSION:
        raise WarehouseError(
            f"warehouse {root} has schema version {old.schema_version}, newer than this "
            f"infoshos ({SCHEMA_VERSION}); upgrade infoshos to migrate it"
        )
    target = root / LEGACY_FOLDER
    if target.exists():
        raise WarehouseError(f"{target} exists already; move it away first")
    unknown = sorted(set(old.tables) - set(TABLES))
    if unknown:
        raise WarehouseError(f"the old snapshot has tables this infoshos does not know: {unknown}")
    # the lake is created next to the old files: lock() refuses an old-format folder, so the
    # lock is taken through a view of the folder that ignores them until the move below
    with _LegacyBlind(root).lock():
        tx = _LegacyBlind(root).transaction(f"migrate-{old.number:06d}")
        for name in TABLES:
            for part in read_batches(root, old, name):
                tx.append(name, part)
        wrong = {
            n: (old.rows.get(n, 0), tx.rows.get(n, 0))
            for n in TABLES
            if old.rows.get(n, 0) != tx.rows.get(n, 0)
        }
        if wrong:
            tx.rollback()
            raise QualityGateError(f"migration refused, row counts differ: {wrong}")
        snap = tx.commit()
        target.mkdir()
        for entry in LEGACY_ENTRIES:
            if (root / entry).exists():
                os.replace(root / entry, target / entry)
    index(wh)
    return old.number, snap


class _LegacyBlind(Warehouse):
    """The warehouse folder seen as a lake even while the old files are still in it."""

    def _refuse_legacy(self) -> None:
        return None


def legacy_folder(root: Path) -> Path:
    return root / LEGACY_FOLDER
