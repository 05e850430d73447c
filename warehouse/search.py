"""Ranked full-text search over the articles: a DuckDB FTS (BM25) index in a derived file.

``<warehouse>/search.duckdb`` holds one table of articles per stemmer (``docs_english`` for
English, ``docs_russian`` for Russian, ``docs_plain`` for every other language, unstemmed) and an
FTS index on each (title and text). It is derived from the lake: the load stage brings it up to
each commit (:func:`index`: re-indexing the articles that changed, :func:`update`, or building it
whole, :func:`build`) and a reader does so when it is missing or describes an older snapshot
(:func:`ensure_index`). Either works on a copy that then takes the file's place. A failure to
build it is never fatal: search says so, ``sql`` works without it. (An FTS index cannot live in
the lake itself: DuckLake tables take no index.)
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable
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
#: 3: postings carry ``tf`` and the document's ``len`` (the query weighs them: an update
#: rewrites no posting); ``index_meta.updated``, the articles re-indexed since the last build.
LAYOUT = 3
#: An update re-indexes only the articles that changed (:func:`update`) unless the changed ones
#: since the last full build would pass this share of the indexed articles: then the index is
#: built whole (as cheap by then, and it drops the space the replaced rows leave in the file).
UPDATE_SHARE = 0.2
#: The articles an update re-indexes (a table of the copy being updated, dropped after).
CHANGED = "changed_articles"
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


#: BM25 as DuckDB FTS's ``match_bm25`` computes it (k1 = 1.2, b = 0.75): a term's idf from its
#: ``df`` and the index ``stats`` (``st``), and its weight in a document from the posting ``p``
#: (``tf``, the document's ``len``) and the average length. The query computes them (an update
#: that changes the statistics rewrites no posting): the idf of its few terms first, then the
#: postings with the idfs and the average as literals (no join).
BM25_IDF = "log((st.num_docs - df + 0.5) / (df + 0.5) + 1)"
BM25_WEIGHT = "{idf} * (p.tf * 2.2) / (p.tf + 1.2 * (0.25 + 0.75 * p.len / {avgdl}))"
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
        _side_by_side(con, _index_table)
        con.execute(f"CREATE TABLE {META} (snapshot BIGINT, layout INTEGER, updated BIGINT)")
        con.execute(
            f"INSERT INTO {META} VALUES (?, ?, 0)", [snapshot[0] if snapshot else 0, LAYOUT]
        )
        con.execute(f"DETACH {LAKE}")
    except BaseException:
        _discard(con, tmp)
        raise
    _swap(con, tmp, final)
    return final


def _discard(con: duckdb.DuckDBPyConnection, tmp: Path) -> None:
    con.close()
    for stale in (tmp, Path(f"{tmp}.wal")):
        with contextlib.suppress(OSError):
            stale.unlink()


def _swap(con: duckdb.DuckDBPyConnection, tmp: Path, final: Path) -> None:
    """Close the index written under ``tmp`` and put it in ``final``'s place (a reader holding
    the old file reads on from it)."""
    con.close()
    os.replace(tmp, final)
    with contextlib.suppress(OSError):
        Path(f"{tmp}.wal").unlink()


def _postings_sql(table: str) -> str:
    """The postings of a table: one row per (term, document), ordered by term, with the term's
    count in the document and the document's length: a query weighs its terms' rows
    (:data:`BM25_WEIGHT`) and reads no other row."""
    fts = f"fts_main_{table}"
    return (
        f"CREATE OR REPLACE TABLE {fts}.postings AS "
        f"SELECT t.termid, t.docid, count(*)::INTEGER AS tf, d.len FROM {fts}.terms t "
        f"JOIN {fts}.docs d USING (docid) GROUP BY t.termid, t.docid, d.len "
        "ORDER BY t.termid, t.docid"
    )


def _index_table(cur: duckdb.DuckDBPyConnection, table: str) -> None:
    """The FTS index of one table, its id index and its postings (each statement may be run
    again over a partial first attempt)."""
    cur.execute(
        f"PRAGMA create_fts_index({_q(table)}, 'article_id', 'title', 'text', "
        f"stemmer = {_q(GROUPS[table][0])}, stopwords = 'none', overwrite = 1)"
    )
    # the winners' rows are read by id through this index (not a scan of every text)
    cur.execute(f"CREATE INDEX IF NOT EXISTS {table}_article_id ON {table} (article_id)")
    cur.execute(_postings_sql(table))


def _on_cursor(
    con: duckdb.DuckDBPyConnection,
    work: Callable[[duckdb.DuckDBPyConnection, str], None],
    table: str,
) -> None:
    cur = con.cursor()  # a connection of its own: the tables are worked on side by side
    try:
        work(cur, table)
    finally:
        cur.close()


def _side_by_side(
    con: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection, str], None]
) -> None:
    """``work(cursor, table)`` for every table of :data:`GROUPS`, side by side: DuckDB builds an
    FTS index on one thread (English and Russian together took 20.7 s against 32 s one after
    the other, 100k articles, 2 cores). A table whose work failed so (out of memory under
    :data:`BUILD_MEMORY`, say) is done again alone, and a failure then is the caller's."""
    with ThreadPoolExecutor(len(GROUPS), thread_name_prefix="search-index") as pool:
        tried = {table: pool.submit(_on_cursor, con, work, table) for table in GROUPS}
    for table, future in tried.items():
        error = future.exception()
        if error is None:
            continue
        if not isinstance(error, duckdb.Error):
            raise error
        log.warning("search index of %s done again alone (%s)", table, _first_line(error))
        _on_cursor(con, work, table)


