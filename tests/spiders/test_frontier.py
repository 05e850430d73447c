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
from paths import README

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
    return [
        u
        for u, s in zip(table["url"].to_pylist(), table["status"].to_pylist(), strict=True)
        if s == 200
    ]


def test_two_workers_share_the_delay_and_the_pages(redis_url: str, tmp_path: Path) -> None:
    with FaultSite(make_articles(ARTICLES)) as site:
        procs = [worker(site, tmp_path, f"w{i}", redis_url, "polite", 30) for i in range(2)]
        counts = [finish(p) for p in procs]
        times = sorted(t for t, _ in site.times)
        hits = dict(site.hits)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
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


def readme_commands() -> list[str]:
    readme = README.read_text()
    section = readme.split("### Crawling with several workers (Redis)", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_run_and_worker(redis_url: str, tmp_path: Path) -> None:
    """The README's two commands, as written (the Redis URL aside), against the sample site
    configured as a live source: the run and a worker share the crawl, the run publishes it."""
    import shlex

    import redis
    from redesigned_site import sources_file

    from infoshos.spiders.frontier import crawl_key
    from infoshos.spiders.sample_site import SampleSite

    run_line, worker_line = readme_commands()
    assert run_line.startswith("infoshos run --redis") and "crawl-worker" in worker_line
    bin_dir = Path(sys.executable).parent
    client = redis.Redis.from_url(redis_url)
    with SampleSite(port=0) as site:
        sources_file(tmp_path, site.base_url, "mysite", delay=0.05).rename(
            tmp_path / "sources.yaml"
        )

        def start(line: str) -> subprocess.Popen[str]:
            argv = shlex.split(line.replace("redis://127.0.0.1:6379/0", redis_url))
            argv[0] = str(bin_dir / argv[0])
            return subprocess.Popen(
                argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )

        run = start(run_line)
        deadline = time.monotonic() + 90
        while not client.scard(crawl_key("mysite", "dupefilter")) and time.monotonic() < deadline:
            assert run.poll() is None, run.communicate()[1][-3000:]
            time.sleep(0.1)
        extra = start(worker_line)
        worker_out, worker_err = extra.communicate(timeout=180)
        run_out, run_err = run.communicate(timeout=180)
    assert run.returncode == 0, run_err[-3000:]
    assert extra.returncode == 0, worker_err[-3000:]
    assert json.loads(worker_out.strip().splitlines()[-1])["finish_reason"] == "finished"
    sql = subprocess.run(
        [
            str(bin_dir / "infoshos"),
            "sql",
            "--warehouse",
            "data",
            "--format",
            "json",
            "SELECT count(*) AS n, count(DISTINCT url) AS urls FROM pages",
        ],  # fmt: skip
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert sql.returncode == 0, sql.stderr
    counts = json.loads(sql.stdout.splitlines()[0])
    assert counts["n"] > 20
    assert counts["n"] == counts["urls"]  # every page once, whichever worker fetched it
