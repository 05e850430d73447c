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
from concurrent.futures import ThreadPoolExecutor
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
#: The index's layout: an index of an older layout is rebuilt by the next search or run.
#: 2: postings carry their BM25 weight ``w``; an ART index on each table's ``article_id``.
LAYOUT = 2
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
    """The snapshot the index describes; None when it is of another layout (rebuilt)."""
    try:
        row = con.execute(f"SELECT snapshot, layout FROM {META}").fetchone()
    except duckdb.Error:
        return None
    return int(row[0]) if row and row[1] == LAYOUT else None


def indexed_snapshot(path: Path) -> int | None:
    """The lake snapshot the index file describes, or None if absent or unreadable."""
    con = _open(path)
    if con is None:
        return None
    try:
        return _indexed(con)
    finally:
        con.close()


#: The BM25 weight of a term in a document (DuckDB FTS's ``match_bm25``: k1 = 1.2, b = 0.75,
#: the same idf) from the posting's ``tf``, the dictionary's ``df``, the document's ``len`` and
#: the index ``stats`` (``st``).
BM25_WEIGHT = (
    "log((st.num_docs - df + 0.5) / (df + 0.5) + 1) "
    "* (tf.tf * 2.2) / (tf.tf + 1.2 * (0.25 + 0.75 * d.len / st.avgdl))"
)
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
        con.execute("SET enable_progress_bar = false")
        con.execute(wh.location.attach_sql(read_only=True, name=LAKE))
        snapshot = con.execute(f"SELECT id FROM {LAKE}.current_snapshot()").fetchone()
        for table, (_, languages) in GROUPS.items():  # (each copy uses every thread)
            con.execute(
                f"CREATE TABLE {table} AS SELECT article_id, source, language, published_at, "
                f"url, title, text FROM {LAKE}.articles WHERE {_group_filter(languages)}"
            )
        _index_tables(con)
        con.execute(f"CREATE TABLE {META} (snapshot BIGINT, layout INTEGER)")
        con.execute(f"INSERT INTO {META} VALUES (?, ?)", [snapshot[0] if snapshot else 0, LAYOUT])
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


def _index_table(con: duckdb.DuckDBPyConnection, table: str, stemmer: str) -> None:
    """The FTS index of one table, its id index and its postings (each statement may be run
    again over a partial first attempt)."""
    cur = con.cursor()  # a connection of its own: the tables are indexed side by side
    try:
        cur.execute(
            f"PRAGMA create_fts_index({_q(table)}, 'article_id', 'title', 'text', "
            f"stemmer = {_q(stemmer)}, stopwords = 'none', overwrite = 1)"
        )
        # the winners' rows are read by id through this index (not a scan of every text)
        cur.execute(f"CREATE INDEX IF NOT EXISTS {table}_article_id ON {table} (article_id)")
        # one row per (term, document), ordered by term, with the term's BM25 weight in the
        # document (it depends only on the index): a query sums the weights of its terms' rows
        # and reads nothing else
        fts = f"fts_main_{table}"
        cur.execute(
            f"CREATE OR REPLACE TABLE {fts}.postings AS "
            f"WITH tf AS (SELECT termid, docid, count(*)::INTEGER AS tf FROM {fts}.terms "
            "GROUP BY ALL) "
            f"SELECT tf.termid, tf.docid, tf.tf, {BM25_WEIGHT} AS w "
            f"FROM tf JOIN {fts}.dict USING (termid) JOIN {fts}.docs d USING (docid), "
            f"{fts}.stats st ORDER BY tf.termid, tf.docid"
        )
    finally:
        cur.close()


def _index_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Index every table of :data:`GROUPS`: side by side, since DuckDB builds an FTS index on one
    thread (English and Russian together took 20.7 s against 32 s one after the other, 100k
    articles, 2 cores); a table whose build failed so (out of memory under
    :data:`BUILD_MEMORY`, say) is built again alone, and a failure then is the build's."""
    with ThreadPoolExecutor(len(GROUPS), thread_name_prefix="search-index") as pool:
        tried = {
            table: pool.submit(_index_table, con, table, stemmer)
            for table, (stemmer, _) in GROUPS.items()
        }
    for table, future in tried.items():
        error = future.exception()
        if error is None:
            continue
        if not isinstance(error, duckdb.Error):
            raise error
        log.warning("search index of %s built again alone (%s)", table, _first_line(error))
        _index_table(con, table, GROUPS[table][0])


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


