"""A shared lake: a PostgreSQL catalog and an S3 data path (moto), both on loopback.

Two runs of different sources write into one lake at once (the second one's commit finds the
lake moved and replays), and the lake ends up as two runs one after the other make it; a reader
in another process sees only whole runs; kill -9 mid-run leaves the lake readable and the next
run cleans the killed run's files; no credential reaches the log, the catalog or the tables;
the read-only ``sql`` reads the S3 files and nothing else. Every run is the ``infoshos``
command in a process of its own (the bundled sample site)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paths import README
from services import POSTGRES_BIN, fresh_lake, need_binary, patched_environ, psql

from infoshos.warehouse import shared
from infoshos.warehouse.faults import CRASH_ENV, PAUSE_ENV
from infoshos.warehouse.location import Location
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.store import Warehouse, WarehouseError

pytestmark = pytest.mark.scale

A, B = "infoshos-sample", "sectsco-sample"
#: Distinctive credentials: none may show up anywhere but in the environment.
PG_SECRET = "pg-" + uuid.uuid4().hex
S3_SECRET = "s3-" + uuid.uuid4().hex
README_DSN = "dbname=infoshos host=127.0.0.1 port=5432 user=infoshos"
README_BUCKET = "s3://infoshos-lake/archive/"
#: Columns a run or the clock makes (ids, times, the run's own settings): they differ between
#: two lakes written by the same runs (``fetch_url``: the sample site's port; ``via``: which link
#: reached a page first, crawl timing). ``mode``: a run into an empty lake counts as full.
RUN_MADE = {
    "run_id", "first_seen_run", "page_id", "fetch_url", "headers", "body", "fetched_at",
    "started_at", "finished_at", "stage_seconds", "code_version", "lock_hash", "config",
    "message", "mode", "via",
}  # fmt: skip


@pytest.fixture()
def lake_env(
    postgres_dsn: str, s3_endpoint: str, prefect_harness: None
) -> Iterator[dict[str, str]]:
    """A fresh database and bucket; the environment of an ``infoshos`` process using them
    (the Prefect API of the harness, the S3 endpoint, distinctive credentials)."""
    from prefect.settings import PREFECT_API_URL

    env = {
        **fresh_lake(postgres_dsn, s3_endpoint, S3_SECRET),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PGPASSWORD": PG_SECRET,
    }
    with patched_environ(env):  # this process reads the lake too
        yield env


def _shared(folder: Path, dsn: str, env: dict[str, str], suffix: str = "") -> Path:
    """A warehouse folder pointed at a database and bucket of its own (``suffix``: another
    database of the same name plus suffix)."""
    db, bucket = env["LAKE_DB"] + suffix, env["LAKE_DB"].replace("_", "-")
    if suffix:
        psql(dsn, f"CREATE DATABASE {db}")
    catalog = "postgres:" + dsn.replace("dbname=infoshos", f"dbname={db}")
    proc = _infoshos(
        "lake", "--warehouse", str(folder), "--catalog", catalog,
        "--data-path", f"s3://{bucket}/{db}/", env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return folder


def _infoshos(*args: str, env: dict[str, str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infoshos.flows.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=600,
        check=False,
        **kw,
    )


def _start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "infoshos.flows.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def _run(folder: Path, source: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = _infoshos("run", "--warehouse", str(folder), "--source", source, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _tables(wh: Warehouse) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, without the columns a run or the clock makes (run ids, times)."""
    out = {}
    con = wh.connect()
    try:
        for name, spec in TABLES.items():
            cols = [c.name for c in spec.columns if c.name not in RUN_MADE]
            out[name] = con.execute(f"SELECT {', '.join(cols)} FROM {name} ORDER BY ALL").fetchall()
    finally:
        con.close()
    return out


