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
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers_warehouse import query as _query
from helpers_warehouse import write_spool
from paths import README

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
from infoshos.warehouse.integrity import verify
from infoshos.warehouse.maintenance import compact
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.store import OWN_FILE, QualityGateError, Warehouse, WarehouseError
from infoshos.warehouse.transaction import conform

#: Columns that differ between two crawls of the same site: the run, fetch times and the ids
#: made from them, the local server's address and its Date headers, and ``via`` (which link
#: reached a page first is a race between concurrent requests). A feed's body lists the local
#: server's URLs (its port differs per run): feeds' bodies are left out, every other body kept.
PER_RUN = ("run_id", "first_seen_run", "page_id", "fetched_at", "fetch_url", "headers", "via")
COMPARED = {"body": "CASE WHEN page_type = 'feed' THEN NULL ELSE md5(body) END"}


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
    return read_spools([write_spool(tmp / f"spool-{start}.parquet", n, start)], run_id)


def _commit_worker_file(wh: Warehouse, tmp: Path, n: int, start: int, run_id: str) -> Path:
    """A run ``run_id`` that registers one worker's pages file of ``n`` pages and commits."""
    with wh.lock():
        tx = wh.transaction(run_id)
        added = write_pages_file(_chunk(tmp, n, start, run_id), {}, tx.data_folder("pages"))
        assert added is not None
        tx.add_files("pages", [added])
        tx.commit()
    return added


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
    assert sorted(wh.files("pages")) == sorted(str(f) for f in files if f is not None)
    report = verify(wh)  # the registered files' checksums are recorded like DuckLake's own
    assert report.ok and report.files > 2, report.problems

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
    more = _commit_worker_file(wh, tmp_path, 3, 300, "r4")
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
    _commit_worker_file(wh, tmp_path, 3, 0, "r1")
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
    assert len(orphans) == 2 and all(OWN_FILE.fullmatch(Path(p).name) for p in orphans)
    # the next run, once it holds the lock, deletes them
    _commit_worker_file(wh, tmp_path, 2, 90, "r2")
    assert not any(Path(p).exists() for p in orphans) and wh.orphans() == []
    assert len(_pages(wh)) == 5


