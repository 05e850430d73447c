"""The report's data: its DuckDB queries over the current snapshot, and the dataclass they fill.

``SQL`` holds every query the report runs, by name; :func:`collect` runs them (or only some:
the run's summary needs only ``MARKDOWN_QUERIES``) on a connection whose DuckDB memory is capped
at ``MEMORY_LIMIT``, so that a large warehouse makes DuckDB spill or fail, never the run. Rows
become plain Python values in a :class:`ReportData`; nothing here draws or formats. Stage names
come from ``schema.STAGES`` and table names from ``schema.TABLES``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from infoshos.warehouse.catalog import connect, view_sql
from infoshos.warehouse.schema import STAGES, TABLES
from infoshos.warehouse.store import Warehouse

#: Persons and organisations per year and type in ``top_entities`` (and in ``top_persons``).
TOP_ENTITIES = 5
#: The runs in ``runs``: the last ones.
LAST_RUNS = 10

#: DuckDB's memory for the report's queries (it spills or fails beyond it, never the run).
MEMORY_LIMIT = "256MiB"
#: The queries :func:`report_markdown` shows (a run makes it at its end).
MARKDOWN_QUERIES = ("counts", "stories", "top_persons", "duplicates", "rejects", "runs")

SQL = {
    "counts": " UNION ALL ".join(f"SELECT '{name}', count(*) FROM {name}" for name in TABLES),
    "per_month": """
        SELECT strftime(published_at, '%Y-%m') AS month, source,
               coalesce(language, 'und') AS language, count(*) AS n
        FROM articles WHERE published_at IS NOT NULL
        GROUP BY ALL ORDER BY ALL""",
    "undated": "SELECT count(*) FROM articles WHERE published_at IS NULL",
    "stories": "SELECT count(DISTINCT cluster_id) FROM articles",
    "top_entities": f"""
        WITH m AS (SELECT DISTINCT article_id, entity_id FROM mentions),
        counted AS (
            SELECT year(a.published_at) AS year, e.type, e.entity_id, e.name,
                   any_value(e.aliases) AS aliases, count(*) AS n
            FROM m JOIN articles a USING (article_id) JOIN entities e USING (entity_id)
            WHERE e.type IN ('person', 'org') AND a.published_at IS NOT NULL
            GROUP BY year(a.published_at), e.type, e.entity_id, e.name
        )
        SELECT year, type, entity_id, name, aliases, n FROM counted
        QUALIFY row_number() OVER (
            PARTITION BY year, type ORDER BY n DESC, name, entity_id
        ) <= {TOP_ENTITIES}
        ORDER BY year, type, n DESC, name, entity_id""",
    "top_persons": f"""
        WITH m AS (SELECT DISTINCT article_id, entity_id FROM mentions)
        SELECT e.name, count(*) AS n
        FROM m JOIN entities e USING (entity_id) WHERE e.type = 'person'
        GROUP BY e.entity_id, e.name ORDER BY n DESC, e.name LIMIT {TOP_ENTITIES}""",
    # counted before the names are joined; count(*) counts articles, because each table's key
    # makes (article, country) and (article, topic) unique (8 s and 720 MB at 100k articles
    # with a count(DISTINCT) over the named join; 1 s and 190 MB so)
    "country_topics": """
        WITH pairs AS (
            SELECT c.entity_id, t.topic, count(*) AS n
            FROM article_countries c JOIN article_topics t USING (article_id)
            GROUP BY c.entity_id, t.topic
        ), iso AS (
            SELECT entity_id, any_value(iso_code) AS iso_code FROM article_countries
            WHERE entity_id IN (SELECT entity_id FROM pairs) GROUP BY entity_id
        )
        SELECT p.entity_id, coalesce(e.name, iso.iso_code, p.entity_id), p.topic, p.n
        FROM pairs p LEFT JOIN iso USING (entity_id)
        LEFT JOIN entities e ON e.entity_id = p.entity_id""",
    # a copy: an article that is not its story cluster's canonical article (is_canonical false)
    "duplicates": """
        SELECT source, count(*) AS total,
               count(*) FILTER (WHERE is_canonical = false) AS copies
        FROM articles GROUP BY source ORDER BY source""",
    "rejects": "SELECT reason, count(*) AS n FROM rejects GROUP BY reason ORDER BY n DESC, reason",
    "runs": f"""
        SELECT run_id, started_at, status, stage_seconds FROM runs
        ORDER BY started_at DESC, run_id DESC LIMIT {LAST_RUNS}""",
}


@dataclass
class ReportData:
    """What the report shows: the rows of ``SQL``'s queries as plain values."""

    snapshot: int
    run_id: str | None
    created_at: str
    counts: dict[str, int] = field(default_factory=dict)
    #: (month YYYY-MM, source, language, articles)
    per_month: list[tuple[str, str, str, int]] = field(default_factory=list)
    undated: int = 0
    stories: int = 0
    #: (year, type, entity_id, name, articles)
    top_entities: list[tuple[int, str, str, str, int]] = field(default_factory=list)
    #: entity_id -> aliases, for the entities in ``top_entities``
    aliases: dict[str, list[str]] = field(default_factory=dict)
    top_persons: list[tuple[str, int]] = field(default_factory=list)
    #: (country entity_id, country name, topic, articles)
    country_topics: list[tuple[str, str, str, int]] = field(default_factory=list)
    #: (source, articles, copies: articles not canonical in their story cluster)
    duplicates: list[tuple[str, int, int]] = field(default_factory=list)
    rejects: list[tuple[str, int]] = field(default_factory=list)
    #: (run_id, started_at, status, {stage: seconds}) oldest first
    runs: list[tuple[str, datetime | None, str | None, dict[str, float]]] = field(
        default_factory=list
    )


