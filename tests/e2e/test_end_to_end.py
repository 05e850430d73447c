"""The whole pipeline on the bundled sample site, checked through DuckDB.

One run into a fresh warehouse, then a second run over the same site: the keyed tables must not
change, while `pages` and `runs` record every fetch and run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from helpers_warehouse import query as _query
from paths import README

from infoshos.spiders import sample_site
from infoshos.spiders.sample_site.model import BROKEN_KINDS, VALID_BROKEN
from infoshos.warehouse.schema import REJECT_REASONS
from infoshos.warehouse.store import Warehouse

pytestmark = pytest.mark.slow

DAMAGE = re.compile("[\u00a0\u2020\u00c2\ufffd]|Ã|Ð|â€")


@pytest.fixture(scope="module")
def runs(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from infoshos.flows.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("warehouse")
    first = run_pipeline(warehouse=str(root))
    wh = Warehouse(root)
    before = {t: _rows(wh, t) for t in ("articles", "entities", "mentions", "clusters")}
    counts = {t: _count(wh, t) for t in ("pages", "runs", "rejects")}
    second = run_pipeline(warehouse=str(root))
    return {"wh": wh, "first": first, "second": second, "before": before, "counts": counts}


def _count(wh: Warehouse, table: str) -> int:
    return int(_query(wh, f"select count(*) from {table}")[0][0])


def _rows(wh: Warehouse, table: str) -> list[tuple[Any, ...]]:
    cols = "* exclude (run_id)" if table != "articles" else "* exclude (run_id, first_seen_run)"
    return sorted(_query(wh, f"select {cols} from {table}"), key=repr)


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text))


def test_every_sample_article_is_stored_once(runs: dict[str, Any]) -> None:
    wh = runs["wh"]
    expected = {a.canonical_url for a in sample_site.expected_articles()}
    stored = {row[0] for row in _query(wh, "select url from articles")}
    assert stored == expected
    assert _count(wh, "articles") == len(expected)
    assert runs["first"]["articles_new"] == len(expected)


def test_text_is_decoded_and_repaired(runs: dict[str, Any]) -> None:
    wh = runs["wh"]
    truth = {a.canonical_url: a for a in sample_site.expected_articles()}
    rows = _query(wh, "select url, language, title, text from articles")
    subtitles = dict(_query(wh, "select url, subtitle from articles"))
    assert all(subtitles[u] == truth[u].subtitle for u in truth)
    russian = [r for r in rows if r[1] == "ru"]
    assert len(russian) >= 15
    assert all(re.search("[а-яА-Я]{3}", r[3]) for r in russian)
    exact = 0
    for url, lang, title, text in rows:
        art = truth[url]
        assert lang == art.language, url
        assert not DAMAGE.search(text), (url, DAMAGE.search(text))
        # no glued or mojibake word: every word stored is a word of the clean original
        extra = _words(text) - _words("\n\n".join(art.paragraphs))
        assert not extra, (url, sorted(extra)[:10])
        assert title == art.title
        exact += text == "\n\n".join(art.paragraphs)
    assert exact == len(rows)  # exact title and body on every sample article


def test_dates_are_timezone_aware_moscow_times(runs: dict[str, Any]) -> None:
    wh = runs["wh"]
    truth = {a.canonical_url: a for a in sample_site.expected_articles()}
    rows = _query(
        wh,
        "select url, strftime(published_at at time zone 'Europe/Moscow', '%d.%m.%Y %H:%M') "
        "from articles",
    )
    assert rows
    for url, moscow in rows:
        assert moscow == truth[url].published, url


def test_duplicates_share_a_cluster_with_one_canonical(runs: dict[str, Any]) -> None:
    wh = runs["wh"]
    arts = sample_site.expected_articles()
    by_key = {a.key: a for a in arts}
    cluster = dict(_query(wh, "select url, cluster_id from articles"))
    copies = [a for a in arts if a.republish_of]
    assert len(copies) >= 8
    for art in copies:
        assert art.republish_of is not None
        original = by_key[art.republish_of]
        assert cluster[art.canonical_url] == cluster[original.canonical_url], art.key
    canon = _query(
        wh, "select cluster_id, count(*) filter (where is_canonical) from articles group by 1"
    )
    assert all(n == 1 for _, n in canon)
    multi = _query(
        wh, "select count(*) from (select cluster_id from articles group by 1 having count(*) > 1)"
    )
    assert multi[0][0] >= len(copies) - 1


#: The reject each broken sample article must get (``BROKEN_KINDS``; an
#: ``http500_once`` page is fetched again and stored).
BROKEN_REASONS = {
    "missing_404": "http_error",
    "truncated": "truncated",
    "no_date": "no_date",
    "empty_body": "no_body",
}


def test_rejects_have_reasons(runs: dict[str, Any]) -> None:
    """Every reject the sample site calls for, with its reason, and no other."""
    wh = runs["wh"]
    assert set(BROKEN_REASONS) == set(BROKEN_KINDS) - VALID_BROKEN
    assert set(BROKEN_REASONS.values()) <= set(REJECT_REASONS)
    expected = {
        (a.canonical_url, BROKEN_REASONS[a.broken])
        for a in sample_site.load_articles()
        if a.broken and not a.is_valid
    }
    prefixes = dict(sample_site.url_map(""))
    for doc in sample_site.load_documents():
        prefix = next(p for p in prefixes if doc.local_path.startswith(p))
        expected.add((prefixes[prefix] + doc.local_path[len(prefix) :], "not_article"))
    expected |= {
        (link.href, "offsite")
        for a in sample_site.load_articles()
        for link in a.links
        if link.href.startswith("http") and ".sample.test" not in link.href
    }
    assert len(expected) == 7  # 4 broken articles, 2 PDF documents, 1 off-site link
    got = _query(
        wh, "select url, reason, count(*), count(DISTINCT run_id) from rejects group by all"
    )
    assert {(url, reason) for url, reason, *_ in got} == expected
    assert [r for r in got if r[2] != r[3]] == []  # one row per run that met it
    nulls = _query(wh, "select count(*) from rejects where reason is null or url is null")
    assert nulls == [(0,)]


def test_entities_and_mentions_point_into_the_text(runs: dict[str, Any]) -> None:
    wh = runs["wh"]
    types = {r[0] for r in _query(wh, "select distinct type from entities")}
    assert {"person", "org", "country"} <= types
    bad = _query(
        wh,
        "select count(*) from mentions m join articles a using (article_id) "
        "where substr(a.text, m.start_char + 1, m.end_char - m.start_char) <> m.surface",
    )
    assert bad == [(0,)]
    orphans = _query(wh, "select count(*) from mentions m anti join entities e using (entity_id)")
    assert orphans == [(0,)]


def test_second_run_adds_no_rows_but_records_the_fetches(runs: dict[str, Any]) -> None:
    wh = runs["wh"]
    for table, rows in runs["before"].items():
        assert _rows(wh, table) == rows, table
    assert runs["second"]["articles_new"] == 0
    assert runs["second"]["articles_updated"] == 0
    assert _count(wh, "runs") == runs["counts"]["runs"] + 1
    # the second (incremental) run fetched the lists and feeds again, and no known article
    second = runs["second"]["run_id"]
    refetched = _query(
        wh,
        "select p.url, p.status from pages p join articles a on a.url = p.url "
        f"where p.run_id = '{second}'",
    )
    assert refetched == []
    first = runs["first"]["run_id"]

    def fetched(run: str, page_type: str) -> set[str]:
        sql = f"select url from pages where run_id = '{run}' and page_type = '{page_type}'"
        return {u for (u,) in _query(wh, sql)}

    # every feed again; list pages until a page holds only known articles; of the article
    # pages, only those the first run rejected (a stored article is never fetched again)
    assert fetched(second, "feed") == fetched(first, "feed") != set()
    assert fetched(second, "list") and fetched(second, "list") <= fetched(first, "list")
    rejected = {u for (u,) in _query(wh, f"select url from rejects where run_id = '{first}'")}
    assert fetched(second, "article") <= rejected
    types = {
        t for (t,) in _query(wh, f"select distinct page_type from pages where run_id = '{second}'")
    }
    assert types <= {"feed", "list", "article"}, types
    n = _query(wh, f"select count(*) from pages where run_id = '{second}'")[0][0]
    assert _count(wh, "pages") == runs["counts"]["pages"] + n


def test_warehouse_layout_is_relative_and_portable(runs: dict[str, Any]) -> None:
    root = Path(runs["wh"].root)
    assert (root / "lake.sqlite").exists() and (root / "search.duckdb").exists()
    assert not list(root.glob("_staging/*"))
    con = runs["wh"].connect()
    relative = con.execute(
        "select bool_and(path_is_relative::BOOLEAN), count(*) "
        "from __ducklake_metadata_lake.ducklake_data_file"
    ).fetchone()
    con.close()
    assert relative is not None and relative[0] is True and relative[1] > 0


def test_translations_are_linked_not_merged(runs: dict[str, Any]) -> None:
    wh = runs["wh"]
    arts = {a.key: a for a in sample_site.expected_articles()}
    pairs = {
        frozenset((a.canonical_url, arts[a.translation_of].canonical_url))
        for a in arts.values()
        if a.translation_of in arts
    }
    assert len(pairs) >= 6
    rows = _query(
        wh,
        "select a.url, o.url, a.cluster_id = o.cluster_id from article_links l "
        "join articles a on a.article_id = l.article_id "
        "join articles o on o.article_id = l.other_id where l.kind = 'translation_of'",
    )
    found = {frozenset((r[0], r[1])) for r in rows}
    assert pairs <= found
    assert not any(r[2] for r in rows)  # linked, never clustered as duplicates


def test_every_query_in_the_readme_runs_and_answers(runs: dict[str, Any]) -> None:
    readme = README.read_text()
    blocks = re.findall(r"```sql\n(.*?)```", readme, re.S)
    statements = [
        s.strip()
        for block in blocks
        for s in re.sub(r"--[^\n]*", "", block).split(";")
        if s.strip()
    ]
    assert len(statements) >= 5
    for sql in statements:
        rows = _query(runs["wh"], sql)
        assert rows, f"no rows from README query: {sql[:80]}"
