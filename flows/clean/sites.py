"""Per-portal extraction rules: one article page (decoded HTML) -> title, date, body paragraphs.

Two portal styles (docs/CONTRACTS.md): ``infoshos`` (article page and its print page) and
``sectsco`` (SCO Secretariat). Paragraph text is returned as found on the page: runs of ordinary
whitespace are collapsed and the ends stripped, but no-break spaces and mojibake are left for the
repair step. Pure functions on strings; selectolax (lexbor) for speed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from difflib import SequenceMatcher
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .dates import MOSCOW, parse_datetime, parse_portal_datetime

__all__ = [
    "RULES",
    "Extracted",
    "Layout",
    "NotArticle",
    "SiteRules",
    "collapse_ws",
    "extract_article",
    "node_text",
    "strip_preamble",
]

#: The reasons :func:`extract_article` raises (callers may add their own, e.g. ``bad_date``).
REASONS = frozenset({"no_title", "no_date", "no_body", "truncated", "not_article"})


class NotArticle(Exception):
    """The page is not a usable article: ``reason`` (see :data:`REASONS`) and a one-line
    ``detail``."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = " ".join(detail.split())
        super().__init__(f"{reason}: {self.detail}")


@dataclass
class Extracted:
    title: str
    subtitle: str | None
    date_text: str | None  # as written on the page
    published_at: datetime | None  # tz-aware
    paragraphs: list[str]
    canonical_url: str | None
    links: list[str]
    attachments: list[str] = field(default_factory=list)  # e.g. the Secretariat's PDF doc-link
    #: Headlines in the article block each with a dateline of its own (a listing's teasers).
    teasers: int = 0
    #: A date the page states (as written) that lies outside the plausible range and was
    #: passed over: the clean stage rejects the page as ``bad_date`` rather than ``no_date``.
    implausible_date: str | None = None


@dataclass(frozen=True)
class Layout:
    """One page layout of a portal.

    ``scope``: the region holding title, date and lead (first match in the document);
    ``body``: the paragraph container inside the scope (None: the scope itself);
    ``requires``: a selector that must match inside the scope for the layout to apply."""

    name: str
    scope: str
    body: str | None = None
    requires: str | None = None


@dataclass(frozen=True)
class SiteRules:
    style: str
    layouts: tuple[Layout, ...]
    title: str
    date: str
    parse_date: Callable[[LexborNode, tzinfo], tuple[str | None, datetime | None]]
    #: The zone of the portal's dates written without an offset, when the source sets none.
    timezone: tzinfo = MOSCOW
    lead: str | None = None
    heading: str | None = None  # a heading at the start of the body that repeats the title
    attachments: str | None = None
    skip: tuple[str, ...] = ()  # never part of the body
    list_ancestors: tuple[str, ...] = ()  # dates inside these are list dates, never the article's
    chrome: re.Pattern[str] | None = None  # whole paragraphs that are page chrome


_WS_RE = re.compile(r"[ \t\n\r\f\v]+")  # ordinary whitespace only: U+00A0 is kept
_WS_CHARS = " \t\n\r\f\v"
_PREAMBLE_RE = re.compile(r"<!doctype|<html", re.IGNORECASE)
_END_RE = re.compile(r"</html\s*>", re.IGNORECASE)

_BLOCK_TAGS = frozenset(
    {
        *("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd"),
        *("table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "blockquote", "pre"),
        *("section", "article", "header", "footer", "aside", "nav", "main", "address", "hr"),
        *("figure", "figcaption", "form", "fieldset", "center", "details", "summary"),
    }
)
_DROP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "button"}
)

_CHROME_WORDS = (
    r"add\s+(?:a\s+)?comments?|comments?|print(?:\s+version)?|printable\s+version|share|"
    r"send\s+to\s+a\s+friend|back|top|close(?:\s+window)?|rss|"
    r"добавить\s+комментарий|комментари[йи]|печать|версия\s+для\s+печати|распечатать|"
    r"поделиться|назад|наверх|закрыть(?:\s+окно)?"
)
CHROME_RE = re.compile(
    rf"^[\s•·|/\-–—]*(?:(?:{_CHROME_WORDS})[\s•·|/\-–—:]*)+$",
    re.IGNORECASE,
)


