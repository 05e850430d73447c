"""What a page declares about itself: the metadata the generic extractor reads first.

:func:`read_metadata` reads the untouched tree (before anything is removed from it) and never
judges whether the page is an article. Rules:

- JSON-LD: of the objects (in page order, ``@graph``, ``mainEntity`` and ``mainEntityOfPage``
  included) that have a ``headline``, ``datePublished`` or ``articleBody``, the first whose
  ``@type`` is an article type (:data:`infoshos.warehouse.jsonld.ARTICLE_TYPES`, declared in
  the contract layer for spiders and flows alike), else the first ``WebPage`` (the page's own
  description: its date, when it is the only one the markup gives).
- Meta tags are keyed by ``property``, ``name`` or ``itemprop``, case-folded; the first
  non-empty value of a key wins.
- The title is the first of: JSON-LD ``headline``, ``og:title``, ``twitter:title``, the first
  non-empty ``<h1>``, ``<title>``; the part naming the site is cut off (``Headline | Site`` ->
  ``Headline``: the part like ``og:site_name``, else the shorter end part). Every candidate is
  kept in ``titles`` (to find the headline repeated in the body).
- The description is ``og:description``, ``description``, else JSON-LD ``description``.
- The date is the first of JSON-LD ``datePublished`` and the date meta tags (:data:`_DATE_META`,
  in that order) that parses and is plausible; the first implausible one is remembered; whether
  it was written with an explicit offset is kept (such a date wins over the dateline).
- The canonical URL is ``<link rel="canonical">``, else ``og:url``, else the page's URL; a
  relative one is resolved against the page's URL.

The text comparisons every part of the generic extractor uses live here too:
:func:`norm_text` (letters and digits, case and compatibility forms folded) and
:func:`similar`. Pure: a parsed tree in, values out.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

from lxml.html import HtmlElement

from infoshos.warehouse.jsonld import is_article_type, type_name

from .dates import find_datetime, is_plausible, parse_datetime

_WS_RE = re.compile(r"\s+")
_NON_ALNUM_RE = re.compile(r"[\W_]+")
OFFSET_RE = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z|GMT|UTC)\s*$", re.IGNORECASE)
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|•|»|/)\s+")
_DATE_META = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "published_time",
    "article.published",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dc.date",
    "dcterms.created",
    "date",
)


def collapse(text: str) -> str:
    return _WS_RE.sub(" ", text).strip()


@dataclass
class Meta:
    title: str | None = None
    titles: list[str] = field(default_factory=list)  # every headline seen (for body dedup)
    description: str | None = None
    date_text: str | None = None
    published_at: datetime | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    headline: str | None = None  # JSON-LD headline
    og_title: str | None = None
    page_title: str | None = None  # <title>, site name stripped
    raw_title: str | None = None  # <title> as written
    h1: str | None = None
    date_offset: bool = False  # the metadata date was written with an explicit offset
    #: The first date the page states that is outside the plausible range (passed over).
    implausible: str | None = None


@lru_cache(maxsize=1024)
def norm_text(text: str) -> str:
    """Letters and digits only, case and compatibility forms folded: for comparing texts."""
    return _NON_ALNUM_RE.sub("", unicodedata.normalize("NFKC", text).casefold())


def similar(a: str, b: str, ratio: float = 0.9) -> bool:
    return similar_norms(norm_text(a), norm_text(b), ratio)


def similar_norms(na: str, nb: str, ratio: float = 0.9) -> bool:
    """:func:`similar` of two texts already normalised with :func:`norm_text`."""
    if not na or not nb:
        return False
    if na == nb:
        return True
    if abs(len(na) - len(nb)) > (1 - ratio) * max(len(na), len(nb)) + 2:
        return False
    return SequenceMatcher(None, na, nb, autojunk=False).ratio() >= ratio


def _iter_jsonld(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _iter_jsonld(item)
    elif isinstance(node, dict):
        yield node
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            if key in node and isinstance(node[key], list | dict):
                yield from _iter_jsonld(node[key])


def _jsonld_article(tree: HtmlElement) -> dict[str, Any]:
    """The JSON-LD object describing the page's article: the first of an article type, else
    the first ``WebPage`` (the page's own description), that has a headline, a publication
    date or the article's text."""
    page: dict[str, Any] = {}
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        for obj in _iter_jsonld(data):
            if not (obj.get("headline") or obj.get("datePublished") or obj.get("articleBody")):
                continue
            kind = obj.get("@type")
            if is_article_type(kind):
                return obj
            if not page and _is_webpage(kind):
                page = obj
    return page


def _is_webpage(kind: object) -> bool:
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(k, str) and type_name(k) == "webpage" for k in kinds)


