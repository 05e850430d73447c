"""The warehouse (a DuckLake): atomic snapshots, keyed upserts that write only what changed, the
quality gate, the lock, orphaned files, time travel, compaction and the read-only `sql`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from helpers_warehouse import lake_process

from infoshos.warehouse.catalog import connect
from infoshos.warehouse.held import HeldLocks
from infoshos.warehouse.query import format_rows, run_query
from infoshos.warehouse.store import QualityGateError, Warehouse, WarehouseError


def _articles(ids: list[str], text: str = "body", run: str = "r1") -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "article_id": ids,
            "url": [f"http://x.test/{i}" for i in ids],
            "source": ["s"] * n,
            "text": [f"{text} {i}" for i in ids],
            "content_hash": [f"h{i}" for i in ids],
            "cluster_id": ids,
            "published_at": [datetime(2018, 3, 12, 11, 5, tzinfo=UTC)] * n,
            "run_id": [run] * n,
        }
    )


def _commit(wh: Warehouse, run: str, ids: list[str], text: str = "body") -> None:
    with wh.lock():
        tx = wh.transaction(run)
        tx.upsert("articles", _articles(ids, text, run))
        tx.commit()


def _on_disk(root: Path, table: str) -> set[str]:
    return {p.name for p in (root / "lake" / "main" / table).glob("*.parquet")}


def _listed(wh: Warehouse, table: str) -> set[str]:
    """The files the current snapshot names (data and delete files)."""
    con = wh.connect()
    rows = con.execute(f"SELECT data_file, delete_file FROM ducklake_list_files('lake', '{table}')")
    names = {Path(f).name for row in rows.fetchall() for f in row if f}
    con.close()
    return names


def test_new_warehouse_reads_empty_typed_tables(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    assert not wh.exists()
    table = wh.read("articles")
    assert table.num_rows == 0
    assert table.schema.field("published_at").type == pa.timestamp("us", tz="UTC")


def test_upsert_appends_new_keys_and_replaces_existing(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    _commit(wh, "r1", ["a", "b"])
    assert wh.file_count("articles") == 1
    _commit(wh, "r2", ["c"])
    assert wh.file_count("articles") == 2  # pure append: a new file
    _commit(wh, "r3", ["b"], text="changed")
    table = wh.read("articles").sort_by("article_id")
    assert table["article_id"].to_pylist() == ["a", "b", "c"]
    assert table["text"].to_pylist() == ["body a", "changed b", "body c"]
    assert wh.current().rows["articles"] == 3


def test_upsert_scope_drops_rows_of_replaced_articles(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    rows = pa.table(
        {
            "article_id": ["a", "a", "b"],
            "entity_id": ["e1", "e2", "e1"],
            "surface": ["x", "y", "x"],
            "start_char": [0, 5, 0],
            "end_char": [1, 6, 1],
            "run_id": ["r1"] * 3,
        }
    )
    with wh.lock():
        tx = wh.transaction("r1")
        tx.upsert("mentions", rows)
        tx.commit()
    new = rows.slice(0, 1)
    with wh.lock():  # an empty scope changes nothing beyond the keyed rows
        tx = wh.transaction("r1b")
        tx.upsert("mentions", rows.slice(2, 1), scope=("article_id", []))
        tx.commit()
    assert wh.read("mentions").num_rows == 3
    with wh.lock():
        tx = wh.transaction("r2")
        tx.upsert("mentions", new, scope=("article_id", ["a"]))
        tx.commit()
    got = wh.read("mentions").sort_by("article_id")
    assert list(zip(got["article_id"].to_pylist(), got["entity_id"].to_pylist(), strict=True)) == [
        ("a", "e1"),
        ("b", "e1"),
    ]


def test_quality_gate_refuses_duplicate_keys_and_keeps_previous_snapshot(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    _commit(wh, "r1", ["a"])
    before = wh.current().number
    with wh.lock():
        tx = wh.transaction("r2")
        tx.append("articles", _articles(["a"], run="r2"))  # same key again
        with pytest.raises(QualityGateError, match="not unique"):
            tx.commit()
    assert wh.current().number == before
    assert wh.read("articles").num_rows == 1
    # the refused run's files are gone once the next writer holds the lock
    with wh.lock():
        pass
    assert _on_disk(tmp_path, "articles") == _listed(wh, "articles")


def test_quality_gate_counts_every_extra_row_of_a_composite_key(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    rows = pa.table(
        {
            "article_id": ["a", "a", "a", "b", "b", "c"],
            "entity_id": ["e1", "e1", "e1", "e2", "e2", "e2"],
            "run_id": ["r1"] * 6,
        }
    )
    with wh.lock():
        tx = wh.transaction("r1")
        tx.append("article_countries", rows)  # (a, e1) 3 times, (b, e2) twice: 3 rows too many
        with pytest.raises(
            QualityGateError, match="article_countries key article_id/entity_id not unique: 3 "
        ):
            tx.commit()


def test_a_write_transaction_bounds_duckdb_memory_and_spills_in_its_folder(tmp_path: Path) -> None:
    import duckdb

    from infoshos.warehouse.transaction import WRITE_MEMORY

    def settings(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
        row = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchone()
        assert row is not None
        return row[0], row[1]

    bounded = duckdb.connect()
    bounded.execute(f"SET memory_limit = '{WRITE_MEMORY}'")
    expected = settings(bounded)[0]
    unbounded = settings(duckdb.connect())[0]
    assert expected != unbounded
    wh = Warehouse(tmp_path / "wh")
    with wh.lock():
        tx = wh.transaction("r1", spill=tmp_path / "spill")
        assert settings(tx.con) == (expected, str(tmp_path / "spill"))
        tx.rollback()
        tx = wh.transaction("r2")  # its own temporary folder, removed with it
        limit, folder = settings(tx.con)
        assert limit == expected
        assert Path(folder).is_dir() and tmp_path not in Path(folder).parents
        tx.append("articles", _articles(["a"]))
        tx.commit()
        assert not Path(folder).exists()


def test_quality_gate_refuses_nulls_and_large_row_count_change(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    _commit(wh, "r1", ["a", "b", "c", "d"])
    with wh.lock():
        tx = wh.transaction("r2")
        bad = _articles(["e"]).set_column(3, "text", pa.array([None], pa.string()))
        tx.upsert("articles", bad)
        with pytest.raises(QualityGateError, match=r"articles\.text has 1 null"):
            tx.commit()
    with wh.lock():
        tx = wh.transaction("r3")
        tx.replace("articles", _articles(["a"]))
        with pytest.raises(QualityGateError, match="would change from 4 to 1"):
            tx.commit(max_change={"articles": 0.5})
    assert wh.read("articles").num_rows == 4


def test_uncommitted_transaction_is_invisible(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    _commit(wh, "r1", ["a"])
    with wh.lock():
        tx = wh.transaction("r2")
        tx.upsert("articles", _articles(["z"], run="r2"))
        # not committed: readers and the catalog still see one row
        assert wh.read("articles").num_rows == 1
        con = connect(wh)
        assert con.execute("select count(*) from articles").fetchone() == (1,)
        con.close()


def test_second_writer_fails_clearly_while_first_holds_the_lock(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    code = (
        "import sys, time\n"
        "from infoshos.warehouse.store import Warehouse\n"
        "with Warehouse(sys.argv[1]).lock():\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(30)\n"
    )
    with (
        lake_process(code, tmp_path, ready="locked"),
        pytest.raises(WarehouseError, match="locked by another run"),
        wh.lock(0.5),
    ):
        pass
    # the lock dies with its holder (kill -9 leaves no stale lock)
    with wh.lock():
        pass


def test_a_lock_taken_again_in_its_process_is_counted_not_retaken(tmp_path: Path) -> None:
    """The CLI holds the warehouse for a whole run and the flow takes it again: the inner take
    must not wait for the outer (an flock belongs to an open file), and the lock is released
    when the outer block ends, not the inner one."""
    wh = Warehouse(tmp_path)
    probe = (
        "import sys\n"
        "from infoshos.warehouse.store import Warehouse, WarehouseError\n"
        "try:\n"
        "    with Warehouse(sys.argv[1]).lock(0.2):\n"
        "        print('free')\n"
        "except WarehouseError:\n"
        "    print('locked')\n"
    )

    def other_process() -> str:
        out = subprocess.run(
            [sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True
        )
        return out.stdout.strip()

    with wh.lock(), wh.lock(0.0):
        with wh.hold_lock(0.0):
            pass
        assert other_process() == "locked"  # the inner blocks' ends did not release it
    assert other_process() == "free"


def test_held_locks_cover_only_what_their_holder_took() -> None:
    held = HeldLocks()
    with held.holding("lake", {"source:a", "source:b"}):
        assert "lake" in held
        assert held.covered("lake", lambda names: {"source:a"} <= names)
        assert not held.covered("lake", lambda names: {"source:c"} <= names)
        assert not held.covered("other")
    assert "lake" not in held
    with pytest.raises(RuntimeError), held.holding("lake", None):
        raise RuntimeError("a failed run")
    assert "lake" not in held  # released by the failure too


def test_unwritable_folder_is_one_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        target = Path("/proc/infoshos-not-writable")  # root ignores permissions; /proc refuses
    else:
        target = tmp_path / "ro"
        target.mkdir()
        target.chmod(0o500)
    with pytest.raises(WarehouseError, match="not writable"), Warehouse(target).lock():
        pass


def test_sql_follows_the_snapshot_and_survives_a_move(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    _commit(wh, "r1", ["a", "b"])
    assert run_query(wh, "select count(*) as n from articles", "csv") == "n\n2\n"
    _commit(wh, "r2", ["c"])
    assert run_query(wh, "select count(*) as n from articles", "csv") == "n\n3\n"
    wh.close()
    moved = tmp_path / "elsewhere"
    shutil.move(str(wh.root), moved)
    assert run_query(Warehouse(moved), "select count(*) as n from articles", "csv") == "n\n3\n"
    # the catalog lists files, not a glob: a stray file in the folder is not read
    stray = moved / "lake" / "main" / "articles" / "stray.parquet"
    shutil.copy(next((moved / "lake" / "main" / "articles").glob("*.parquet")), stray)
    assert run_query(Warehouse(moved), "select count(*) as n from articles", "csv") == "n\n3\n"


def test_sql_is_read_only_unless_write(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    _commit(wh, "r1", ["a"])
    with pytest.raises(WarehouseError, match="refused: CREATE statements need --write"):
        run_query(wh, "create table t as select 1")
    run_query(wh, "create table t as select 1 as x", write=True)
    assert run_query(wh, "select x from t", "csv") == "x\n1\n"


def test_json_lines_have_iso_timestamps() -> None:
    out = format_rows(["t", "b"], [(datetime(2018, 3, 12, 8, 5, tzinfo=UTC), b"ab")], "json")
    assert json.loads(out) == {"t": "2018-03-12T08:05:00+00:00", "b": "<2 bytes>"}
    table = format_rows(["a", "long"], [(1, "x" * 100)], "table")
    assert "(1 row)" in table and "…" in table


def test_newer_schema_version_fails_clearly(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    _commit(wh, "r1", ["a"])
    con = wh.connect(read_only=False)
    con.execute("UPDATE lake._infoshos SET schema_version = 999")
    con.close()
    with pytest.raises(WarehouseError, match="schema version 999"):
        Warehouse(tmp_path).current()
    with pytest.raises(WarehouseError, match="schema version 999"), wh.lock():
        wh.transaction("r2")


def test_compact_merges_files_and_keeps_every_row(tmp_path: Path) -> None:
    from infoshos.warehouse.maintenance import compact

    wh = Warehouse(tmp_path)
    for i in range(5):
        _commit(wh, f"r{i}", [f"a{i}", f"b{i}"])
    before = wh.read("articles").sort_by("article_id")
    assert wh.file_count("articles") == 5
    done = compact(wh, "c1")
    assert done["articles"] == (5, 1)
    assert wh.read("articles").sort_by("article_id").equals(before)
    assert run_query(wh, "select count(*) as n from articles", "csv") == "n\n10\n"
    assert compact(wh, "c2") == {}  # nothing left to do
    # without --keep-days every snapshot stays readable, so the old files stay
    assert run_query(wh, "select count(*) as n from articles", "csv", as_of=2) == "n\n2\n"
    assert len(_on_disk(tmp_path, "articles")) == 6


def test_compact_expires_snapshots_older_than_the_retention(tmp_path: Path) -> None:
    from infoshos.warehouse.maintenance import compact

    wh = Warehouse(tmp_path)
    for i in range(3):
        _commit(wh, f"r{i}", [f"a{i}"])
    _commit(wh, "r9", ["a0"], text="changed")  # a delete file too
    assert compact(wh, "c1", keep_days=1)["articles"][1] == 1  # nothing is a day old yet
    assert len(_on_disk(tmp_path, "articles")) > 1
    compact(wh, "c2", keep_days=0)
    assert _on_disk(tmp_path, "articles") == _listed(wh, "articles")
    assert len(_listed(wh, "articles")) == 1
    assert 2 not in [s["snapshot"] for s in wh.snapshots()]
    with pytest.raises(WarehouseError, match="No snapshot found at version 2"):
        run_query(wh, "select count(*) from articles", as_of=2)
    assert run_query(wh, "select count(*) as n from articles", "csv") == "n\n3\n"


def test_compact_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from infoshos.flows.cli import main

    wh = Warehouse(tmp_path)
    for i in range(3):
        _commit(wh, f"r{i}", [f"a{i}"])
    assert main(["compact", "--warehouse", str(tmp_path), "--keep-days", "0"]) == 0
    assert "articles           3 files -> 1" in capsys.readouterr().out
    assert wh.file_count("articles") == 1
    assert len(_on_disk(tmp_path, "articles")) == 1
    assert run_query(wh, "select count(*) as n from articles", "csv") == "n\n3\n"
    assert main(["compact", "--warehouse", str(tmp_path / "none")]) == 2
    with pytest.raises(SystemExit) as usage:  # a usage error: argparse exits 2
        main(["compact", "--warehouse", str(tmp_path), "--keep-days", "-1"])
    assert usage.value.code == 2 and "must be >= 0" in capsys.readouterr().err
