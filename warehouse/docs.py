"""The data dictionary of the warehouse, generated from :data:`~infoshos.warehouse.schema.TABLES`.

``python -m infoshos.warehouse.docs > docs/schema.md`` regenerates ``docs/schema.md``; the export
README embeds the same text (with an example value per column taken from the exported data).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

import pyarrow as pa

from infoshos.warehouse.catalog import duckdb_type
from infoshos.warehouse.schema import REJECT_REASONS, SCHEMA_VERSION, TABLES, Table

REGENERATE = "python -m infoshos.warehouse.docs > docs/schema.md"

MODES = {
    "append": "history: every run adds rows",
    "state": "keyed state: a run inserts or replaces rows by key",
}


def arrow_type(t: pa.DataType) -> str:
    """Arrow's name for a type, e.g. ``timestamp[us, tz=UTC]`` or ``map<string, int32>``."""
    return str(t)


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def table_markdown(
    table: Table,
    level: int = 2,
    examples: Mapping[str, str] | None = None,
    extra_columns: tuple[tuple[str, pa.DataType, str, str], ...] = (),
) -> str:
    """One table's section: its doc, key, mode and a row per column.

    ``examples`` maps column names to an example value (already formatted) and adds a column;
    ``extra_columns`` lists (name, Arrow type, DuckDB type, meaning) for columns that are not in
    the schema, such as hive partition columns of an export.
    """
    lines = [f"{'#' * level} {table.name}", "", table.doc, ""]
    lines.append(f"- key: {', '.join(f'`{k}`' for k in table.key)} (unique per row)")
    lines.append(f"- mode: `{table.mode}` ({MODES.get(table.mode, table.mode)})")
    lines.append("")
    header = "| column | Arrow type | DuckDB type | nulls | meaning |"
    rule = "|---|---|---|---|---|"
    if examples is not None:
        header += " example |"
        rule += "---|"
    lines += [header, rule]
    rows: list[tuple[str, str, str, str, str]] = [
        (
            c.name,
            arrow_type(c.type),
            duckdb_type(c.type),
            "yes" if c.nullable and c.name not in table.required else "no",
            c.doc,
        )
        for c in table.columns
    ]
    rows += [(n, arrow_type(t), d, "no", doc) for n, t, d, doc in extra_columns]
    for name, at, dt, nulls, doc in rows:
        line = f"| `{name}` | `{_cell(at)}` | `{_cell(dt)}` | {nulls} | {_cell(doc)} |"
        if examples is not None:
            example = examples.get(name)
            line += f" {'`' + _cell(example) + '`' if example else ''} |"
        lines.append(line)
    return "\n".join(lines) + "\n"


def reasons_markdown(level: int = 2) -> str:
    lines = [f"{'#' * level} Reject reasons", "", "The codes `rejects.reason` may hold.", ""]
    lines += ["| reason | meaning |", "|---|---|"]
    lines += [f"| `{code}` | {_cell(text)} |" for code, text in REJECT_REASONS.items()]
    return "\n".join(lines) + "\n"


def schema_markdown(
    level: int = 1,
    examples: Mapping[str, Mapping[str, str]] | None = None,
    extra_columns: Mapping[str, tuple[tuple[str, pa.DataType, str, str], ...]] | None = None,
    tables: Sequence[str] | None = None,
) -> str:
    """The data dictionary of every table (or of ``tables``), as Markdown.

    With the defaults this is the text of ``docs/schema.md``; the export README passes
    ``level=2``, its tables and the examples and partition columns of its data.
    """
    specs = [t for t in TABLES.values() if tables is None or t.name in tables]
    head = "#" * level
    parts = [
        f"{head} infoshos data dictionary",
        "",
        f"Schema version {SCHEMA_VERSION}. Generated from `warehouse/schema.py` by "
        f"`{REGENERATE}`; do not edit by hand.",
        "",
        "Timestamps are UTC (`TIMESTAMPTZ` in DuckDB). `nulls: no` marks columns that are never "
        "null. Tables in mode `append` keep history; mode `state` tables hold one row per key.",
        "",
        "| table | rows are | key |",
        "|---|---|---|",
    ]
    for t in specs:
        key = ", ".join(f"`{k}`" for k in t.key)
        parts.append(f"| [{t.name}](#{t.name}) | {_cell(t.doc)} | {key} |")
    text = "\n".join(parts) + "\n"
    for t in specs:
        text += "\n" + table_markdown(
            t,
            level + 1,
            None if examples is None else examples.get(t.name, {}),
            (extra_columns or {}).get(t.name, ()),
        )
    if any(t.name == "rejects" for t in specs):
        text += "\n" + reasons_markdown(level + 1)
    return text


def main() -> int:
    sys.stdout.write(schema_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
