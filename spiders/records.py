"""What a crawl writes: one spool record per fetch, per link deliberately not followed, and per
request that got no response (schema :data:`infoshos.warehouse.schema.SPOOL`). Pure functions
of a response, a failure or a URL (no crawl state, no engine).

Rules:

- Records carry canonical URLs (``url``, ``final_url``, ``referer``; a local mirror's URLs are
  mapped) and the URL actually requested in ``fetch_url`` (the first URL of a redirect chain).
- A fetch (:func:`page_record`): its status, headers (lower-case names, first value), body
  (bytes; None for a 304, whose ``detail`` is ``not modified``). A binary answer's ``detail`` is
  ``binary content: TYPE``, an unfollowed redirect's ``redirect not followed``.
- A link not followed (:func:`skip_record`): ``skip_reason`` (``offsite``, ``not_article``...),
  ``status`` None, no body.
- A request that got no response (:func:`failure_record`): ``status`` None, ``skip_reason``
  None and a ``detail`` starting with the kind: ``timeout:``, ``connection reset:``,
  ``truncated:``, ``redirect loop:``, ``connection refused:``, ``dns:`` or ``error:``. A
  response over ``DOWNLOAD_MAXSIZE`` (or a compressed body inflating beyond it) is a
  ``too_large`` skip record; robots.txt refusals are ``disallowed``; requests refused by the
  off-site filter are ``offsite`` (:func:`classify_failure`).
- ``page_type`` is one of :data:`infoshos.warehouse.schema.PAGE_TYPES` (a generic crawl's
  ``feed_item`` is an ``article``; any other request type ``other``); ``language_hint`` comes
  from the URL, else ``Content-Language``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response, TextResponse
from twisted.internet import error as twisted_error
from twisted.internet.defer import CancelledError
from twisted.python.failure import Failure

from infoshos.spiders.urls import language_hint
from infoshos.warehouse.schema import PAGE_TYPES

Record = dict[str, Any]
#: Maps a fetched URL to its canonical URL (the spider's URL map).
Canonical = Callable[[str], str]


def decode_headers(response: Response) -> dict[str, str]:
    """Lower-case header names mapped to their first value, decoded."""
    out: dict[str, str] = {}
    for name, values in response.headers.items():
        if not values:
            continue
        raw = values[0]
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw.decode("latin-1")
        out[name.decode("latin-1").lower()] = value
    return out


def page_record(response: Response, page_type: str, source: str, canonical: Canonical) -> Record:
    """The spool record of one fetch."""
    request = response.request
    meta = response.meta if request is not None else {}
    redirects = meta.get("redirect_urls") or []
    fetch_url = redirects[0] if redirects else (request.url if request else response.url)
    url = canonical(fetch_url)
    status = int(response.status)
    detail = None
    if status == 304:
        detail = "not modified"
    elif status < 300 and not isinstance(response, TextResponse):
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        detail = f"binary content: {ctype.split(';')[0].strip() or 'no content type'}"
    elif 300 <= status < 400:
        detail = "redirect not followed"
    return {
        "url": url,
        "final_url": canonical(response.url),
        "fetch_url": fetch_url,
        "source": source,
        "page_type": page_type,
        "status": status,
        "headers": decode_headers(response),
        "body": None if status == 304 else bytes(response.body),
        "fetched_at": datetime.now(UTC),
        "language_hint": language_hint(url, response.headers.get(b"Content-Language")),
        "referer": meta.get("infoshos_referer"),
        "skip_reason": None,
        "detail": detail,
        "via": meta.get("infoshos_via"),
    }


def skip_record(
    canonical_url: str,
    source: str,
    reason: str | None,
    detail: str | None = None,
    referer: str | None = None,
    page_type: str = "other",
    fetch_url: str | None = None,
    via: str | None = None,
) -> Record:
    """The spool record of a link not fetched (``offsite``, ``not_article``, ...), or of a
    request that got no response (``reason`` None)."""
    return {
        "url": canonical_url,
        "final_url": None,
        "fetch_url": fetch_url,
        "source": source,
        "page_type": page_type,
        "status": None,
        "headers": None,
        "body": None,
        "fetched_at": datetime.now(UTC),
        "language_hint": language_hint(canonical_url),
        "referer": referer,
        "skip_reason": reason,
        "detail": detail,
        "via": via,
    }


def record_page_type(requested: str) -> str:
    """The page type a record of a request of type ``requested`` carries."""
    if requested in PAGE_TYPES:
        return requested
    return "article" if requested == "feed_item" else "other"


def failure_record(failure: Failure, source: str, canonical: Canonical) -> Record:
    """The spool record of a request that got no response: DNS error, timeout, refused,
    robots.txt..."""
    request = getattr(failure, "request", None)
    fetch_url = request.url if request is not None else ""
    meta = request.meta if request is not None else {}
    redirects = meta.get("redirect_urls") or []
    if redirects:
        fetch_url = redirects[0]
    page_type = record_page_type(str(meta.get("page_type", "other")))
    reason, detail = classify_failure(failure, len(redirects))
    return skip_record(
        canonical(fetch_url),
        source,
        reason,
        detail,
        meta.get("infoshos_referer"),
        page_type,
        fetch_url,
        meta.get("infoshos_via"),
    )


def classify_failure(failure: Failure, redirects: int = 0) -> tuple[str | None, str]:
    """``(skip_reason, detail)`` of a request that got no response (see the module doc)."""
    message = failure.getErrorMessage()
    name = failure.type.__name__ if failure.type is not None else "Error"
    raw = f"{name}: {message}" if message else name
    if failure.check(IgnoreRequest):
        low = message.lower()
        if "robots" in low:
            return "disallowed", raw
        if "max redirections" in low:
            return None, f"redirect loop: {redirects} redirects, {raw}"
        if "download_maxsize" in low or "decompression" in low:
            return "too_large", f"decompression bomb: {raw}"
        if "offsite" in low:
            return "offsite", raw
        return None, f"error: {raw}"
    if failure.check(DownloadCancelledError, CancelledError):
        # The only cancellations before the spider closes are the size limits (a timeout
        # becomes DownloadTimeoutError).
        return "too_large", f"size limit: {raw}"
    if failure.check(DownloadTimeoutError, twisted_error.TimeoutError):
        return None, f"timeout: {raw}"
    if failure.check(ResponseDataLossError):
        cause = getattr(failure.value, "__cause__", None)
        reasons = getattr(cause, "reasons", None) or []
        if any(r.check(twisted_error.ConnectionLost) for r in reasons):
            return None, f"connection reset: body cut, {raw}"
        return None, f"truncated: body shorter than Content-Length, {raw}"
    if failure.check(twisted_error.ConnectionLost, twisted_error.ConnectionDone):
        return None, f"connection reset: {raw}"
    if failure.check(DownloadConnectionRefusedError, twisted_error.ConnectionRefusedError):
        return None, f"connection refused: {raw}"
    if failure.check(CannotResolveHostError, twisted_error.DNSLookupError):
        return None, f"dns: {raw}"
    return None, f"error: {raw}"
