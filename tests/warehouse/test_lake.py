"""The lake's promises to users: a `sql` that only reads the warehouse, time travel, ranked
full-text search, the plain DuckDB 1.5 client, migration from the old snapshot store, upserts that
write only what changed, and a writer killed mid-transaction."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers_warehouse import build_sample_warehouse, lake_process
from helpers_warehouse import query as _query
from paths import README, REPO

from infoshos.flows.cli import main
from infoshos.warehouse.schema import SCHEMA_VERSION, TABLES
from infoshos.warehouse.search import index_path, search
from infoshos.warehouse.store import Warehouse, WarehouseError


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return build_sample_warehouse(tmp_path_factory.mktemp("lake") / "data")


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


ESCAPES = {
    "copy into the warehouse": "COPY (SELECT * FROM articles LIMIT 1) TO '{root}/lake/x.parquet'",
    "export": "EXPORT DATABASE '{root}/exported'",
    "attach": "ATTACH '{root}/other.duckdb' AS other",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "read outside": "SELECT * FROM read_csv('/etc/passwd')",
    "create": "CREATE TABLE t AS SELECT 1 AS x",
    "set": "SET enable_external_access = true",
    "maintenance": "SELECT * FROM ducklake_expire_snapshots('lake', older_than => now())",
    "a write hidden after a read": "SELECT 1; DELETE FROM articles",
}


@pytest.mark.parametrize("case", sorted(ESCAPES))
def test_sql_without_write_only_reads_the_warehouse(
    sample: Warehouse, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _query(sample, "SELECT 1")  # the search index is built by the first reader
    before = {p: p.stat().st_size for p in sample.root.rglob("*") if p.is_file()}
    snaps = len(sample.snapshots())
    sql = ESCAPES[case].format(root=sample.root)
    assert main(["sql", sql, "--warehouse", str(sample.root)]) == 2
    err = _err(capsys)
    assert err.startswith("infoshos: error: "), err
    assert "refused" in err or "Permission Error" in err or "read-only" in err, err
    after = {p: p.stat().st_size for p in sample.root.rglob("*") if p.is_file()}
    assert {p for p in after if "lake.sqlite" not in p.name} == {
        p for p in before if "lake.sqlite" not in p.name
    }
    assert len(sample.snapshots()) == snaps
    assert _query(sample, "SELECT count(*) FROM articles")[0][0] == 42


def test_sql_reads_files_inside_the_warehouse_and_prints_every_statement(
    sample: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "select 42 as a; select 43 as b", "--warehouse", str(sample.root)]) == 0
    out = capsys.readouterr().out
    assert "42" in out and "43" in out and out.index("42") < out.index("43")
    assert main(["sql", "select 1 as a; select 2 as a", "--format", "csv", "--warehouse",
                 str(sample.root)]) == 0  # fmt: skip
    assert capsys.readouterr().out == "a\n1\na\n2\n"
    files = f"'{sample.root}/lake/main/runs/*.parquet'"
    assert main(["sql", f"select count(*) > 0 from read_parquet({files})", "--warehouse",
                 str(sample.root)]) == 0  # fmt: skip


def test_time_travel_with_as_of_and_snapshots(
    sample: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["snapshots", "--warehouse", str(sample.root), "--json"]) == 0
    snaps = json.loads(capsys.readouterr().out)
    by_run = {s["run_id"]: s for s in snaps}
    assert {"r1", "r2", "r3", "r4"} <= set(by_run)
    first = by_run["r1"]
    count = "select count(*) as n from articles"
    now = _query(sample, count)[0][0]
    for as_of in (str(first["snapshot"]), first["time"]):
        assert main(["sql", count, "--as-of", as_of, "--format", "csv", "--warehouse",
                     str(sample.root)]) == 0  # fmt: skip
        then = int(capsys.readouterr().out.split()[1])
        assert 0 < then < now
    assert main(["snapshots", "--warehouse", str(sample.root)]) == 0
    text = capsys.readouterr().out
    assert re.search(rf"^\s*{first['snapshot']}\s.*\br1\b", text, re.M), text
    assert main(["sql", count, "--as-of", "999", "--warehouse", str(sample.root)]) == 2
    assert "No snapshot found" in _err(capsys)
    assert main(["sql", count, "--as-of", "1", "--write", "--warehouse", str(sample.root)]) == 2
    assert "--as-of" in _err(capsys)


def _article(aid: str, lang: str, title: str, text: str, day: int) -> dict[str, object]:
    return {
        "article_id": aid,
        "url": f"http://x.test/{aid}",
        "source": "s",
        "language": lang,
        "title": title,
        "text": text,
        "content_hash": "h" + aid,
        "cluster_id": aid,
        "published_at": datetime(2020, 1, day, tzinfo=UTC),
        "run_id": "r1",
    }


def _commit_articles(wh: Warehouse, run: str, rows: list[dict[str, object]]) -> None:
    with wh.lock():
        tx = wh.transaction(run)
        tx.upsert("articles", pa.Table.from_pylist(rows))
        tx.commit()


SEARCH_DOCS = [
    _article("e1", "en", "Ministers meet", "The ministers discussed security. Security first.", 1),
    _article("e2", "en", "Trade", "A ministerial talk on trade and some security.", 5),
    _article("e3", "en", "Culture", "A festival of music and dance in Tashkent.", 9),
    _article("r1", "ru", "Встреча", "Министры обсудили вопросы безопасности региона.", 3),
    _article("r2", "ru", "Культура", "Фестиваль музыки прошёл в Ташкенте.", 7),
]


def test_search_is_ranked_stemmed_filtered_and_highlighted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wh = Warehouse(tmp_path)
    _commit_articles(wh, "r1", SEARCH_DOCS)
    hits = search(wh, "security")
    assert [h.article_id for h in hits] == ["e1", "e2"]  # BM25: two mentions rank first
    assert "**security**" in hits[0].snippet.lower()
    assert [h.article_id for h in search(wh, "minister")] == ["e1"]  # English stemmer
    ru = search(wh, "безопасность", language="ru")  # Russian stemmer: безопасности
    assert [h.article_id for h in ru] == ["r1"] and "**безопасности**" in ru[0].snippet
    assert search(wh, "security", language="ru") == []
    since = search(wh, "security", since=datetime(2020, 1, 3, tzinfo=UTC).date())
    assert [h.article_id for h in since] == ["e2"]
    assert [h.article_id for h in search(wh, "security", limit=1)] == ["e1"]
    # the index is derived: missing, stale or damaged, it is rebuilt
    index_path(wh).unlink(missing_ok=True)
    assert [h.article_id for h in search(wh, "festival")] == ["e3"]
    _commit_articles(wh, "r2", [_article("e4", "en", "More", "Another festival, festivals.", 2)])
    assert [h.article_id for h in search(wh, "festival")] == ["e4", "e3"]
    index_path(wh).write_bytes(b"not a database")
    assert [h.article_id for h in search(wh, "festival")] == ["e4", "e3"]
    assert main(["search", "festival", "--warehouse", str(tmp_path), "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. [") and "More" in out and "**festival**" in out
    assert main(["search", "музыка", "--language", "ru", "--json", "--warehouse",
                 str(tmp_path)]) == 0  # fmt: skip
    assert [json.loads(x)["article_id"] for x in capsys.readouterr().out.splitlines()] == ["r2"]
    assert main(["search", " ", "--warehouse", str(tmp_path)]) == 2
    assert "empty" in _err(capsys)


def _readme_commands() -> list[str]:
    text = README.read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    return [
        line
        for block in blocks
        for line in block.splitlines()
        if line.startswith(("duckdb ", "python -m infoshos.warehouse.extensions"))
    ]


def test_readme_plain_duckdb_client_attaches_the_lake_and_searches(
    sample: Warehouse, tmp_path: Path
) -> None:
    """The README's commands, run with the `duckdb` command of the duckdb-cli 1.5 package, its
    extensions installed from the wheels into a fresh HOME (no download)."""
    commands = _readme_commands()
    assert any("ducklake:" in c for c in commands) and any("match_bm25" in c for c in commands)
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(sample.root, work / "data")
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    (tmp_path / "home").mkdir()
    search(Warehouse(work / "data"), "news")  # the index exists (a run builds it)
    outputs = []
    for cmd in commands:
        cmd = cmd.replace("python -m", f"{sys.executable} -m", 1)
        proc = subprocess.run(
            cmd, shell=True, cwd=work, env=env, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, (cmd, proc.stderr)
        outputs.append(proc.stdout)
    assert any("42" in o for o in outputs), outputs  # the article count
    assert any("News" in o or "Новость" in o for o in outputs), outputs  # search hits
    # read-only: the client cannot write
    write = (
        "duckdb -c \"ATTACH 'ducklake:sqlite:data/lake.sqlite' AS lake (READ_ONLY, "
        "DATA_PATH 'data/lake/', OVERRIDE_DATA_PATH true); DELETE FROM lake.articles\""
    )
    proc = subprocess.run(write, shell=True, cwd=work, env=env, capture_output=True, text=True)
    assert proc.returncode != 0 and "read-only" in proc.stderr.lower(), proc.stderr


def _write_old_store(wh: Warehouse, root: Path) -> None:
    """The layout of the store before the lake: Parquet files, a manifest, CURRENT."""
    tables = {}
    for name in TABLES:
        rel = f"tables/{name}/r3-001.parquet"
        data = wh.read(name)
        if data.num_rows:
            (root / "tables" / name).mkdir(parents=True)
            pq.write_table(data, root / rel, compression="zstd")
        tables[name] = {"files": [rel] if data.num_rows else [], "rows": data.num_rows}
    (root / "snapshots").mkdir()
    manifest = {"snapshot": 7, "run_id": "r4", "created_at": "2020-01-16T03:00:00+00:00",
                "schema_version": SCHEMA_VERSION, "tables": tables}  # fmt: skip
    (root / "snapshots" / "000007.json").write_text(json.dumps(manifest))
    (root / "CURRENT").write_text("000007.json\n")
    (root / "infoshos.duckdb").write_bytes(b"")


def test_migrate_converts_the_old_store_with_no_data_lost(
    sample: Warehouse, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old"
    old.mkdir()
    _write_old_store(sample, old)
    files = sorted(p.relative_to(old) for p in old.rglob("*") if p.is_file())
    # an old-format folder is refused, in one line, by everything but migrate
    for argv in (["sql", "select 1"], ["status"], ["compact"]):
        assert main([*argv, "--warehouse", str(old)]) == 2
        assert "infoshos migrate" in _err(capsys)
    with pytest.raises(WarehouseError, match="old snapshot format"), Warehouse(old).lock():
        pass
    assert main(["migrate", "--warehouse", str(old)]) == 0
    assert "migrated snapshot 7" in capsys.readouterr().out
    new = Warehouse(old)
    for name, spec in TABLES.items():
        key = [(k, "ascending") for k in spec.column_names if k in spec.key] or None
        want, got = sample.read(name), new.read(name)
        if key:
            want, got = want.sort_by(key), got.sort_by(key)
        assert got.equals(want), name
    # nothing deleted: the old files are kept, untouched, beside the lake
    kept = sorted(p.relative_to(old / "legacy-store") for p in (old / "legacy-store").rglob("*"))
    assert [p for p in kept if (old / "legacy-store" / p).is_file()] == files
    assert [h.title for h in search(new, "news")]
    assert main(["migrate", "--warehouse", str(old)]) == 2
    assert "already a lake" in _err(capsys)


def test_upsert_writes_only_what_changed(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    words = [hashlib.sha1(str(n).encode()).hexdigest()[:7] for n in range(20000)]
    docs = [
        _article(f"a{i:03d}", "en", f"T{i}", " ".join(words[i * 100 : i * 100 + 300]), 1 + i % 28)
        for i in range(200)
    ]
    _commit_articles(wh, "r1", docs)

    def lake_bytes() -> dict[Path, int]:
        return {p: p.stat().st_size for p in (tmp_path / "lake").rglob("*.parquet")}

    before = lake_bytes()
    _commit_articles(wh, "r1", docs)  # the same rows again: nothing written
    assert lake_bytes() == before
    changed = [dict(d) for d in docs[:2]] + [_article("new", "en", "N", "new text", 3)]
    changed[0]["text"] = "changed text"
    _commit_articles(wh, "r1", docs[2:] + changed)
    written = {p: n for p, n in lake_bytes().items() if p not in before}
    # one small data file and one delete file, and the file of their two checksums' rows
    assert sorted(p.parent.name for p in written) == ["_files", "articles", "articles"]
    assert sum(written.values()) < sum(before.values()) * 0.05  # 3 rows of 200: 1.5 % + overhead
    got = {r["article_id"]: r["text"] for r in wh.read("articles").to_pylist()}
    assert len(got) == 201 and got["a000"] == "changed text"


def test_a_writer_killed_mid_transaction_leaves_the_lake_readable_and_writable(
    tmp_path: Path,
) -> None:
    wh = Warehouse(tmp_path)
    _commit_articles(wh, "r1", SEARCH_DOCS[:2])
    code = (
        "import sys, time, pyarrow as pa\n"
        "from infoshos.warehouse.store import Warehouse\n"
        "wh = Warehouse(sys.argv[1])\n"
        "with wh.lock():\n"
        "    tx = wh.transaction('r2')\n"
        "    tx.append('runs', pa.table({'run_id': ['r2'],\n"
        "        'started_at': pa.array([0], pa.timestamp('us', tz='UTC'))}))\n"
        "    print('written', flush=True)\n"
        "    time.sleep(60)\n"
    )
    with lake_process(code, tmp_path, ready="written"):
        # a reader sees the last committed snapshot while the writer's transaction is open
        assert Warehouse(tmp_path).read("runs").num_rows == 0
        assert Warehouse(tmp_path).read("articles").num_rows == 2
    assert Warehouse(tmp_path).orphans()  # the killed writer's file
    _commit_articles(wh, "r3", SEARCH_DOCS[2:3])  # the lock's holder deletes it
    assert Warehouse(tmp_path).orphans() == []
    assert Warehouse(tmp_path).read("articles").num_rows == 3


def test_a_lost_catalog_beside_data_is_refused(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    _commit_articles(wh, "r1", SEARCH_DOCS[:1])
    wh.close()
    for f in tmp_path.glob("lake.sqlite*"):
        f.unlink()
    with pytest.raises(WarehouseError, match="missing; rebuild it with `infoshos recover"):
        with Warehouse(tmp_path).lock():
            pass
        pass
    assert list((tmp_path / "lake").rglob("*.parquet"))  # nothing deleted


def test_lake_bench_prints_the_bytes_a_daily_run_writes(tmp_path: Path) -> None:
    """bench/lake.py at a small size: its figures are there, an unchanged re-upsert writes
    nothing and a 1 % daily run writes a small share (sizes, not times, are asserted)."""
    bench = REPO / "bench" / "lake.py"
    proc = subprocess.run(
        [sys.executable, str(bench), "--articles", "2000", "--warehouse", str(tmp_path / "w")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-800:]
    result = json.loads(proc.stdout)
    assert result["unchanged_upsert_all"]["bytes"] == 0
    daily = result["daily_run"]
    assert daily["new"] == daily["updated"] == 20
    assert 0 < daily["share_of_warehouse"] < 0.05
    assert result["search_hits"] == 20 and result["search_top20_ms"] > 0


def test_readme_time_travel_and_search_commands_run(
    sample: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    text = README.read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    commands = [
        shlex.split(line)
        for block in blocks
        for line in block.splitlines()
        if line.startswith(("infoshos snapshots", "infoshos search", "infoshos sql --warehouse"))
    ]
    kinds = {argv[1] for argv in commands}
    assert {"snapshots", "search", "sql"} <= kinds, kinds
    for argv in commands:
        argv = [str(sample.root) if a == "data" else a for a in argv[1:]]
        assert main(argv) == 0, argv
        assert capsys.readouterr().out.strip(), argv


def test_cleanup_deletes_only_the_files_ducklake_wrote(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    _commit_articles(wh, "r1", SEARCH_DOCS[:1])
    folder = tmp_path / "lake" / "main" / "articles"
    mine = folder / "notes-by-hand.parquet"
    shutil.copy(next(folder.glob("ducklake-*.parquet")), mine)
    stray = folder / ("ducklake-" + "0" * 8 + "-0000-0000-0000-" + "0" * 12 + ".parquet")
    shutil.copy(mine, stray)  # looks like an orphan DuckLake wrote
    assert {Path(p).name for p in wh.orphans()} == {mine.name, stray.name}
    _commit_articles(wh, "r2", SEARCH_DOCS[1:2])
    assert mine.exists() and not stray.exists()
    assert wh.read("articles").num_rows == 2


def test_the_index_is_rebuilt_only_when_articles_change(tmp_path: Path) -> None:
    from infoshos.warehouse.search import index, indexed_snapshot

    wh = Warehouse(tmp_path)
    _commit_articles(wh, "r1", SEARCH_DOCS)
    path = index(wh)
    assert path is not None and indexed_snapshot(path) == wh.snapshot_id()
    built = path.stat().st_ino
    with wh.lock():  # a run that changes no article
        tx = wh.transaction("r2")
        tx.append("runs", pa.table({"run_id": ["r2"], "started_at": [datetime.now(UTC)]}))
        tx.commit()
    assert index(wh) == path and path.stat().st_ino == built  # re-stamped, not rebuilt
    assert indexed_snapshot(path) == wh.snapshot_id()
    _commit_articles(wh, "r3", [_article("e9", "en", "New", "A security festival.", 4)])
    assert index(wh) == path and path.stat().st_ino != built
    assert "e9" in [h.article_id for h in search(wh, "festival")]


def test_search_ranks_exactly_as_duckdbs_match_bm25(sample: Warehouse) -> None:
    """The fast query (a posting table) gives match_bm25's scores and order."""
    from infoshos.warehouse import extensions

    for query, table in (("security meeting", "docs_english"), ("терроризм", "docs_russian")):
        hits = search(sample, query, limit=50)
        con = extensions.load(extensions.connect(str(index_path(sample)), read_only=True), "fts")
        ref = con.execute(
            f"SELECT article_id, score FROM (SELECT article_id, fts_main_{table}.match_bm25("
            f"article_id, ?) AS score FROM {table}) WHERE score IS NOT NULL "
            "ORDER BY score DESC, article_id LIMIT 50",
            [query],
        ).fetchall()
        con.close()
        assert len(ref) > 3, query
        assert [h.article_id for h in hits] == [a for a, _ in ref], query
        assert [round(h.score, 9) for h in hits] == [round(s, 9) for _, s in ref], query


