"""The scaling benchmark (bench/scale.py): its projection is computed from the measured rates
(change a rate, the projection moves as the formula says), a missing redis-server is one line,
and a tiny matrix (200 articles; 1 and 2 crawl workers per source through Redis, 1 Dask worker)
runs end to end with the same pages in every configuration. No timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import bench_modules
import pytest
from services import need_binary

SCALE = bench_modules.load("scale")
SCRIPT = Path(SCALE.__file__)

#: A measured configuration as bench/scale.py writes it (the fields the projection reads).
ROW: dict[str, Any] = {
    "config": "2,2",
    "crawl_workers": 2,
    "dask_workers": 2,
    "redis": True,
    "process_workers": 2,
    "pages": 110_000,
    "articles": 100_000,
    "crawl_pages_per_s": 1_000.0,
    "process_articles_per_s": 400.0,
    "dedup_s": 20.0,
    "write_s": 60.0,
}


def by_machines(row: dict[str, Any], **assume: Any) -> dict[int, dict[str, float]]:
    return {x["machines"]: x for x in SCALE.project(row, SCALE.Assumptions(**assume))}


def test_projection_follows_the_measured_rates() -> None:
    base = by_machines(ROW, delay=0.0, cores=2)
    # 1.1 pages an article at 1,000 pages/s a machine; 200 articles/s per worker (400 on 2)
    assert base[1]["crawl_h"] == pytest.approx(1_100_000 / 1_000 / 3600)
    assert base[1]["process_h"] == pytest.approx(1_000_000 / (200 * 2) / 3600)
    assert base[1]["serial_h"] == pytest.approx(10 * 80 / 3600)  # 0.8 ms/article, x10
    for n in (2, 4, 8):  # crawl and processing scale with machines, the serial part does not
        assert base[n]["crawl_h"] == pytest.approx(base[1]["crawl_h"] / n)
        assert base[n]["process_h"] == pytest.approx(base[1]["process_h"] / n)
        assert base[n]["serial_h"] == base[1]["serial_h"]
    faster = by_machines({**ROW, "process_articles_per_s": 800.0}, delay=0.0, cores=2)
    assert faster[4]["process_h"] == pytest.approx(base[4]["process_h"] / 2)
    assert faster[4]["crawl_h"] == base[4]["crawl_h"]
    slower = by_machines({**ROW, "write_s": 160.0}, delay=0.0, cores=2)
    assert slower[8]["serial_h"] == pytest.approx(base[8]["serial_h"] * 2.25)
    # cost: every core of the machines in use, at the assumed price
    pricey = by_machines(ROW, delay=0.0, cores=2, usd_per_core_hour=2 * SCALE.USD_PER_CORE_HOUR)
    assert pricey[2]["usd"] == pytest.approx(2 * by_machines(ROW, delay=0.0, cores=2)[2]["usd"])
    hours = base[2]["total_h"]
    assert base[2]["core_hours"] == pytest.approx(2 * 2 * hours)


def test_a_polite_crawl_is_bound_by_the_sites_not_the_machines() -> None:
    polite = by_machines(ROW, delay=1.0, origins=3, cores=2)
    for n in (1, 2, 4, 8):
        assert polite[n]["crawl_h"] == pytest.approx(1_100_000 / 3 / 3600)
        assert polite[n]["crawl_machines"] == 1  # 3 pages/s: one machine is enough
    faster_crawl = by_machines({**ROW, "crawl_pages_per_s": 5_000.0}, delay=1.0, origins=3)
    assert faster_crawl[1]["crawl_h"] == polite[1]["crawl_h"]
    # a slow crawler below the sites' bound: machines help until the bound
    slow = by_machines({**ROW, "crawl_pages_per_s": 1.0}, delay=1.0, origins=3, cores=2)
    assert [slow[n]["crawl_machines"] for n in (1, 2, 4, 8)] == [1, 2, 3, 3]
    assert slow[8]["crawl_h"] == pytest.approx(polite[8]["crawl_h"])
    assert slow[2]["crawl_h"] == pytest.approx(1_100_000 / 2 / 3600)


def test_missing_redis_server_is_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=str(tmp_path))
    argv = [sys.executable, str(SCRIPT), "--articles", "20"]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "redis-server is not installed" in proc.stderr


@pytest.mark.slow
@pytest.mark.scale
def test_tiny_matrix_end_to_end(tmp_path: Path) -> None:
    need_binary("redis-server", "redis-server")
    out = tmp_path / "scale.json"
    env = dict(os.environ, INFOSHOS_BENCH_CACHE=str(tmp_path / "cache"))
    argv = [sys.executable, str(SCRIPT), "--articles", "200", "--crawl-workers", "1,2"]
    argv += ["--dask-workers", "1", "--concurrency", "16", "--json", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1500, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text("utf-8"))
    rows = data["rows"]
    assert [r["config"] for r in rows] == ["1,1", "2,1"]
    assert rows[0]["pages"] == rows[1]["pages"] > 200  # every page once, whoever fetched it
    assert all(r["articles"] == r["articles_expected"] == 200 for r in rows)
    assert rows[0]["worker_pages"] == []
    assert len(rows[1]["worker_pages"]) == 2  # one more crawl worker per source, exited 0
    assert rows[1]["worker_failures"] == []
    for r in rows:
        assert r["crawl_pages_per_s"] > 0 and r["process_articles_per_s"] > 0
        assert r["process_s"] > 0  # the run's own stages are disjoint slices of its time
        assert r["peak_rss_mb"] > 0
    # the printed tables: one line per configuration, both projections
    assert proc.stdout.count("| 1 (Redis) | 1 |") == 1 and "| 2 (Redis) | 1 |" in proc.stdout
    assert "polite crawl" in proc.stdout and "| 8 |" in proc.stdout
    assert data["projection"]["basis"] == "2,1"
    assert data["projection"]["polite"] == SCALE.project(
        rows[1],
        SCALE.Assumptions(**{**data["projection"]["assumptions"], "machines": (1, 2, 4, 8)}),
    )
    # --project recomputes from the saved rows: a changed rate moves the projection
    rows[1]["process_articles_per_s"] *= 2
    out.write_text(json.dumps(data), "utf-8")
    again = tmp_path / "again.json"
    argv = [sys.executable, str(SCRIPT), "--project", str(out), "--json", str(again)]
    subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)
    before, after = data["projection"]["unbounded"], json.loads(again.read_text())["projection"]
    for b, a in zip(before, after["unbounded"], strict=True):
        assert a["process_h"] == pytest.approx(b["process_h"] / 2)
        assert a["crawl_h"] == pytest.approx(b["crawl_h"])
