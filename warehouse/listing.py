"""The local lake's files, listed: those the SQLite catalog names and those the data folder holds.

The catalog is read straight from its SQLite file (no DuckDB, no lake attached), so the listing
works on a catalog DuckDB would refuse and on a copy of the catalog (catalog_copies.py). A
:class:`DataFile` is one data or delete file the catalog names, with the size it recorded;
:func:`size_fault` compares it with the file on disk (one ``stat``).

Rules: nothing here writes; a catalog that cannot answer raises ``sqlite3.Error`` (the callers
word it: integrity.py); only the files DuckLake names as its own (``OWN_FILE``) are the lake's.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from infoshos.warehouse.store import OWN_FILE


@dataclass(frozen=True)
class DataFile:
    """A data or delete file the catalog names."""

    rel: str  # the path under the data folder (posix)
    path: Path
    size: int
    table: str
    begin: int
    end: int | None


@contextlib.contextmanager
def read_sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the SQLite file at ``path``, closed after use."""
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


def probe(catalog: Path) -> None:
    """Ask the catalog the questions the listing asks (cheaply: one row). Raises
    sqlite3.Error when it cannot answer."""
    with read_sqlite(catalog) as db:
        db.execute("SELECT max(snapshot_id) FROM ducklake_snapshot").fetchone()
        db.execute(_LISTING + " LIMIT 1").fetchall()


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
    with read_sqlite(catalog) as db:
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


def known_names(catalog: Path) -> set[str]:
    """The names of every file the catalog knows: named by a retained snapshot or scheduled for
    deletion (DuckLake's names are unique: ``ducklake-<uuid>``)."""
    with read_sqlite(catalog) as db:
        rows = db.execute(
            "SELECT path FROM ducklake_data_file UNION ALL SELECT path FROM ducklake_delete_file "
            "UNION ALL SELECT path FROM ducklake_files_scheduled_for_deletion"
        ).fetchall()
    return {Path(r[0]).name for r in rows}


def on_disk(data: Path) -> dict[str, Path]:
    """DuckLake's files in the data folder, by path under it."""
    if not data.is_dir():
        return {}
    return {_rel(data, p): p for p in data.rglob("*.parquet") if OWN_FILE.fullmatch(p.name)}


def size_fault(f: DataFile) -> str | None:
    """What is wrong with the file on disk (missing, unreadable, of another size), or None."""
    try:
        size = f.path.stat().st_size
    except FileNotFoundError:
        return "is missing"
    except OSError as exc:
        return f"is unreadable ({exc.strerror or exc})"
    if size != f.size:
        return f"was changed: {size} bytes, the catalog recorded {f.size}"
    return None
