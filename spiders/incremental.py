"""What an incremental crawl needs: the known-URL file, URL keys and list dates.

The known file (``--known``) is a Parquet file with the columns ``url`` (canonical),
``etag``, ``last_modified`` (nullable strings), ``is_article`` (bool) and ``key`` (the
URL's :func:`url_key`, made once by the writer so that each crawl need not make it again for
every known URL); only ``url`` is required. URLs on both sides are compared through
:func:`url_key` (the warehouse's canonical form), so ``/news/YYYYMMDD/ID.html`` and
``/YYYYMMDD/ID.html``, or ``print.php?idn=N`` and ``?idn=N``, are one key.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime

from infoshos.warehouse.keys import canonical_url as canonical


def url_key(canonical_url: str) -> str:
    """The key a canonical URL is known under (the warehouse's canonical form)."""
    try:
        return canonical(canonical_url)
    except ValueError:
        return canonical_url.strip()


@dataclass(frozen=True)
class KnownPage:
    etag: str | None = None
    last_modified: str | None = None
    is_article: bool = False


class KnownFileError(ValueError):
    pass


def load_known(path: str | os.PathLike[str]) -> dict[str, KnownPage]:
    """The known file as ``{url_key: KnownPage}``; several rows of one key are merged."""
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(path).names)
    except (OSError, ValueError) as exc:
        raise KnownFileError(f"cannot read {os.fspath(path)}: {exc}") from exc
    if "url" not in names:
        raise KnownFileError(f"{os.fspath(path)} has no 'url' column")
    columns = [c for c in ("url", "etag", "last_modified", "is_article", "key") if c in names]
    try:
        rows = pq.read_table(path, columns=columns).to_pylist()
    except (OSError, ValueError) as exc:
        raise KnownFileError(f"cannot read {os.fspath(path)}: {exc}") from exc
    known: dict[str, KnownPage] = {}
    for row in rows:
        url = row.get("url")
        if not url:
            continue
        key = row.get("key") or url_key(str(url))
        old = known.get(key, KnownPage())
        etag = _header_value(row.get("etag")) or old.etag
        modified = _header_value(row.get("last_modified")) or old.last_modified
        known[key] = KnownPage(etag, modified, bool(row.get("is_article")) or old.is_article)
    return known


def _header_value(value: object) -> str | None:
    """A value safe to send as a header (no line breaks), else None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        from email.utils import format_datetime

        return format_datetime(value, usegmt=True) if value.tzinfo else None
    text = str(value).strip()
    if not text or any(c in text for c in "\r\n\0"):
        return None
    return text


def parse_since(value: str | date | None) -> date | None:
    """``YYYY-MM-DD`` (or a date) as a date; ValueError when malformed."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValueError(f"expected YYYY-MM-DD, got {value!r}")
    return date.fromisoformat(value.strip())


_DMY = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})")


def list_date(text: str | None) -> date | None:
    """The date of a list item as written: ``DD.MM.YYYY [HH:MM]``, ISO 8601 or RFC 2822.

    The date is taken as written (its own time zone), not converted to UTC.
    """
    if not text:
        return None
    text = text.strip()
    try:
        m = _ISO.search(text)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _DMY.search(text)
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