def _poll(wh: Warehouse) -> tuple[int, int, int, int]:
    """(snapshot, articles, pages, runs) as one reader's connection sees them."""
    con = wh.connect()
    try:
        row = con.execute(
            "SELECT (SELECT id FROM lake.current_snapshot()), (SELECT count(*) FROM articles), "
            "(SELECT count(*) FROM pages), (SELECT count(*) FROM runs)"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def test_two_runs_at_once_make_the_lake_two_runs_in_a_row_make(
    postgres_dsn: str, lake_env: dict[str, str], tmp_path: Path
) -> None:
    """Runs B and then A (another source) start on the same snapshot, write their whole runs
    and are held just before their commits, both holding their locks; B commits; A finds the
    lake moved, processes again on B's snapshot and commits. A reader polls the lake throughout
    and sees only whole runs. The lake equals the one made by B then A, run one after the other
    into a fresh lake (the order of their starts and commits: an article seen in both sources
    is canonical in the run that started first)."""
    shared = _shared(tmp_path / "shared", postgres_dsn, lake_env)
    seen: set[tuple[int, int, int, int]] = set()
    wh = Warehouse(shared)

    def held(source: str, gate: Path) -> subprocess.Popen[str]:
        env = {**lake_env, PAUSE_ENV: f"before-publish:{gate}"}
        run = _start("run", "--warehouse", str(shared), "--source", source, env=env)
        deadline = time.monotonic() + 300
        while not Path(f"{gate}.reached").exists():
            assert run.poll() is None, run.communicate()[1][-3000:]
            assert time.monotonic() < deadline
            if wh.exists():
                seen.add(_poll(wh))
            time.sleep(0.2)
        return run

    def finish(run: subprocess.Popen[str], gate: Path) -> str:
        gate.touch()
        while run.poll() is None:
            seen.add(_poll(wh))
            time.sleep(0.1)
        out, err = run.communicate()
        assert run.returncode == 0, err[-3000:]
        return out + err

    b = held(B, tmp_path / "gate-b")
    a = held(A, tmp_path / "gate-a")
    assert "another run committed first" not in finish(b, tmp_path / "gate-b")
    assert "another run committed first" in finish(a, tmp_path / "gate-a")  # A replayed
    seen.add(_poll(wh))

    reference = _shared(tmp_path / "reference", postgres_dsn, lake_env, suffix="_ref")
    _run(reference, B, lake_env)
    _run(reference, A, lake_env)
    got, want = _tables(wh), _tables(Warehouse(reference))
    assert got["articles"] and got["pages"]
    for name in TABLES:  # no row lost or doubled, none different
        assert got[name] == want[name], (name, _differences(got[name], want[name]))
    for name, spec in TABLES.items():
        if spec.mode == "state":  # keys unique
            keys = [tuple(r) for r in _keys(wh, name, spec.key)]
            assert len(keys) == len(set(keys)), name

    # the reader saw the empty lake, B's run and then B's and A's: never a partial run
    runs = {s[3]: s for s in seen}
    by_snapshot: dict[int, set[tuple[int, int, int, int]]] = {}
    for s in seen:
        by_snapshot.setdefault(s[0], set()).add(s)
    assert all(len(v) == 1 for v in by_snapshot.values())
    final = _poll(wh)
    assert set(runs) <= {0, 1, 2} and runs[2] == final
    assert 1 in runs and 0 < runs[1][1] < final[1] and 0 < runs[1][2] < final[2]


def _differences(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> list[str]:
    """The first rows that differ, as (position, column index, got, want) lines."""
    out = [f"{len(got)} rows, {len(want)} expected"]
    for g, w in zip(got, want, strict=False):
        if g != w:
            pairs = enumerate(zip(g, w, strict=True))
            out += [f"{i}: {a!r:.80} != {b!r:.80}" for i, (a, b) in pairs if a != b]
            if len(out) > 6:
                break
    return out


def _keys(wh: Warehouse, table: str, key: tuple[str, ...]) -> list[tuple[Any, ...]]:
    con = wh.connect()
    try:
        return con.execute(f"SELECT {', '.join(key)} FROM {table}").fetchall()
    finally:
        con.close()


def test_kill_9_before_publish_leaves_the_previous_snapshot(
    postgres_dsn: str, lake_env: dict[str, str], tmp_path: Path
) -> None:
    folder = _shared(tmp_path / "w", postgres_dsn, lake_env)
    _run(folder, A, lake_env)
    wh = Warehouse(folder)
    before, tables = wh.current(), _tables(wh)
    args = ("run", "--warehouse", str(folder), "--source", B)
    killed = _infoshos(*args, env={**lake_env, CRASH_ENV: "before-publish"})
    assert killed.returncode == -9, killed.stderr[-2000:]
    after = Warehouse(folder)
    assert after.current() == before and _tables(after) == tables
    orphans = after.orphans()
    assert orphans and all(p.startswith("s3://") for p in orphans)  # the killed run's files
    done = _infoshos(*args, env=lake_env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert Warehouse(folder).orphans() == []  # deleted by the next run
    assert Warehouse(folder).current().rows["articles"] > before.rows["articles"]
    _read_only_sql(Warehouse(folder))


def test_a_second_run_of_one_source_is_refused(
    postgres_dsn: str, lake_env: dict[str, str], tmp_path: Path
) -> None:
    """A source's lock is exclusive (another process is refused; this one takes it again); a
    whole-lake job waits for every run."""
    folder = _shared(tmp_path / "w", postgres_dsn, lake_env)
    probe = (
        "import sys\n"
        "from infoshos.warehouse.store import Warehouse, WarehouseError\n"
        "sources = sys.argv[2].split(',') if sys.argv[2] else None\n"
        "try:\n"
        "    with Warehouse(sys.argv[1]).lock(sources=sources):\n"
        "        print('locked')\n"
        "except WarehouseError as exc:\n"
        "    print(exc)\n"
    )

    def other_process(sources: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-c", probe, str(folder), sources],
            capture_output=True,
            text=True,
            env={**os.environ, **lake_env},
            check=True,
        )
        return proc.stdout.strip()

    with Warehouse(folder).lock(sources=[A]):
        with Warehouse(folder).lock(sources=[A]):  # re-entrant within the process
            pass
        assert f"source {A} is locked by another run" in other_process(A)
        assert other_process(B) == "locked"  # another source: at once
        assert "the lake is locked by another run" in other_process("")
    assert other_process("") == "locked"


def test_a_run_starting_while_another_cleans_up_waits_for_it(
    postgres_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that got the lake to itself for a moment (deleting a killed run's files) makes
    a run of another source starting then wait, not fail as if a whole-lake job held the lake
    (two workers starting two sources' runs at the same moment)."""
    loc = Location.make(tmp_path, "postgres:" + postgres_dsn, "")
    cleaning, cleaned, refused = threading.Event(), threading.Event(), threading.Event()
    try_lock = shared.Session.try_lock

    def observed(self: shared.Session, name: str, **kw: bool) -> bool:
        got = try_lock(self, name, **kw)
        if not got and threading.current_thread().name == "second":
            refused.set()  # the second writer met the first one's lock
        return got

    monkeypatch.setattr(shared.Session, "try_lock", observed)

    def clean_up() -> None:
        cleaning.set()
        assert cleaned.wait(60)

    def writer(source: str, alone: Any, out: list[str]) -> None:
        try:
            with shared.writer_lock(loc, 0, [source], alone):
                out.append("locked")
        except shared.LockBusy as exc:
            out.append(f"busy {exc}")

    first: list[str] = []
    second: list[str] = []
    one = threading.Thread(target=writer, args=(A, clean_up, first))
    two = threading.Thread(target=writer, args=(B, lambda: None, second), name="second")
    one.start()
    assert cleaning.wait(60)
    two.start()
    assert refused.wait(60)
    cleaned.set()
    one.join(60)
    two.join(60)
    assert first == ["locked"] and second == ["locked"]


def readme_commands() -> list[str]:
    readme = README.read_text()
    section = readme.split("### A shared lake: PostgreSQL catalog and S3 data", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_commands_and_no_secret_anywhere(
    postgres_dsn: str, s3_endpoint: str, lake_env: dict[str, str], tmp_path: Path
) -> None:
    """The README's commands as written (the server addresses aside); then the credentials are
    nowhere: not in the output or logs, the local folder, the catalog or any table."""
    db, bucket = lake_env["LAKE_DB"], lake_env["LAKE_DB"].replace("_", "-")
    port = postgres_dsn.split("port=", 1)[1].split()[0]
    outputs = []
    for line in readme_commands():
        line = line.replace(README_DSN, f"dbname={db} host=127.0.0.1 port={port} user=infoshos")
        line = line.replace(README_BUCKET, f"s3://{bucket}/archive/")
        line = line.replace("http://127.0.0.1:9000", s3_endpoint)
        argv = shlex.split(line)
        proc = subprocess.run(
            [str(Path(sys.executable).parent / argv[0]), *argv[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**os.environ, **lake_env},
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, (line, proc.stderr[-3000:])
        outputs.append(proc.stdout + proc.stderr)
    assert json.loads(outputs[0])["catalog"].startswith("postgres:")
    counts = json.loads(outputs[-1].splitlines()[0])
    assert counts["articles"] > 10 and counts["sources"] >= 2
    wh = Warehouse(tmp_path / "data")
    assert wh.location.remote_data and not (tmp_path / "data" / "lake").exists()
    assert all(f.startswith(f"s3://{bucket}/archive/") for f in wh.files("pages"))

    texts = list(outputs)
    texts += [
        p.read_bytes().decode("utf-8", "replace")
        for p in (tmp_path / "data").rglob("*")
        if p.is_file()
    ]
    dump = need_binary(POSTGRES_BIN / "pg_dump", "postgresql")
    texts.append(
        subprocess.run(
            [dump, f"{postgres_dsn} dbname={db}", "--data-only"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    con = wh.connect()
    try:
        for name in TABLES:
            texts.append(repr(con.execute(f"SELECT * FROM {name}").fetchall()))
    finally:
        con.close()
    for secret in (PG_SECRET, S3_SECRET):
        assert not any(secret in t for t in texts)


def _read_only_sql(wh: Warehouse) -> None:
    """The read-only ``sql`` reads the lake's S3 files, and refuses a write or a read
    elsewhere (another prefix of the bucket, a local file)."""
    from infoshos.warehouse.query import run_query

    assert "infoshos-sample" in run_query(wh, "SELECT DISTINCT source FROM articles")
    data = wh.location.data_path
    bucket = data.split("/")[2]
    for sql in (
        f"COPY (SELECT 1) TO '{data}x.parquet'",
        f"SELECT * FROM read_parquet('s3://{bucket}/elsewhere/x.parquet')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "INSERT INTO runs (run_id) VALUES ('x')",
    ):
        with pytest.raises(WarehouseError, match="refused|disabled by configuration"):
            run_query(wh, sql)
