"""`infoshos extract`: the flow's cleaning on pages given by hand (files, folders, URLs).

This is how a user debugs a new source: it shows what the pipeline would store for a page, or
why it would reject it. The reading of inputs (files, ``.html.gz``, folders, http(s) URLs) is
here; the cleaning is exactly ``flows.clean.articles.clean_page``.

Local input gets the crawler's limits: at most ``DOWNLOAD_MAXSIZE`` (10 MB) per page, a
gzipped file decompressed only up to that size; only regular files are opened (a FIFO or a
device is refused from its ``stat``, never opened); each page is cleaned in a worker process
that is killed after ``PAGE_TIMEOUT`` seconds. Every failure is a row with its error, and the
inputs after it are still read (``infoshos extract`` exits 1 at the end).
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import re
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from infoshos.flows.clean.articles import clean_page
from infoshos.flows.sources import Source
from infoshos.spiders.settings import DOWNLOAD_MAXSIZE, DOWNLOAD_TIMEOUT
from infoshos.warehouse.keys import portal_style, url_key

#: The crawler's limits, for local input too.
MAX_BYTES = DOWNLOAD_MAXSIZE
TIMEOUT = DOWNLOAD_TIMEOUT
#: Seconds the cleaning of one page may take before its worker is killed.
PAGE_TIMEOUT = 60.0
USER_AGENT = "infoshos/0.1 (+https://github.com/infoshos/infoshos)"
PAGE_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")
_CANONICAL = re.compile(
    rb"""<link[^>]+rel=["']?canonical["']?[^>]*href=["']([^"']+)["']|"""
    rb"""<link[^>]+href=["']([^"']+)["'][^>]*rel=["']?canonical""",
    re.IGNORECASE,
)


@dataclass
class PageInput:
    given: str  # the path or URL as the user gave it
    url: str | None
    body: bytes | None
    headers: dict[str, str]
    status: int | None
    error: str | None = None


class _TooLarge(Exception):
    pass


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def _not_regular(mode: int) -> str | None:
    """What a file that is not a regular file is ("a FIFO"), None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _bounded(fh: BinaryIO, gzipped: bool, limit: int) -> bytes:
    """At most ``limit`` bytes of a file, decompressed when ``gzipped``: the decompression
    stops at the limit (a small bomb never inflates in memory)."""
    stream: BinaryIO = gzip.GzipFile(fileobj=fh, mode="rb") if gzipped else fh  # type: ignore[assignment]
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise _TooLarge
    return data


def _read_file(path: Path, given: str, limit: int = MAX_BYTES) -> PageInput:
    def failed(error: str) -> PageInput:
        return PageInput(given, None, None, {}, None, error)

    gzipped = path.name.lower().endswith(".gz")
    try:
        kind = _not_regular(os.stat(path).st_mode)  # never opened when it is not a file
        if kind is not None:
            return failed(f"not a regular file: {given} is {kind}")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            kind = _not_regular(info.st_mode)  # replaced since the stat above
            if kind is not None:
                return failed(f"not a regular file: {given} is {kind}")
            if info.st_size > limit:
                raise _TooLarge
            data = _bounded(fh, gzipped, limit)
    except _TooLarge:
        what = "decompresses to more than" if gzipped else "is larger than"
        return failed(f"too_large: {given} {what} {limit // (1024 * 1024)} MB (the crawl's limit)")
    except (OSError, EOFError, gzip.BadGzipFile, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return failed(f"cannot read {given}: {reason}")
    match = _CANONICAL.search(data[:65536])
    url = None
    if match:
        url = (match.group(1) or match.group(2)).decode("ascii", "replace")
    return PageInput(given, url, data, {}, 200)


def _fetch(url: str) -> PageInput:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(
            req, timeout=TIMEOUT
        ) as resp:  # http(s) only, checked by the caller
            body = resp.read(MAX_BYTES + 1)
            headers = {k.lower(): v for k, v in resp.headers.items()}
            if len(body) > MAX_BYTES:
                return PageInput(url, url, None, headers, resp.status, "too_large")
            return PageInput(url, resp.geturl(), body, headers, resp.status)
    except urllib.error.HTTPError as exc:
        return PageInput(url, url, None, {}, exc.code, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return PageInput(url, url, None, {}, None, f"cannot fetch {url}: {reason}")


def read_inputs(items: list[str]) -> Iterator[PageInput]:
    """Each page named by ``items``: files, gzipped files, folders (recursively), URLs."""
    for item in items:
        if re.match(r"^https?://", item, re.IGNORECASE):
            yield _fetch(item)
            continue
        if re.match(r"^[a-z][a-z0-9+.-]*:", item, re.IGNORECASE) and not Path(item).exists():
            yield PageInput(item, None, None, {}, None, "only http(s) URLs and files are read")
            continue
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.name.lower().endswith(PAGE_SUFFIXES))
            if not found:
                yield PageInput(item, None, None, {}, None, f"no .html/.html.gz files in {item}")
            for sub in found:
                yield _read_file(sub, str(sub))
        elif path.exists() or path.is_symlink():
            yield _read_file(path, item)
        else:
            yield PageInput(item, None, None, {}, None, f"no such file: {item}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def extract_one(page: PageInput, source: Source | None = None) -> dict[str, Any]:
    """The JSON object `infoshos extract --format json` prints for one input."""
    out: dict[str, Any] = {
        "input": page.given,
        "url": page.url,
        "title": None,
        "subtitle": None,
        "published_at": None,
        "event_date": None,
        "language": None,
        "text": None,
        "repairs": {},
        "error": page.error,
    }
    if page.error is not None:
        return out
    style = source.style if source else (portal_style(page.url) or "generic")
    record = {
        "url": url_key(page.url) if page.url else page.given,
        "final_url": page.url,
        "source": source.name if source else "extract",
        "page_type": "article",
        "status": page.status,
        "headers": page.headers,
        "body": page.body,
    }
    result = clean_page(record, style, source.encoding if source else None, datetime.now(UTC))
    if result.reject is not None:
        out["error"] = f"{result.reject['reason']}: {result.reject['detail']}"
        if result.draft is None:
            return out
    art = result.article or result.draft or {}  # a refused page still shows what it holds
    for key in ("title", "subtitle", "published_at", "event_date", "language", "text"):
        out[key] = _jsonable(art.get(key))
    out["repairs"] = art.get("repairs") or {}
    return out


def _error_row(page: PageInput, error: str) -> dict[str, Any]:
    return extract_one(PageInput(page.given, page.url, None, {}, None, error))


class Cleaner:
    """Runs :func:`extract_one` in a worker process, killed (and replaced) when one page takes
    longer than ``timeout`` seconds or the worker dies; the page then gets an error row."""

    def __init__(self, timeout: float = PAGE_TIMEOUT) -> None:
        self.timeout = timeout
        methods = multiprocessing.get_all_start_methods()
        # fork: the worker starts with the modules already imported (no second import cost)
        self._context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self._pool: Any = None

    def __enter__(self) -> Cleaner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def clean(self, page: PageInput, source: Source | None = None) -> dict[str, Any]:
        if page.error is not None:
            return extract_one(page, source)
        if self._pool is None:
            self._pool = self._context.Pool(1)
        pending = self._pool.apply_async(extract_one, (page, source))
        try:
            row: dict[str, Any] = pending.get(self.timeout)
            return row
        except multiprocessing.TimeoutError:
            self.close()  # the worker is killed; the next page gets a new one
            return _error_row(page, f"time_limit: cleaning took longer than {self.timeout:g} s")
        except Exception as exc:  # the cleaning failed on this page: a row, and go on
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            return _error_row(page, f"cleaning failed: {type(exc).__name__}: {first}")


def format_text(row: dict[str, Any]) -> str:
    lines = [f"== {row['input']}"]
    if row["error"]:
        lines.append(f"error: {row['error']}")
        if not (row["text"] or row["title"]):
            return "\n".join(lines) + "\n"
    for key in ("url", "title", "subtitle", "published_at", "event_date", "language"):
        if row[key]:
            lines.append(f"{key}: {row[key]}")
    if row["repairs"]:
        lines.append("repairs: " + ", ".join(f"{k} {v}" for k, v in sorted(row["repairs"].items())))
    lines += ["", row["text"] or "", ""]
    return "\n".join(lines)


def format_json(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"