def test_an_index_of_an_older_layout_is_rebuilt_by_the_next_search(tmp_path: Path) -> None:
    """An index written by an earlier infoshos (layout 2: BM25 weights in its postings, no
    document lengths) is not queried as it is: the next search rebuilds it, and it answers."""
    from infoshos.warehouse import extensions
    from infoshos.warehouse.search import LAYOUT, META, index, indexed_snapshot

    wh = Warehouse(tmp_path)
    _commit_articles(wh, "r1", SEARCH_DOCS)
    path = index(wh)
    assert path is not None
    con = extensions.load(extensions.connect(str(path)), "fts")
    con.execute("ALTER TABLE fts_main_docs_english.postings RENAME COLUMN len TO w")
    con.execute(f"UPDATE {META} SET layout = {LAYOUT - 1}")
    con.close()
    assert indexed_snapshot(path) is None  # not this layout: stale
    assert [h.article_id for h in search(wh, "festival")] == ["e3"]
    assert indexed_snapshot(path) == wh.snapshot_id()


def test_search_tables_are_indexed_side_by_side_and_a_failed_one_again_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each table's FTS index is built in a thread of its own (DuckDB builds one on a single
    thread); a table whose build fails there, even half way, is built again alone, and the index
    is the one a clean build makes."""
    import threading

    import duckdb

    from infoshos.warehouse import extensions
    from infoshos.warehouse import search as search_mod

    clean = Warehouse(tmp_path / "clean")
    _commit_articles(clean, "r1", SEARCH_DOCS)
    wh = Warehouse(tmp_path / "failing")
    _commit_articles(wh, "r1", SEARCH_DOCS)
    assert search_mod.index(clean) is not None

    real = search_mod._index_table
    calls: list[tuple[str, str]] = []

    def flaky(cur: duckdb.DuckDBPyConnection, table: str) -> None:
        calls.append((table, threading.current_thread().name))
        real(cur, table)
        if table == "docs_russian" and len(calls) <= len(search_mod.GROUPS):
            raise duckdb.OutOfMemoryException("failed to allocate data of size 128.0 MiB")

    monkeypatch.setattr(search_mod, "_index_table", flaky)
    assert search_mod.index(wh) is not None
    first = dict(calls[: len(search_mod.GROUPS)])
    assert set(first) == set(search_mod.GROUPS)
    assert all(name.startswith("search-index") for name in first.values()), calls
    assert calls[len(search_mod.GROUPS) :] == [("docs_russian", threading.current_thread().name)]

    def tables(warehouse: Warehouse) -> dict[str, list[tuple[object, ...]]]:
        con = extensions.load(extensions.connect(str(index_path(warehouse)), read_only=True), "fts")
        try:
            return {
                t: con.execute(  # (term ids are the build's own: terms and names compared)
                    f"SELECT term, name, tf, postings.len FROM fts_main_{t}.postings "
                    f"JOIN fts_main_{t}.dict USING (termid) JOIN fts_main_{t}.docs USING (docid) "
                    "ORDER BY ALL"
                ).fetchall()
                for t in search_mod.GROUPS
            }
        finally:
            con.close()

    assert tables(wh) == tables(clean)
    assert tables(wh)["docs_russian"]
    assert [h.article_id for h in search(wh, "безопасность", language="ru")] == [
        h.article_id for h in search(clean, "безопасность", language="ru")
    ]


def _index_contents(path: Path) -> dict[str, object]:
    """Every table of a search index as values (term ids and document ids are each build's own:
    terms and article ids stand for them)."""
    from infoshos.warehouse import extensions
    from infoshos.warehouse import search as search_mod

    con = extensions.load(extensions.connect(str(path), read_only=True), "fts")
    out: dict[str, object] = {}
    try:
        for t in search_mod.GROUPS:
            f = f"fts_main_{t}"
            queries = {
                "rows": f"SELECT * FROM {t}",
                "docs": f"SELECT name, len FROM {f}.docs",
                "dict": f"SELECT term, df FROM {f}.dict",
                "terms": f"SELECT name, fieldid, term FROM {f}.terms JOIN {f}.docs USING (docid) "
                f"JOIN {f}.dict USING (termid)",
                "stats": f"SELECT num_docs, round(avgdl, 9) FROM {f}.stats",
                "postings": f"SELECT term, name, tf, p.len FROM {f}.postings p "
                f"JOIN {f}.dict USING (termid) JOIN {f}.docs USING (docid)",
            }
            for name, sql in queries.items():
                out[f"{t}.{name}"] = sorted(con.execute(sql).fetchall(), key=repr)
    finally:
        con.close()
    return out


def _corpus(n: int) -> list[dict[str, object]]:
    en = [
        "security",
        "trade",
        "summit",
        "minister",
        "energy",
        "border",
        "water",
        "music",
        "youth",
        "forum",
    ]
    ru = [
        "безопасность",
        "торговля",
        "саммит",
        "министр",
        "энергия",
        "граница",
        "вода",
        "музыка",
        "форум",
    ]
    rows = []
    for i in range(n):
        words, lang = (en, "en") if i % 3 else (ru, "ru")
        text = " ".join(words[(i * k) % len(words)] for k in range(1, 12))
        rows.append(_article(f"a{i:03d}", lang, f"{words[i % len(words)]} {i}", text, 1 + i % 28))
    return rows


def _indexed_corpus(folder: Path, n: int) -> tuple[Warehouse, list[dict[str, object]], Path]:
    """A warehouse of ``n`` articles (``_corpus``) and its search index, built whole."""
    from infoshos.warehouse import search as search_mod

    wh = Warehouse(folder)
    base = _corpus(n)
    _commit_articles(wh, "r1", base)
    path = search_mod.index(wh)
    assert path is not None
    return wh, base, path


def test_the_index_is_updated_with_the_changed_articles_as_a_full_build_makes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that changes a few articles re-indexes those only: added, updated (a word that
    only it had disappears from the dictionary), moved to another language's table, title only,
    deleted. The index then holds what a full build of the same snapshot holds."""
    from infoshos.warehouse import search as search_mod

    wh = Warehouse(tmp_path)
    base = _corpus(60)
    base[4]["text"] = "A lonely zeppelin over the steppe."
    _commit_articles(wh, "r1", base)
    path = search_mod.index(wh)
    assert path is not None
    before = _index_contents(path)

    changed = [
        _article("n1", "en", "Zebra", "A zebra crossed the border at the summit.", 2),
        {**base[4], "text": "Security talks resumed."},  # 'zeppelin' and 'steppe' go
        {**base[1], "language": "ru", "text": "Министры обсудили торговлю."},  # en -> ru
        _article("n2", "ru", "Только заголовок", "", 3),
    ]
    with wh.lock():
        tx = wh.transaction("r2")
        tx.upsert("articles", pa.Table.from_pylist(changed), scope=("article_id", ["a007"]))
        tx.commit()

    def no_build(_: Warehouse) -> Path:
        raise AssertionError("built whole")

    with monkeypatch.context() as m:
        m.setattr(search_mod, "build", no_build)
        assert search_mod.index(wh) == path
    assert search_mod.indexed_snapshot(path) == wh.snapshot_id()
    updated = _index_contents(path)
    assert updated != before
    assert "zeppelin" not in {t for t, _ in updated["docs_english.dict"]}  # type: ignore[attr-defined]
    search_mod.build(wh)
    assert updated == _index_contents(path)
    assert [h.article_id for h in search(wh, "zebra")] == ["n1"]
    assert "a007" not in [h.article_id for h in search(wh, "security", limit=100)]


