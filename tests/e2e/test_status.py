"""`infoshos status`: verdicts on hand-made runs/articles/rejects tables, and the command on a
warehouse written through the real store (healthy, stale, failing, never run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from infoshos.flows.status import (
    EXIT_UNHEALTHY,
    exit_code,
    format_text,
    schedule_interval,
    source_status,
    statuses,
)
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.store import Warehouse

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAILY = "0 3 * * *"


def run(
    run_id: str,
    ago: timedelta,
    sources: list[str],
    status: str = "completed",
    message: str | None = None,
    yields: dict[str, int] | None = None,
    mode: str = "incremental",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "started_at": NOW - ago,
        "finished_at": NOW - ago + timedelta(minutes=5),
        "sources": sources,
        "status": status,
        "message": message,
        "mode": mode,
        "source_yield": yields or {s: 10 for s in sources},
        **extra,
    }


def article(source: str, published: datetime, run_id: str) -> dict[str, Any]:
    return {"source": source, "published_at": published, "first_seen_run": run_id}


def test_schedule_interval_is_the_longest_gap() -> None:
    assert schedule_interval(DAILY, NOW) == timedelta(days=1)
    assert schedule_interval("0 */6 * * *", NOW) == timedelta(hours=6)
    assert schedule_interval("0 3 * * 1-5", NOW) == timedelta(days=3)  # over the weekend
    with pytest.raises(ValueError, match="bad cron"):
        schedule_interval("every day", NOW)


def test_a_healthy_source() -> None:
    runs = [
        run("r1", timedelta(days=3), ["a"], yields={"a": 10}),
        run("r2", timedelta(days=2), ["a"], yields={"a": 12}),
        run("r3", timedelta(hours=20), ["a", "b"], yields={"a": 11, "b": 4}),
    ]
    arts = [
        article("a", NOW - timedelta(days=30), "r1"),
        article("a", NOW - timedelta(days=2, hours=1), "r2"),
        article("a", NOW - timedelta(hours=21), "r3"),
        article("a", NOW - timedelta(hours=22), "r3"),
        article("b", NOW - timedelta(hours=1), "r3"),  # another source's: not counted
    ]
    rejects = [
        {"source": "a", "reason": "no_date", "run_id": "r3"},
        {"source": "a", "reason": "no_date", "run_id": "r3"},
        {"source": "a", "reason": "http_error", "run_id": "r3"},
        {"source": "a", "reason": "offsite", "run_id": "r2"},  # an older run's
        {"source": "b", "reason": "no_body", "run_id": "r3"},  # another source's
    ]
    st = source_status("a", DAILY, runs, arts, rejects, NOW)
    assert st.verdict == "ok", st.reason
    assert st.last_run == st.last_success == NOW - timedelta(hours=20)
    assert st.newest_published == NOW - timedelta(hours=21)
    assert (st.added_1d, st.added_7d) == (2, 4)
    assert st.yield_last == 11 and st.yield_median == 11.0  # median of 10 and 12
    assert st.rejects == {"http_error": 1, "no_date": 2}
    assert st.rule_misses == {}  # runs without the column: none
    assert exit_code([st]) == 0


def test_rule_misses_of_the_last_run_are_read_when_present() -> None:
    runs = [run("r1", timedelta(hours=2), ["a"], rule_misses={"title": 3, "date": 0})]
    st = source_status("a", DAILY, runs, [], [], NOW)
    assert st.rule_misses == {"title": 3}
    runs = [run("r1", timedelta(hours=2), ["a"], rule_misses=[("body", 2)])]  # Arrow's pairs
    assert source_status("a", DAILY, runs, [], [], NOW).rule_misses == {"body": 2}


def test_stale_after_twice_the_schedule_interval() -> None:
    runs = [run("r1", timedelta(hours=47), ["a"])]
    assert source_status("a", DAILY, runs, [], [], NOW).verdict == "ok"
    runs = [run("r1", timedelta(hours=49), ["a"])]
    st = source_status("a", DAILY, runs, [], [], NOW)
    assert st.verdict == "stale" and "within 2 days" in st.reason
    assert exit_code([st]) == EXIT_UNHEALTHY
    # a weekly schedule allows two weeks; no schedule: never stale
    assert source_status("a", "0 3 * * 0", runs, [], [], NOW).verdict == "ok"
    assert (
        source_status("a", None, [run("r1", timedelta(days=400), ["a"])], [], [], NOW).verdict
        == "ok"
    )


def test_failing_when_the_last_run_failed_or_flagged_it() -> None:
    flagged = "source a yielded no articles (a redesigned or unreachable site?)"
    runs = [
        run("r1", timedelta(days=1), ["a", "b"]),
        run("r2", timedelta(hours=2), ["a", "b"], status="flagged", message=flagged),
    ]
    a = source_status("a", DAILY, runs, [], [], NOW)
    b = source_status("b", DAILY, runs, [], [], NOW)
    assert a.verdict == "failing" and "yielded no articles" in a.reason
    assert a.last_success == NOW - timedelta(days=1)
    assert b.verdict == "ok" and b.last_success == NOW - timedelta(hours=2)  # not named
    failed = [*runs[:1], run("r3", timedelta(hours=1), ["b"], status="failed")]
    assert source_status("b", DAILY, failed, [], [], NOW).verdict == "failing"
    assert exit_code([a, b]) == EXIT_UNHEALTHY


def test_never_run_and_the_yield_median_of_the_same_mode_only() -> None:
    st = source_status("x", DAILY, [run("r1", timedelta(hours=1), ["a"])], [], [], NOW)
    assert st.verdict == "never run" and st.last_run is None and exit_code([st]) == 0
    runs = [
        run("f1", timedelta(days=3), ["a"], yields={"a": 500}, mode="full"),
        run("i1", timedelta(days=2), ["a"], yields={"a": 4}),
        run("i2", timedelta(days=1), ["a"], yields={"a": 6}),
        run("i3", timedelta(hours=1), ["a"], yields={"a": 5}),
    ]
    st = source_status("a", DAILY, runs, [], [], NOW)
    assert st.yield_last == 5 and st.yield_median == 5.0
    text = format_text(statuses({"a": DAILY}, runs, [], [], NOW))
    assert text.startswith("a: OK") and "yield 5 (median 5)" in text


# -- the command -----------------------------------------------------------------------------
def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = TABLES[name].schema
    return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)


def _warehouse(root: Path) -> None:
    """Three live sources: healthy ran an hour ago; stale three days ago; failing was
    flagged by its last run."""
    now = datetime.now(UTC)
    runs = [
        {
            "run_id": "r-old",
            "started_at": now - timedelta(days=3),
            "sources": ["healthy", "stale", "failing"],
            "status": "completed",
            "mode": "incremental",
            "source_yield": [("healthy", 9), ("stale", 7), ("failing", 8)],
        },
        {
            "run_id": "r-new",
            "started_at": now - timedelta(hours=1),
            "sources": ["healthy", "failing"],
            "status": "flagged",
            "message": "source failing yielded no articles (a redesigned or unreachable site?)",
            "mode": "incremental",
            "source_yield": [("healthy", 10), ("failing", 0)],
        },
    ]
    arts = [
        {
            "article_id": f"a{i}",
            "url": f"https://{src}.example.org/{i}",
            "source": src,
            "text": "text",
            "content_hash": f"h{i}",
            "cluster_id": f"a{i}",
            "published_at": now - timedelta(days=i),
            "first_seen_run": run_id,
            "run_id": run_id,
        }
        for i, (src, run_id) in enumerate(
            [("healthy", "r-new"), ("healthy", "r-old"), ("stale", "r-old"), ("failing", "r-old")]
        )
    ]
    rejects = [
        {"url": "https://healthy.example.org/x", "source": "healthy", "stage": "clean",
         "reason": "no_date", "run_id": "r-new"},
    ]  # fmt: skip
    wh = Warehouse(root)
    with wh.lock():
        tx = wh.transaction("r-new")
        tx.append("runs", _table("runs", runs))
        tx.upsert("articles", _table("articles", arts))
        tx.append("rejects", _table("rejects", rejects))
        tx.commit()


def _sources(tmp: Path) -> Path:
    entry = {"spider": "generic", "schedule": DAILY}
    data = {
        n: {**entry, "start_urls": [f"https://{n}.example.org/"]}
        for n in ("healthy", "stale", "failing", "unborn")
    }
    path = tmp / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": data}))
    return path


def _status(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_HOME": str(tmp / "no-prefect")}
    return subprocess.run(
        [sys.executable, "-m", "infoshos.flows.cli", "status", "--warehouse", str(tmp / "wh"),
         "--sources", str(_sources(tmp)), *args],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    _warehouse(tmp_path / "wh")
    return tmp_path


def test_status_of_a_healthy_source_exits_0(warehouse: Path) -> None:
    proc = _status(warehouse, "--source", "healthy")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("healthy: OK")
    assert "added 1 in 1 day, 2 in 7 days" in proc.stdout
    assert "yield 10 (median 9)" in proc.stdout and "no_date 1" in proc.stdout
    assert not (warehouse / "no-prefect").exists()  # reading never started Prefect


@pytest.mark.parametrize(("name", "verdict"), [("stale", "stale"), ("failing", "failing")])
def test_status_of_an_unhealthy_source_exits_1(warehouse: Path, name: str, verdict: str) -> None:
    proc = _status(warehouse, "--source", name, "--json")
    assert proc.returncode == EXIT_UNHEALTHY, proc.stderr
    [row] = json.loads(proc.stdout)
    assert (row["source"], row["verdict"]) == (name, verdict)


def test_status_of_every_source(warehouse: Path) -> None:
    proc = _status(warehouse, "--json")
    assert proc.returncode == EXIT_UNHEALTHY
    verdicts = {r["source"]: r["verdict"] for r in json.loads(proc.stdout)}
    builtin = {
        n: v for n, v in verdicts.items() if n not in ("healthy", "stale", "failing", "unborn")
    }
    assert builtin and set(builtin.values()) == {"never run"}  # the packaged live portals
    assert {n: v for n, v in verdicts.items() if n not in builtin} == {
        "healthy": "ok",
        "stale": "stale",
        "failing": "failing",
        "unborn": "never run",
    }
    assert _status(warehouse, "--source", "healthy", "--source", "unborn").returncode == 0


def test_status_operator_errors_exit_2(tmp_path: Path, warehouse: Path) -> None:
    proc = _status(warehouse, "--source", "nosuch")
    assert proc.returncode == 2 and "unknown source 'nosuch'" in proc.stderr
    empty = subprocess.run(
        [sys.executable, "-m", "infoshos.flows.cli", "status", "--warehouse",
         str(tmp_path / "nothing")],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert empty.returncode == 2 and empty.stderr.count("\n") == 1
