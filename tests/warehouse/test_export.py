"""The export (a self-contained folder of Parquet files) and the generated data dictionary."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from helpers_warehouse import (
    SOURCES,
    build_sample_warehouse,
    published_since,
    sample_articles,
)
from helpers_warehouse import query as _wh_query
from paths import REPO

from infoshos.warehouse.docs import REGENERATE, schema_markdown
from infoshos.warehouse.export import ExportError, describe, export_snapshot
from infoshos.warehouse.schema import PUBLIC_TABLES as TABLES
from infoshos.warehouse.store import Warehouse, WarehouseError

SINCE = date(2019, 1, 1)
CUT = datetime(2019, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return build_sample_warehouse(tmp_path_factory.mktemp("wh"))


@pytest.fixture(scope="module")
def full(wh: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("exports") / "full"
    return out, export_snapshot(wh, out)


@pytest.fixture(scope="module")
def filtered(
    wh: Warehouse, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("exports") / "filtered"
    return out, export_snapshot(wh, out, since=SINCE, sources=["sectsco"])


def _glob(root: Path, table: str) -> str:
    return f"read_parquet('{root}/{table}/**/*.parquet', hive_partitioning = true)"


def _ex_query(root: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _count(root: Path, table: str) -> int:
    return int(_ex_query(root, f"SELECT count(*) FROM {_glob(root, table)}")[0][0])


# -- a full export --------------------------------------------------------------------------
def test_full_export_has_every_row_readable_by_duckdb_and_pyarrow(
    wh: Warehouse, full: tuple[Path, dict[str, Any]]
) -> None:
    root, manifest = full
    assert set(manifest["tables"]) == set(TABLES)
    for name in TABLES:
        expected = _wh_query(wh, f"SELECT count(*) FROM {name}")[0][0]
        assert expected > 0, name  # the sample warehouse fills every table
        assert manifest["tables"][name]["rows"] == expected, name
        assert _count(root, name) == expected, name
        partitioning = "hive" if name in ("articles", "pages") else None
        dataset = ds.dataset(root / name, format="parquet", partitioning=partitioning)
        assert dataset.count_rows() == expected, name


def test_articles_and_pages_are_hive_partitioned_by_source_and_year(
    wh: Warehouse, full: tuple[Path, dict[str, Any]]
) -> None:
    root, manifest = full
    paths = [f["path"] for f in manifest["tables"]["articles"]["files"]]
    expected_parts = {
        f"articles/source={s}/year={y}/part-0.parquet"
        for s, y in _wh_query(wh, "SELECT DISTINCT source, year(published_at) FROM articles")
    }
    assert set(paths) == expected_parts and len(expected_parts) == len(SOURCES) * 3
    assert all(
        p.startswith("pages/source=")
        for f in manifest["tables"]["pages"]["files"]
        for p in [f["path"]]
    )
    # the partition values are the data: year is the year of published_at, source the source
    got = _ex_query(
        root,
        f"SELECT article_id, source, year, year(published_at) FROM {_glob(root, 'articles')}",
    )
    truth = dict(
        (r[0], (r[1], r[2]))
        for r in _wh_query(wh, "SELECT article_id, source, year(published_at) FROM articles")
    )
    assert len(got) == len(truth)
    for article_id, source, year, published_year in got:
        assert truth[article_id] == (source, year) and year == published_year
    # small tables are one file
    assert [f["path"] for f in manifest["tables"]["mentions"]["files"]] == [
        "mentions/part-0.parquet"
    ]


def test_exported_values_equal_the_warehouse(
    wh: Warehouse, full: tuple[Path, dict[str, Any]]
) -> None:
    root, _ = full
    cols = "article_id, url, source, language, title, published_at, text, is_canonical, repairs"
    mine = sorted(_ex_query(root, f"SELECT {cols} FROM {_glob(root, 'articles')}"), key=repr)
    theirs = sorted(_wh_query(wh, f"SELECT {cols} FROM articles"), key=repr)
    assert mine == theirs
    body = _ex_query(root, f"SELECT page_id, body, headers FROM {_glob(root, 'pages')}")
    truth = {r[0]: r[1:] for r in _wh_query(wh, "SELECT page_id, body, headers FROM pages")}
    assert {r[0]: r[1:] for r in body} == truth
    # exact Arrow types survive: timestamps with their time zone, maps, lists
    for name in TABLES:
        partitioning = "hive" if name in ("articles", "pages") else None
        read = ds.dataset(root / name, format="parquet", partitioning=partitioning).schema
        for field in TABLES[name].schema:
            assert read.field(field.name).type.equals(field.type), (name, field.name)
    assert str(read.field("stage_seconds").type).startswith("map<string, double")


def test_manifest_counts_and_checksums_verify(full: tuple[Path, dict[str, Any]]) -> None:
    root, _ = full
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["format"] == "infoshos-export"
    listed = set()
    for name, info in manifest["tables"].items():
        assert info["rows"] == sum(f["rows"] for f in info["files"])
        for f in info["files"]:
            path = root / f["path"]
            listed.add(path)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == f["sha256"], f["path"]
            assert path.stat().st_size == f["bytes"]
            meta = pq.ParquetFile(path).metadata
            assert meta.num_rows == f["rows"], f["path"]
            assert meta.row_group(0).column(0).compression == "ZSTD", name
    for doc in manifest["documents"]:
        assert hashlib.sha256((root / doc["path"]).read_bytes()).hexdigest() == doc["sha256"]
    # every data file is listed, and nothing else is lying around
    assert set(root.rglob("*.parquet")) == listed
    assert {p.name for p in root.iterdir() if p.is_file()} == {
        "manifest.json",
        "schema.json",
        "README.md",
        "SHA256SUMS",
    }
    # the standard tool agrees
    sums = subprocess.run(
        ["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=root, capture_output=True, text=True
    )
    assert sums.returncode == 0, sums.stdout + sums.stderr
    assert len((root / "SHA256SUMS").read_text().splitlines()) == len(listed) + 2


def test_schema_json_types_match_what_duckdb_reads(full: tuple[Path, dict[str, Any]]) -> None:
    root, _ = full
    schema = json.loads((root / "schema.json").read_text())
    assert set(schema["tables"]) == set(TABLES)
    for name, spec in TABLES.items():
        info = schema["tables"][name]
        assert info["doc"] == spec.doc and info["key"] == list(spec.key)
        by_name = {c["name"]: c for c in info["columns"]}
        for column in spec.columns:
            entry = by_name[column.name]
            assert entry["meaning"] == column.doc
            assert entry["arrow_type"] == str(column.type)
        described = dict(
            (r[0], r[1]) for r in _ex_query(root, f"DESCRIBE SELECT * FROM {_glob(root, name)}")
        )
        assert set(described) == set(by_name), name
        for col, dtype in described.items():
            declared = by_name[col]["duckdb_type"]
            canonical = _ex_query(root, f"SELECT typeof(CAST(NULL AS {declared}))")[0][0]
            assert canonical == dtype, (name, col, declared)
    # examples come from the data
    articles = {c["name"]: c for c in schema["tables"]["articles"]["columns"]}
    urls = {a["url"] for a in sample_articles()}
    assert articles["url"]["example"] in urls
    assert articles["source"]["example"] in SOURCES
    assert articles["year"]["example"] in (2017, 2018, 2019)
    assert datetime.fromisoformat(articles["published_at"]["example"]).tzinfo is not None
    body = next(c for c in schema["tables"]["pages"]["columns"] if c["name"] == "body")
    assert "bytes" in body["example"]
    assert articles["subtitle"]["example"] is None  # never filled in the sample


def test_readme_is_a_data_dictionary_with_reading_instructions(
    full: tuple[Path, dict[str, Any]],
) -> None:
    root, manifest = full
    readme = (root / "README.md").read_text()
    for needle in ("read_parquet(", "pyarrow.dataset", "pd.read_parquet", "pl.read_parquet"):
        assert needle in readme
    for name, spec in TABLES.items():
        assert f"### {name}\n" in readme
        assert f"| `{name}` | {manifest['tables'][name]['rows']} |" in readme
        for column in spec.columns:
            assert f"| `{column.name}` |" in readme and column.doc in readme
    assert "`http_error`" in readme  # the reject reasons


def test_export_reads_back_without_infoshos(full: tuple[Path, dict[str, Any]]) -> None:
    root, manifest = full
    script = textwrap.dedent(
        """
        import json, sys
        sys.modules["infoshos"] = None  # importing any project code now fails
        import duckdb, pyarrow.dataset as ds
        con = duckdb.connect()
        root = sys.argv[1]
        out = {}
        for name in json.load(open(root + "/manifest.json"))["tables"]:
            glob = f"{root}/{name}/**/*.parquet"
            q = f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning=true)"
            n = con.execute(q).fetchone()[0]
            assert ds.dataset(f"{root}/{name}", partitioning="hive").count_rows() == n
            out[name] = n
        print(json.dumps(out))
        """
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", script, str(root)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {n: t["rows"] for n, t in manifest["tables"].items()}


# -- filters --------------------------------------------------------------------------------
def test_since_and_source_filters_are_consistent(
    wh: Warehouse, filtered: tuple[Path, dict[str, Any]]
) -> None:
    root, manifest = filtered
    assert manifest["filters"] == {"since": "2019-01-01", "sources": ["sectsco"]}
    rows = _ex_query(root, f"SELECT source, published_at FROM {_glob(root, 'articles')}")
    expected = sum(
        1 for a in sample_articles() if a["source"] == "sectsco" and a["published_at"] >= CUT
    )
    assert len(rows) == expected > 0
    assert all(s == "sectsco" and p >= CUT for s, p in rows)
    ids = {r[0] for r in _ex_query(root, f"SELECT article_id FROM {_glob(root, 'articles')}")}
    id_list = ", ".join(f"'{i}'" for i in sorted(ids))
    # the tables about articles follow them: exactly the rows of the kept articles
    for name in ("article_versions", "clusters", "mentions", "roles", "article_countries",
                 "article_topics"):  # fmt: skip
        got = _ex_query(
            root, f"SELECT count(*), count(DISTINCT article_id) FROM {_glob(root, name)}"
        )
        want = _wh_query(
            wh,
            f"SELECT count(*), count(DISTINCT article_id) FROM {name} "
            f"WHERE article_id IN ({id_list})",
        )
        assert got == want and got[0][0] > 0, name
        assert manifest["tables"][name]["rows"] == got[0][0]
    links = _ex_query(root, f"SELECT article_id, other_id FROM {_glob(root, 'article_links')}")
    assert all(a in ids and b in ids for a, b in links)
    # entities: exactly those the kept rows refer to
    entities = {r[0] for r in _ex_query(root, f"SELECT entity_id FROM {_glob(root, 'entities')}")}
    referred = {
        r[0]
        for r in _ex_query(
            root,
            f"SELECT entity_id FROM {_glob(root, 'mentions')} UNION "
            f"SELECT entity_id FROM {_glob(root, 'article_countries')} UNION "
            f"SELECT person_id FROM {_glob(root, 'roles')} UNION "
            f"SELECT org_id FROM {_glob(root, 'roles')}",
        )
        if r[0]
    }
    assert entities == referred and 0 < len(entities) < 15
    # pages: the source's fetches since the cut, plus the pages the kept articles came from
    pages = _ex_query(root, f"SELECT source, fetched_at, page_id FROM {_glob(root, 'pages')}")
    article_pages = {
        r[0] for r in _ex_query(root, f"SELECT page_id FROM {_glob(root, 'article_versions')}")
    }
    assert {p for _, _, p in pages} >= article_pages
    assert all(s == "sectsco" and (t >= CUT or p in article_pages) for s, t, p in pages)
    # runs started since the cut that crawled the source; their rejects for the source only
    runs = _ex_query(root, f"SELECT run_id, started_at FROM {_glob(root, 'runs')}")
    assert sorted(r for r, _ in runs) == ["r2", "r3", "r4"]
    rejects = _ex_query(root, f"SELECT source, run_id FROM {_glob(root, 'rejects')}")
    want = _wh_query(
        wh, "SELECT count(*) FROM rejects WHERE source = 'sectsco' AND run_id IN ('r2', 'r3')"
    )[0][0]
    assert len(rejects) == want > 0
    assert all(s == "sectsco" and r in ("r2", "r3") for s, r in rejects)


def test_since_alone_and_sources_alone(wh: Warehouse, tmp_path: Path) -> None:
    m = export_snapshot(wh, tmp_path / "since", since=SINCE, tables=["articles"])
    assert m["tables"]["articles"]["rows"] == published_since(SINCE)
    assert _count(tmp_path / "since", "articles") == published_since(SINCE)
    m = export_snapshot(wh, tmp_path / "src", sources=["infoshos"], tables=["articles", "runs"])
    n = sum(1 for a in sample_articles() if a["source"] == "infoshos")
    assert m["tables"]["articles"]["rows"] == n == _count(tmp_path / "src", "articles")
    assert m["tables"]["runs"]["rows"] == 3  # the failed run crawled only sectsco
    assert sorted(p.name for p in (tmp_path / "src").iterdir() if p.is_dir()) == [
        "articles",
        "runs",
    ]


def test_an_empty_selection_still_writes_typed_files(wh: Warehouse, tmp_path: Path) -> None:
    out = tmp_path / "future"
    m = export_snapshot(wh, out, since=date(2030, 1, 1))
    assert all(m["tables"][t]["rows"] == 0 for t in TABLES if t != "entities")
    assert _count(out, "articles") == 0
    described = {
        r[0]: r[1] for r in _ex_query(out, f"DESCRIBE SELECT * FROM {_glob(out, 'articles')}")
    }
    assert described["published_at"] == "TIMESTAMP WITH TIME ZONE"
    assert "source" in described and "year" in described


# -- refusals and atomicity -----------------------------------------------------------------
def test_unknown_table_or_source_is_a_one_line_value_error(wh: Warehouse, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown table artcles; choose from pages") as exc:
        export_snapshot(wh, tmp_path / "x", tables=["artcles"])
    assert "\n" not in str(exc.value)
    with pytest.raises(ValueError, match="unknown source nosuch; the warehouse has: infoshos"):
        export_snapshot(wh, tmp_path / "x", sources=["nosuch"])
    assert not (tmp_path / "x").exists()
    assert issubclass(ExportError, WarehouseError)  # the CLI prints it as one line


def test_refuses_a_non_empty_target_unless_overwrite(wh: Warehouse, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    export_snapshot(wh, out, tables=["runs"])  # an empty folder is fine
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not empty"):
        export_snapshot(wh, out, tables=["entities"])
    assert (out / "mine.txt").read_text() == "keep me"
    m = export_snapshot(wh, out, tables=["entities"], overwrite=True)
    assert (out / "mine.txt").read_text() == "keep me"  # not the export's: kept
    assert not (out / "runs").exists()  # the earlier export's table: replaced
    assert m["tables"]["entities"]["rows"] == _count(out, "entities") == 15
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp folders left
    with pytest.raises(ValueError, match="would contain the warehouse"):
        export_snapshot(wh, wh.root.parent, overwrite=True)


# -- issue 13, finding 10: --overwrite replaces only what an earlier export wrote -------------
def test_overwrite_replaces_only_the_files_the_earlier_manifest_lists(
    wh: Warehouse, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = export_snapshot(wh, out, tables=["articles", "runs"])
    mine = {
        "notes.txt": "my notes",
        "articles/my-analysis.parquet": "not an export file",
        "runs/extra/keep.csv": "a,b",
    }
    for rel, text in mine.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    old_files = [f["path"] for t in first["tables"].values() for f in t["files"]]
    export_snapshot(wh, out, tables=["entities"], overwrite=True)
    assert {rel: (out / rel).read_text() for rel in mine} == mine
    assert not any((out / rel).exists() for rel in old_files)
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["tables"]) == ["entities"]
    assert _count(out, "entities") == 15


@pytest.mark.parametrize(
    "content", [None, "{not json", '{"format": "something-else", "tables": {}}']
)
def test_overwrite_of_a_folder_no_export_wrote_is_refused(
    wh: Warehouse, tmp_path: Path, content: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    from infoshos.flows.cli import main

    out = tmp_path / "documents"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    if content is not None:
        (out / "manifest.json").write_text(content)
    before = sorted(p.name for p in out.iterdir())
    argv = ["export", "--warehouse", str(wh.root), "--to", str(out), "--overwrite"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an earlier export" in err
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / "thesis.docx").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["documents"]  # no temp folders


def test_a_new_file_over_a_file_of_the_user_is_refused(wh: Warehouse, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_snapshot(wh, out, tables=["runs"])
    (out / "schema.json").unlink()  # gone from the folder, still in the manifest
    (out / "README.md").rename(out / "README.old")
    (out / "README.md").write_text("mine now")  # the manifest's sha256 does not matter
    (out / "SHA256SUMS").unlink()
    # the manifest lists README.md: it is the export's, replaced; nothing else is touched
    export_snapshot(wh, out, tables=["runs"], overwrite=True)
    assert (out / "README.old").exists() and (out / "schema.json").exists()
    # a file the earlier export did not list, at a path the new export writes: refused
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["documents"] = [d for d in manifest["documents"] if d["path"] != "schema.json"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ExportError, match="holds schema.json, which no earlier export wrote"):
        export_snapshot(wh, out, tables=["runs"], overwrite=True)
    assert (out / "schema.json").exists()


def test_a_manifest_cannot_name_files_outside_the_export(wh: Warehouse, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_snapshot(wh, out, tables=["runs"])
    victim = tmp_path / "victim.txt"
    victim.write_text("outside")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["documents"].append({"path": "../victim.txt"})
    manifest["documents"].append({"path": str(victim)})
    (out / "manifest.json").write_text(json.dumps(manifest))
    export_snapshot(wh, out, tables=["runs"], overwrite=True)
    assert victim.read_text() == "outside"


def test_export_into_any_warehouse_is_refused(wh: Warehouse, tmp_path: Path) -> None:
    other = build_sample_warehouse(tmp_path / "other")
    before = sorted(str(p) for p in other.root.rglob("*"))
    for target in (other.root / "handoff", other.root / "tables" / "x"):
        with pytest.raises(ExportError, match=f"inside the warehouse {other.root}"):
            export_snapshot(wh, target, overwrite=True)
    assert sorted(str(p) for p in other.root.rglob("*")) == before


def test_a_failed_export_leaves_nothing_behind(
    wh: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    export_snapshot(wh, out, tables=["runs"])
    before = (out / "manifest.json").read_text()

    def boom(*args: object, **kwargs: object) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(describe, "_readme", boom)
    with pytest.raises(OSError, match="disk full"):
        export_snapshot(wh, out, overwrite=True)
    with pytest.raises(OSError, match="disk full"):
        export_snapshot(wh, tmp_path / "new")
    assert (out / "manifest.json").read_text() == before  # the old export is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_no_warehouse_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="no warehouse"):
        export_snapshot(Warehouse(tmp_path / "none"), tmp_path / "out")


# -- the data dictionary --------------------------------------------------------------------
def test_docs_schema_md_is_current() -> None:
    path = REPO / "docs" / "schema.md"
    assert path.exists(), f"docs/schema.md is missing; run: {REGENERATE}"
    assert path.read_text() == schema_markdown(), (
        f"docs/schema.md is stale (warehouse/schema.py changed); regenerate it with: {REGENERATE}"
    )


def test_declared_codes_are_the_ones_the_code_writes() -> None:
    """``clusters.reason`` and the ``runs.stage_seconds`` keys are declared once, in
    ``warehouse/schema.py``: dedup writes those reasons, and a run times only those stages."""
    import typing

    from infoshos.flows import dedup
    from infoshos.flows.summary import RunSummary
    from infoshos.warehouse import schema

    assert typing.get_args(dedup.Reason) == schema.CLUSTER_REASONS
    summary = RunSummary("r1", [])
    for name in schema.STAGES:
        with summary.stage(name):
            pass
    assert list(summary.seconds) == list(schema.STAGES)
    with pytest.raises(ValueError, match="unknown stage 'parse'"), summary.stage("parse"):
        pass


def test_docs_command_prints_the_dictionary() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "infoshos.warehouse.docs"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == schema_markdown()


def test_dictionary_covers_every_table_and_column() -> None:
    text = schema_markdown()
    for name, spec in TABLES.items():
        assert f"\n## {name}\n\n{spec.doc}\n" in text
        for column in spec.columns:
            assert f"| `{column.name}` | `{column.type}` |" in text, (name, column.name)
    assert "`MAP(VARCHAR, DOUBLE)`" in text and "`TIMESTAMPTZ`" in text