def test_an_update_of_many_articles_builds_the_index_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past UPDATE_SHARE of the indexed articles changed since the last full build, the index is
    built whole (it drops the space replaced rows leave), and the count starts again."""
    from infoshos.warehouse import extensions
    from infoshos.warehouse import search as search_mod

    wh = Warehouse(tmp_path)
    base = _corpus(50)
    _commit_articles(wh, "r1", base)
    path = search_mod.index(wh)
    assert path is not None
    updates: list[int] = []
    real = search_mod.update

    def counted(*args: object) -> bool:
        done = real(*args)  # type: ignore[arg-type]
        updates.append(done)
        return done

    monkeypatch.setattr(search_mod, "update", counted)
    for run in range(3):  # 4 articles a run: 8 % of 50; the third passes 20 % in all
        rows = [{**r, "text": f"{r['text']} energy {run}"} for r in base[run * 4 : run * 4 + 4]]
        _commit_articles(wh, f"u{run}", rows)
        assert search_mod.index(wh) == path
    assert updates == [True, True, False]
    con = extensions.connect(str(path), read_only=True)
    assert con.execute(f"SELECT updated FROM {search_mod.META}").fetchone() == (0,)
    con.close()


def test_an_update_that_fails_half_way_leaves_the_index_and_builds_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The update works on a copy: one that fails half way (the Russian table's terms out, their
    counts not yet) leaves the file as it was, no copy behind, and the index is built whole."""
    import duckdb

    from infoshos.warehouse import search as search_mod

    wh, base, path = _indexed_corpus(tmp_path, 40)
    _commit_articles(wh, "r2", [{**base[0], "text": "Новая встреча министров."}])

    class Failing:
        def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
            self.cur = cur

        def execute(self, sql: str, *args: object) -> object:
            if "fts_main_docs_russian.dict SET df" in sql:
                raise duckdb.OutOfMemoryException("failed to allocate data of size 128.0 MiB")
            return self.cur.execute(sql, *args)

    real_update, real_build = search_mod._update_table, search_mod.build
    builds: list[int] = []

    def failing(cur: duckdb.DuckDBPyConnection, table: str, snapshot: int) -> None:
        real_update(Failing(cur), table, snapshot)  # type: ignore[arg-type]

    def counted(w: Warehouse) -> Path:
        builds.append(search_mod.indexed_snapshot(path) or 0)
        return real_build(w)

    monkeypatch.setattr(search_mod, "_update_table", failing)
    monkeypatch.setattr(search_mod, "build", counted)
    assert search_mod.index(wh) == path
    assert builds == [wh.snapshot_id() - 1]  # the file was still the old index when built
    assert search_mod.indexed_snapshot(path) == wh.snapshot_id()
    assert [h.article_id for h in search(wh, "встреча", language="ru")] == [base[0]["article_id"]]
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


def test_an_update_whose_copy_fails_builds_the_index_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No room for the copy (say): no partial copy stays behind, and the index is built whole."""
    from infoshos.warehouse import search as search_mod

    wh, base, path = _indexed_corpus(tmp_path, 40)
    _commit_articles(wh, "r2", [{**base[3], "text": "A new forum on water."}])

    def full_disk(src: Path, dst: Path) -> None:
        Path(dst).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(search_mod.shutil, "copyfile", full_disk)
    assert search_mod.index(wh) == path
    assert search_mod.indexed_snapshot(path) == wh.snapshot_id()
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []
    assert base[3]["article_id"] in [h.article_id for h in search(wh, "forum water", limit=50)]
