"""Integrity of the warehouse (issue 13): every data file's sha256 recorded by the transaction
that publishes it, a changed file refused by the commands that read it, `infoshos verify` over
the whole warehouse, a lost or damaged catalog refused by every command and rebuilt by
`infoshos recover` from its copies, and garbage collection that deletes only DuckLake's own
files that no retained snapshot lists. Every case runs on a damaged copy of the sample warehouse
(written through the real store, one commit per run)."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from helpers_warehouse import build_sample_warehouse
from paths import README

from infoshos.flows.cli import main
from infoshos.warehouse import catalog_copies, checksums, integrity, listing
from infoshos.warehouse.maintenance import compact
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.store import OWN_FILE, Snapshot, Warehouse, WarehouseError


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return build_sample_warehouse(tmp_path_factory.mktemp("integrity") / "data")


@pytest.fixture()
def copy(sample: Warehouse, tmp_path: Path) -> Warehouse:
    """A copy of the sample warehouse to damage."""
    root = tmp_path / "data"
    shutil.copytree(sample.root, root)
    return Warehouse(root)


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("infoshos: error: "), err
    assert "Traceback" not in err
    return lines[0]


def _rows(wh: Warehouse) -> dict[str, int]:
    return dict(wh.current().rows)


def _article_file(wh: Warehouse) -> listing.DataFile:
    """A data file of `articles` in the current snapshot."""
    return next(
        f
        for f in listing.catalog_files(wh.catalog_path, wh.data_path)
        if f.table == "articles" and not f.rel.endswith("-delete.parquet")
    )


def _commit_run(wh: Warehouse, run_id: str) -> Snapshot:
    """Publish one `runs` row (a small commit)."""
    row = {"run_id": run_id, "started_at": datetime(2024, 1, 1, tzinfo=UTC)}
    with wh.lock():
        tx = wh.transaction(run_id)
        tx.append("runs", pa.Table.from_pylist([row], schema=TABLES["runs"].schema))
        return tx.commit()


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


# -- checksums ------------------------------------------------------------------------------
def test_every_published_file_has_its_size_and_sha256_recorded(copy: Warehouse) -> None:
    files = listing.catalog_files(copy.catalog_path, copy.data_path, every=True)
    con = copy.connect()
    try:
        sums = checksums.recorded(con)
    finally:
        con.close()
    data = [f for f in files if f.table != checksums.FILES_TABLE]
    assert {f.table for f in data} >= {"articles", "pages", "runs", "_infoshos"}
    assert any(f.rel.endswith("-delete.parquet") for f in data)  # upserts' delete files too
    for f in data:
        assert sums[f.rel] == (f.size, hashlib.sha256(f.path.read_bytes()).hexdigest()), f.rel
    # only the files a run wrote are hashed: a commit records exactly its new files
    before = set(sums)
    _commit_run(copy, "r9")
    con = copy.connect()
    try:
        added = set(checksums.recorded(con)) - before
    finally:
        con.close()
    assert len(added) == 1 and added.pop().startswith("main/runs/")


def test_a_lake_written_before_checksums_gets_them_at_its_next_commit(copy: Warehouse) -> None:
    con = copy.connect(read_only=False)
    con.execute(f"DROP TABLE {checksums.FILES_TABLE}")
    con.close()
    assert main(["verify", "--warehouse", str(copy.root)]) == 1  # no checksums recorded
    _commit_run(copy, "r9")
    assert integrity.verify(copy).problems == []


@pytest.mark.parametrize("damage", [_truncate, _flip_byte], ids=["truncated", "changed"])
def test_a_changed_data_file_is_refused_naming_it(
    copy: Warehouse, damage: Callable[[Path], None], capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _article_file(copy)
    damage(bad.path)
    w = ["--warehouse", str(copy.root)]
    # compact checks every sha256 before it rewrites anything
    code, _, err = _cli(["compact", *w], capsys)
    assert code == 2 and bad.rel in _one_line(err) and "was changed" in err
    # verify names it (exit 1)
    code, out, err = _cli(["verify", *w], capsys)
    assert code == 1 and not err
    assert [line for line in out.splitlines() if line.startswith("problem:")] == [
        f"problem: {bad.rel} (articles, snapshots {bad.begin}-now): was changed: "
        + (
            f"{bad.path.stat().st_size} bytes, the catalog recorded {bad.size}"
            if damage is _truncate
            else "its sha256 differs from the one recorded"
        )
    ]
    if damage is _truncate:  # the size check of every open: sql and a run refuse it
        code, _, err = _cli(["sql", "select count(*) from articles", *w], capsys)
        assert code == 2 and bad.rel in _one_line(err) and "nothing was read" in err
        with pytest.raises(WarehouseError, match=bad.rel), copy.lock():
            pass
    assert copy.snapshot_id() == 5  # nothing published


def test_verify_reports_a_clean_warehouse_and_each_problem(
    copy: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    w = ["--warehouse", str(copy.root)]
    code, out, _ = _cli(["verify", *w], capsys)
    assert code == 0 and out.strip().endswith(": ok") and "snapshot 5" in out
    code, out, _ = _cli(["verify", *w, "--json"], capsys)
    found = json.loads(out)
    assert code == 0 and found["ok"] and found["problems"] == [] and found["snapshot"] == 5
    assert found["files"] == len(
        listing.catalog_files(copy.catalog_path, copy.data_path, every=True)
    )
    # a file of an older snapshot only, gone; an orphan; the newest catalog copy lost
    old = next(
        f
        for f in listing.catalog_files(copy.catalog_path, copy.data_path, every=True)
        if f.end is not None
    )
    old.path.unlink()
    orphan = (
        copy.data_path
        / "main"
        / "runs"
        / ("ducklake-" + "1" * 8 + "-1111-1111-1111-" + "1" * 12 + ".parquet")
    )
    orphan.write_bytes(b"x")
    for _, path in catalog_copies.copies(copy)[:1]:
        path.unlink()
    code, out, _ = _cli(["verify", *w, "--json"], capsys)
    found = json.loads(out)
    assert code == 1 and not found["ok"]
    assert len(found["problems"]) == 3, found["problems"]
    assert (
        f"{old.rel} ({old.table}, snapshots {old.begin}-{old.end}): is missing" in found["problems"]
    )
    assert any(orphan.name in p and "named by no snapshot" in p for p in found["problems"])
    assert any(p.startswith("catalog copies: none of snapshot 5") for p in found["problems"])
    code, _, err = _cli(["verify", "--warehouse", str(copy.root / "none")], capsys)
    assert code == 2 and "no warehouse" in _one_line(err)


# -- a lost or damaged catalog --------------------------------------------------------------
def _lose(path: Path) -> None:
    for p in path.parent.glob(path.name + "*"):
        p.unlink()


def _truncate_catalog(path: Path) -> None:
    for p in path.parent.glob(path.name + "-*"):
        p.unlink()
    _truncate(path)


def _garbage(path: Path) -> None:
    path.write_bytes(hashlib.sha256(b"seed").digest() * 4096)


def _html(path: Path) -> None:
    path.write_text("<!doctype html><html><body><h1>Report</h1></body></html>\n")


CATALOG_DAMAGE = {"lost": _lose, "truncated": _truncate_catalog, "garbage": _garbage, "html": _html}


@pytest.mark.parametrize("case", sorted(CATALOG_DAMAGE))
def test_a_damaged_catalog_is_refused_by_every_command_offering_recover(
    copy: Warehouse, case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    CATALOG_DAMAGE[case](copy.catalog_path)
    w = ["--warehouse", str(copy.root)]
    commands = [
        ["sql", "select count(*) from articles", *w],
        ["sql", "select 1", "--write", *w],
        ["compact", *w],
        ["export", *w, "--to", str(tmp_path / "export")],
        ["report", *w, "--out", str(tmp_path / "report.html")],
        ["report", *w, "--markdown"],
        ["status", *w],
        ["search", "meeting", *w],
        ["snapshots", *w],
    ]
    on_disk = sorted(p for p in copy.root.rglob("*") if p.is_file())
    for argv in commands:
        code, out, err = _cli(argv, capsys)
        assert code == 2 and not out, (argv, out, err)
        assert f"infoshos recover --warehouse {copy.root}" in _one_line(err), (argv, err)
    assert sorted(p for p in copy.root.rglob("*") if p.is_file()) == on_disk  # nothing written
    assert not (tmp_path / "export").exists() and not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("case", sorted(CATALOG_DAMAGE))
def test_recover_rebuilds_the_catalog_and_loses_nothing(
    sample: Warehouse, copy: Warehouse, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = _rows(sample)
    articles = sorted(sample.read("articles", ["article_id", "text"]).to_pylist(), key=str)
    CATALOG_DAMAGE[case](copy.catalog_path)
    damaged = copy.catalog_path.read_bytes() if case != "lost" else None
    code, out, err = _cli(["recover", "--warehouse", str(copy.root)], capsys)
    assert code == 0 and not err, err
    assert out.startswith("recovered snapshot 5 from lake-00000005.sqlite: ")
    assert f"articles {expected['articles']}" in out and f"pages {expected['pages']}" in out
    assert _rows(copy) == expected
    assert sorted(copy.read("articles", ["article_id", "text"]).to_pylist(), key=str) == articles
    if damaged is not None:  # moved aside, never deleted
        kept = list(copy.copies_path.glob("damaged-*-lake.sqlite"))
        assert len(kept) == 1 and str(kept[0]) in out and kept[0].read_bytes() == damaged
    assert integrity.verify(copy).problems == []
    # the warehouse is writable again
    assert _commit_run(copy, "r9").rows["runs"] == expected["runs"] + 1
    code, out, _ = _cli(["recover", "--warehouse", str(copy.root)], capsys)
    assert code == 0 and "nothing to recover" in out


def test_recover_skips_a_copy_whose_files_are_damaged_and_quarantines_the_rest(
    copy: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    files = listing.catalog_files(copy.catalog_path, copy.data_path, every=True)
    newest = [f for f in files if f.begin == 5 and f.table == "runs"]
    assert newest  # the last run's row: a file only snapshot 5 names
    _flip_byte(newest[0].path)
    con = copy.connect(as_of=4)
    try:
        runs4 = con.execute("SELECT count(*) FROM runs").fetchone()
    finally:
        con.close()
    _garbage(copy.catalog_path)
    code, out, err = _cli(["recover", "--warehouse", str(copy.root)], capsys)
    assert code == 0, err
    assert out.startswith("recovered snapshot 4 from lake-00000004.sqlite")
    assert "skipped the copy of snapshot 5: " in out and newest[0].rel in out
    assert runs4 is not None and copy.current().rows["runs"] == runs4[0]
    # the files only snapshot 5 named are kept in quarantine/, never deleted ...
    quarantined = sorted(p.name for p in copy.quarantine_path.rglob("*.parquet"))
    assert newest[0].path.name in quarantined and not newest[0].path.exists()
    # ... and a later run's orphan cleanup leaves them alone
    _commit_run(copy, "r9")
    assert sorted(p.name for p in copy.quarantine_path.rglob("*.parquet")) == quarantined
    assert integrity.verify(copy).problems == []


def test_recover_refuses_when_no_copy_is_sound(
    copy: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(copy.copies_path)
    _lose(copy.catalog_path)
    code, _, err = _cli(["recover", "--warehouse", str(copy.root)], capsys)
    assert code == 2 and "no sound catalog copy" in _one_line(err)
    assert any(copy.data_path.rglob("*.parquet"))  # nothing deleted


def test_a_writer_makes_the_missing_copy_when_it_takes_the_lock(copy: Warehouse) -> None:
    """A writer killed between its commit and its copy: the next lock holder makes it."""
    newest, path = catalog_copies.copies(copy)[0]
    path.unlink()
    assert catalog_copies.copies(copy)[0][0] == newest - 1
    with copy.lock():
        pass
    assert catalog_copies.copies(copy)[0][0] == newest
    with sqlite3.connect(catalog_copies.copies(copy)[0][1]) as db:
        assert db.execute("SELECT max(snapshot_id) FROM ducklake_snapshot").fetchone() == (newest,)


def test_only_the_newest_copies_are_kept(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    for n in range(catalog_copies.KEEP_COPIES + 3):
        _commit_run(wh, f"r{n}")
    numbers = [n for n, _ in catalog_copies.copies(wh)]
    assert len(numbers) == catalog_copies.KEEP_COPIES and numbers[0] == wh.snapshot_id()


# -- garbage collection ---------------------------------------------------------------------
def _version_rows(wh: Warehouse, version: int) -> dict[str, int]:
    con = wh.connect(as_of=version)
    try:
        return {n: int(con.execute(f"SELECT count(*) FROM {n}").fetchone()[0]) for n in TABLES}  # type: ignore[index]
    finally:
        con.close()


def test_garbage_collection_deletes_only_ducklake_files_no_retained_snapshot_lists(
    sample: Warehouse, copy: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = copy.data_path / "main" / "articles" / "notes-by-hand.parquet"
    foreign.write_bytes(b"mine")
    at2 = _version_rows(copy, 2)
    w = ["--warehouse", str(copy.root)]
    # orphan cleanup at lock time, and a compaction that keeps every snapshot: every file a
    # retained snapshot lists stays, and so does the foreign file
    with copy.lock():
        pass
    code, _, err = _cli(["compact", *w, "--keep-days", "100000"], capsys)
    assert code == 0, err
    every = listing.catalog_files(copy.catalog_path, copy.data_path, every=True)
    old_only = [f for f in every if f.end is not None]
    assert old_only  # files only earlier snapshots list (rows the upserts replaced)
    assert foreign.exists() and all(f.path.exists() for f in every)
    assert _version_rows(copy, 2) == at2  # time travel still reads them
    # expiring every older snapshot deletes the files only they listed, and nothing else
    code, _, err = _cli(["compact", *w, "--keep-days", "0"], capsys)
    assert code == 0, err
    assert foreign.exists()
    assert not any(f.path.exists() for f in old_only)
    current = listing.catalog_files(copy.catalog_path, copy.data_path)
    assert current and all(f.path.exists() for f in current)
    assert integrity.verify(copy).problems == []  # a foreign file is not ours to report
    assert _rows(copy) == _rows(sample)


def test_compaction_records_the_files_it_writes(copy: Warehouse) -> None:
    before = _rows(copy)
    compact(copy, "compact-test")
    con = copy.connect()
    try:
        sums = checksums.recorded(con)
    finally:
        con.close()
    current = listing.catalog_files(copy.catalog_path, copy.data_path)
    assert all(f.rel in sums for f in current if f.table != checksums.FILES_TABLE)
    assert integrity.verify(copy).problems == [] and _rows(copy) == before
    assert not (copy.root / checksums.PENDING).exists()


def test_a_compaction_killed_before_recording_is_recorded_from_its_journal(
    copy: Warehouse,
) -> None:
    """The journal written before the compaction's commit is recorded by the next writer."""
    con = copy.connect()
    try:
        sums = checksums.recorded(con)
    finally:
        con.close()
    # as if the compaction's files had been published and the process killed: their rows are
    # taken out of _files and left in the journal
    victim = _article_file(copy)
    entry = (victim.rel, *sums[victim.rel])
    con = copy.connect(read_only=False)
    con.execute(f"DELETE FROM {checksums.FILES_TABLE} WHERE path = ?", [victim.rel])
    con.close()
    checksums.write_pending(copy, [entry])
    catalog_copies.save_copy(copy)
    assert integrity.verify(copy).problems == []  # the journal counts as a record
    with copy.lock():
        pass
    assert not (copy.root / checksums.PENDING).exists()
    con = copy.connect()
    try:
        assert checksums.recorded(con)[victim.rel] == sums[victim.rel]
    finally:
        con.close()