# -- runs on a cluster ---------------------------------------------------------------------------
def _tables(wh: Warehouse, same_pages: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    """Every table but `runs`, rows without the per-run columns, sorted. Two crawls of one site
    (``same_pages`` False) give their pages in different orders, hence different chunks and
    enrichment batches: the name and aliases of an entity come from the surfaces of the batch
    that found it, so entities are compared by id and type only (as in test_stream)."""
    out = {}
    for name, spec in TABLES.items():
        if name == "runs":
            continue
        cols = [COMPARED.get(c, c) for c in spec.column_names if c not in PER_RUN]
        if name == "entities" and not same_pages:
            cols = ["entity_id", "type", "iso_code"]
        out[name] = sorted(_query(wh, f"select {', '.join(cols)} from {name}"), key=repr)
    return out


def _same_tables(a: Warehouse, b: Warehouse, same_pages: bool = True) -> None:
    left, right = _tables(a, same_pages), _tables(b, same_pages)
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
    from infoshos.flows import pipeline, stream
    from infoshos.warehouse import transaction

    monkeypatch.setattr(pipeline, "CHUNK_PAGES", 7)  # many chunks, several in flight
    one = tmp_path / "one"
    pipeline.run_pipeline(warehouse=str(one))

    added: list[Path] = []
    register = transaction.Transaction.add_files

    def spy(self: transaction.Transaction, table: str, paths: list[Path]) -> None:
        added.extend(paths)
        register(self, table, paths)

    monkeypatch.setattr(transaction.Transaction, "add_files", spy)
    on_dask = tmp_path / "dask"
    result: Any = pipeline.run_pipeline(warehouse=str(on_dask), dask=cluster.scheduler_address)
    a, b = Warehouse(one), Warehouse(on_dask)
    assert result["articles_new"] > 7 and b.current().rows == a.current().rows
    _same_tables(a, b, same_pages=False)
    # the page rows are the files the workers wrote (pyarrow's, not DuckDB's), registered
    assert len(added) > 1 and sorted(b.files("pages")) == sorted(str(f) for f in added)
    assert all(pq.read_metadata(f).created_by.startswith("parquet-cpp-arrow") for f in added)
    assert all(pq.read_metadata(f).created_by.startswith("DuckDB") for f in a.files("pages"))
    assert verify(b).ok, verify(b).problems  # checksums recorded, no file left unnamed

    # the same pages processed in process and on Dask: a re-process of two copies of one
    # warehouse (on Dask: the README's command) gives every table identical, entities included
    monkeypatch.setattr(pipeline, "CHUNK_PAGES", stream.CHUNK_PAGES)  # as in the command
    copy = tmp_path / "data"
    shutil.copytree(one, copy)
    pipeline.reprocess_pipeline(warehouse=str(one))
    done = _readme_command("reprocess", copy, cluster.scheduler_address)
    assert done.returncode == 0, done.stderr[-2000:]
    assert Warehouse(copy).current().number == a.current().number
    _same_tables(a, Warehouse(copy))
    assert verify(Warehouse(copy)).ok


def _readme_command(
    command: str, warehouse: Path, address: str
) -> subprocess.CompletedProcess[str]:
    """The README's ``infoshos COMMAND --dask ...`` line, as written (the scheduler address
    aside), run in the folder holding the warehouse ``data`` against the test's Prefect API."""
    import shlex

    from prefect.settings import PREFECT_API_URL

    section = README.read_text().split("### Processing on Dask", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    line = next(x for x in block.splitlines() if x.startswith(f"infoshos {command} "))
    argv = shlex.split(line.replace("tcp://127.0.0.1:8786", address))
    argv[0] = str(Path(sys.executable).parent / argv[0])
    assert warehouse.name == "data"  # the default warehouse, in the working folder
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    return subprocess.run(
        argv, cwd=warehouse.parent, capture_output=True, text=True, env=env, timeout=900
    )


KEYED = (
    "articles", "article_versions", "clusters", "article_links", "entities", "mentions", "roles",
    "article_countries", "article_topics", "minhashes",
)  # fmt: skip


@pytest.mark.scale
def test_a_dask_worker_killed_mid_run_leaves_the_lake_consistent(
    prefect_harness: None, cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import Client

    from infoshos.flows import chunks, pipeline

    monkeypatch.setattr(pipeline, "CHUNK_PAGES", 7)
    wh = Warehouse(tmp_path / "data")
    pipeline.run_pipeline(warehouse=str(wh.root))
    previous = wh.current()
    before = {t: rows for t, rows in _tables(wh).items() if t in KEYED}

    # a task that fails fails the run: nothing is published (the task's code travels to the
    # workers with the module globals it uses, this failing cleaner among them)
    def broken(pages: Any, sources: Any) -> Any:
        raise RuntimeError("a broken cleaner")

    with monkeypatch.context() as patch:
        patch.setattr(chunks, "clean_chunk", broken)
        failed: Any = pipeline.run_pipeline(
            warehouse=str(wh.root), full=True, dask=cluster.scheduler_address, return_state=True
        )
    assert failed.is_failed() and "a broken cleaner" in str(failed.message)
    assert wh.current().number == previous.number and wh.current().rows == previous.rows

    killed: list[int] = []
    with Client(cluster.scheduler_address) as client:
        pids: dict[str, int] = client.run(os.getpid)

        def kill_a_busy_worker() -> None:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                busy = [w for w, keys in client.processing().items() if keys and w in pids]
                if busy:
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(pids[busy[0]])
                    return
                time.sleep(0.01)

        killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
        killer.start()
        # every page fetched again: every chunk cleaned and written by the workers
        state: Any = pipeline.run_pipeline(
            warehouse=str(wh.root), full=True, dask=cluster.scheduler_address, return_state=True
        )
        killer.join(timeout=5)
    assert killed, "no worker was busy during the run"
    print(f"worker {killed[0]} killed; the run {'completed' if state.is_completed() else 'failed'}")
    after = wh.current()
    if state.is_completed():  # Dask ran the killed worker's tasks again elsewhere
        assert after.number == previous.number + 1
        assert after.rows["pages"] == 2 * previous.rows["pages"]
    else:  # or the run failed, and published nothing
        assert after.number == previous.number and after.rows == previous.rows
    assert {t: rows for t, rows in _tables(wh).items() if t in KEYED} == before
    # the next run (the README's command: on a cluster of its own) succeeds, and no file is
    # left that no snapshot names
    done = _readme_command("run", wh.root, cluster.scheduler_address)
    assert done.returncode == 0, done.stderr[-2000:]
    assert wh.current().number > after.number and wh.orphans() == []
    assert verify(wh).ok, verify(wh).problems
    assert {t: rows for t, rows in _tables(wh).items() if t in KEYED} == before
