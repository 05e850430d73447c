"""Processing on Dask: the Dask setting, page files written by workers and registered by the run's
one transaction (``ducklake_add_data_files``), a run on a 2-worker ``LocalCluster`` giving the
tables of a single-process run, and a worker killed with -9 mid-run.

The cluster tests are marked ``scale`` (``make pytest-scale``); the setting and the lake's side of
the worker files need no cluster and run with the other tests."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers_warehouse import query as _query

from infoshos.flows.crawl_stage import read_spools
from infoshos.flows.load import pages_rows, write_pages_file
from infoshos.flows.runner import (
    DASK_ENV,
    DaskSetting,
    DaskSettingError,
    check_dask,
    dask_setting,
    parse_dask,
)
from infoshos.warehouse.schema import SPOOL, TABLES
from infoshos.warehouse.store import (
    OWN_FILE,
    QualityGateError,
    Warehouse,
    WarehouseError,
    compact,
    conform,
)

#: Columns that differ between two runs over the same input: the run, fetch times and the ids
#: made from them, the local server's address and its Date headers, the run's own timings.
PER_RUN = ("run_id", "first_seen_run", "page_id", "fetched_at", "fetch_url", "headers")


# -- the setting -------------------------------------------------------------------------------
def test_the_dask_setting_is_local_n_or_a_scheduler_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert parse_dask(None) is None and parse_dask(" ") is None
    assert parse_dask("local") == DaskSetting(workers=2)
    assert parse_dask("local:3") == DaskSetting(workers=3)
    assert parse_dask("tcp://10.0.0.5:8786") == DaskSetting(address="tcp://10.0.0.5:8786")
    assert parse_dask("sched.internal:8786") == DaskSetting(address="tcp://sched.internal:8786")
    for bad in ("local:0", "local:x", "remote", "tcp://host", "host:99999", "http://h:1"):
        with pytest.raises(DaskSettingError):
            parse_dask(bad)
    monkeypatch.setenv(DASK_ENV, "local:4")
    assert dask_setting(None) == DaskSetting(workers=4)
    assert dask_setting("local:1") == DaskSetting(workers=1)  # the option wins
    monkeypatch.setenv(DASK_ENV, "")
    assert dask_setting(None) is None
    check_dask(DaskSetting(workers=2))  # nothing to reach
    with pytest.raises(DaskSettingError, match="no Dask scheduler answers at tcp://127.0.0.1:9"):
        check_dask(DaskSetting(address="tcp://127.0.0.1:9"), timeout=1)


# -- worker files in the run's transaction -------------------------------------------------------
def _chunk(tmp: Path, n: int, start: int, run_id: str) -> pa.Table:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        {
            "url": f"https://example.org/news/{start + i}",
            "fetch_url": f"http://127.0.0.1/news/{start + i}",
            "source": "s",
            "page_type": "article",
            "status": 200,
            "headers": {"content-type": "text/html"},
            "body": b"<html>%d</html>" % (start + i),
            "fetched_at": t0 + timedelta(seconds=start + i),
        }
        for i in range(n)
    ]
    path = tmp / f"spool-{start}.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=SPOOL), path)
    return read_spools([path], run_id)


def _pages(wh: Warehouse) -> list[tuple[Any, ...]]:
    return _query(wh, "select page_id, url, body, encoding, run_id from pages order by url")


def test_worker_files_are_published_by_the_run_transaction_or_not_at_all(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    with wh.lock():
        tx = wh.transaction("r1")
        folder = tx.data_folder("pages")
        chunks = [_chunk(tmp_path, 5, 0, "r1"), _chunk(tmp_path, 4, 100, "r1")]
        files = [write_pages_file(c, {}, folder) for c in chunks]
        assert all(
            f is not None and f.parent == folder and OWN_FILE.fullmatch(f.name) for f in files
        )
        tx.add_files("pages", [f for f in files if f is not None])
        assert _pages(wh) == []  # not published before the commit
        snap = tx.commit()
    assert snap.rows["pages"] == 9
    expected = pa.concat_tables([conform("pages", pages_rows(c, {})) for c in chunks])
    cols = ["page_id", "url", "body", "encoding", "run_id"]
    rows = [tuple(r.values()) for r in expected.select(cols).to_pylist()]
    assert _pages(wh) == sorted(rows, key=lambda r: r[1])
    assert sorted(wh.files("pages")) == sorted(f for f in files if f is not None)

    # a file that is not the table's declared columns is refused, nothing published
    wrong = folder / "ducklake-00000000-0000-4000-8000-000000000000.parquet"
    with wh.lock():
        tx = wh.transaction("r2")
        pq.write_table(pa.table({"page_id": ["x"]}), wrong)
        with pytest.raises(WarehouseError, match="not the declared columns of pages"):
            tx.add_files("pages", [wrong])
        tx.rollback()
    # nulls in a required column fail the quality gate (read from the file's statistics)
    nulls = conform("pages", pages_rows(_chunk(tmp_path, 2, 200, "r3"), {}))
    run_id = nulls.schema.get_field_index("run_id")
    nulls = nulls.set_column(run_id, pa.field("run_id", pa.string()), pa.nulls(2, pa.string()))
    with wh.lock():
        tx = wh.transaction("r3")
        bad = tx.data_folder("pages") / "ducklake-00000000-0000-4000-8000-000000000001.parquet"
        nullable = pa.schema([f.with_nullable(True) for f in TABLES["pages"].schema])
        pq.write_table(nulls.cast(nullable), bad)
        tx.add_files("pages", [bad])
        with pytest.raises(QualityGateError, match="pages.run_id has 2 null values"):
            tx.commit()
    with wh.lock():  # the refused files belong to no snapshot: the next lock deletes them
        pass
    assert not wrong.exists() and not bad.exists() and wh.orphans() == []
    assert wh.current().number == snap.number and len(_pages(wh)) == 9

    # compaction merges the registered files like DuckLake's own and deletes the originals
    with wh.lock():
        tx = wh.transaction("r4")
        more = write_pages_file(_chunk(tmp_path, 3, 300, "r4"), {}, tx.data_folder("pages"))
        assert more is not None
        tx.add_files("pages", [more])
        tx.commit()
    before = _pages(wh)
    assert compact(wh, "c", keep_days=0)["pages"][0] == 3
    assert _pages(wh) == before and wh.file_count("pages") == 1
    assert not any(f.exists() for f in [*files, more] if f is not None)


KILLED_RUN = """
import os, signal, sys
from pathlib import Path
import pyarrow.parquet as pq
from infoshos.flows.load import write_pages_file
from infoshos.flows.crawl_stage import read_spools
from infoshos.warehouse.store import Warehouse
wh = Warehouse(sys.argv[1])
with wh.lock():
    tx = wh.transaction("killed")
    folder = tx.data_folder("pages")
    chunk = read_spools([Path(sys.argv[2])], "killed")
    added = write_pages_file(chunk, {}, folder)
    tx.add_files("pages", [added])
    write_pages_file(chunk, {}, folder)  # a worker's file not yet registered
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_run_killed_before_its_commit_leaves_worker_files_as_orphans_the_next_run_deletes(
    tmp_path: Path,
) -> None:
    wh = Warehouse(tmp_path / "wh")
    with wh.lock():
        tx = wh.transaction("r1")
        first = write_pages_file(_chunk(tmp_path, 3, 0, "r1"), {}, tx.data_folder("pages"))
        assert first is not None
        tx.add_files("pages", [first])
        tx.commit()
    previous, pages = wh.current().number, _pages(wh)
    _chunk(tmp_path, 4, 50, "killed")
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, str(wh.root), str(tmp_path / "spool-50.parquet")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert wh.current().number == previous and _pages(wh) == pages  # the lake is consistent
    orphans = wh.orphans()
    assert len(orphans) == 2 and all(OWN_FILE.fullmatch(p.name) for p in orphans)
    with wh.lock():  # the next run, once it holds the lock, deletes them
        tx = wh.transaction("r2")
        again = write_pages_file(_chunk(tmp_path, 2, 90, "r2"), {}, tx.data_folder("pages"))
        assert again is not None
        tx.add_files("pages", [again])
        tx.commit()
    assert not any(p.exists() for p in orphans) and wh.orphans() == []
    assert len(_pages(wh)) == 5


