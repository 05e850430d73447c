"""Smoke run of the scale benchmark (bench/run.py) at ~200 articles: the harness works end to end
and its JSON has every key with sane values. No timing is asserted (figures only > 0)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from paths import REPO
from run import JSON_KEYS, QUERIES, RANKED
from serve import StaticSite, route
from synthetic import ensure_site

from infoshos.warehouse.schema import STAGES

ROOT = REPO
BENCH = ROOT / "bench"

pytestmark = pytest.mark.slow

N = 200
#: A throughput figure per pipeline stage (crawl counts pages, the others articles), named from
#: the stages apart from bench/run.py's JSON_KEYS: a stage's figure missing from the JSON fails
#: the test even if JSON_KEYS lost it too.
STAGE_FIGURES = {f"{s}_pages_per_s" if s == "crawl" else f"{s}_articles_per_s" for s in STAGES}


def test_generated_site_is_deterministic_and_routed(tmp_path: Path) -> None:
    a, ma = ensure_site(60, 3, tmp_path / "a")
    b, mb = ensure_site(60, 3, tmp_path / "b")
    assert ma == mb
    assert ma["expected_articles"] == 60
    assert ma["near_pairs"] and ma["exact_pairs"]
    files = sorted(p.relative_to(a) for p in a.rglob("*.html"))
    assert files == sorted(p.relative_to(b) for p in b.rglob("*.html"))
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files[:50])
    found = route(a, "/infoshos/en/news/?page=1")
    assert found is not None and found[0].is_file() and "windows-1251" in found[1]
    assert route(a, "/infoshos/en/?idn=../../etc") is None


def test_python_fallback_serves_the_site(tmp_path: Path) -> None:
    import urllib.request

    site, _ = ensure_site(30, 1, tmp_path)
    with StaticSite(site, prefer="python") as web:
        assert web.kind == "python"
        with urllib.request.urlopen(web.base_url + "/sectsco/rus/news/?offset=0") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
            assert "news-item" in resp.read().decode("utf-8")


def test_smoke_run_writes_every_key(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = dict(os.environ, INFOSHOS_BENCH_CACHE=str(tmp_path / "cache"))
    argv = [sys.executable, str(BENCH / "run.py"), "--articles", str(N), "--rerun"]
    argv += ["--json", str(out), "--concurrency", "16"]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text("utf-8"))
    assert set(data) == set(JSON_KEYS) and set(data) >= STAGE_FIGURES
    manifest = json.loads(
        next((tmp_path / "cache").glob(f"site-n{N}-*/manifest.json")).read_text("utf-8")
    )
    assert data["articles"] == manifest["expected_articles"] == N
    for key in set(JSON_KEYS) - {"articles", "queries_ms"}:
        assert isinstance(data[key], (int, float)) and data[key] > 0, key
    assert set(data["queries_ms"]) == set(QUERIES) | set(RANKED)  # SQL, then BM25
    assert all(v > 0 for v in data["queries_ms"].values())
    assert "crawl" in proc.stdout and "enrich" in proc.stdout


def test_report_cost_prints_every_query(tmp_path: Path) -> None:
    """bench/report_cost.py: one line per report query, then the summary and the HTML page."""
    from helpers_warehouse import build_sample_warehouse

    from infoshos.warehouse.report import SQL

    wh = build_sample_warehouse(tmp_path / "wh")
    done = subprocess.run(
        [sys.executable, str(BENCH / "report_cost.py"), str(wh.root)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line.split() for line in done.stdout.splitlines()]
    assert [parts[0] for parts in lines] == [*SQL, "markdown", "html"]
    assert all(float(p[1]) >= 0 and p[2] == "s" and int(p[3]) > 0 and p[4] == "MB" for p in lines)
