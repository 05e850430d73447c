"""Runs in chunks: the spool read batch by batch, the stored state read as keys, enrichment on
worker processes, and a whole run in small chunks giving the warehouse one chunk gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from helpers_warehouse import build_sample_warehouse, write_spool
from helpers_warehouse import query as _query

from infoshos.flows.crawl_stage import read_spools, spool_batches
from infoshos.flows.enrich import enrich_articles
from infoshos.flows.enrich.parallel import EnrichPool
from infoshos.flows.state import StoredState
from infoshos.spiders.sample_site import expected_articles
from infoshos.warehouse.store import Warehouse


def test_spool_batches_give_the_ids_of_one_read_in_any_batch_size(tmp_path: Path) -> None:
    paths = [tmp_path / "a.parquet", tmp_path / "missing.parquet", tmp_path / "b.parquet"]
    write_spool(paths[0], 23, 0, row_group_size=7)
    write_spool(paths[2], 11, 100, row_group_size=7)
    whole = read_spools(paths, "run-1")
    assert whole.num_rows == 34 and len(set(whole["page_id"].to_pylist())) == 34
    for rows in (1, 5, 64):
        batches = list(spool_batches(paths, "run-1", rows))
        assert all(b.num_rows <= rows for b in batches)
        assert pa.concat_tables(batches).equals(whole)
    heads = list(spool_batches(paths, "run-1", 10, columns=["status"]))
    got = pa.concat_tables(heads)
    assert "body" not in got.column_names and "status" in got.column_names
    assert got["page_id"].to_pylist() == whole["page_id"].to_pylist()
    assert read_spools([tmp_path / "none.parquet"], "r").num_rows == 0


def test_stored_state_reads_keys_and_rows_on_demand(tmp_path: Path) -> None:
    wh = build_sample_warehouse(tmp_path / "wh")
    state = StoredState.read(wh)
    stored = {
        r[0]: r[1:]
        for r in _query(
            wh, "select article_id, content_hash, first_seen_run, cluster_id from articles"
        )
    }
    assert state.hashes == {a: v[0] for a, v in stored.items()}
    assert state.first_seen == {a: v[1] for a, v in stored.items()}
    assert {a: c for a, (c, _) in state.clusters.items()} == {a: v[2] for a, v in stored.items()}
    versions = dict(_query(wh, "select article_id, max(version) from article_versions group by 1"))
    assert state.versions == versions
    assert set(state.dedup) == set(stored)
    some = sorted(stored)[:3]
    rows = state.article_rows(some)
    assert sorted(r["article_id"] for r in rows) == some
    texts = dict(
        _query(wh, f"select article_id, text from articles where article_id in {tuple(some)}")
    )
    assert state.texts(some) == texts
    assert state.article_rows([]) == [] and state.texts([]) == {}
    assert state.articles[some[0]]["content_hash"] == stored[some[0]][0]
    inputs = [r["article_id"] for b in state.link_input_batches(skip=set(some)) for r in b]
    assert sorted(inputs) == sorted(set(stored) - set(some))
    assert state.yield_history("full") == [] or isinstance(state.yield_history("full")[0], dict)


def test_enrich_pool_gives_the_results_of_one_process() -> None:
    records = [
        {
            "article_id": a.key,
            "language": a.language,
            "text": a.text,
            "published_at": a.published_at,
        }
        for a in expected_articles()
    ][:24]
    with EnrichPool(0) as local:
        here = list(local.map(records, batch=5))
    with EnrichPool(2) as pool:
        there = list(pool.map(records, batch=5))
        later, seconds = pool.collect(pool.submit(records, batch=5))
    assert later == here and seconds > 0
    with EnrichPool(0) as local:
        now, local_seconds = local.collect(local.submit(records, batch=5))
    assert now == here and local_seconds > 0
    assert len(here) == len(there) == 5
    assert there == here
    assert sum(len(r.mentions) for r in there) > 0
    one = enrich_articles(records[:5])
    assert there[0] == one


@pytest.mark.slow
def test_a_run_in_small_chunks_writes_what_one_chunk_writes(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infoshos.flows import pipeline, process

    one = tmp_path / "one"
    pipeline.run_pipeline(warehouse=str(one))
    # chunks of 7 pages, enriched on two worker processes
    monkeypatch.setattr(pipeline, "CHUNK_PAGES", 7)
    monkeypatch.setattr(process, "POOL_MIN_PAGES", 0)
    monkeypatch.setenv("INFOSHOS_ENRICH_WORKERS", "2")
    chunked = tmp_path / "chunked"
    result: Any = pipeline.run_pipeline(warehouse=str(chunked))
    assert result["articles_new"] > 7
    tables = (
        "articles", "clusters", "entities", "mentions", "roles", "article_countries",
        "article_topics", "article_links", "article_versions", "minhashes",
    )  # fmt: skip
    a, b = Warehouse(one), Warehouse(chunked)
    for table in tables:
        _same(_rows(a, table), _rows(b, table), table)
    assert _count(a, "pages") == _count(b, "pages")
    assert _count(a, "rejects") == _count(b, "rejects")
    # a re-process in small chunks rebuilds the same tables
    before = {t: _rows(b, t) for t in ("articles", "clusters", "mentions", "entities")}
    again: Any = pipeline.reprocess_pipeline(warehouse=str(chunked))
    assert again["articles_new"] == 0
    for table, rows in before.items():
        _same(_rows(b, table), rows, table)


def _same(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], table: str) -> None:
    extra = sorted(set(map(repr, got)) - set(map(repr, expected)))[:5]
    missing = sorted(set(map(repr, expected)) - set(map(repr, got)))[:5]
    assert got == expected, f"{table}: extra {extra}, missing {missing}"


def _rows(wh: Warehouse, table: str) -> list[tuple[Any, ...]]:
    if table == "entities":
        # ids and types only: the name and aliases of an entity NER found (not in the
        # gazetteer) come from the surfaces of the articles enriched in one batch with it
        return sorted(_query(wh, "select entity_id, type, iso_code from entities"), key=repr)
    skip = "run_id, first_seen_run" if table == "articles" else "run_id"
    if table == "article_versions":
        skip = "run_id, page_id"
    if table == "articles":
        skip += ", page_id"
    return sorted(_query(wh, f"select * exclude ({skip}) from {table}"), key=repr)


def _count(wh: Warehouse, table: str) -> int:
    return int(_query(wh, f"select count(*) from {table}")[0][0])


def test_gone_fetches_key_a_url_without_a_canonical_form_by_the_url() -> None:
    from datetime import UTC, datetime

    from infoshos.flows.stream import gone_fetches
    from infoshos.warehouse.keys import article_id

    urls = ["http://example.org:99999/a", "http://example.org:abc/b", "http://[::1/c"]
    when = datetime(2026, 11, 1, tzinfo=UTC)
    pages = pa.table(
        {
            "url": urls,
            "status": [410, 404, 200],
            "page_type": ["article"] * 3,
            "fetched_at": [when] * 3,
        }
    )
    assert [(f["url"], f["article_id"]) for f in gone_fetches(pages)] == [
        (u, article_id(u)) for u in urls[:2]
    ]


def test_link_inputs_come_back_in_day_order_spilled_or_in_memory(tmp_path: Path) -> None:
    from datetime import UTC, date, datetime

    from infoshos.flows.stream import LinkSpill

    def record(i: int, event: date | None, published: datetime | None) -> dict[str, Any]:
        return {
            "article_id": f"a{i:02d}",
            "language": "ru" if i % 2 else "en",
            "published_at": published,
            "event_date": event,
            "numbers": [str(i)],
            "entity_ids": ["country:cn"] if i % 3 else [],
        }

    late = datetime(2024, 5, 1, 23, 30, tzinfo=UTC)  # 2 May east of UTC: swept on 1 May
    chunks = [
        [record(0, None, late), record(1, date(2024, 4, 30), None), record(2, None, None)],
        [record(3, None, datetime(2024, 5, 2, 1, tzinfo=UTC)), record(4, date(2024, 5, 1), late)],
        [record(5, None, late), record(6, date(2024, 4, 30), late)],
    ]
    spilled, held = LinkSpill(tmp_path / "links.parquet"), LinkSpill()
    for chunk in chunks:
        spilled.add(chunk)
        held.add(chunk)
    from_disk, from_memory = spilled.by_day(), held.by_day()
    order = [r["article_id"] for r in from_disk()]
    assert order == ["a01", "a06", "a00", "a04", "a05", "a03", "a02"]  # undated last
    assert list(from_disk()) == list(from_memory())  # read twice, the same records
    assert list(from_disk())[0] == record(1, date(2024, 4, 30), None)
