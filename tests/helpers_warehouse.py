"""A small but realistic sample warehouse for tests of the export, the docs and the report.

``build_sample_warehouse(root)`` writes, through the real store, four runs of two sources
(``infoshos``, ``sectsco``) in two languages (en, ru) with articles published over three years
(2017-2019): 42 articles of which 6 are duplicates of another source's article, entities with
mentions whose offsets index the text, countries, topics, roles, translation links, a second
version of three articles, pages, rejects and the runs' timings (the last run failed). Everything
is deterministic, so tests can compare the outputs with their own DuckDB queries.

Beside it, what several warehouse tests do alike: ``query`` (and ``query_utc``) the catalog,
``write_spool`` a crawl's spool file of numbered pages, and ``lake_process``: another process
that works on the lake (holds its lock, leaves a transaction open) until the test kills it.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from infoshos.warehouse.schema import SPOOL, STAGES, TABLES
from infoshos.warehouse.store import Warehouse

SOURCES = ("infoshos", "sectsco")
LANGUAGES = ("en", "ru")
YEARS = (2017, 2018, 2019)
ORIGINALS = 36
#: Originals re-published by the other source a day later (same text: duplicates).
DUPLICATED = (0, 5, 10, 15, 20, 25)
#: Originals given a second version by the third run.
UPDATED = (1, 3, 4)

#: (run_id, started_at, articles published before this time are loaded by this run)
RUNS = (
    ("r1", datetime(2018, 6, 1, 3, 0, tzinfo=UTC)),
    ("r2", datetime(2019, 3, 1, 3, 0, tzinfo=UTC)),
    ("r3", datetime(2020, 1, 15, 3, 0, tzinfo=UTC)),
)
FAILED_RUN = ("r4", datetime(2020, 1, 16, 3, 0, tzinfo=UTC))

PERSONS = {
    "p-norov": ("Vladimir Norov", "Владимир Норов"),
    "p-alimov": ("Rashid Alimov", "Рашид Алимов"),
    "p-zhang": ("Zhang Ming", "Чжан Мин"),
    "p-sysoev": ("Evgeny Sysoev", "Евгений Сысоев"),
    "p-giyasov": ("Jumakhon Giyasov", "Джумахон Гиясов"),
}
ORGS = {
    "o-secretariat": ("SCO Secretariat", "Секретариат ШОС"),
    "o-rats": ("RATS SCO", "РАТС ШОС"),
    "o-business": ("SCO Business Council", "Деловой совет ШОС"),
}
COUNTRIES = {
    "c-ru": ("Russia", "Россия", "RU", "member"),
    "c-cn": ("China", "Китай", "CN", "member"),
    "c-kz": ("Kazakhstan", "Казахстан", "KZ", "member"),
    "c-in": ("India", "Индия", "IN", "member"),
    "c-ir": ("Iran", "Иран", "IR", "observer"),
    "c-af": ("Afghanistan", "Афганистан", "AF", "observer"),
    "c-tr": ("Turkey", "Турция", "TR", "dialogue_partner"),
}
TOPICS = ("terrorism", "economy_trade", "diplomacy", "security_cooperation", "energy")
TRIGGERS = {
    "terrorism": ("terrorism", "терроризм"),
    "economy_trade": ("trade", "торговля"),
    "diplomacy": ("talks", "переговоры"),
    "security_cooperation": ("security", "безопасность"),
    "energy": ("energy", "энергетика"),
}
REJECT_PLAN = {  # reason -> (stage, rejects per run)
    "http_error": ("crawl", 3),
    "offsite": ("crawl", 2),
    "not_article": ("clean", 4),
    "no_body": ("clean", 1),
    "no_date": ("clean", 2),
}


def _hash(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]


@dataclass
class _Article:
    index: int
    source: str
    language: str
    published_at: datetime
    persons: list[str]
    org: str
    countries: list[str]
    topics: list[str]
    duplicate_of: int | None = None
    segments: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def url(self) -> str:
        if self.source == "infoshos":
            return f"http://infoshos.sample.test/{self.language}/?idn={1000 + self.index}"
        day = self.published_at.strftime("%Y%m%d")
        edition = "eng" if self.language == "en" else "rus"
        return f"https://{edition}.sectsco.sample.test/{day}/{500 + self.index}.html"

    @property
    def article_id(self) -> str:
        return "a" + _hash(self.url)


def _plan() -> list[_Article]:
    person_ids = list(PERSONS)
    org_ids = list(ORGS)
    country_ids = list(COUNTRIES)
    articles: list[_Article] = []
    for i in range(ORIGINALS):
        year = YEARS[i % 3]
        published = datetime(year, 1 + (i * 5) % 12, 1 + (i * 7) % 27, 6 + i % 12, 30, tzinfo=UTC)
        # the persons' prominence differs by year, so the per-year top lists differ
        first = person_ids[(i + year) % len(person_ids)]
        persons = [first] if i % 3 else [first, person_ids[(i + year + 1) % len(person_ids)]]
        countries = [country_ids[i % 4]]
        countries.append(country_ids[4 + i % 3] if i % 2 else country_ids[(i + 1) % 4])
        topics = [TOPICS[i % 5]] + ([TOPICS[(i + 2) % 5]] if i % 4 == 0 else [])
        articles.append(
            _Article(
                index=i,
                source=SOURCES[i % 2],
                language=LANGUAGES[(i // 2) % 2],
                published_at=published,
                persons=persons,
                org=org_ids[(i // 3) % 3],
                countries=countries,
                topics=topics,
            )
        )
    for n, orig in enumerate(DUPLICATED):
        base = articles[orig]
        other = SOURCES[1 - SOURCES.index(base.source)]
        articles.append(
            _Article(
                index=ORIGINALS + n,
                source=other,
                language=base.language,
                published_at=base.published_at + timedelta(days=1),
                persons=list(base.persons),
                org=base.org,
                countries=list(base.countries),
                topics=list(base.topics),
                duplicate_of=orig,
            )
        )
    for art in articles:
        ru = art.language == "ru"
        idx = art.duplicate_of if art.duplicate_of is not None else art.index
        segs: list[tuple[str, str | None]] = []
        segs.append(("Встреча: " if ru else "Meeting: ", None))
        for pid in art.persons:
            segs.append((PERSONS[pid][ru], pid))
            segs.append((" и " if ru else " and ", None))
        segs.append((ORGS[art.org][ru], art.org))
        segs.append((" обсудили " if ru else " discussed ", None))
        for topic in art.topics:
            segs.append((TRIGGERS[topic][ru] + " " + TRIGGERS[topic][ru] + ", ", None))
        segs.append(("с участием " if ru else "with ", None))
        for cid in art.countries:
            segs.append((COUNTRIES[cid][ru], cid))
            segs.append((", ", None))
        segs.append((f"№{idx}.\n\n" if ru else f"no. {idx}.\n\n", None))
        segs.append((("Текст статьи. " if ru else "Article text. ") * (3 + idx % 4), None))
        segs.append((COUNTRIES[art.countries[0]][ru], art.countries[0]))
        segs.append((".", None))
        art.segments = segs
    return articles


def _text(art: _Article, version: int = 1) -> str:
    text = "".join(s for s, _ in art.segments)
    return text if version == 1 else text + "\n\nUpdate: corrected."


def _title(art: _Article) -> str:
    idx = art.duplicate_of if art.duplicate_of is not None else art.index
    return f"{'Новость' if art.language == 'ru' else 'News'} {idx}"


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = TABLES[name].schema
    return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)


def _rows_for_run(
    run_id: str,
    started: datetime,
    new: list[_Article],
    updated: list[_Article],
    by_index: dict[int, _Article],
    first_seen: dict[str, str],
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for art in new + updated:
        version = 2 if art in updated else 1
        text = _text(art, version)
        page_id = "p" + _hash(run_id, art.url)
        out["pages"].append(
            {
                "page_id": page_id,
                "url": art.url,
                "final_url": art.url,
                "fetch_url": art.url,
                "source": art.source,
                "page_type": "article",
                "status": 200,
                "headers": [("content-type", "text/html; charset=utf-8")],
                "body": f"<html><body><h1>{_title(art)}</h1><p>{text}</p></body></html>".encode(),
                "encoding": "utf-8",
                "fetched_at": started + timedelta(minutes=art.index),
                "run_id": run_id,
            }
        )
        canonical = by_index[art.duplicate_of] if art.duplicate_of is not None else art
        content_hash = _hash(text)
        out["articles"].append(
            {
                "article_id": art.article_id,
                "url": art.url,
                "source": art.source,
                "language": art.language,
                "title": _title(art),
                "subtitle": None,
                "published_at": art.published_at,
                "event_date": art.published_at.date() - timedelta(days=1),
                "text": text,
                "word_count": len(text.split()),
                "content_hash": content_hash,
                "cluster_id": canonical.article_id,
                "is_canonical": art.duplicate_of is None,
                "repairs": [("nbsp", 2)] if art.source == "infoshos" else [],
                "page_id": page_id,
                "first_seen_run": first_seen.setdefault(art.article_id, run_id),
                "run_id": run_id,
            }
        )
        out["article_versions"].append(
            {
                "article_id": art.article_id,
                "version": version,
                "content_hash": content_hash,
                "title": _title(art),
                "text": text,
                "page_id": page_id,
                "run_id": run_id,
            }
        )
        dup = art.duplicate_of is not None
        out["clusters"].append(
            {
                "cluster_id": canonical.article_id,
                "article_id": art.article_id,
                "role": "duplicate" if dup else "canonical",
                "similarity": 1.0,
                "reason": "same_content" if dup else "canonical",
                "run_id": run_id,
            }
        )
        country_counts: dict[str, int] = {}
        pos = 0
        for surface, entity in art.segments:
            if entity is not None:
                out["mentions"].append(
                    {
                        "article_id": art.article_id,
                        "entity_id": entity,
                        "surface": surface,
                        "start_char": pos,
                        "end_char": pos + len(surface),
                        "method": "gazetteer" if entity.startswith("c-") else "ner",
                        "run_id": run_id,
                    }
                )
                if entity.startswith("c-"):
                    country_counts[entity] = country_counts.get(entity, 0) + 1
            pos += len(surface)
        for cid, n in country_counts.items():
            out["article_countries"].append(
                {
                    "article_id": art.article_id,
                    "entity_id": cid,
                    "iso_code": COUNTRIES[cid][2],
                    "sco_status": COUNTRIES[cid][3],
                    "mentions": n,
                    "run_id": run_id,
                }
            )
        words = len(text.split())
        for topic in art.topics:
            out["article_topics"].append(
                {
                    "article_id": art.article_id,
                    "topic": topic,
                    "score": round(2 / words, 4),
                    "triggers": [TRIGGERS[topic][art.language == "ru"]],
                    "run_id": run_id,
                }
            )
        if art.index % 4 == 1:
            out["roles"].append(
                {
                    "article_id": art.article_id,
                    "person_id": art.persons[0],
                    "role": "Secretary-General",
                    "org_id": "o-secretariat",
                    "as_of": art.published_at.date(),
                    "run_id": run_id,
                }
            )
        # an English original and the Russian original two places on are translations
        if art.language == "en" and art.duplicate_of is None and art.index + 2 in by_index:
            other = by_index[art.index + 2]
            if other.language == "ru" and art in new and other in new:
                out["article_links"].append(
                    {
                        "article_id": other.article_id,
                        "other_id": art.article_id,
                        "kind": "translation_of",
                        "score": 0.8,
                        "run_id": run_id,
                    }
                )
    n_run = int(run_id[1:])
    for reason, (stage, count) in REJECT_PLAN.items():
        for k in range(count):
            source = SOURCES[k % 2]
            url = f"http://{source}.sample.test/bad/{reason}/{k}"
            reject_page: str | None = None
            if stage == "clean" or reason == "http_error":
                reject_page = "p" + _hash(run_id, url)
                out["pages"].append(
                    {
                        "page_id": reject_page,
                        "url": url,
                        "source": source,
                        "page_type": "other" if reason == "not_article" else "article",
                        "status": 404 if reason == "http_error" else 200,
                        "headers": [("content-type", "text/html")],
                        "body": b"<html></html>",
                        "encoding": "utf-8",
                        "fetched_at": started + timedelta(seconds=k + 1),
                        "run_id": run_id,
                    }
                )
            out["rejects"].append(
                {
                    "url": url,
                    "source": source,
                    "stage": stage,
                    "reason": reason,
                    "detail": f"{reason} in run {n_run}",
                    "page_id": reject_page,
                    "run_id": run_id,
                }
            )
    return out


def _run_row(
    run_id: str, started: datetime, rows: dict[str, list[dict[str, Any]]], n_updated: int
) -> dict[str, Any]:
    n = int(run_id[1:])
    seconds = {stage: round(1.5 * (k + 1) + 0.25 * n, 3) for k, stage in enumerate(STAGES)}
    by_reason: dict[str, int] = {}
    for r in rows["rejects"]:
        by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + 1
    articles = rows["articles"]
    return {
        "run_id": run_id,
        "started_at": started,
        "finished_at": started + timedelta(seconds=sum(seconds.values())),
        "sources": list(SOURCES),
        "status": "completed",
        "pages_fetched": len(rows["pages"]),
        "articles_new": len(articles) - n_updated,
        "articles_updated": n_updated,
        "articles_unchanged": 0,
        "duplicates": sum(1 for a in articles if not a["is_canonical"]),
        "rejects": len(rows["rejects"]),
        "entities": len(PERSONS) + len(ORGS) + len(COUNTRIES),
        "mentions_new": len(rows["mentions"]),
        "rejects_by_reason": sorted(by_reason.items()),
        "stage_seconds": list(seconds.items()),
        "code_version": "0.1.0",
        "schema_version": 1,
        "config": '{"sources": ["infoshos", "sectsco"]}',
    }


def _entities(run_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for eid, (en, ru) in PERSONS.items():
        rows.append({"entity_id": eid, "type": "person", "name": en, "aliases": [ru]})
    for eid, (en, ru) in ORGS.items():
        rows.append({"entity_id": eid, "type": "org", "name": en, "aliases": [ru]})
    for eid, (en, ru, iso, _) in COUNTRIES.items():
        rows.append({"entity_id": eid, "type": "country", "name": en, "aliases": [ru]})
        rows[-1]["iso_code"] = iso
    for row in rows:
        row["run_id"] = run_id
    return rows


def build_sample_warehouse(root: Path) -> Warehouse:
    """Write the sample warehouse into ``root`` (created) and return it."""
    wh = Warehouse(root)
    articles = _plan()
    by_index = {a.index: a for a in articles}
    loaded: set[int] = set()
    first_seen: dict[str, str] = {}
    for run_id, started in RUNS:
        new = [a for a in articles if a.index not in loaded and a.published_at < started]
        updated = [by_index[i] for i in UPDATED if i in loaded] if run_id == "r3" else []
        rows = _rows_for_run(run_id, started, new, updated, by_index, first_seen)
        ids = [a.article_id for a in updated]
        with wh.lock():
            tx = wh.transaction(run_id)
            tx.append("pages", _table("pages", rows["pages"]))
            tx.append("rejects", _table("rejects", rows["rejects"]))
            tx.append("article_versions", _table("article_versions", rows["article_versions"]))
            tx.upsert("articles", _table("articles", rows["articles"]))
            tx.upsert("clusters", _table("clusters", rows["clusters"]))
            tx.upsert("entities", _table("entities", _entities(run_id)))
            for name in ("mentions", "roles", "article_countries", "article_topics"):
                # (scope with no ids trips pa.array([]) being null-typed in store.upsert)
                tx.upsert(
                    name, _table(name, rows[name]), scope=("article_id", ids) if ids else None
                )
            tx.upsert("article_links", _table("article_links", rows["article_links"]))
            tx.append("runs", _table("runs", [_run_row(run_id, started, rows, len(updated))]))
            tx.commit()
        loaded.update(a.index for a in new)
    assert len(loaded) == len(articles), "every sample article is loaded by some run"
    run_id, started = FAILED_RUN
    failed = {
        "run_id": run_id,
        "started_at": started,
        "finished_at": started + timedelta(seconds=4),
        "sources": ["sectsco"],
        "status": "failed",
        "pages_fetched": 0,
        "stage_seconds": [("crawl", 3.5)],
        "message": "crawl failed: connection refused",
        "schema_version": 1,
    }
    with wh.lock():
        tx = wh.transaction(run_id)
        tx.append("runs", _table("runs", [failed]))
        tx.commit()
    return wh


def build_empty_warehouse(root: Path) -> Warehouse:
    """A warehouse with a published snapshot in which every table is empty."""
    wh = Warehouse(root)
    with wh.lock():
        wh.transaction("r0").commit()
    return wh


def sample_articles() -> list[dict[str, Any]]:
    """The sample articles as plain dicts: source, language, published_at, url, duplicate."""
    return [
        {
            "source": a.source,
            "language": a.language,
            "published_at": a.published_at,
            "url": a.url,
            "duplicate": a.duplicate_of is not None,
        }
        for a in _plan()
    ]


def published_since(since: date) -> int:
    cut = datetime(since.year, since.month, since.day, tzinfo=UTC)
    return sum(1 for a in _plan() if a.published_at >= cut)


def query(wh: Warehouse, sql: str, *, timezone: str | None = None) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` against the warehouse's catalog (read-only); with ``timezone``, the
    session's time zone is set first (it decides the day and month of a timestamp)."""
    from infoshos.warehouse.catalog import connect

    con = connect(wh)
    try:
        if timezone is not None:
            con.execute(f"SET TimeZone = '{timezone}'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def query_utc(wh: Warehouse, sql: str) -> list[tuple[Any, ...]]:
    """:func:`query` with days and months counted in UTC, as the report counts them."""
    return query(wh, sql, timezone="UTC")


def write_spool(path: Path, n: int, start: int, *, row_group_size: int | None = None) -> Path:
    """A crawl's spool file at ``path``: ``n`` article pages numbered from ``start``
    (``https://example.org/news/N``, body ``<html>N</html>``, fetched N seconds after
    2024-01-01 UTC)."""
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        {
            "url": f"https://example.org/news/{number}",
            "fetch_url": f"http://127.0.0.1/news/{number}",
            "source": "s",
            "page_type": "article",
            "status": 200,
            "headers": {"content-type": "text/html"},
            "body": b"<html>%d</html>" % number,
            "fetched_at": t0 + timedelta(seconds=number),
        }
        for number in range(start, start + n)
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=SPOOL), path, row_group_size=row_group_size)
    return path


@contextmanager
def lake_process(code: str, root: Path, ready: str) -> Iterator[subprocess.Popen[str]]:
    """``python -c code root`` in another process, entered once that process has printed the
    line ``ready`` (once it holds the lock, say); killed with -9 and reaped on leaving."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == ready
        yield proc
    finally:
        proc.kill()
        proc.wait()
