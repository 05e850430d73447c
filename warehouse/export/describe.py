"""The files that describe an export: ``schema.json``, ``README.md``, ``SHA256SUMS`` and
``manifest.json``.

``manifest.json`` names the format (:data:`EXPORT_FORMAT`), the snapshot and run exported, the
filters, and every file with its row count, size and sha256; ``SHA256SUMS`` lets
``sha256sum -c SHA256SUMS`` check every file; ``schema.json`` gives every table and column (Arrow
and DuckDB types, meaning, an example value) in a machine-readable form; ``README.md`` is the
data dictionary (docs.py, with the examples) and how to read the files without infoshos.

Rules: the tables and columns are described from the declarations of schema.py, never from the
files; the manifest is written last (an export without it is not finished).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from infoshos.warehouse.catalog import duckdb_type
from infoshos.warehouse.checksums import sha256
from infoshos.warehouse.docs import arrow_type, schema_markdown
from infoshos.warehouse.export.files import PARTITIONED, UNKNOWN_YEAR
from infoshos.warehouse.schema import SCHEMA_VERSION, TABLES
from infoshos.warehouse.store import Snapshot

EXPORT_FORMAT = "infoshos-export"
EXPORT_VERSION = 1


def _partition_columns(name: str) -> tuple[tuple[str, pa.DataType, str, str], ...]:
    ts = PARTITIONED.get(name)
    if ts is None:
        return ()
    return (
        (
            "year",
            pa.int32(),
            "BIGINT",
            f"hive partition: year of {ts} (UTC), {UNKNOWN_YEAR} if null",
        ),
    )


def _example_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _schema_json(names: Sequence[str], examples: dict[str, dict[str, Any]]) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for name in names:
        spec = TABLES[name]
        columns = [
            {
                "name": c.name,
                "arrow_type": arrow_type(c.type),
                "duckdb_type": duckdb_type(c.type),
                "nullable": c.nullable and c.name not in spec.required,
                "meaning": c.doc,
                "example": examples.get(name, {}).get(c.name),
            }
            for c in spec.columns
        ]
        for col, at, dt, doc in _partition_columns(name):
            columns.append(
                {
                    "name": col,
                    "arrow_type": arrow_type(at),
                    "duckdb_type": dt,
                    "nullable": False,
                    "meaning": doc,
                    "example": examples.get(name, {}).get(col),
                }
            )
        tables[name] = {
            "doc": spec.doc,
            "key": list(spec.key),
            "mode": spec.mode,
            "path": f"{name}/",
            "glob": f"{name}/**/*.parquet",
            "partitioned_by": ["source", "year"] if name in PARTITIONED else [],
            "columns": columns,
        }
    return {"schema_version": SCHEMA_VERSION, "tables": tables}


def _readme(
    manifest: dict[str, Any], names: Sequence[str], examples: dict[str, dict[str, Any]]
) -> str:
    filters = manifest["filters"]
    since = filters["since"] or "none"
    sources = ", ".join(filters["sources"]) if filters["sources"] else "all"
    lines = [
        "# infoshos export",
        "",
        f"A snapshot of an infoshos warehouse (snapshot {manifest['snapshot']}, run "
        f"`{manifest['run_id']}`), exported {manifest['created_at']}. Schema version "
        f"{SCHEMA_VERSION}.",
        "",
        f"Filters: published/fetched/started since **{since}**; sources: **{sources}**.",
        "",
        "## Files",
        "",
        "Each table is a folder of zstd-compressed Parquet files. `articles` and `pages` are "
        "hive-partitioned as `source=<name>/year=<yyyy>/part-0.parquet`: the `source` and `year` "
        "columns come from the folder names (a hive reader adds them). The other tables are one "
        "file each, `<table>/part-0.parquet`.",
        "",
        "| table | rows | files |",
        "|---|---|---|",
    ]
    for name in names:
        info = manifest["tables"][name]
        lines.append(f"| `{name}` | {info['rows']} | {len(info['files'])} |")
    lines += [
        "",
        "`manifest.json` lists every file with its row count, size and sha256; "
        "`sha256sum -c SHA256SUMS` checks them. `schema.json` describes every column (Arrow and "
        "DuckDB types, meaning, an example value) in a machine-readable form.",
        "",
        "When the export is filtered, the tables about articles follow the articles kept, so "
        "`clusters.cluster_id` or `article_links.other_id` may name an article that was not "
        "exported (the canonical member of a cluster published before the cut, for example).",
        "",
        "## Reading it",
        "",
        "DuckDB (CLI or Python), from this folder:",
        "",
        "```sql",
        "SELECT source, year, count(*) FROM read_parquet('articles/**/*.parquet', "
        "hive_partitioning = true) GROUP BY ALL ORDER BY ALL;",
        "CREATE VIEW mentions AS SELECT * FROM read_parquet('mentions/**/*.parquet');",
        "```",
        "",
        "pyarrow:",
        "",
        "```python",
        "import pyarrow.dataset as ds",
        'articles = ds.dataset("articles", format="parquet", partitioning="hive").to_table()',
        'entities = ds.dataset("entities", format="parquet").to_table()',
        "```",
        "",
        "pandas (with pyarrow installed):",
        "",
        "```python",
        "import pandas as pd",
        'articles = pd.read_parquet("articles")  # adds source and year from the folders',
        "```",
        "",
        "polars:",
        "",
        "```python",
        "import polars as pl",
        'articles = pl.read_parquet("articles/**/*.parquet", hive_partitioning=True)',
        "```",
        "",
    ]
    examples_text = {
        t: {c: _example_text(v) for c, v in cols.items()} for t, cols in examples.items()
    }
    dictionary = schema_markdown(
        level=2,
        examples=examples_text,
        extra_columns={name: _partition_columns(name) for name in names},
        tables=names,
    )
    return "\n".join(lines) + "\n" + dictionary


def write_description(
    tmp: Path,
    snap: Snapshot,
    names: Sequence[str],
    table_files: dict[str, dict[str, int]],
    examples: dict[str, dict[str, Any]],
    since: date | None,
    sources: Sequence[str] | None,
) -> dict[str, Any]:
    """Write the describing files into ``tmp`` for the tables written there (``table_files``:
    rows per file of each table); returns the manifest."""
    manifest: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_VERSION,
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "snapshot": snap.number,
        "run_id": snap.run_id,
        "filters": {
            "since": since.isoformat() if since else None,
            "sources": sorted(sources) if sources is not None else None,
        },
        "tables": {},
        "documents": [],
    }
    for name in names:
        files: list[dict[str, Any]] = []
        for rel, rows in table_files[name].items():
            path = tmp / rel
            files.append(
                {"path": rel, "rows": rows, "bytes": path.stat().st_size, "sha256": sha256(path)}
            )
        manifest["tables"][name] = {
            "rows": sum(f["rows"] for f in files),
            "partitioned_by": ["source", "year"] if name in PARTITIONED else [],
            "files": files,
        }
    documents = {
        "schema.json": json.dumps(_schema_json(names, examples), indent=1, ensure_ascii=False),
        "README.md": _readme(manifest, names, examples),
    }
    for rel, text in documents.items():
        data = (text.rstrip("\n") + "\n").encode()
        (tmp / rel).write_bytes(data)
        manifest["documents"].append(
            {"path": rel, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        )
    sums = [
        f"{f['sha256']}  {f['path']}" for info in manifest["tables"].values() for f in info["files"]
    ] + [f"{d['sha256']}  {d['path']}" for d in manifest["documents"]]
    (tmp / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest
