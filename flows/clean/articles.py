"""Raw pages -> articles and rejects: the whole clean stage as one pure transform.

For each fetched page: HTTP status, then decoding, then the source's extraction rules, then text
repair, dates, language and hashes. Everything that does not become an article becomes a reject
with a fixed reason code (see ``warehouse.schema.REJECT_REASONS``).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from infoshos.flows.clean import (
    dates,
    decode,
    detect,
    generic,
    language,
    repair,
    sites,
    words,
)
from infoshos.warehouse import keys
from infoshos.warehouse.schema import ARTICLE_PAGE_TYPES, NAVIGATION_PAGE_TYPES, UNREADABLE_FEED

HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


@dataclass
class PageResult:
    """What the clean stage made of one page: an article, a reject, or nothing (a list page)."""

    page_id: str | None
    encoding: str | None = None
    article: dict[str, Any] | None = None
    reject: dict[str, Any] | None = None
    #: The site rules found no title, date or body on this page, so the generic extractor was
    #: used instead ("no_title: ..."): a sign of a redesign, counted per source.
    rule_miss: str | None = None
    #: For a page rejected by the article rule: what its text would have been stored as (for
    #: ``infoshos extract`` and ``probe``, which show what a page holds and why it was refused).
    draft: dict[str, Any] | None = None


@dataclass
class CleanOutput:
    articles: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    encodings: dict[str, str] = field(default_factory=dict)  # page_id -> encoding used
    repairs: Counter[str] = field(default_factory=Counter)
    #: Pages per source on which the site rules missed and the generic extractor took over.
    rule_misses: Counter[str] = field(default_factory=Counter)
    #: One example of a rule miss per source (the first one seen), for the warning.
    rule_miss_examples: dict[str, str] = field(default_factory=dict)


def zone(timezone: str | tzinfo | None) -> tzinfo | None:
    """A tzinfo from an IANA name (or a tzinfo); None stays None (the extractor's default)."""
    if timezone is None or isinstance(timezone, tzinfo):
        return timezone
    return ZoneInfo(timezone)


def content_hash(text: str) -> str:
    return hashlib.sha256(repair.normalize_for_hash(text).encode("utf-8")).hexdigest()[:32]


def _reject(page: Mapping[str, Any], stage: str, reason: str, detail: str) -> dict[str, Any]:
    return {
        "url": page["url"],
        "source": page["source"],
        "stage": stage,
        "reason": reason,
        "detail": detail,
        "page_id": page.get("page_id"),
    }


def _content_type(headers: Mapping[str, str] | None) -> str:
    value = (headers or {}).get("content-type", "")
    return value.split(";")[0].strip().lower()


def clean_page(
    page: Mapping[str, Any],
    style: str,
    fallback_encoding: str | None = None,
    now: datetime | None = None,
    timezone: str | tzinfo | None = None,
) -> PageResult:
    """Turn one spool/pages record into an article or a reject.

    ``page`` has the columns of the ``pages`` table (``headers`` as a mapping or a list of
    pairs). ``style`` names the extraction rules (``infoshos``, ``sectsco``, ``generic``).
    ``timezone`` (an IANA name or a tzinfo) is the zone of datelines written without an offset
    (the source's ``timezone``); None: the site rules' own zone, or UTC for generic pages.
    An explicit offset on the page always wins.
    """
    now = now or datetime.now(UTC)
    tz = zone(timezone)
    page_id = page.get("page_id")
    if page.get("skip_reason"):
        return PageResult(
            page_id, reject=_reject(page, "crawl", page["skip_reason"], page.get("detail") or "")
        )
    status = page.get("status")
    if status is None:
        detail = page.get("detail") or page.get("error") or "no response"
        return PageResult(page_id, reject=_reject(page, "crawl", "http_error", str(detail)))
    page_type = page.get("page_type")
    if int(status) == 304:
        return PageResult(page_id)  # not modified: the stored version stands
    if int(status) >= 400:
        return PageResult(page_id, reject=_reject(page, "crawl", "http_error", f"HTTP {status}"))
    if page_type == "other":  # a generic crawl's page judged not to be an article
        detail = page.get("detail") or "not classified as an article"
        return PageResult(page_id, reject=_reject(page, "crawl", "not_article", detail))
    detail = str(page.get("detail") or "")
    if page_type in NAVIGATION_PAGE_TYPES and detail.startswith(UNREADABLE_FEED):
        return PageResult(page_id, reject=_reject(page, "crawl", "bad_feed", detail))
    if page_type not in ARTICLE_PAGE_TYPES:
        return PageResult(page_id)  # lists, feeds: navigation, kept in `pages` only
    headers = page.get("headers") or {}
    if not isinstance(headers, Mapping):
        headers = dict(headers)
    ctype = _content_type(headers)
    if ctype not in HTML_TYPES:
        return PageResult(
            page_id, reject=_reject(page, "clean", "not_article", f"content type {ctype}")
        )
    body: bytes = page.get("body") or b""
    try:
        html, encoding = decode.decode_body(body, headers, fallback_encoding)
    except decode.DecodeError as exc:
        return PageResult(page_id, reject=_reject(page, "clean", "decode_error", str(exc)))
    miss: str | None = None
    draft: dict[str, Any] | None = None
    try:
        found, miss = extract(html, page.get("final_url") or page["url"], style, tz)
        # a portal's edition declares its language; a generic page's is detected
        hint = page.get("language_hint") if style in sites.RULES else None
        verdict = detect.check(
            found.title, found.published_at is not None, found.paragraphs, found.teasers
        )
        if not verdict.is_article:
            with contextlib.suppress(sites.NotArticle):
                draft = build_article(page, found, now, language_hint=hint)
            if verdict.reason == "no_date" and found.implausible_date:
                detail = f"implausible publication date {found.implausible_date[:80]!r}"
                raise sites.NotArticle("bad_date", detail)
            if style not in sites.RULES:  # a generic crawl's candidate: not an article, and why
                raise sites.NotArticle("not_article", f"not an article: {verdict.detail}")
            raise sites.NotArticle(verdict.reason or "not_article", verdict.detail)
        article = build_article(page, found, now, language_hint=hint)
    except sites.NotArticle as exc:
        reject = _reject(page, "clean", exc.reason, exc.detail)
        return PageResult(page_id, encoding, reject=reject, rule_miss=miss, draft=draft)
    return PageResult(page_id, encoding, article=article, rule_miss=miss)


#: Site-rule failures that hand the page to the generic extractor (a truncated page is broken
#: whatever the layout, so it stays a reject).
RULE_MISS_REASONS = frozenset({"no_title", "no_date", "no_body", "not_article"})


def extract(
    html: str, url: str, style: str, tz: tzinfo | None = None
) -> tuple[sites.Extracted, str | None]:
    """The source's site rules, or the generic extractor for sites without rules.

    Site rules are hints, never a cliff: when they find no article region, title, date or
    body, the page goes through the generic extractor, and the miss (``"no_title: ..."``) is
    returned beside the result so that it can be counted and warned about."""
    miss: str | None = None
    if style in sites.RULES:
        try:
            return sites.extract_article(html, url, style, tz), None
        except sites.NotArticle as exc:
            if exc.reason not in RULE_MISS_REASONS:
                raise
            miss = f"{exc.reason}: {exc.detail}"
    return generic.extract_generic(html, url, tz), miss


#: Characters of a title kept in ``articles`` (the page, whole, stays in ``pages``).
MAX_TITLE_CHARS = 1000


def cap_title(title: str) -> str:
    """``title`` cut to :data:`MAX_TITLE_CHARS` (at a space when there is one near), with an
    ellipsis: a 100 KB ``<title>`` is not a headline."""
    if len(title) <= MAX_TITLE_CHARS:
        return title
    cut = title[: MAX_TITLE_CHARS - 1]
    space = cut.rfind(" ", MAX_TITLE_CHARS - 100)
    return (cut[:space] if space > 0 else cut).rstrip() + "\u2026"


def build_article(
    page: Mapping[str, Any],
    found: sites.Extracted,
    now: datetime,
    *,
    language_hint: str | None = None,
) -> dict[str, Any]:
    """Repair the extracted parts and compute the article's derived columns.
    ``language_hint``: the page's declared language (see ``language.detect_language``)."""
    if found.published_at is not None and not dates.is_plausible(found.published_at, now):
        when = found.published_at.isoformat()
        raise sites.NotArticle("bad_date", f"implausible publication date {when}")
    paragraphs, credit_line = detect.split_credit(found.paragraphs)
    body = "\n\n".join(paragraphs)
    lang_guess = language.detect_language(body, hint=language_hint)
    text, counts = repair.repair_text(body, lang_guess)
    title, title_counts = repair.repair_text(cap_title(found.title), lang_guess)
    counts = Counter(counts)
    counts.update(title_counts)
    subtitle = None
    if found.subtitle:
        subtitle, sub_counts = repair.repair_text(found.subtitle, lang_guess)
        counts.update(sub_counts)
    lang = language.detect_language(text) if lang_guess == "und" else lang_guess
    canonical = keys.url_key(page["url"])
    first_paragraph = text.split("\n\n", 1)[0]
    event_date = dates.find_event_date(first_paragraph, lang, found.published_at)
    if event_date is None and subtitle:
        event_date = dates.find_event_date(subtitle, lang, found.published_at)
    return {
        "article_id": keys.article_id(canonical),
        "url": canonical,
        "source": page["source"],
        "language": lang,
        "title": title,
        "subtitle": subtitle,
        "published_at": found.published_at,
        "event_date": event_date,
        "text": text,
        "word_count": words.word_count(text, lang),
        "content_hash": content_hash(text),
        "repairs": {k: int(v) for k, v in counts.items() if v},
        "credit": repair.repair_text(credit_line, lang)[0] if credit_line else None,
        "page_id": page.get("page_id"),
    }


def clean_pages(
    pages: Iterable[Mapping[str, Any]],
    styles: Mapping[str, str],
    encodings: Mapping[str, str | None] | None = None,
    now: datetime | None = None,
    timezones: Mapping[str, str | tzinfo | None] | None = None,
) -> CleanOutput:
    """Clean many pages. ``styles``, ``encodings`` and ``timezones`` map a source name to its
    extraction style, fallback encoding and time zone. One article per article_id: when a page
    and its alias (or its print version) were both fetched, the first fetched wins."""
    out = CleanOutput()
    seen: set[str] = set()
    for page in pages:
        source = page["source"]
        style = styles.get(source, "generic")
        fallback = (encodings or {}).get(source)
        try:
            result = clean_page(page, style, fallback, now, (timezones or {}).get(source))
        except sites.NotArticle as exc:
            result = PageResult(
                page.get("page_id"), reject=_reject(page, "clean", exc.reason, exc.detail)
            )
        if result.rule_miss is not None:
            out.rule_misses[source] += 1
            out.rule_miss_examples.setdefault(source, f"{page['url']}: {result.rule_miss}")
        if result.page_id and result.encoding:
            out.encodings[result.page_id] = result.encoding
        if result.reject is not None:
            out.rejects.append(result.reject)
        if result.article is not None:
            art = result.article
            if art["article_id"] in seen:
                continue
            seen.add(art["article_id"])
            out.repairs.update(art["repairs"])
            out.articles.append(art)
    return out
