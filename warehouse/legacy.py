"""The snapshot store of infoshos before the lake, kept only as the input of ``infoshos migrate``.

Layout of such a warehouse folder::

    tables/<table>/<run_id>-<n>.parquet   immutable data files
    snapshots/<NNNNNN>.json               which files make up each table in snapshot N
    CURRENT                               the name of the current snapshot file
    infoshos.duckdb                       views over the current snapshot

This module only reads it. :func:`migrate` in ``store`` copies the current snapshot into the lake
and moves these files into ``legacy-store/``, where nothing is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from infoshos.warehouse.schema import TABLES

#: Everything the old store wrote in a warehouse folder.
LEGACY_ENTRIES = ("CURRENT", "snapshots", "tables", "infoshos.duckdb")


@dataclass
class LegacySnapshot:
    number: int
    run_id: str | None
    schema_version: int
    tables: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def is_legacy(root: Path) -> bool:
    """Whether ``root`` holds a warehouse written by the old snapshot store."""
    return (root / "CURRENT").is_file()


def read_current(root: Path) -> LegacySnapshot:
    """The snapshot ``CURRENT`` names (ValueError/OSError/KeyError when damaged)."""
    name = (root / "CURRENT").read_text().strip()
    data: dict[str, Any] = json.loads((root / "snapshots" / name).read_text())
    tables = data.get("tables", {})
    return LegacySnapshot(
        number=int(data["snapshot"]),
        run_id=data.get("run_id"),
        schema_version=int(data.get("schema_version", 0)),
        tables={n: list(t["files"]) for n, t in tables.items()},
        rows={n: int(t.get("rows", 0)) for n, t in tables.items()},
    )


def read_batches(root: Path, snap: LegacySnapshot, table: str) -> Iterator[pa.Table]:
    """The table's rows file by file, typed as the schema says (columns added since are null)."""
    schema = TABLES[table].schema
    for rel in snap.tables.get(table, []):
        part = pq.read_table(root / rel)
        for name in schema.names:
            if name not in part.column_names:
                part = part.append_column(name, pa.nulls(part.num_rows, schema.field(name).type))
        yield part.select(schema.names).cast(schema)
