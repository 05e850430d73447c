"""The news header: the headline and the dateline among the page's blocks, and the page's date.

Rules:

- The headline block (:func:`find_title_block`) is the first heading, else the first short
  block, matching a title the page declares (JSON-LD headline, ``og:title``, ``<title>``:
  similarity 0.85, or the headline part of a ``<title>``); chrome, blocks over 60 words and
  blocks mostly of links never are. Without a match: the page's first ``<h1>``, or the heading
  after it when the ``<h1>`` has at most :data:`_SECTION_WORDS` words and names a section
  ("Новости").
- The dateline (:func:`find_dateline`) is a short block (:data:`_DATELINE_WORDS` words at most,
  :data:`_DATELINE_REST` of them besides the date) up to 6 blocks after the headline or 3 before
  it, nearest first, never past another heading (a date beyond one belongs to it); a
  ``<time datetime>`` in it with an explicit offset gives the exact time. Else a ``<time>``
  outside chrome in the article block, the headline's parent or its grandparent. Dates outside
  the plausible range are passed over and their text remembered.
- The page's date (:func:`choose_date`): a metadata date written with an offset and a time of
  day; then a dateline with a time of day; then the metadata date; then a dateline without a
  time; else a date in the URL (``/YYYY/MM/DD/``).
- Dated teasers (:func:`count_teasers`): headings, or short blocks mostly of links, each followed
  within two blocks by a dateline of its own: the marks of a listing.

Pure.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

from lxml.html import HtmlElement

from infoshos.flows.text import split_words

from . import blocks as blk
from .dates import find_datetime, find_datetime_span, has_time, is_plausible, parse_datetime
from .metadata import OFFSET_RE, Meta, collapse, declared_titles, norm_text, similar_norms

#: Headings that name a section, not a story ("Новости" as the page's <h1> beside the title).
_SECTION_WORDS = 3
_URL_DATE_RE = re.compile(
    r"/((?:19|20)\d{2})[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?:/|\D)"
)


def find_title_block(blocks: list[blk.Block], meta: Meta) -> tuple[blk.Block | None, bool]:
    """The block holding the headline, and whether it matches a declared title: the first
    heading (else any short block) matching the page's declared title; else the page's first
    ``<h1>``, or the heading after it when the ``<h1>`` only names the section ("Новости")."""
    strong = [norm_text(t) for t in declared_titles(meta)]
    first_match: blk.Block | None = None
    for block in blocks:
        if block.chrome or block.words > 60 or block.link_density > 0.5:
            continue
        nb = norm_text(block.text)
        if any(similar_norms(nb, t, 0.85) or _is_part(nb, t) for t in strong):
            if block.heading:
                return block, True
            if first_match is None:
                first_match = block
    if first_match is not None:
        return first_match, True
    headings = [b for b in blocks if b.heading and not b.chrome and b.words <= 60]
    for i, block in enumerate(headings):
        if block.element.tag != "h1":
            continue
        later = headings[i + 1 : i + 3]
        if block.words <= _SECTION_WORDS and later and later[0].words > block.words:
            return later[0], False
        return block, False
    return (headings[0] if headings else None), False


def _is_part(nt: str, title: str) -> bool:
    """``nt`` is the headline part of a ``<title>`` such as ``Headline | Site`` (both
    normalised)."""
    return len(nt) >= 12 and nt in title and len(nt) >= 0.5 * len(title)


def _around(blocks: list[blk.Block], title: blk.Block) -> list[blk.Block]:
    """The blocks a dateline of the title may be: up to 6 after it and 3 before it (nearest
    first, after before before), never past another heading: a date beyond one belongs to it
    (a teaser's date in a list)."""
    after: list[blk.Block] = []
    for block in blocks[title.index + 1 : title.index + 7]:
        if block.heading:
            break
        after.append(block)
    before: list[blk.Block] = []
    for block in reversed(blocks[max(0, title.index - 3) : title.index]):
        if block.heading:
            break
        before.append(block)
    return after + before


def count_teasers(blocks: list[blk.Block], tz: tzinfo) -> int:
    """Headlines each followed by a dateline of their own: the dated teasers of a listing."""
    count = 0
    for i, block in enumerate(blocks):
        if block.chrome or not (block.heading or (block.link_density > 0.5 and block.words <= 25)):
            continue  # (a sidebar of other news inside the article block is not a listing)
        for other in blocks[i + 1 : i + 3]:
            if other.heading or other.chrome:
                break
            if other.words <= _DATELINE_WORDS and find_datetime(other.text, tz) is not None:
                count += 1
                break
    return count


def _time_attribute(element: HtmlElement, tz: tzinfo) -> datetime | None:
    """The machine-readable time of a ``<time datetime>`` in a dateline, when it carries an
    explicit offset (which wins over the source's zone)."""
    for node in element.iter("time"):
        raw = (node.get("datetime") or "").strip()
        if raw and OFFSET_RE.search(raw):
            when = find_datetime(raw, tz) or parse_datetime(raw, tz)
            if when is not None:
                return when
    return None


#: A dateline is short: the date, its time, a word or two ("Published:", a weekday, views).
_DATELINE_WORDS = 12
_DATELINE_REST = 4


def find_dateline(
    blocks: list[blk.Block],
    title: blk.Block | None,
    tz: tzinfo,
    container: HtmlElement | None = None,
    implausible: list[str] | None = None,
) -> tuple[blk.Block | None, str | None, datetime | None]:
    """A short line near the title that is a date (with its time when written), or a
    ``<time datetime>`` beside the title. Dates in sidebars and lists do not count. Datelines
    outside the plausible range are passed over, and their text added to ``implausible``."""
    passed = implausible if implausible is not None else []
    now = datetime.now(UTC)
    if title is not None:
        for block in _around(blocks, title):
            if block.chrome or block.words > _DATELINE_WORDS or block.link_density > 0.5:
                continue
            found_at = find_datetime_span(block.text, tz)
            if found_at is None or len(split_words(found_at[1])) > _DATELINE_REST:
                continue  # no date, or a sentence that mentions one
            if is_plausible(found_at[0], now):
                exact = _time_attribute(block.element, tz)
                return block, block.text, exact or found_at[0]
            passed.append(block.text)
    scopes = [container] if container is not None else []
    if title is not None:
        parent = title.element.getparent()
        if parent is not None:
            scopes.append(parent)
            grand = parent.getparent()
            if grand is not None and grand.tag not in ("body", "html"):
                scopes.append(grand)
    for scope in scopes:
        for node in scope.iter("time"):
            if any(blk.is_chrome_element(a) for a in node.iterancestors()):
                continue
            raw = node.get("datetime") or node.text_content() or ""
            when = find_datetime(raw, tz) or parse_datetime(collapse(raw), tz)
            if when is not None and is_plausible(when, now):
                return None, collapse(node.text_content() or raw), when
            if when is not None:
                passed.append(collapse(raw))
    return None, None, None


def choose_date(
    meta: Meta, line: tuple[str | None, datetime | None], url: str | None, tz: tzinfo
) -> tuple[str | None, datetime | None]:
    """An explicit offset on the page wins; then the dateline with its time of day; then the
    page metadata; a date without a time of day comes last; then a date in the URL."""
    candidates: list[tuple[int, str | None, datetime]] = []
    if meta.published_at is not None:
        explicit = meta.date_offset
        rank = 0 if explicit and has_time(meta.published_at) else 2
        candidates.append((rank, meta.date_text, meta.published_at))
    if line[1] is not None:
        candidates.append((1 if has_time(line[1]) else 3, line[0], line[1]))
    if candidates:
        _, text, when = min(candidates, key=lambda c: c[0])
        return text, when
    match = _URL_DATE_RE.search(url or "")
    if match:
        try:
            when = datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=tz)
        except ValueError:
            return None, None
        if is_plausible(when, datetime.now(UTC)):
            return match.group(0).strip("/"), when
    return None, None
