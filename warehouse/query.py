"""Run SQL against the catalog and format the result as a table, CSV or JSON Lines."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import duckdb

from infoshos.warehouse.catalog import connect
from infoshos.warehouse.extensions import OFFLINE_CONFIG
from infoshos.warehouse.store import Warehouse, WarehouseError

FORMATS = ("table", "csv", "json")
MAX_CELL = 60


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    value = _jsonable(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("\n", " ")


def format_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    if fmt == "json":
        return "".join(
            json.dumps(
                {c: _jsonable(v) for c, v in zip(columns, row, strict=True)}, ensure_ascii=False
            )
            + "\n"
            for row in rows
        )
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
        return buf.getvalue()
    cells = [[_cell(v) for v in row] for row in rows]
    cells = [[c if len(c) <= MAX_CELL else c[: MAX_CELL - 1] + "…" for c in row] for row in cells]
    widths = [len(c) for c in columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()
    out = [line, "  ".join("-" * w for w in widths)]
    out += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out) + "\n"


#: The statement types ``sql`` runs without ``--write`` (DuckDB's parser types them).
READ_STATEMENTS = frozenset({duckdb.StatementType.SELECT})


def _one_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def parse(sql: str, write: bool) -> list[duckdb.Statement]:
    """The statements of ``sql`` (DuckDB's parser); without ``write`` only reads are accepted."""
    con = duckdb.connect(":memory:", config={**OFFLINE_CONFIG, "enable_external_access": False})
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise WarehouseError(f"query failed: {_one_line(exc)}") from exc
    finally:
        con.close()
    if not statements:
        raise WarehouseError("query failed: no statement given")
    if not write:
        for st in statements:
            if st.type not in READ_STATEMENTS:
                kind = st.type.name.replace("_STATEMENT", "")
                raise WarehouseError(
                    f"refused: {kind} statements need --write (this connection only reads "
                    "the warehouse); nothing was run"
                )
    return statements


def run_query(
    wh: Warehouse,
    sql: str,
    fmt: str = "table",
    write: bool = False,
    as_of: str | int | None = None,
) -> str:
    """Run ``sql`` (read-only unless ``write``; ``as_of``: a snapshot number or timestamp) and
    return the formatted result of every statement that returns rows, in order."""
    if fmt not in FORMATS:
        raise WarehouseError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if write and as_of is not None:
        raise WarehouseError("--as-of reads an earlier snapshot; it cannot go with --write")
    statements = parse(sql, write)
    wh.require()
    with wh.lock() if write else contextlib.nullcontext():
        con = connect(wh, write=write, as_of=as_of)
        try:
            outputs = []
            for st in statements:
                try:
                    cur = con.execute(st)
                except duckdb.Error as exc:
                    raise WarehouseError(f"query failed: {_one_line(exc)}") from exc
                if cur.description is not None:
                    columns = [d[0] for d in cur.description]
                    outputs.append(format_rows(columns, cur.fetchall(), fmt))
            return ("\n" if fmt == "table" else "").join(outputs)
        finally:
            con.close()
