"""Ranked full-text search over the articles: a DuckDB FTS (BM25) index in a derived file.

``<warehouse>/search.duckdb`` holds one table of articles per stemmer (``docs_english`` for
English, ``docs_russian`` for Russian, ``docs_plain`` for every other language, unstemmed) and an
FTS index on each (title and text). It is derived from the lake: the load stage rebuilds it after
each commit (:func:`index`) and a reader rebuilds it when it is missing or describes an older
snapshot (:func:`ensure_index`). A failure to build it is never fatal: search says so, ``sql``
works without it. (An FTS index cannot live in the lake itself: DuckLake tables take no index.)
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from infoshos.warehouse import extensions
from infoshos.warehouse.store import LAKE, Warehouse, WarehouseError, _first_line, _q

INDEX_FILE = "search.duckdb"
#: The name the index is attached under in ``infoshos sql`` (``search.docs_english`` ...).
SEARCH_ALIAS = "search"
META = "index_meta"
#: Index table -> (FTS stemmer, the languages it holds; empty: every other language).
GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "docs_english": ("english", ("en",)),
    "docs_russian": ("russian", ("ru",)),
    "docs_plain": ("none", ()),
}
SNIPPET_WORDS = 30
WORD = re.compile(r"\w+", re.UNICODE)

log = logging.getLogger(__name__)


def index_path(wh: Warehouse) -> Path:
    return wh.root / INDEX_FILE


def _group_filter(languages: tuple[str, ...]) -> str:
    if languages:
        return f"language IN ({', '.join(_q(x) for x in languages)})"
    known = [lang for _, langs in GROUPS.values() for lang in langs]
    return f"language IS NULL OR language NOT IN ({', '.join(_q(x) for x in known)})"


def _open(path: Path) -> duckdb.DuckDBPyConnection | None:
    """The index file opened read-only with the FTS extension, or None if absent or unreadable."""
    if not path.exists():
        return None
    try:
        return extensions.load(extensions.connect(str(path), read_only=True), "fts")
    except duckdb.Error:
        return None


def _indexed(con: duckdb.DuckDBPyConnection) -> int | None:
    try:
        row = con.execute(f"SELECT snapshot FROM {META}").fetchone()
    except duckdb.Error:
        return None
    return int(row[0]) if row else None


def indexed_snapshot(path: Path) -> int | None:
    """The lake snapshot the index file describes, or None if absent or unreadable."""
    con = _open(path)
    if con is None:
        return None
    try:
        return _indexed(con)
    finally:
        con.close()


#: DuckDB's memory while it builds the index (it spills to a folder beside the index beyond).
BUILD_MEMORY = "512MB"


def build(wh: Warehouse) -> Path:
    """Build the index of the current snapshot under a temporary name, then swap it in."""
    final = index_path(wh)
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
    con = wh.location.prepare(extensions.connect(str(tmp)), "fts")
    try:
        # the build spills to disk beside the index rather than growing with the archive
        con.execute(f"SET memory_limit = {_q(BUILD_MEMORY)}")
        con.execute(wh.location.attach_sql(read_only=True, name=LAKE))
        snapshot = con.execute(f"SELECT id FROM {LAKE}.current_snapshot()").fetchone()
        for table, (stemmer, languages) in GROUPS.items():
            con.execute(
                f"CREATE TABLE {table} AS SELECT article_id, source, language, published_at, "
                f"url, title, text FROM {LAKE}.articles WHERE {_group_filter(languages)}"
            )
            con.execute(
                f"PRAGMA create_fts_index({_q(table)}, 'article_id', 'title', 'text', "
                f"stemmer = {_q(stemmer)}, stopwords = 'none', overwrite = 1)"
            )
            # one row per (term, document), ordered by term: a query reads only its terms' rows
            con.execute(
                f"CREATE TABLE fts_main_{table}.postings AS SELECT termid, docid, "
                f"count(*)::INTEGER AS tf FROM fts_main_{table}.terms GROUP BY ALL "
                "ORDER BY termid, docid"
            )
        con.execute(f"CREATE TABLE {META} (snapshot BIGINT)")
        con.execute(f"INSERT INTO {META} VALUES (?)", [snapshot[0] if snapshot else 0])
        con.execute(f"DETACH {LAKE}")
    except BaseException:
        con.close()
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    con.close()
    os.replace(tmp, final)
    with contextlib.suppress(OSError):
        Path(str(tmp) + ".wal").unlink()
    return final


def _articles_unchanged(wh: Warehouse, since: int, until: int) -> bool:
    """Whether no snapshot after ``since`` up to ``until`` changed ``articles``."""
    con = wh.connect()
    try:
        row = con.execute(
            f"SELECT count(*) FROM ducklake_table_changes({_q(LAKE)}, 'main', 'articles', ?, ?)",
            [since + 1, until],
        ).fetchone()
    except duckdb.Error:
        return False  # (an expired snapshot, say): rebuild
    finally:
        con.close()
    return row is not None and row[0] == 0


def _mark(path: Path, snapshot: int) -> bool:
    """Record that the index also describes ``snapshot``; False when the file is busy."""
    try:
        con = extensions.connect(str(path))
    except duckdb.Error:
        return False
    try:
        con.execute(f"UPDATE {META} SET snapshot = ?", [snapshot])
    except duckdb.Error:
        return False
    finally:
        con.close()
    return True


def index(wh: Warehouse) -> Path | None:
    """Bring the index up to the current snapshot after a commit: rebuilt when ``articles``
    changed, only re-stamped when it did not (an unchanged re-run costs nothing). A failure is
    logged, never fatal (the index is derived)."""
    path = index_path(wh)
    try:
        latest = wh.snapshot_id()
        indexed = indexed_snapshot(path)
        if indexed == latest:
            return path
        if (
            indexed is not None
            and indexed < latest
            and _articles_unchanged(wh, indexed, latest)
            and _mark(path, latest)
        ):
            return path
        return build(wh)
    except (duckdb.Error, OSError, WarehouseError) as exc:
        log.warning("search index not rebuilt (%s); the next search rebuilds it", exc)
        return None


def ensure_index(wh: Warehouse) -> Path | None:
    """The index of the current snapshot, rebuilt when missing or stale; None when it cannot be
    built (a read-only folder, say)."""
    return index(wh)


@dataclass
class Hit:
    score: float
    article_id: str
    source: str
    language: str | None
    published_at: datetime | None
    title: str | None
    url: str
    snippet: str

    def to_json(self) -> dict[str, Any]:
        published = self.published_at.isoformat() if self.published_at else None
        return {**self.__dict__, "published_at": published}


def search_sql(table: str, stemmer: str, language: bool, since: bool) -> str:
    """The ranked query over one index table (parameters: query, [language], [since], limit).

    The score is DuckDB FTS's BM25 (``match_bm25``: k1 = 1.2, b = 0.75, the same idf), computed
    from the ``postings`` table, which holds one row per term and document ordered by term, so
    that only the rows of the query's terms are read (``match_bm25`` reads every token)."""
    fts = f"fts_main_{table}"
    where = ["true"]
    if language:
        where.append("a.language = ?")
    if since:
        where.append("a.published_at >= ?")
    return f"""
        WITH tokens AS (SELECT DISTINCT stem(unnest({fts}.tokenize(?)), {_q(stemmer)}) AS t),
        q AS (SELECT termid, df FROM {fts}.dict JOIN tokens ON term = t),
        st AS (SELECT num_docs, avgdl FROM {fts}.stats),
        sc AS (
            SELECT p.docid, sum(
                log((st.num_docs - q.df + 0.5) / (q.df + 0.5) + 1)
                * (p.tf * 2.2) / (p.tf + 1.2 * (0.25 + 0.75 * d.len / st.avgdl))
            ) AS score
            FROM {fts}.postings p JOIN q USING (termid) JOIN {fts}.docs d USING (docid), st
            GROUP BY p.docid
        )
        SELECT sc.score, a.article_id, a.source, a.language, a.published_at, a.title, a.url,
            a.text
        FROM sc JOIN {fts}.docs d USING (docid) JOIN {table} a ON a.article_id = d.name
        WHERE {" AND ".join(where)}
        ORDER BY sc.score DESC, a.article_id LIMIT ?"""