def _strip_site_name(title: str, site_name: str | None) -> str:
    """``Headline | Site`` -> ``Headline``: drop the part naming the site, else the shorter end
    part when the title has separator-delimited parts."""
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    if site_name:
        kept = [p for p in parts if not similar(p, site_name, 0.8)]
        if kept and len(kept) < len(parts):
            return " - ".join(kept)
    # The site name is the short part at either end; keep the rest.
    first, last = parts[0], parts[-1]
    if len(last) <= len(first):
        return (
            _TITLE_SEPARATORS.split(title, maxsplit=len(parts) - 2)[0] if len(parts) > 2 else first
        )
    return " - ".join(parts[1:]) if len(parts) > 2 else last


def _text(node: HtmlElement) -> str:
    return collapse(node.text_content() or "")


def read_metadata(tree: HtmlElement, url: str | None, tz: tzinfo = UTC) -> Meta:
    meta = Meta()
    props: dict[str, str] = {}
    for node in tree.iterfind(".//meta"):
        key = (node.get("property") or node.get("name") or node.get("itemprop") or "").strip()
        content = node.get("content")
        if key and content and content.strip():
            props.setdefault(key.casefold(), collapse(content))
    ld = _jsonld_article(tree)
    meta.site_name = props.get("og:site_name")

    headline = ld.get("headline") if isinstance(ld.get("headline"), str) else None
    h1 = next((t for t in (_text(n) for n in tree.iterfind(".//h1")) if t), None)
    title_tag = tree.find(".//title")
    page_title = _text(title_tag) if title_tag is not None else None
    candidates = [
        headline,
        props.get("og:title"),
        props.get("twitter:title"),
        h1,
        page_title,
    ]
    for cand in candidates:
        if cand:
            meta.titles.append(collapse(cand))
    for cand in candidates:
        if cand and cand.strip():
            meta.title = _strip_site_name(collapse(cand), meta.site_name)
            break
    meta.headline = collapse(headline) if headline else None
    og = props.get("og:title") or props.get("twitter:title")
    meta.og_title = _strip_site_name(og, meta.site_name) if og else None
    meta.page_title = _strip_site_name(page_title, meta.site_name) if page_title else None
    meta.raw_title = page_title
    meta.h1 = h1
    if meta.title:
        meta.titles.append(meta.title)

    desc = ld.get("description") if isinstance(ld.get("description"), str) else None
    meta.description = (
        props.get("og:description")
        or props.get("description")
        or (collapse(desc) if desc else None)
    )

    candidates = [ld.get("datePublished")] + [props.get(k) for k in _DATE_META]
    now = datetime.now(UTC)
    for cand in candidates:
        if not isinstance(cand, str) or not cand.strip():
            continue
        when = find_datetime(cand, tz) or parse_datetime(collapse(cand), tz)
        if when is not None and is_plausible(when, now):
            meta.date_text, meta.published_at = collapse(cand), when
            meta.date_offset = bool(OFFSET_RE.search(cand))
            break
        if when is not None:
            meta.implausible = meta.implausible or collapse(cand)

    canonical = None
    for node in tree.iterfind(".//link"):
        if (node.get("rel") or "").casefold() == "canonical" and node.get("href"):
            canonical = node.get("href", "").strip()
            break
    canonical = canonical or props.get("og:url")
    if canonical:
        meta.canonical_url = urljoin(url, canonical) if url else canonical
    elif url:
        meta.canonical_url = url
    return meta


def declared_titles(meta: Meta) -> list[str]:
    """The titles the page declares for itself: JSON-LD headline, og:title, ``<title>``."""
    return [t for t in (meta.headline, meta.og_title, meta.page_title, meta.raw_title) if t]