def _changed_articles(wh: Warehouse, since: int, until: int) -> int | None:
    """How many articles the snapshots after ``since`` up to ``until`` changed (added, updated
    or deleted); None when the lake cannot say (an expired snapshot, say: rebuild)."""
    con = wh.connect()
    try:
        row = con.execute(
            "SELECT count(DISTINCT article_id) "
            f"FROM ducklake_table_changes({_q(LAKE)}, 'main', 'articles', ?, ?)",
            [since + 1, until],
        ).fetchone()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return int(row[0]) if row is not None else None


def _update_table(cur: duckdb.DuckDBPyConnection, table: str, snapshot: int) -> None:
    """Re-index, in one table and its FTS index and in one transaction, the articles of the
    table :data:`CHANGED`: their old rows, terms and documents out, their rows at ``snapshot``
    (those of this table's languages) in, tokenised and stemmed by the index's own macro; then
    the document frequencies of the terms touched, the statistics and the new documents'
    postings, as ``create_fts_index`` and :func:`build` compute them (tested against a full
    build). The new postings follow the ordered ones: a query reads their few row groups
    whatever its terms, until the next full build."""
    stemmer, languages = GROUPS[table]
    fts = f"fts_main_{table}"
    ids = f"SELECT article_id FROM {CHANGED}"
    cur.execute("BEGIN")  # (a failed table is rolled back whole, then done again alone)
    for sql in (
        f"CREATE OR REPLACE TEMP TABLE old_docs AS SELECT docid FROM {fts}.docs "
        f"WHERE name IN ({ids})",
        "CREATE OR REPLACE TEMP TABLE touched AS "
        f"SELECT DISTINCT termid FROM {fts}.terms WHERE docid IN (SELECT docid FROM old_docs)",
        f"DELETE FROM {fts}.terms WHERE docid IN (SELECT docid FROM old_docs)",
        f"DELETE FROM {fts}.postings WHERE docid IN (SELECT docid FROM old_docs)",
        f"DELETE FROM {fts}.docs WHERE docid IN (SELECT docid FROM old_docs)",
        f"DELETE FROM {table} WHERE article_id IN ({ids})",
        f"INSERT INTO {table} SELECT article_id, source, language, published_at, url, title, "
        f"text FROM {LAKE}.articles AT (VERSION => {int(snapshot)}) "
        f"WHERE article_id IN ({ids}) AND ({_group_filter(languages)})",
        "CREATE OR REPLACE TEMP TABLE new_docs AS SELECT "
        f"(SELECT coalesce(max(docid), -1) FROM {fts}.docs) "
        "+ row_number() OVER (ORDER BY article_id) AS docid, article_id AS name, title, text "
        f"FROM {table} WHERE article_id IN ({ids})",
        "CREATE OR REPLACE TEMP TABLE new_terms AS "
        "WITH tokenized AS ("
        + " UNION ALL ".join(
            f"SELECT unnest({fts}.tokenize({field})) AS w, docid, "
            f"(SELECT fieldid FROM {fts}.fields WHERE field = {_q(field)}) AS fieldid "
            "FROM new_docs"
            for field in ("title", "text")
        )
        + f") SELECT stem(w, {_q(stemmer)}) AS term, docid, fieldid FROM tokenized "
        f"WHERE w IS NOT NULL AND len(w) > 0 AND w NOT IN (SELECT sw FROM {fts}.stopwords)",
        f"INSERT INTO {fts}.dict SELECT (SELECT coalesce(max(termid), -1) FROM {fts}.dict) "
        "+ row_number() OVER (ORDER BY term), term, 0 FROM "
        f"(SELECT DISTINCT term FROM new_terms WHERE term NOT IN (SELECT term FROM {fts}.dict))",
        f"INSERT INTO {fts}.terms SELECT n.docid, n.fieldid, d.termid "
        f"FROM new_terms n JOIN {fts}.dict d USING (term)",
        f"INSERT INTO {fts}.docs SELECT nd.docid, nd.name, count(t.term) "
        "FROM new_docs nd LEFT JOIN new_terms t USING (docid) GROUP BY nd.docid, nd.name",
        f"INSERT INTO touched SELECT d.termid FROM {fts}.dict d "
        "WHERE d.term IN (SELECT term FROM new_terms)",
        f"UPDATE {fts}.dict SET df = c.df FROM (SELECT r.termid, count(DISTINCT t.docid) AS df "
        f"FROM (SELECT DISTINCT termid FROM touched) r LEFT JOIN {fts}.terms t USING (termid) "
        f"GROUP BY r.termid) c WHERE {fts}.dict.termid = c.termid",
        f"DELETE FROM {fts}.dict WHERE df = 0",
        f"DELETE FROM {fts}.stats",
        f"INSERT INTO {fts}.stats SELECT count(docid), sum(len) / count(len) FROM {fts}.docs",
        f"INSERT INTO {fts}.postings SELECT t.termid, t.docid, count(*)::INTEGER, d.len "
        f"FROM {fts}.terms t JOIN {fts}.docs d USING (docid) "
        "WHERE t.docid IN (SELECT docid FROM new_docs) GROUP BY t.termid, t.docid, d.len "
        "ORDER BY t.termid, t.docid",
    ):
        try:
            cur.execute(sql)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
    cur.execute("COMMIT")


