"""`infoshos extract`: the flow's cleaning on pages given by hand (files, folders, URLs).

This is how a user debugs a new source: it shows what the pipeline would store for a page, or
why it would reject it. The reading of inputs (files, ``.html.gz``, folders, http(s) URLs) is
here; the cleaning is exactly ``flows.clean.articles.clean_page``.
"""

from __future__ import annotations

import gzip
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from infoshos.flows.clean.articles import clean_page
from infoshos.flows.clean.urls import canonical_url, portal_style
from infoshos.flows.sources import Source

MAX_BYTES = 10 * 1024 * 1024
TIMEOUT = 30
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


def _read_file(path: Path, given: str) -> PageInput:
    try:
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return PageInput(given, None, None, {}, None, f"cannot read {given}: {reason}")
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
        elif path.exists():
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
        "url": canonical_url(page.url) if page.url else page.given,
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