def _stems(con: duckdb.DuckDBPyConnection, words: list[str], stemmer: str) -> list[str]:
    """The stems of ``words`` (lower case), as the index's stemmer makes them."""
    if not words:
        return []
    stem = "stem(lower(w), ?)" if stemmer != "none" else "lower(w)"
    params: list[Any] = [" ".join(words)] + ([stemmer] if stemmer != "none" else [])
    row = con.execute(
        f"SELECT list_transform(string_split(?, ' '), w -> {stem})", params
    ).fetchone()
    return list(row[0]) if row else []


def _snippet(con: duckdb.DuckDBPyConnection, text: str, wanted: set[str], stemmer: str) -> str:
    """About ``SNIPPET_WORDS`` words around the first match, matches in ``**bold**``."""
    words = [(m.start(), m.end()) for m in WORD.finditer(text)]
    if not words:
        return ""
    stems = _stems(con, [text[a:b] for a, b in words], stemmer)
    hits = {i for i, s in enumerate(stems) if s in wanted}
    first = min(hits) if hits else 0
    lo = max(0, first - SNIPPET_WORDS // 3)
    hi = min(len(words), lo + SNIPPET_WORDS)
    out, pos = [], words[lo][0]
    for i in range(lo, hi):
        a, b = words[i]
        out.append(text[pos:a])
        out.append(f"**{text[a:b]}**" if i in hits else text[a:b])
        pos = b
    snippet = " ".join("".join(out).split())
    return ("… " if lo else "") + snippet + (" …" if hi < len(words) else "")


def search(
    wh: Warehouse,
    query: str,
    language: str | None = None,
    since: date | None = None,
    limit: int = 20,
) -> list[Hit]:
    """Articles matching ``query``, best BM25 score first, each with a highlighted snippet."""
    if not query.strip():
        raise WarehouseError("search: the query is empty")
    if limit < 1:
        raise WarehouseError(f"search: --limit must be at least 1, not {limit}")
    latest = wh.require().snapshot_id()
    con = _open(index_path(wh))
    if con is None or _indexed(con) != latest:  # missing, damaged or stale: rebuilt
        if con is not None:
            con.close()
        con = _open(index(wh) or index_path(wh))
        if con is None:
            raise WarehouseError(f"search index {index_path(wh)} cannot be built (see the log)")
    try:
        hits: list[Hit] = []
        for table, (stemmer, languages) in GROUPS.items():
            if language is not None and languages and language not in languages:
                continue
            params: list[Any] = [query]
            params += [language] if language is not None else []
            params += [since] if since is not None else []
            rows = con.execute(
                search_sql(table, stemmer, language is not None, since is not None),
                [*params, limit],
            ).fetchall()
            wanted = set(_stems(con, WORD.findall(query), stemmer))
            for score, aid, source, lang, published, title, url, text in rows:
                snippet = _snippet(con, text or "", wanted, stemmer)
                hits.append(Hit(score, aid, source, lang, published, title, url, snippet))
    except duckdb.Error as exc:
        raise WarehouseError(f"search failed: {_first_line(exc)}") from exc
    finally:
        con.close()
    hits.sort(key=lambda h: (-h.score, h.article_id))
    return hits[:limit]


def format_hits(hits: list[Hit]) -> str:
    if not hits:
        return "no articles match\n"
    out = []
    for n, h in enumerate(hits, 1):
        day = h.published_at.date().isoformat() if h.published_at else "undated"
        out.append(f"{n}. [{h.score:.2f}] {h.title or '(no title)'} ({h.source}, {day})")
        out.append(f"   {h.url}")
        out.append(f"   {h.snippet}")
    return "\n".join(out) + "\n"
