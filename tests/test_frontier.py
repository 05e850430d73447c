"""The crawl frontier shared through Redis (a real redis-server on loopback): two crawl workers
against tests/faultserver.py's site keep the per-site delay between them, fetch every page once,
and a worker killed with SIGKILL mid-crawl loses no request."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from faultserver import PER_PAGE, FaultSite, make_articles

from infoshos.flows.frontier import spool_parts
from infoshos.spiders.crawl import crawl_command

pytestmark = [pytest.mark.scale, pytest.mark.slow]

ARTICLES = 24
DELAY = 0.25
#: Timer resolution and scheduling slack allowed below the delay.
TOLERANCE = 0.03


def site_pages(site: FaultSite) -> set[str]:
    """The canonical URLs of every page of the site the crawl reaches."""
    pages = -(-ARTICLES // PER_PAGE)
    urls = {a.canonical_url for a in site.articles.values()}
    return urls | {f"{site.url_map[0][1]}en/news/?page={n}" for n in range(1, pages + 1)}


def worker(
    site: FaultSite, folder: Path, name: str, redis_url: str, crawl: str, lease: float
) -> subprocess.Popen[str]:
    argv = crawl_command(
        "infoshos",
        "faults",
        [f"{site.base_url}/infoshos/en/news/?page=1"],
        folder / f"{name}.parquet",
        url_map=site.url_map,
        delay=DELAY,
        concurrency=4,
        redis=redis_url,
        frontier=crawl,
        lease=lease,
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    return dict(json.loads(out.strip().splitlines()[-1]))


def fetched(folder: Path, stem: str | None = None) -> list[str]:
    """URLs of the pages fetched (status 200) in the spool parts (of one worker)."""
    parts = [p for p in spool_parts(folder) if stem is None or p.name.startswith(f"{stem}-")]
    if not parts:
        return []
    table = pa.concat_tables([pq.read_table(p, columns=["url", "status"]) for p in parts])
    return [u for u, s in zip(table["url"].to_pylist(), table["status"].to_pylist()) if s == 200]


def test_two_workers_share_the_delay_and_the_pages(redis_url: str, tmp_path: Path) -> None:
    with FaultSite(make_articles(ARTICLES)) as site:
        procs = [worker(site, tmp_path, f"w{i}", redis_url, "polite", 30) for i in range(2)]
        counts = [finish(p) for p in procs]
        times = sorted(t for t, _ in site.times)
        hits = dict(site.hits)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= DELAY - TOLERANCE, f"requests {min(gaps):.3f} s apart, delay {DELAY}"
    assert hits.pop("/robots.txt") == 1  # fetched once, its rules shared
    assert set(hits.values()) == {1}, "a page was fetched twice"
    w0, w1 = fetched(tmp_path, "w0"), fetched(tmp_path, "w1")
    assert w0 and w1, f"one worker fetched nothing: {counts}"
    assert not set(w0) & set(w1)
    assert set(w0) | set(w1) == site_pages(site)


def test_a_killed_worker_loses_no_request(redis_url: str, tmp_path: Path) -> None:
    with FaultSite(make_articles(ARTICLES)) as site:
        victim = worker(site, tmp_path, "victim", redis_url, "kill", 2)
        survivor = worker(site, tmp_path, "survivor", redis_url, "kill", 2)
        deadline = time.monotonic() + 60
        while len(site.times) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        killed_at = len(site.times)
        finish(survivor)
    assert victim.returncode == -signal.SIGKILL
    assert killed_at < len(site_pages(site)), "the victim was killed after the crawl"
    assert set(fetched(tmp_path)) == site_pages(site)
    assert fetched(tmp_path, "survivor")


def test_worker_options_are_checked() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "infoshos.spiders.crawl",
            "--spider",
            "generic",
            "--source",
            "x",
            "--start-url",
            "http://127.0.0.1:1/",
            "--out",
            "x.parquet",
            "--redis",
            "redis://h/0",
        ],  # fmt: skip
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "--redis and --frontier go together" in proc.stderr
