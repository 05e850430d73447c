"""Fault injection: one real crawl (the runner in a subprocess) of tests/faultserver.py's fault
routes, then one assertion per fault on the spool: retried then fetched, or a row with the
reason the flow turns into a ``rejects`` reason (``http_error``, ``too_large``, ``disallowed``,
``offsite``, ``not_article``)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from faultserver import CANONICAL, HOSTILE_LINKS, PNG, FaultSite
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure

from infoshos.spiders.crawl import crawl_command
from infoshos.spiders.middlewares import retry_after_seconds
from infoshos.spiders.records import classify_failure
from infoshos.warehouse.schema import REJECT_REASONS, SPOOL

pytestmark = pytest.mark.slow

MAX_BYTES = 200 * 1024
TIMEOUT = 2.0


@dataclass
class Crawl:
    site: FaultSite
    out: Path
    rows: dict[str, dict[str, Any]]
    counts: dict[str, Any]
    returncode: int
    stderr: str


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    out_dir = tmp_path_factory.mktemp("faults")
    out = out_dir / "spool.parquet"
    with FaultSite(hang_seconds=TIMEOUT * 3) as site:
        argv = crawl_command(
            "infoshos",
            "faults",
            [f"{site.base_url}/infoshos/faults/"],
            out,
            url_map=site.url_map,
            delay=0,
            concurrency=8,
            max_bytes=MAX_BYTES,
            timeout=TIMEOUT,
            retries=1,
            list_css=".news-item",  # the fault routes are the list's items, not idn URLs
        )
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
        rows = {}
        if out.exists():
            rows = {r["url"]: r for r in pq.read_table(out).to_pylist()}
        lines = proc.stdout.strip().splitlines()
        counts = json.loads(lines[-1]) if lines else {}
        yield Crawl(site, out, rows, counts, proc.returncode, proc.stderr)


def row(crawl: Crawl, path: str) -> dict[str, Any]:
    url = path if "://" in path else CANONICAL + path
    assert url in crawl.rows, f"no spool row for {url}; rows: {sorted(crawl.rows)}"
    return crawl.rows[url]


def flow_reason(record: dict[str, Any]) -> str | None:
    """The rejects reason the flow derives from a crawl row (see flows/clean/articles.py)."""
    if record["skip_reason"]:
        return str(record["skip_reason"])
    if record["status"] is None or record["status"] >= 400:
        return "http_error"
    return None


def test_the_crawl_completes_and_writes_the_spool(crawl: Crawl) -> None:
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    assert pq.read_schema(crawl.out).equals(SPOOL)
    assert crawl.counts["finish_reason"] == "finished"
    # hang, reset, truncated, loop: no response; the skips are listed below.
    assert crawl.counts["errors"] == 4
    assert crawl.counts["skipped"] == 7
    for record in crawl.rows.values():
        reason = flow_reason(record)
        assert reason is None or reason in REJECT_REASONS


# path, status, skip_reason, detail prefix (or substring), server hits
CASES = [
    ("fault/500-once", 200, None, None, 2),
    ("fault/503-retry-after", 200, None, None, 2),
    ("fault/slow", 200, None, None, 1),
    ("fault/hang", None, None, "timeout:", 2),
    ("fault/reset", None, None, "connection reset:", 2),
    ("fault/truncated", None, None, "truncated:", 2),
    ("fault/gzip-bomb", None, "too_large", "decompression bomb:", 1),
    ("fault/too-large", None, "too_large", "size limit:", 1),
    ("fault/too-large-stream", None, "too_large", "size limit:", 1),
    ("fault/loop", None, None, "redirect loop:", None),
    ("fault/redirect-offsite", None, "offsite", None, 1),
    ("fault/redirect-file", 302, None, "redirect not followed", 1),
    ("fault/404", 404, None, None, 1),
    ("private/secret.html", None, "disallowed", None, 0),
    ("img/photo.png", None, "not_article", "png document", 0),
    ("http://evil.example.org/steal", None, "offsite", None, None),
]


@pytest.mark.parametrize(("path", "status", "reason", "detail", "hits"), CASES)
def test_fault_outcome(
    crawl: Crawl, path: str, status: int | None, reason: str | None, detail: str | None, hits: int
) -> None:
    record = row(crawl, path)
    assert record["status"] == status
    assert record["skip_reason"] == reason
    if detail is not None:
        assert detail in (record["detail"] or ""), record["detail"]
    if status is None:
        assert record["body"] is None
    if hits is not None:
        assert crawl.site.hits[f"/infoshos/{path}"] == hits
    http_error = status is None and reason is None or (status or 0) >= 400
    expected_flow = "http_error" if http_error else reason
    assert flow_reason(record) == expected_flow


def test_redirect_loop_is_bounded(crawl: Crawl) -> None:
    """The first request and then one per redirect allowed, alternating between the two."""
    from infoshos.spiders.settings import REDIRECT_MAX_TIMES

    hits = (crawl.site.hits["/infoshos/fault/loop"], crawl.site.hits["/infoshos/fault/loop2"])
    total = 1 + REDIRECT_MAX_TIMES
    assert hits == ((total + 1) // 2, total // 2)


@pytest.mark.parametrize("path", ["fault/wrong-charset", "fault/no-charset"])
def test_wrong_or_missing_charset_keeps_the_raw_bytes(crawl: Crawl, path: str) -> None:
    record = row(crawl, path)
    assert record["status"] == 200
    assert record["body"] == crawl.site.cp1251_page  # decoding is the clean stage's job
    ctype = dict(record["headers"])["content-type"]
    assert ctype == ("text/html; charset=utf-8" if "wrong" in path else "text/html")


def test_binary_content_is_fetched_and_said_so(crawl: Crawl) -> None:
    record = row(crawl, "fault/binary")
    assert (record["status"], record["page_type"]) == (200, "article")
    assert record["body"] == PNG
    assert record["detail"] == "binary content: image/png"


def test_non_http_and_offsite_links_are_never_requested(crawl: Crawl) -> None:
    hits = crawl.site.hits
    for href in HOSTILE_LINKS:
        if href.startswith(("file:", "javascript:", "data:", "mailto:", "ftp:")):
            assert not any(href in url for url in crawl.rows)
    assert not [p for p in hits if "private" in p or p.endswith(".png") or "passwd" in p[:20]]
    assert not any(
        u.startswith(("file:", "javascript:", "data:", "mailto:", "ftp:")) for u in crawl.rows
    )
    assert crawl.site.cookies_sent == 0  # the faults page set one; cookies are not stored


def test_a_hostile_url_does_not_name_any_file(crawl: Crawl) -> None:
    """File names never derive from URLs: the spool path is --out, nothing else is written."""
    hostile = [u for u in crawl.rows if "passwd" in u]
    assert len(hostile) == 1 and crawl.rows[hostile[0]]["status"] == 404
    assert sorted(p.name for p in crawl.out.parent.iterdir()) == ["spool.parquet"]


# -- units ------------------------------------------------------------------------------------


def test_classify_failure_kinds() -> None:
    assert classify_failure(Failure(ConnectionLost("gone")))[1].startswith("connection reset:")
    reason, detail = classify_failure(Failure(ValueError("odd")))
    assert reason is None and detail == "error: ValueError: odd"


def test_retry_after_values() -> None:
    assert retry_after_seconds("1") == 1.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
