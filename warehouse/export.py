"""Export a snapshot of the warehouse as a self-contained folder of Parquet files.

Layout of an export::

    <table>/part-0.parquet                          small tables: one file
    articles/source=<s>/year=<yyyy>/part-0.parquet  hive partitions (year of published_at)
    pages/source=<s>/year=<yyyy>/part-0.parquet     hive partitions (year of fetched_at)
    schema.json                                     every table and column: types, meaning, example
    README.md                                       the data dictionary and how to read the files
    SHA256SUMS                                      ``sha256sum -c SHA256SUMS`` checks every file
    manifest.json                                   row counts and sha256 of every file

Partition columns (``source``, ``year``) live in the folder names only, as hive readers expect
(DuckDB ``hive_partitioning = true``, ``pyarrow.dataset`` ``partitioning="hive"``). Every file is
zstd-compressed. Reading an export needs no infoshos code.

Filters apply consistently: ``since`` keeps articles published on or after that date (UTC), pages
fetched since then, and runs (with their rejects) started since then; ``sources`` keeps those
sources' articles, pages, rejects and the runs that crawled them. The tables about articles
(versions, clusters, links, mentions, roles, countries, topics) follow the articles kept, pages
that kept articles were extracted from are kept as well, and entities are those the kept rows
refer to.

The export is written into a hidden folder next to ``to`` and renamed into place at the end, so
``to`` never holds a half-written export.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from infoshos.warehouse.catalog import duckdb_type
from infoshos.warehouse.docs import arrow_type, schema_markdown
from infoshos.warehouse.guard import enclosing_warehouse
from infoshos.warehouse.schema import PUBLIC_TABLES, SCHEMA_VERSION, TABLES, TS, Table
from infoshos.warehouse.store import COMPRESSION, Snapshot, Warehouse, WarehouseError

EXPORT_FORMAT = "infoshos-export"
EXPORT_VERSION = 1
#: Tables written as hive partitions by source and by the year of this timestamp column.
PARTITIONED: dict[str, str] = {"articles": "published_at", "pages": "fetched_at"}
#: Rows are buffered per output file and written as row groups of about this many rows.
ROW_GROUP_ROWS = 100_000
#: Rows read from the warehouse at a time.
BATCH_ROWS = 20_000
#: The year partition of rows whose timestamp is null.
UNKNOWN_YEAR = 0
EXAMPLE_CHARS = 80


class ExportError(WarehouseError, ValueError):
    """A bad argument or target folder for an export, worded for the operator (one line)."""


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


# -- choosing the rows ----------------------------------------------------------------------
def _in(column: pa.ChunkedArray | pa.Array, values: set[str]) -> pa.ChunkedArray | pa.Array:
    mask = pc.is_in(column, value_set=pa.array(sorted(values), pa.string()))
    return pc.fill_null(mask, False)


def _since(column: pa.ChunkedArray | pa.Array, cut: datetime) -> pa.ChunkedArray | pa.Array:
    return pc.fill_null(pc.greater_equal(column, pa.scalar(cut, TS)), False)


def _and(*masks: pa.ChunkedArray | pa.Array | None) -> pa.ChunkedArray | pa.Array | None:
    out: pa.ChunkedArray | pa.Array | None = None
    for m in masks:
        if m is not None:
            out = m if out is None else pc.and_(out, m)
    return out


@dataclass
class _Selection:
    """Which rows of each table an export keeps (``None``: every row)."""

    article_ids: set[str] | None = None
    page_ids: set[str] = field(default_factory=set)
    entity_ids: set[str] | None = None
    run_ids: set[str] | None = None
    sources: set[str] | None = None
    cut: datetime | None = None

    def mask(self, name: str, rows: pa.Table) -> pa.ChunkedArray | pa.Array | None:
        if self.article_ids is None and self.run_ids is None and self.sources is None:
            return None
        ids = self.article_ids
        if name == "articles":
            return None if ids is None else _in(rows["article_id"], ids)
        if name == "pages":
            by_time = _and(
                None if self.sources is None else _in(rows["source"], self.sources),
                None if self.cut is None else _since(rows["fetched_at"], self.cut),
            )
            if by_time is None:
                return None
            return pc.or_(by_time, _in(rows["page_id"], self.page_ids))
        if name == "article_links":
            assert ids is not None
            return pc.and_(_in(rows["article_id"], ids), _in(rows["other_id"], ids))
        if "article_id" in rows.column_names and name != "rejects":
            assert ids is not None
            return _in(rows["article_id"], ids)
        if name == "entities":
            assert self.entity_ids is not None
            return _in(rows["entity_id"], self.entity_ids)
        if name in ("rejects", "runs"):
            by_source = None
            if self.sources is not None and name == "rejects":
                by_source = _in(rows["source"], self.sources)
            by_run = None if self.run_ids is None else _in(rows["run_id"], self.run_ids)
            return _and(by_source, by_run)
        raise AssertionError(f"no filter for table {name}")


def _read_batches(wh: Warehouse, snap: Snapshot, name: str) -> Iterator[pa.Table]:
    """The table in batches of at most ``BATCH_ROWS`` rows (memory stays bounded: ``pages``
    holds every response body), typed as the schema says, as it was in ``snap``."""
    yield from wh.scan(name, snapshot=snap, batch_rows=BATCH_ROWS)


def _read(wh: Warehouse, snap: Snapshot, name: str, columns: Sequence[str]) -> pa.Table:
    return wh.read(name, columns=columns, snapshot=snap)


def _select(
    wh: Warehouse, snap: Snapshot, since: date | None, sources: Sequence[str] | None
) -> _Selection:
    if since is None and sources is None:
        return _Selection()
    wanted = set(sources) if sources is not None else None
    if wanted is not None:
        known: set[str] = set()
        for name in ("articles", "pages", "rejects"):
            known.update(
                v for v in pc.unique(_read(wh, snap, name, ["source"])["source"]).to_pylist() if v
            )
        unknown = sorted(wanted - known)
        if unknown:
            raise ExportError(
                f"unknown source{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                f"the warehouse has: {', '.join(sorted(known)) or 'none'}"
            )
    cut = datetime.combine(since, time(0), tzinfo=UTC) if since is not None else None
    sel = _Selection(sources=wanted, cut=cut)

    articles = _read(wh, snap, "articles", ["article_id", "source", "published_at", "page_id"])
    mask = _and(
        None if wanted is None else _in(articles["source"], wanted),
        None if cut is None else _since(articles["published_at"], cut),
    )
    kept = articles.filter(mask) if mask is not None else articles
    sel.article_ids = set(kept["article_id"].to_pylist())
    sel.page_ids = {p for p in kept["page_id"].to_pylist() if p}
    versions = _read(wh, snap, "article_versions", ["article_id", "page_id"])
    versions = versions.filter(_in(versions["article_id"], sel.article_ids))
    sel.page_ids.update(p for p in versions["page_id"].to_pylist() if p)

    entity_ids: set[str] = set()
    for name, cols in (
        ("mentions", ["entity_id"]),
        ("article_countries", ["entity_id"]),
        ("roles", ["person_id", "org_id"]),
    ):
        rows = _read(wh, snap, name, ["article_id", *cols])
        rows = rows.filter(_in(rows["article_id"], sel.article_ids))
        for col in cols:
            entity_ids.update(v for v in rows[col].to_pylist() if v)
    sel.entity_ids = entity_ids

    runs = _read(wh, snap, "runs", ["run_id", "started_at", "sources"])
    run_ids = set()
    for run_id, started, crawled in zip(
        runs["run_id"].to_pylist(),
        runs["started_at"].to_pylist(),
        runs["sources"].to_pylist(),
        strict=True,
    ):
        if cut is not None and (started is None or started < cut):
            continue
        if wanted is not None and not (set(crawled or []) & wanted):
            continue
        run_ids.add(run_id)
    sel.run_ids = run_ids
    return sel


# -- writing --------------------------------------------------------------------------------
def _example(value: Any, type_: pa.DataType) -> Any:
    """A JSON-friendly, short rendering of one value."""
    if value is None:
        return None
    if pa.types.is_map(type_):
        return {str(k): _example(v, type_.item_type) for k, v in list(value)[:5]}
    if pa.types.is_list(type_):
        return [_example(v, type_.value_type) for v in list(value)[:5]]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        head = value[:32].decode("utf-8", "replace")
        return f"{head}{'…' if len(value) > 32 else ''} ({len(value)} bytes)"
    if isinstance(value, str):
        value = value.replace("\n", "\\n")
        return value if len(value) <= EXAMPLE_CHARS else value[: EXAMPLE_CHARS - 1] + "…"
    return value


def _example_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class _TableWriter:
    """Writes one table's rows into its folder: one file, or one file per hive partition."""

    def __init__(self, root: Path, spec: Table) -> None:
        self.root = root
        self.spec = spec
        self.ts_column = PARTITIONED.get(spec.name)
        self.file_schema = spec.schema
        if self.ts_column is not None:
            self.file_schema = pa.schema([f for f in spec.schema if f.name != "source"])
        self.buffers: dict[str, list[pa.Table]] = {}
        self.buffered: dict[str, int] = {}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.rows: dict[str, int] = {}
        self.examples: dict[str, Any] = {}

    def add(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        self._note_examples(rows)
        if self.ts_column is None:
            self._buffer("part-0.parquet", rows)
            return
        years = pc.fill_null(pc.cast(pc.year(rows[self.ts_column]), pa.int32()), UNKNOWN_YEAR)
        if "year" not in self.examples:
            self.examples["year"] = years[0].as_py()
        keys = pa.table({"source": rows["source"], "year": years})
        for group in keys.group_by(["source", "year"]).aggregate([]).to_pylist():
            source, year = group["source"], group["year"]
            mask = pc.and_(pc.equal(rows["source"], source), pc.equal(years, year))
            part = rows.filter(mask).select(self.file_schema.names)
            rel = f"source={quote(source, safe='')}/year={year}/part-0.parquet"
            self._buffer(rel, part)

    def _note_examples(self, rows: pa.Table) -> None:
        for column in self.spec.columns:
            if column.name in self.examples:
                continue
            values = rows[column.name].drop_null()
            if len(values):
                self.examples[column.name] = _example(values[0].as_py(), column.type)

    def _buffer(self, rel: str, rows: pa.Table) -> None:
        self.buffers.setdefault(rel, []).append(rows)
        self.buffered[rel] = self.buffered.get(rel, 0) + rows.num_rows
        self.rows[rel] = self.rows.get(rel, 0) + rows.num_rows
        if self.buffered[rel] >= ROW_GROUP_ROWS:
            self._flush(rel)

    def _flush(self, rel: str) -> None:
        parts = self.buffers.pop(rel, [])
        self.buffered.pop(rel, None)
        if not parts:
            return
        writer = self.writers.get(rel)
        if writer is None:
            path = self.root / self.spec.name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(path, self.file_schema, compression=COMPRESSION)
            self.writers[rel] = writer
        writer.write_table(pa.concat_tables(parts).cast(self.file_schema))

    def close(self) -> dict[str, int]:
        """Finish every file; returns rows per file (relative to the export root)."""
        for rel in list(self.buffers):
            self._flush(rel)
        for writer in self.writers.values():
            writer.close()
        if not self.writers:
            # an empty table is still one typed file (with its partition columns, if any)
            schema = self.spec.schema
            if self.ts_column is not None:
                schema = schema.append(pa.field("year", pa.int32()))
            folder = self.root / self.spec.name
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(schema.empty_table(), folder / "part-0.parquet", compression=COMPRESSION)
            self.rows["part-0.parquet"] = 0
        return {f"{self.spec.name}/{rel}": n for rel, n in sorted(self.rows.items())}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def _check_tables(tables: Sequence[str] | None) -> list[str]:
    if tables is None:
        return list(PUBLIC_TABLES)
    if isinstance(tables, str):
        tables = [tables]
    unknown = [t for t in tables if t not in PUBLIC_TABLES]
    if unknown:
        raise ExportError(
            f"unknown table{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"choose from {', '.join(PUBLIC_TABLES)}"
        )
    if not tables:
        raise ExportError("no tables to export")
    return [t for t in PUBLIC_TABLES if t in set(tables)]


def _check_target(wh: Warehouse, to: Path, overwrite: bool) -> list[str]:
    """Refuse a target that is not a folder, is in a warehouse, or holds files that no
    earlier export wrote; returns the files an earlier export wrote there (to replace)."""
    if to.exists() and not to.is_dir():
        raise ExportError(f"export target {to} exists and is not a folder")
    real_to, real_root = to.resolve(), wh.root.resolve()
    if real_root.is_relative_to(real_to):
        raise ExportError(f"export target {to} would contain the warehouse {wh.root}")
    if real_to.is_relative_to(real_root):
        raise ExportError(f"export target {to} is inside the warehouse {wh.root}")
    inside = enclosing_warehouse(to)
    if inside is not None:  # another warehouse than the one exported
        raise ExportError(f"export target {to} is inside the warehouse {inside}")
    if not to.is_dir() or not any(to.iterdir()):
        return []
    if not overwrite:
        raise ExportError(f"export target {to} is not empty; use overwrite=True (--overwrite)")
    return earlier_export_files(to)


def earlier_export_files(folder: Path) -> list[str]:
    """The files (relative paths) an earlier export wrote into ``folder``, as its
    ``manifest.json`` lists them (the manifest itself and ``SHA256SUMS`` included). Raises
    :class:`ExportError` when there is no readable export manifest: then nothing in the folder
    is known to be ours, and nothing is replaced."""
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != EXPORT_FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}")
        listed = [f["path"] for t in manifest["tables"].values() for f in t["files"]]
        listed += [d["path"] for d in manifest.get("documents", [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        why = (
            "no manifest.json" if not manifest_path.exists() else f"manifest.json unreadable: {exc}"
        )
        raise ExportError(
            f"export target {folder} is not empty and is not an earlier export ({why}); "
            "nothing replaced: choose an empty or new folder"
        ) from None
    real = folder.resolve()
    files: list[str] = []
    for rel in [*listed, "SHA256SUMS", "manifest.json"]:
        path = folder / str(rel)
        # only regular files inside the folder: a crafted manifest names nothing else
        if path.is_file() and not path.is_symlink() and path.resolve().is_relative_to(real):
            files.append(str(path.relative_to(folder)))
    return sorted(set(files))


def _move_into_place(tmp: Path, to: Path, replaced: Sequence[str]) -> None:
    """Move the new export from ``tmp`` into ``to``: the files of the earlier export
    (``replaced``) are removed, every other file in ``to`` stays as it is."""
    if not to.exists():
        os.replace(tmp, to)
        return
    if not any(to.iterdir()):
        to.rmdir()
        os.replace(tmp, to)
        return
    new = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
    clash = [rel for rel in new if rel not in replaced and (to / rel).exists()]
    if clash:
        raise ExportError(
            f"export target {to} holds {clash[0]}, which no earlier export wrote; "
            "nothing replaced: move it or choose another folder"
        )
    for rel in replaced:
        (to / rel).unlink(missing_ok=True)
        _remove_empty_parents(to / rel, to)
    for rel in sorted(new, key=lambda r: r == "manifest.json"):  # the manifest last
        (to / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / rel, to / rel)
    shutil.rmtree(tmp, ignore_errors=True)


def _remove_empty_parents(path: Path, top: Path) -> None:
    for parent in path.parents:
        if parent == top or not parent.is_relative_to(top):
            return
        try:
            parent.rmdir()  # only when empty
        except OSError:
            return


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
    names = _check_tables(tables)
    if isinstance(since, datetime):
        since = since.date()
    if isinstance(sources, str):
        sources = [sources]
    if sources is not None and not sources:
        sources = None  # no names given: every source
    if not wh.exists():
        raise ExportError(f"no warehouse at {wh.root} (run `infoshos run` first)")
    to = Path(to).expanduser().absolute()
    replaced = _check_target(wh, to, overwrite)

    snap = wh.current()
    selection = _select(wh, snap, since, sources)
    to.parent.mkdir(parents=True, exist_ok=True)
    tmp = to.with_name(f".{to.name}.tmp-{uuid.uuid4().hex}")
    tmp.mkdir()
    try:
        manifest = _write(wh, snap, tmp, names, selection, since, sources)
        _move_into_place(tmp, to, replaced)
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
    selection: _Selection,
    since: date | None,
    sources: Sequence[str] | None,
) -> dict[str, Any]:
    examples: dict[str, dict[str, Any]] = {}
    table_files: dict[str, dict[str, int]] = {}
    for name in names:
        writer = _TableWriter(tmp, TABLES[name])
        try:
            for rows in _read_batches(wh, snap, name):
                mask = selection.mask(name, rows)
                writer.add(rows if mask is None else rows.filter(mask))
        finally:
            table_files[name] = writer.close()
        examples[name] = writer.examples

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
                {"path": rel, "rows": rows, "bytes": path.stat().st_size, "sha256": _sha256(path)}
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
