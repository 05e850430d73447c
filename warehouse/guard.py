"""What is a warehouse folder, recognised by its files: so that no command other than the
warehouse's own writer writes into one (``report --out``, ``export --to``).

A folder is a warehouse when it holds one of :data:`MARKER_FILES` (the snapshot pointer, the
DuckDB catalog), all of :data:`MARKER_DIRS` (the data files and their snapshots), the
lake's data layout (:data:`LAKE_DIR`) or catalog copies (:data:`COPY_GLOB`): a warehouse whose
catalog is lost is still one, and ``infoshos recover`` needs it untouched. A storage
layout that changes (e.g. a DuckLake catalog) adds its own names here; the callers do not change.
"""

from __future__ import annotations

import os
from pathlib import Path

from infoshos.warehouse.store import CATALOG_COPIES, LAKE_CATALOG, LAKE_DATA, WarehouseError

#: Files only a warehouse holds: the DuckLake catalog; in a warehouse of the old store (the
#: input of ``infoshos migrate``), the snapshot pointer and the catalog of views.
MARKER_FILES = (LAKE_CATALOG, "CURRENT", "infoshos.duckdb")
#: Folders that together make a warehouse: its data files and the snapshots naming them.
MARKER_DIRS = ("tables", "snapshots")
#: The folder of DuckLake's data layout (``lake/main/<table>/``).
LAKE_DIR = f"{LAKE_DATA}/main"
#: Catalog copies (``catalog/lake-<snapshot>.sqlite``).
COPY_GLOB = "lake-*.sqlite"


def is_warehouse(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` is laid out as a warehouse (see the module doc)."""
    path = Path(folder)
    if not path.is_dir():
        return False
    if any((path / name).is_file() for name in MARKER_FILES):
        return True
    if (path / LAKE_DIR).is_dir() or any((path / CATALOG_COPIES).glob(COPY_GLOB)):
        return True
    return all((path / name).is_dir() for name in MARKER_DIRS)


def enclosing_warehouse(target: str | os.PathLike[str]) -> Path | None:
    """The warehouse folder that ``target`` (a file or folder, existing or not) lies in or is,
    else None. Symbolic links are resolved first."""
    path = Path(target).expanduser().absolute().resolve()
    for folder in (path, *path.parents):
        if is_warehouse(folder):
            return folder
    return None


def refuse_inside_warehouse(target: str | os.PathLike[str], option: str) -> None:
    """Raise a one-line :class:`WarehouseError` when ``target`` lies inside a warehouse folder
    (``option`` names what the operator gave, e.g. ``--out``)."""
    found = enclosing_warehouse(target)
    if found is not None:
        raise WarehouseError(
            f"{option} {target} is inside the warehouse {found}; only infoshos runs write "
            "there: choose a folder outside it"
        )