def test_own_file_pattern_is_what_ducklake_writes(sample: Warehouse) -> None:
    names = [p.name for p in sample.data_path.rglob("*.parquet")]
    assert names and all(OWN_FILE.fullmatch(n) for n in names)


# -- free space and a full disk ---------------------------------------------------------------
def test_a_writer_refuses_to_start_without_the_minimum_free_space(
    copy: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    free_mb = shutil.disk_usage(copy.root).free // 2**20
    monkeypatch.setenv(integrity.MIN_FREE_ENV, str(free_mb + 1024))
    with pytest.raises(WarehouseError, match="free some space first"), copy.lock():
        pass
    monkeypatch.setenv(integrity.MIN_FREE_ENV, "lots")
    with pytest.raises(WarehouseError, match="is not a number"), copy.lock():
        pass
    monkeypatch.setenv(integrity.MIN_FREE_ENV, "0")
    with copy.lock():
        pass


def test_disk_full_is_found_in_the_chain_of_causes() -> None:
    import errno

    import duckdb

    assert integrity.disk_full(OSError(errno.ENOSPC, "No space left on device"))
    io = duckdb.IOException('Could not write file "x": No space left on device')
    try:
        try:
            raise io
        except duckdb.IOException as exc:
            raise WarehouseError("commit failed") from exc
    except WarehouseError as outer:
        assert integrity.disk_full(outer)
    assert not integrity.disk_full(OSError(errno.EACCES, "Permission denied"))


def test_readme_verify_and_recover_commands_run(
    copy: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    text = README.read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    lines = [ln for b in blocks for ln in b.splitlines()]
    recover = [shlex.split(ln) for ln in lines if ln.startswith("infoshos recover")]
    verify = [shlex.split(ln) for ln in lines if ln.startswith("infoshos verify")]
    assert len(recover) == 1 and len(verify) == 2
    shown = re.search(r"```\n(recovered snapshot .*?)\.\.\.\n```", text)
    assert shown is not None
    _garbage(copy.catalog_path)
    for argv in recover + verify:
        argv = [str(copy.root) if a == "data" else a for a in argv[1:]]
        code, out, err = _cli(argv, capsys)
        assert code == 0 and out and not err, (argv, err)
        if argv[0] == "recover":
            assert out.startswith(shown.group(1)), out