def update(wh: Warehouse, path: Path, snapshot: int, changed: int) -> bool:
    """Bring the index from its snapshot to ``snapshot`` by re-indexing only the ``changed``
    articles, in a copy that then takes the file's place; False (nothing done: build it whole)
    when the changes since the last full build would pass :data:`UPDATE_SHARE` of the indexed
    articles, or the index cannot be read or updated."""
    con = _open(path)
    if con is None:
        return False
    try:
        indexed, updated = con.execute(f"SELECT snapshot, updated FROM {META}").fetchone() or (
            None,
            None,
        )
        total = sum(
            int((con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,))[0])
            for table in GROUPS
        )
    except duckdb.Error:
        return False
    finally:
        con.close()
    if indexed is None or updated is None or updated + changed > UPDATE_SHARE * max(total, 1):
        return False
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        shutil.copyfile(path, tmp)
        con = wh.location.prepare(extensions.connect(str(tmp)), "fts")
    except (OSError, duckdb.Error) as exc:  # (a full disk, say)
        tmp.unlink(missing_ok=True)
        log.warning("search index not updated (%s); built whole instead", _first_line(exc))
        return False
    try:
        con.execute(f"SET memory_limit = {_q(BUILD_MEMORY)}")
        con.execute("SET enable_progress_bar = false")
        con.execute(wh.location.attach_sql(read_only=True, name=LAKE))
        con.execute(
            f"CREATE TABLE {CHANGED} AS SELECT DISTINCT article_id "
            f"FROM ducklake_table_changes({_q(LAKE)}, 'main', 'articles', ?, ?)",
            [int(indexed) + 1, snapshot],
        )
        for table in GROUPS:  # one after another: each is quick now, and memory stays bounded
            _update_table(con, table, snapshot)
        con.execute(f"DROP TABLE {CHANGED}")
        con.execute(f"UPDATE {META} SET snapshot = ?, updated = updated + ?", [snapshot, changed])
        con.execute(f"DETACH {LAKE}")
    except duckdb.Error as exc:
        _discard(con, tmp)
        log.warning("search index not updated (%s); built whole instead", _first_line(exc))
        return False
    except BaseException:
        _discard(con, tmp)
        raise
    _swap(con, tmp, path)
    return True


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
    """Bring the index up to the current snapshot after a commit: only re-stamped when
    ``articles`` did not change (an unchanged re-run costs nothing), updated with the articles
    that changed (:func:`update`), else built whole. A failure is logged, never fatal (the
    index is derived)."""
    path = index_path(wh)
    try:
        latest = wh.snapshot_id()
        indexed = indexed_snapshot(path)
        if indexed == latest:
            return path
        changed = (
            _changed_articles(wh, indexed, latest)
            if indexed is not None and indexed < latest
            else None
        )
        if changed == 0 and _mark(path, latest):
            return path
        if changed and update(wh, path, latest, changed):
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
    """The index's term ids of a query's words, each with its idf and the index's average
    document length (parameter: the query)."""
    fts = f"fts_main_{table}"
    return (
        f"SELECT termid, {BM25_IDF}, st.avgdl FROM {fts}.dict, {fts}.stats st WHERE term IN "
        f"(SELECT stem(unnest({fts}.tokenize(?)), {_q(stemmer)}))"
    )