def collapse_ws(text: str) -> str:
    """Collapse runs of ordinary whitespace to one space and strip them from the ends.

    No-break spaces (U+00A0) and every other character are kept as they are."""
    return _WS_RE.sub(" ", text).strip(_WS_CHARS)


def _norm_title(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def _same_text(a: str, b: str) -> bool:
    na, nb = _norm_title(a), _norm_title(b)
    if not na or not nb:
        return False
    if na == nb:
        return True
    if min(len(na), len(nb)) < 0.8 * max(len(na), len(nb)):
        return False  # the ratio below cannot reach 0.9: skip the quadratic matcher
    matcher = SequenceMatcher(None, na, nb, autojunk=False)
    return matcher.quick_ratio() >= 0.9 and matcher.ratio() >= 0.9


# ----------------------------------------------------------------------------- date readers


def _portal_date(node: LexborNode, tz: tzinfo) -> tuple[str | None, datetime | None]:
    text = node_text(node)
    return (text or None), parse_portal_datetime(text, tz)


def _time_element(node: LexborNode, tz: tzinfo) -> tuple[str | None, datetime | None]:
    text = node_text(node)
    attr = (node.attributes.get("datetime") or "").strip()
    when = parse_datetime(attr, tz) if attr else None
    if when is None and text:
        when = parse_portal_datetime(text, tz) or parse_datetime(text, tz)
    return (text or attr or None), when


#: SCO RATS (ecrats.org) sits in Tashkent: its dates are local times there (UTC+5).
TASHKENT = ZoneInfo("Asia/Tashkent")


def _written_date(node: LexborNode, tz: tzinfo) -> tuple[str | None, datetime | None]:
    text = node_text(node)
    return (text or None), (parse_datetime(text, tz) if text else None)


RULES: dict[str, SiteRules] = {
    "infoshos": SiteRules(
        style="infoshos",
        layouts=(
            Layout("article", scope=".center-column-wrap td.text"),
            Layout("print", scope="body", body="div.text", requires="h1.title"),
        ),
        title="h1.title",
        date="div.date",
        parse_date=_portal_date,
        lead="div.lead",
        skip=(
            ".article-tools",
            ".comment-form",
            ".related",
            ".latest-news",
            ".news-list",
            ".source",
            "form",
        ),
        list_ancestors=(
            ".latest-news",
            ".related",
            ".news-list",
            ".news-item",
            ".left-column",
            "nav",
            "aside",
        ),
        chrome=CHROME_RE,
    ),
    "sectsco": SiteRules(
        style="sectsco",
        layouts=(Layout("article", scope="article.news-detail", body="div.news-body"),),
        title="h1.news-title",
        date="time[datetime]",
        parse_date=_time_element,
        lead="p.lead",
        heading="h2.news-heading",
        attachments="a.doc-link",
        skip=("a.doc-link", "form", ".share", ".tags"),
        list_ancestors=("aside", "nav", ".sidebar", ".news-list", ".news-item", ".aside-item"),
        chrome=CHROME_RE,
    ),
    # SCO RATS, stock 1C-Bitrix templates (markup assumed: see spiders/ecrats.py).
    "ecrats": SiteRules(
        style="ecrats",
        layouts=(
            Layout(
                "article",
                scope="div.workarea",
                body="div.news-detail-text",
                requires="div.news-detail",
            ),
        ),
        title="h1",
        date=".news-detail .news-date-time",
        parse_date=_written_date,
        timezone=TASHKENT,
        lead="div.news-detail-preview",
        attachments=".news-detail-files a",
        skip=(".news-detail-files", ".news-detail-share", "form"),
        list_ancestors=(".sidebar", ".news-list", ".news-list-small", ".news-item", "nav"),
        chrome=CHROME_RE,
    ),
}


# ----------------------------------------------------------------------------- body walker


class _Blocks:
    """Split a container into paragraphs: block elements and ``<br><br>`` end a paragraph."""

    def __init__(self, skip: set[int], base_url: str) -> None:
        self.skip = skip
        self.base_url = base_url
        self.out: list[str] = []
        self.links: list[str] = []
        self.buf: list[str] = []
        self.brs = 0

    def flush(self) -> None:
        if self.buf:
            self.out.append("".join(self.buf))
            self.buf = []
        self.brs = 0

    def visit(self, node: LexborNode) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                text = child.text_content or ""
                if text.strip(_WS_CHARS):
                    self.brs = 0
                self.buf.append(text)
            elif tag == "br":
                self.brs += 1
                if self.brs >= 2:
                    self.flush()
                else:
                    self.buf.append(" ")
            elif tag is None or tag.startswith(("-", "!")) or tag in _DROP_TAGS:
                continue
            elif child.mem_id in self.skip:
                if tag in _BLOCK_TAGS:
                    self.flush()
            elif tag in _BLOCK_TAGS:
                self.flush()
                self.visit(child)
                self.flush()
            else:
                if tag == "a":
                    self._link(child)
                if tag == "img":
                    continue
                self.brs = 0
                self.visit(child)

    def _link(self, node: LexborNode) -> None:
        href = (node.attributes.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            return
        url = urljoin(self.base_url, href)
        if url not in self.links:
            self.links.append(url)


def node_text(node: LexborNode) -> str:
    """The text of an element as one line: ``<br>`` and inner blocks become one space."""
    walker = _Blocks(set(), "")
    walker.visit(node)
    walker.flush()
    return collapse_ws(" ".join(walker.out))


# ----------------------------------------------------------------------------- extraction


def strip_preamble(html: str) -> str:
    """Drop what a PHP warning printed before ``<!DOCTYPE``/``<html>``."""
    match = _PREAMBLE_RE.search(html, 0, 16384)
    if match is not None and match.start() > 0 and html[: match.start()].strip():
        return html[match.start() :]
    return html


def _ids(scope: LexborNode, selectors: tuple[str, ...]) -> set[int]:
    ids: set[int] = set()
    for selector in selectors:
        ids.update(node.mem_id for node in scope.css(selector))
    return ids


def _in_any(node: LexborNode, ancestors: set[int], stop: LexborNode) -> bool:
    parent = node.parent
    stop_id = stop.mem_id
    while parent is not None and parent.mem_id != stop_id:
        if parent.mem_id in ancestors:
            return True
        parent = parent.parent
    return False


def _canonical(tree: LexborHTMLParser, url: str) -> str | None:
    for link in tree.css("link[rel]"):
        rel = (link.attributes.get("rel") or "").lower().split()
        href = (link.attributes.get("href") or "").strip()
        if "canonical" in rel and href:
            return urljoin(url, href)
    return None


def _declared_title(tree: LexborHTMLParser) -> str:
    """The page's own title: og:title, else ``<title>``."""
    node = tree.css_first('meta[property="og:title"]')
    text = (node.attributes.get("content") or "") if node is not None else ""
    if not text.strip():
        title = tree.css_first("title")
        text = title.text() if title is not None else ""
    return collapse_ws(text)


_HEADLINE_SELECTOR = "h1, h2, h3, h4, [class*=title], [class*=headline]"


def _names_a_section(title: str, declared: str, scope: LexborNode) -> bool:
    """A heading of one or two words ("Новости", "Press releases") while another heading in
    the article region is what the page calls itself: the section, not the story."""
    if len(title.split()) > 2 or len(declared.split()) < 3 or _same_text(title, declared):
        return False
    for node in scope.css(_HEADLINE_SELECTOR):
        text = node_text(node)
        if len(text.split()) >= 3 and (_same_text(text, declared) or declared.startswith(text)):
            return True
    return False


def _choose_layout(tree: LexborHTMLParser, rules: SiteRules) -> tuple[Layout, LexborNode] | None:
    for layout in rules.layouts:
        for scope in tree.css(layout.scope):
            if layout.requires and scope.css_first(layout.requires) is None:
                continue
            if layout.body and scope.css_first(layout.body) is None:
                continue
            return layout, scope
    return None


def extract_article(html: str, url: str, style: str, tz: tzinfo | None = None) -> Extracted:
    """Extract one article page of portal ``style`` (a key of :data:`RULES`); dates written
    without an offset are in ``tz`` (default: the portal's own zone).

    Raises :class:`NotArticle` (reason ``truncated``, ``not_article``, ``no_title``,
    ``no_date`` or ``no_body``) when the page is not a complete article."""
    try:
        rules = RULES[style]
    except KeyError:
        raise ValueError(f"unknown portal style {style!r}; known: {sorted(RULES)}") from None
    html = strip_preamble(html)
    if not _END_RE.search(html, max(0, len(html) - 65536)):
        raise NotArticle("truncated", f"page ends before </html> ({len(html)} chars)")
    tree = LexborHTMLParser(html)
    chosen = _choose_layout(tree, rules)
    if chosen is None:
        wanted = ", ".join(layout.scope for layout in rules.layouts)
        raise NotArticle("not_article", f"no {style} article region ({wanted}) on the page")
    layout, scope = chosen

    title_node = scope.css_first(rules.title)
    title = node_text(title_node) if title_node is not None else ""
    if not title.strip():
        raise NotArticle("no_title", f"no {rules.title} text in {layout.scope}")
    declared = _declared_title(tree)
    if _names_a_section(title, declared, scope):
        raise NotArticle(
            "no_title", f"{rules.title} {title!r} names the section, the page is {declared!r}"
        )

    list_ids = _ids(scope, rules.list_ancestors)
    date_text: str | None = None
    published_at: datetime | None = None
    date_ids: set[int] = set()
    for node in scope.css(rules.date):
        if node.mem_id in list_ids or _in_any(node, list_ids, scope):
            continue
        date_ids.add(node.mem_id)
        date_text, published_at = rules.parse_date(node, tz or rules.timezone)
        break
    if published_at is None:
        found = f" (found {date_text!r})" if date_text else ""
        raise NotArticle("no_date", f"no parseable {rules.date} in {layout.scope}{found}")

    subtitle: str | None = None
    lead_ids: set[int] = set()
    if rules.lead:
        lead_node = scope.css_first(rules.lead)
        if lead_node is not None:
            lead_ids.add(lead_node.mem_id)
            subtitle = node_text(lead_node) or None

    body = scope.css_first(layout.body) if layout.body else scope
    if body is None:  # pragma: no cover - _choose_layout checked it
        raise NotArticle("no_body", f"no {layout.body} in {layout.scope}")
    skip = _ids(body, rules.skip) | date_ids | lead_ids
    if title_node is not None:
        skip.add(title_node.mem_id)
    if rules.heading:
        heading = body.css_first(rules.heading)
        if heading is not None and _same_text(node_text(heading), title):
            skip.add(heading.mem_id)

    walker = _Blocks(skip, url)
    walker.visit(body)
    walker.flush()
    paragraphs: list[str] = []
    for raw in walker.out:
        text = collapse_ws(raw)
        if not text.strip():  # also drops paragraphs of nothing but no-break spaces
            continue
        if rules.chrome is not None and rules.chrome.match(text):
            continue
        if text == date_text or (subtitle and text == subtitle):
            continue
        if len(text) < 2 * len(title) + 20 and _same_text(text, title):
            continue
        paragraphs.append(text)
    if not paragraphs:
        raise NotArticle("no_body", f"no body paragraphs in {layout.body or layout.scope}")

    attachments: list[str] = []
    if rules.attachments:
        for node in scope.css(rules.attachments):
            href = (node.attributes.get("href") or "").strip()
            if href and urljoin(url, href) not in attachments:
                attachments.append(urljoin(url, href))

    return Extracted(
        title=title,
        subtitle=subtitle,
        date_text=date_text,
        published_at=published_at,
        paragraphs=paragraphs,
        canonical_url=_canonical(tree, url),
        links=walker.links,
        attachments=attachments,
    )
