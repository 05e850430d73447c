"""DuckDB extensions, loaded from the PyPI wheels the locks pin (``duckdb-extension-<name>``).

This is the one place that loads extensions. Nothing is downloaded, ever: every connection this
project opens turns DuckDB's autoinstall and autoload of known extensions off and loads each
extension from its wheel's file with ``LOAD '<path>'``. DuckDB and the extension wheels are
pinned to the same version (1.5.5) in ``pyproject.toml``.

``python -m infoshos.warehouse.extensions`` installs the same files into DuckDB's own extension
folder (``~/.duckdb/extensions/v1.5.5/...``), so that a plain DuckDB 1.5 client, such as the
``duckdb`` command of the ``duckdb-cli`` package, can attach the lake offline (see the README).
"""

from __future__ import annotations

import importlib
import importlib.resources
import sys
from pathlib import Path

import duckdb

#: What the warehouse uses: the lake, its SQLite catalog and the search index. ``httpfs`` and
#: ``postgres_scanner`` are there for a lake whose catalog is Postgres or whose data is on S3.
EXTENSIONS = ("ducklake", "sqlite_scanner", "fts", "httpfs", "postgres_scanner")

#: Settings of every connection: no extension is ever fetched or loaded behind our back.
OFFLINE_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


class ExtensionError(RuntimeError):
    """An extension wheel is missing or does not match this DuckDB."""


def extension_path(name: str) -> Path:
    """The extension file shipped by ``duckdb-extension-<name>`` for this DuckDB version."""
    try:
        module = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError as exc:
        raise ExtensionError(
            f"DuckDB extension {name!r} is not installed (package duckdb-extension-"
            f"{name.replace('_', '-')}; run `make install`)"
        ) from exc
    version = "v" + duckdb.__version__.lstrip("v")
    path = Path(str(importlib.resources.files(module))) / "extensions" / version
    path = path / f"{name}.duckdb_extension"
    if not path.is_file():
        raise ExtensionError(f"DuckDB extension {name!r} has no build for DuckDB {version}")
    return path


def load(con: duckdb.DuckDBPyConnection, *names: str) -> duckdb.DuckDBPyConnection:
    """Load ``names`` (default: the lake's) into ``con`` from the wheels; returns ``con``."""
    for name in names or ("ducklake", "sqlite_scanner"):
        con.execute(f"LOAD '{extension_path(name)}'")
    return con


def connect(database: str = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that never installs or loads an extension by itself."""
    return duckdb.connect(database, read_only=read_only, config=dict(OFFLINE_CONFIG))


def install_for_clients(names: tuple[str, ...] = EXTENSIONS) -> list[str]:
    """Install the extension files into DuckDB's default extension folder (``~/.duckdb``),
    where any DuckDB client of the same version finds them; returns the names installed."""
    con = connect()
    try:
        for name in names:
            con.execute(f"FORCE INSTALL '{extension_path(name)}'")
    finally:
        con.close()
    return list(names)


if __name__ == "__main__":
    done = install_for_clients()
    print(f"installed for DuckDB {duckdb.__version__}: {', '.join(done)}")
    sys.exit(0)
