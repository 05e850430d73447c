"""Export a snapshot of the warehouse as a self-contained folder of Parquet files.

Layout of an export::

    <table>/part-0.parquet                          small tables: one file
    articles/source=<s>/year=<yyyy>/part-0.parquet  hive partitions (year of published_at)
    pages/source=<s>/year=<yyyy>/part-0.parquet     hive partitions (year of fetched_at)
    schema.json                                     every table and column: types, meaning, example
    README.md                                       the data dictionary and how to read the files
    SHA256SUMS                                      ``sha256sum -c SHA256SUMS`` checks every file
    manifest.json                                   row counts and sha256 of every file

Every file is zstd-compressed. Reading an export needs no infoshos code. :func:`export_snapshot`
runs the steps in order, each in its module:

    selection.py   the tables named, and the rows the filters keep (``ExportError``)
    target.py      the target folder checked; at the end, the export moved into place
    files.py       the tables written as Parquet files (hive partitions), with examples
    describe.py    schema.json, README.md, SHA256SUMS and manifest.json

Rules: every argument and the target are checked before anything is written; the export is
written into a hidden folder next to the target and moved into place at the end (a failure
removes it), so the target never holds a half-written export.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from infoshos.warehouse.export.describe import write_description
from infoshos.warehouse.export.files import TableWriter
from infoshos.warehouse.export.selection import (
    ExportError,
    Selection,
    check_tables,
    kept_rows,
    select,
)
from infoshos.warehouse.export.target import check_target, move_into_place
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.store import Snapshot, Warehouse

__all__ = ["ExportError", "export_snapshot"]


def export_snapshot(
    wh: Warehouse,
    to: Path,
    since: date | None = None,
    sources: Sequence[str] | None = None,
    tables: Sequence[str] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Export the current snapshot of ``wh`` into the folder ``to``; returns the manifest.

    ``since`` keeps rows dated on or after that day (UTC), ``sources`` the named sources,
    ``tables`` the named tables (default: all). Raises :class:`ExportError` (a ``ValueError``)
    for an unknown table or source, and when ``to`` is not empty and ``overwrite`` is false.
    """
    names = check_tables(tables)
    if isinstance(since, datetime):
        since = since.date()
    if isinstance(sources, str):
        sources = [sources]
    if sources is not None and not sources:
        sources = None  # no names given: every source
    if not wh.exists():
        raise ExportError(f"no warehouse at {wh.root} (run `infoshos run` first)")
    to = Path(to).expanduser().absolute()
    replaced = check_target(wh, to, overwrite)

    snap = wh.current()
    selection = select(wh, snap, since, sources)
    to.parent.mkdir(parents=True, exist_ok=True)
    tmp = to.with_name(f".{to.name}.tmp-{uuid.uuid4().hex}")
    tmp.mkdir()
    try:
        manifest = _write(wh, snap, tmp, names, selection, since, sources)
        move_into_place(tmp, to, replaced)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest["path"] = str(to)
    return manifest


def _write(
    wh: Warehouse,
    snap: Snapshot,
    tmp: Path,
    names: Sequence[str],
    selection: Selection,
    since: date | None,
    sources: Sequence[str] | None,
) -> dict[str, Any]:
    """Write the tables the selection keeps into ``tmp``, then the files that describe them;
    returns the manifest."""
    examples: dict[str, dict[str, Any]] = {}
    table_files: dict[str, dict[str, int]] = {}
    for name in names:
        writer = TableWriter(tmp, TABLES[name])
        try:
            for rows in kept_rows(wh, snap, name, selection):
                writer.add(rows)
        finally:
            table_files[name] = writer.close()
        examples[name] = writer.examples
    return write_description(tmp, snap, names, table_files, examples, since, sources)