def terms_sql(table: str, stemmer: str) -> str:
    """The index's term ids of a query's words (parameter: the query)."""
    fts = f"fts_main_{table}"
    return (
        f"SELECT termid FROM {fts}.dict WHERE term IN "
        f"(SELECT stem(unnest({fts}.tokenize(?)), {_q(stemmer)}))"
    )


def search_sql(table: str, termids: list[int], language: bool, since: bool) -> str:
    """The ranked query over one index table for the terms ``termids`` (from ``terms_sql``;
    parameters: [language], [since], limit).

    The score is DuckDB FTS's BM25 (``match_bm25``), summed from the ``postings`` table, which
    holds one row per term and document, ordered by term, with the term's weight in the
    document (``BM25_WEIGHT``). The term ids are literals, so that DuckDB reads only the row
    groups of those terms (``match_bm25`` reads every token). Only the scores and ids:
    ``search`` reads the rows of the winners alone afterwards."""
    fts = f"fts_main_{table}"
    where = ["true"]
    if language:
        where.append("a.language = ?")
    if since:
        where.append("a.published_at >= ?")
    joined = f" JOIN {table} a ON a.article_id = d.name" if language or since else ""
    terms = ", ".join(str(int(t)) for t in termids) or "NULL"
    return f"""
        WITH sc AS (
            SELECT docid, sum(w) AS score FROM {fts}.postings
            WHERE termid IN ({terms}) GROUP BY docid
        )
        SELECT sc.score, d.name
        FROM sc JOIN {fts}.docs d USING (docid){joined}
        WHERE {" AND ".join(where)}
        ORDER BY sc.score DESC, d.name LIMIT ?"""


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


def _snippets(
    con: duckdb.DuckDBPyConnection, texts: list[str], wanted: set[str], stemmer: str
) -> list[str]:
    """For each text, about ``SNIPPET_WORDS`` words around its first match, matches in
    ``**bold**`` (the words of every text stemmed in one query)."""
    spans = [[(m.start(), m.end()) for m in WORD.finditer(text)] for text in texts]
    stems = _stems(
        con, [t[a:b] for t, words in zip(texts, spans, strict=True) for a, b in words], stemmer
    )
    out, at = [], 0
    for text, words in zip(texts, spans, strict=True):
        mine, at = stems[at : at + len(words)], at + len(words)
        out.append(_snippet(text, words, {i for i, s in enumerate(mine) if s in wanted}))
    return out


def _snippet(text: str, words: list[tuple[int, int]], hits: set[int]) -> str:
    if not words:
        return ""
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
        # the best ``limit`` of every group's scores (ids only), then the rows of those alone
        scored: list[tuple[float, str, str]] = []
        for table, (stemmer, languages) in GROUPS.items():
            if language is not None and languages and language not in languages:
                continue
            termids = [r[0] for r in con.execute(terms_sql(table, stemmer), [query]).fetchall()]
            if not termids:
                continue
            params: list[Any] = [language] if language is not None else []
            params += [since] if since is not None else []
            rows = con.execute(
                search_sql(table, termids, language is not None, since is not None),
                [*params, limit],
            ).fetchall()
            scored += [(float(score), str(aid), table) for score, aid in rows]
        scored.sort(key=lambda t: (-t[0], t[1]))
        scored = scored[:limit]
        hits: list[Hit] = []
        for table, (stemmer, _) in GROUPS.items():
            scores = {aid: score for score, aid, t in scored if t == table}
            if not scores:
                continue
            wanted = set(_stems(con, WORD.findall(query), stemmer))
            ids = ", ".join(_q(a) for a in sorted(scores))  # literals: the index answers
            rows = con.execute(
                f"SELECT article_id, source, language, published_at, title, url, text "
                f"FROM {table} WHERE article_id IN ({ids})"
            ).fetchall()
            snippets = _snippets(con, [r[6] or "" for r in rows], wanted, stemmer)
            for (aid, source, lang, published, title, url, _), snippet in zip(
                rows, snippets, strict=True
            ):
                hits.append(Hit(scores[aid], aid, source, lang, published, title, url, snippet))
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