def _connect(wh: Warehouse) -> duckdb.DuckDBPyConnection:
    """The catalog; for a folder that holds no warehouse yet, empty typed views in memory.
    DuckDB may use ``MEMORY_LIMIT`` for the report's joins (its default is 80 % of the RAM)."""
    if wh.exists():
        con = connect(wh, memory_limit=MEMORY_LIMIT)
    else:
        con = duckdb.connect(":memory:", config={"memory_limit": MEMORY_LIMIT})
        for name in TABLES:
            con.execute(view_sql(name, []))
    with contextlib.suppress(duckdb.Error):  # without ICU, timestamps are UTC anyway
        con.execute("SET TimeZone = 'UTC'")
    return con


def collect(wh: Warehouse, only: Collection[str] | None = None) -> ReportData:
    """Run the report's queries against the current snapshot (``only``: those of ``SQL``;
    the other fields stay empty)."""
    snap = wh.current()
    data = ReportData(snap.number, snap.run_id, snap.created_at)
    con = _connect(wh)
    try:

        def rows(key: str) -> list[tuple[Any, ...]]:
            if only is not None and key not in only:
                return []
            return con.execute(SQL[key]).fetchall()

        data.counts = {str(name): int(n) for name, n in rows("counts")}
        data.per_month = [
            (str(m), str(s), str(lang), int(n)) for m, s, lang, n in rows("per_month")
        ]
        data.undated = int(next(iter(rows("undated")), (0,))[0])
        data.stories = int(next(iter(rows("stories")), (0,))[0])
        for y, t, i, name, aliases, n in rows("top_entities"):
            data.top_entities.append((int(y), str(t), str(i), str(name), int(n)))
            data.aliases[str(i)] = [str(a) for a in aliases or () if a]
        data.top_persons = [(str(name), int(n)) for name, n in rows("top_persons")]
        data.country_topics = [
            (str(c), str(name), str(t), int(n)) for c, name, t, n in rows("country_topics")
        ]
        data.duplicates = [(str(s), int(total), int(d)) for s, total, d in rows("duplicates")]
        data.rejects = [(str(r), int(n)) for r, n in rows("rejects")]
        runs = []
        for run_id, started, status, seconds in reversed(rows("runs")):
            runs.append((str(run_id), started, status, _stages(seconds)))
        data.runs = runs
    finally:
        con.close()
    return data


def stage_order(names: Iterable[str]) -> list[str]:
    """``names`` in the pipeline's stage order (``schema.STAGES``), then any other by name."""
    names = set(names)
    return [s for s in STAGES if s in names] + sorted(s for s in names if s not in STAGES)


def _stages(seconds: Any) -> dict[str, float]:
    """A ``stage_seconds`` map in the pipeline's stage order, then any other stage by name."""
    if not seconds:
        return {}
    items = dict(seconds.items()) if isinstance(seconds, dict) else dict(seconds)
    return {s: float(items[s]) for s in stage_order(items) if items[s] is not None}