def _double(value: float) -> str:
    """A DOUBLE literal that reads back as exactly ``value``."""
    return f"CAST({_q(repr(float(value)))} AS DOUBLE)"


def search_sql(
    table: str, idfs: dict[int, float], avgdl: float, language: bool, since: bool
) -> str:
    """The ranked query over one index table for the terms ``idfs`` (term id -> idf) of an index
    whose average document length is ``avgdl`` (both from ``terms_sql``; parameters:
    [language], [since], limit).

    The score is DuckDB FTS's BM25 (``match_bm25``), summed from the ``postings`` table, which
    holds one row per term and document, ordered by term, with the term's count and the
    document's length, weighed by ``BM25_WEIGHT`` with the idfs and the average as literals
    (no join). The term ids are literals, so that DuckDB reads only the row groups of those
    terms (``match_bm25`` reads every token). Only the scores and ids: ``search`` reads the
    rows of the winners alone afterwards."""
    fts = f"fts_main_{table}"
    where = ["true"]
    if language:
        where.append("a.language = ?")
    if since:
        where.append("a.published_at >= ?")
    joined = f" JOIN {table} a ON a.article_id = d.name" if language or since else ""
    terms = ", ".join(str(int(t)) for t in idfs) or "NULL"
    idf = (
        "CASE p.termid "
        + " ".join(f"WHEN {int(t)} THEN {_double(v)}" for t, v in idfs.items())
        + " END"
    )
    weight = BM25_WEIGHT.format(idf=idf, avgdl=_double(avgdl))
    return f"""
        WITH sc AS (
            SELECT p.docid, sum({weight}) AS score FROM {fts}.postings p
            WHERE p.termid IN ({terms}) GROUP BY p.docid
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
            terms = con.execute(terms_sql(table, stemmer), [query]).fetchall()
            if not terms:
                continue
            idfs = {int(t): float(idf) for t, idf, _ in terms}
            params: list[Any] = [language] if language is not None else []
            params += [since] if since is not None else []
            rows = con.execute(
                search_sql(
                    table, idfs, float(terms[0][2]), language is not None, since is not None
                ),
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