# -- runs on a cluster ---------------------------------------------------------------------------
def _tables(wh: Warehouse) -> dict[str, list[tuple[Any, ...]]]:
    """Every table but `runs`, rows without the per-run columns, sorted."""
    out = {}
    for name, spec in TABLES.items():
        if name == "runs":
            continue
        cols = [c for c in spec.column_names if c not in PER_RUN]
        out[name] = sorted(_query(wh, f"select {', '.join(cols)} from {name}"), key=repr)
    return out


def _same_tables(a: Warehouse, b: Warehouse) -> None:
    left, right = _tables(a), _tables(b)
    for name in left:
        extra = sorted(set(map(repr, right[name])) - set(map(repr, left[name])))[:3]
        missing = sorted(set(map(repr, left[name])) - set(map(repr, right[name])))[:3]
        assert left[name] == right[name], f"{name}: extra {extra}, missing {missing}"
    assert left["clusters"] and left["article_links"] and left["mentions"]  # not vacuous


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A ``LocalCluster`` of 2 worker processes on 127.0.0.1, stopped after the module."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.WARNING,
    ) as local:
        yield local


@pytest.mark.scale
def test_a_dask_run_writes_the_tables_of_a_single_process_run(
    prefect_harness: None, cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infoshos.flows import chunks, load, pipeline
    from infoshos.warehouse import store

    monkeypatch.setattr(pipeline, "CHUNK_PAGES", 7)  # many chunks, several in flight
    one = tmp_path / "one"
    pipeline.run_pipeline(warehouse=str(one))

    added: list[Path] = []
    register = store.Transaction.add_files

    def spy(self: store.Transaction, table: str, paths: list[Path]) -> None:
        added.extend(paths)
        register(self, table, paths)

    def not_here(*args: Any) -> None:
        raise AssertionError("the flow's process wrote a page file: the workers should")

    monkeypatch.setattr(store.Transaction, "add_files", spy)
    monkeypatch.setattr(load, "write_pages_file", not_here)
    # (the workers import their own modules: this catches a call in this process only)
    monkeypatch.setattr(chunks, "write_pages_file", not_here)
    on_dask = tmp_path / "dask"
    result: Any = pipeline.run_pipeline(warehouse=str(on_dask), dask=cluster.scheduler_address)
    a, b = Warehouse(one), Warehouse(on_dask)
    assert result["articles_new"] > 7 and b.current().rows == a.current().rows
    _same_tables(a, b)
    # the page rows came from the workers' files, one per chunk with fetches
    assert len(added) > 1 and sorted(b.files("pages")) == sorted(added)
    # a re-process on Dask rebuilds the same tables
    again: Any = pipeline.reprocess_pipeline(warehouse=str(on_dask), dask=cluster.scheduler_address)
    assert again["articles_new"] == 0
    _same_tables(a, b)
