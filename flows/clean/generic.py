"""Generic article extraction for news pages we have no site rules for.

``extract_generic(html, url, tz)`` returns the same :class:`~infoshos.flows.clean.sites.Extracted`
as the per-portal rules: what it found, whether or not that makes an article (the one rule that
decides is :mod:`infoshos.flows.clean.detect`).

How a page is read (``bench/extraction.py`` and ``bench/corpus.py`` measure it):

1. Metadata first, on the untouched tree: JSON-LD ``NewsArticle``, OpenGraph / ``article:*``
   meta tags, ``<h1>``, ``<title>``. A PHP warning printed before ``<html>`` is dropped.
2. The page is cut into text blocks (:mod:`infoshos.flows.clean.blocks`): layout tables are read
   as boxes, ``<br><br>`` and block elements end a paragraph, a date in its own element is a
   line of its own, menus and sidebars are marked as chrome.
3. The headline is the block matching the page's declared title (a one-word section heading
   such as "Новости" beside it is skipped); the dateline is a short line beside the headline that
   is a date, with its time of day (an explicit offset, in the text or a ``<time datetime>``,
   wins over the source's zone ``tz``); a date beyond another heading belongs to that heading.
   A headline with a dateline is a *news header*: the story is what follows it.
4. The article block is the element whose running text, weighted by its share of all the text
   in it, is highest (text density), preferring the one holding the headline; a header with no
   running text after it is an empty article. Headlines in the block each with a dateline of
   their own are counted: a listing.
5. trafilatura (``fast=True``, precision-favoured; its full pass only when that finds little)
   judges which text in the page is running text; its paragraphs are cut back into the page's
   own lines and kept where they lie in the article block. So sidebars (clocks, rate tables,
   member-state lists, headline lists, funding notices) fall outside, and glued paragraphs
   come apart. When the article block is not trusted (text trafilatura kept outside it is
   running text, and no news header anchors it), trafilatura's text is used as it is.
6. Page chrome trafilatura keeps is dropped paragraph by paragraph: a repeated headline or
   standfirst, dateline and "updated" stamps, "Related:"/"Read more" teasers and link lists,
   newsletter prompts, credits and captions, reprint notices, "About <company>" boilerplate.

Pure: HTML string in, values out; no network or file access.
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

from lxml import etree
from lxml.html import HtmlElement, HTMLParser, fromstring
from trafilatura import bare_extraction
from trafilatura.utils import repair_faulty_html

from infoshos.flows.text import CJK_RE, split_words

from . import blocks as blk
from . import depth
from .dates import find_datetime, find_datetime_span, has_time, is_plausible, parse_datetime
from .detect import CREDIT_RE, MIN_SENTENCE_WORDS, sentences
from .sites import Extracted, NotArticle, strip_preamble

__all__ = ["MIN_WORDS", "SHORT_BODY", "extract_generic", "paragraph_size"]

MIN_WORDS = 40  # fewer words of body text: not an article
SHORT_BODY = 100  # fewer words from the fast pass: also try trafilatura's fallback extractors

_WS_RE = re.compile(r"\s+")
_NON_ALNUM_RE = re.compile(r"[\W_]+")

_ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "blogposting",
        "socialmediaposting",
        "liveblogposting",
        "scholarlyarticle",
        "techarticle",
        "report",
        "webpage",
    }
)
_OFFSET_RE = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z|GMT|UTC)\s*$", re.IGNORECASE)
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|•|»|/)\s+")
# Elements nested inside running text that are not part of it (person cards, tooltips).
_POPUP_XPATH = (
    "//*[contains(@class,'rollover') or contains(@class,'tooltip') or contains(@class,'popover')"
    " or contains(@class,'hovercard') or contains(@class,'hover-card')]"
)
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


def paragraph_size(text: str) -> int:
    """Words in a text; in Chinese, Japanese and Korean script every two characters count as one
    word (they have few or no spaces)."""
    return max(len(split_words(text)), len(CJK_RE.findall(text)) // 2)


# ----------------------------------------------------------------------------- metadata


@dataclass
class _Meta:
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
def _norm(text: str) -> str:
    """Letters and digits only, case and compatibility forms folded: for comparing texts."""
    return _NON_ALNUM_RE.sub("", unicodedata.normalize("NFKC", text).casefold())


def _similar(a: str, b: str, ratio: float = 0.9) -> bool:
    return _similar_norms(_norm(a), _norm(b), ratio)


def _similar_norms(na: str, nb: str, ratio: float = 0.9) -> bool:
    """:func:`_similar` of two texts already normalised with :func:`_norm`."""
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
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        for obj in _iter_jsonld(data):
            types = obj.get("@type")
            names = types if isinstance(types, list) else [types]
            if any(isinstance(t, str) and t.casefold() in _ARTICLE_TYPES for t in names) and (
                obj.get("headline") or obj.get("datePublished") or obj.get("articleBody")
            ):
                return obj
    return {}


def _strip_site_name(title: str, site_name: str | None) -> str:
    """``Headline | Site`` -> ``Headline``: drop the part naming the site, else the shorter end
    part when the title has separator-delimited parts."""
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    if site_name:
        kept = [p for p in parts if not _similar(p, site_name, 0.8)]
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


def _metadata(tree: HtmlElement, url: str | None, tz: tzinfo = UTC) -> _Meta:
    meta = _Meta()
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
            meta.date_offset = bool(_OFFSET_RE.search(cand))
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


# ----------------------------------------------------------------------------- body


@dataclass
class _Para:
    text: str
    kind: str  # p, head, item, row, quote
    link_chars: int = 0
    links: list[str] = field(default_factory=list)


# Anchors are marked in the page before trafilatura runs (its ``include_links`` changes what it
# keeps): LINK_START + one private-use character naming the anchor ... LINK_END. The marks are
# not word characters and are removed from the output.
_LINK_START = "\ue000"
_LINK_END = "\ue001"
_LINK_BASE = 0xF0000
_LINK_RE = re.compile("\ue000([\U000f0000-\U000fffff])([^\ue000\ue001]*)\ue001?")
_MARK_RE = re.compile("[\ue000\ue001\U000f0000-\U000fffff]")


def _mark_links(tree: HtmlElement) -> list[str]:
    hrefs: list[str] = []
    for anchor in tree.iter("a"):
        href = anchor.get("href")
        if not href or not href.strip() or len(hrefs) >= 0xFFFF:
            continue
        text = anchor.text
        if not (text and not text.isspace()) and (
            not len(anchor) or not (anchor.text_content() or "").strip()
        ):
            continue
        href = href.strip()
        anchor.text = _LINK_START + chr(_LINK_BASE + len(hrefs)) + (anchor.text or "")
        if len(anchor):
            last = anchor[-1]
            last.tail = (last.tail or "") + _LINK_END
        else:
            anchor.text += _LINK_END
        hrefs.append(href)
    return hrefs


def _para(raw: str, kind: str, hrefs: list[str]) -> _Para | None:
    link_chars = 0
    links: list[str] = []
    if _LINK_START in raw:
        for match in _LINK_RE.finditer(raw):
            link_chars += len(collapse(match.group(2)))
            index = ord(match.group(1)) - _LINK_BASE
            if index < len(hrefs):
                links.append(hrefs[index])
    text = collapse(_MARK_RE.sub("", raw))
    if not text:
        return None
    return _Para(text, kind, min(link_chars, len(text)), links)


def _render(body: etree._Element, hrefs: list[str]) -> list[_Para]:
    """trafilatura's output tree -> paragraphs: ``lb`` splits, list items and rows stand alone."""
    out: list[_Para] = []

    def add(raw: str, kind: str) -> None:
        para = _para(raw, kind, hrefs)
        if para is not None:
            out.append(para)

    def block(node: etree._Element, kind: str) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag == "list":
            for item in node:
                if item.tag in ("item", "head"):
                    block(item, "item")
            return
        if tag == "table":
            for row in node.iter("row"):
                cells = ["".join(c.itertext()) for c in row if c.tag == "cell"]
                add(" | ".join(c for c in cells if _MARK_RE.sub("", c).strip()), "row")
            return
        buf: list[str] = []
        if node.text:
            buf.append(node.text)
        for child in node:
            ctag = child.tag if isinstance(child.tag, str) else ""
            if ctag == "lb":
                add("".join(buf), kind)
                buf = []
            elif ctag in ("list", "table", "quote", "p"):
                add("".join(buf), kind)
                buf = []
                block(child, kind if ctag == "p" else ctag)
            elif ctag != "graphic":
                buf.append("".join(child.itertext()))
            if child.tail:
                buf.append(child.tail)
        add("".join(buf), kind)

    for child in body:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "graphic":
            continue
        block(child, tag if tag in ("head", "quote", "list", "table") else "p")
    return out


def _trafilatura(tree: HtmlElement, url: str | None, fast: bool) -> list[_Para]:
    hrefs = _mark_links(tree)
    doc = bare_extraction(
        tree,
        url=url,
        fast=fast,
        favor_precision=True,
        include_comments=False,
        include_links=False,
        include_images=False,
        include_tables=True,
        with_metadata=False,
    )
    body = getattr(doc, "body", None)
    if body is None:
        return []
    return _render(body, hrefs)


def _split_bodies(tree: HtmlElement) -> list[list[list[str]]]:
    """Groups of containers sharing tag and class that each hold paragraphs: an article body
    cut in pieces by ads or embeds. One list of paragraph texts per piece, in page order."""
    groups: dict[tuple[str, str], list[HtmlElement]] = {}
    seen: set[int] = set()
    for para in tree.iter("p"):
        parent = para.getparent()
        if parent is None or id(parent) in seen:
            continue
        seen.add(id(parent))
        cls = (parent.get("class") or "").strip()
        if cls:
            groups.setdefault((str(parent.tag), cls), []).append(parent)
    out: list[list[list[str]]] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        pieces = []
        for member in members:
            texts = [
                t for t in (collapse(p.text_content() or "") for p in member.iterfind("p")) if t
            ]
            if sum(len(t) for t in texts) >= 150:
                pieces.append(texts)
        if len(pieces) >= 2:
            out.append(pieces)
    return out


def _restore_pieces(paras: list[_Para], groups: list[list[list[str]]]) -> list[_Para]:
    """Add the pieces of a cut-up body that the extraction missed, after the piece before them."""
    if not groups or not paras:
        return paras
    index = {_norm(p.text): i for i, p in enumerate(paras)}
    for pieces in groups:
        found = [sum(1 for t in piece if _norm(t) in index) for piece in pieces]
        if not any(f >= max(1, len(piece) / 2) for f, piece in zip(found, pieces, strict=True)):
            continue
        additions: list[tuple[int, list[_Para]]] = []
        anchor = -1
        for f, piece in zip(found, pieces, strict=True):
            if f:
                hits = [index[_norm(t)] for t in piece if _norm(t) in index]
                anchor = max(hits)
            elif anchor >= 0:
                additions.append((anchor, [_Para(t, "p") for t in piece]))
        for at, new in reversed(additions):
            paras[at + 1 : at + 1] = new
        if additions:
            index = {_norm(p.text): i for i, p in enumerate(paras)}
    return paras


def _size(paras: list[_Para]) -> int:
    return sum(paragraph_size(p.text) for p in paras)


# ----------------------------------------------------------------------------- chrome


_RELATED_RE = re.compile(
    r"^(?:related(?:\s+(?:articles?|stories|posts?|news|coverage|content|reading))?|"
    r"read\s+(?:more|also|next)|see\s+(?:more|also)|also\s+read|more\s+(?:on|from|about)\b.*|"
    r"don'?t\s+miss|must\s+read|recommended(?:\s+for\s+you)?|you\s+(?:may|might)\s+also\s+like|"
    r"more\s+stories|more\s+news|most\s+(?:read|popular|viewed)\b.*|trending(?:\s+now)?|"
    r"watch(?:\s+now)?|leia\s+(?:também|mais)|veja\s+(?:também|mais)|lea\s+también|"
    r"читайте\s+также|смотрите\s+также|по\s+теме|weiterlesen|lesen\s+sie\s+auch|"
    r"à\s+lire\s+aussi|lire\s+aussi)\b"
    r"\s*(?:[:.…»>|-]+|\.\.\.)?",
    re.IGNORECASE,
)
_TEASER_TAG_RE = re.compile(r"\[(?:[A-Z]{3,}(?:\s[A-Z]+)*)\]\s*\|?\s*$")
_CHROME_RES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        # bylines, credits and contact lines at the foot of wire stories
        r"^\(?(?:additional\s+)?(?:reporting|writing|editing|compiled|edited)\s+by\b",
        r"\bcontributed\s+(?:to\s+)?(?:this\s+)?(?:report|story|article)\b",
        r"^(?:contributing|additional\s+reporting|reporting)\s*:",
        r"\bfollow\s+(?:him|her|them|us|me)\s+on\s+(?:twitter|facebook|instagram)",
        r"\b(?:may|can)\s+be\s+reached\s+at\b",
        r"^reach\s+(?:the\s+)?(?:reporters?|writers?|authors?)\b",
        r"^(?:email|e-mail|contact)\s+\S+(?:\s+\S+)?\s+at\s+\S+@",
        r"^(?:have\s+a\s+(?:news\s+)?tip|got\s+a\s+(?:news\s+)?tip)\b",
        r"^follow\s+\S+(?:'s)?\s+(?:full\s+)?coverage\b",
        r"^more\s+(?:ap|reuters|afp)\s+\S+\s*:",
        # newsletters, subscriptions, apps
        r"\b(?:sign\s+up|subscribe)\b.*\b(?:newsletters?|inbox|today|free|now)\b",
        r"\bnewsletters?\b.*\b(?:sign\s+up|subscribe|inbox|delivered)\b",
        r"^get\s+(?:the\s+latest|access|\S+\s+\S+\s+delivered)\b",
        r"^(?:download|get)\s+(?:our|the)\s+(?:free\s+)?app\b",
        r"^tell\s+us\s+what\s+you\s+think\b",
        r"^(?:click|tap)\s+here\s+(?:to|for)\b",
        r"^(?:share|share\s+this(?:\s+(?:article|story|post))?|tags?|topics?|filed\s+under)\s*:?$",
        r"^(?:advertisement|advertising|sponsored(?:\s+content)?|anzeige|publicidade|реклама)$",
        # time stamps and reading time
        r"^(?:updated|published|last\s+updated|posted)(?:\s+on)?\s*:?\s*"
        r"(?:at\s+)?\d{1,2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?\b.{0,40}$",
        r"^(?:tempo\s+de\s+leitura|reading\s+time|lesezeit|время\s+чтения)\s*:?.{0,20}$",
        r"^\d+\s+min(?:ute)?s?\s+read$",
        # copyright and picture credits
        r"^(?:copyright|©|\(c\)|ⓒ)\s",
        r"^.{0,40}(?:©|ⓒ|copyright)\s*\S+.{0,40}$",
        r"^\(?(?:photo|image|picture|foto|credit|source|fonte|фото)s?(?:\s+credit)?\s*:",
        r"\((?:photo|image|picture)?\s*credits?\s*:[^)]*\)\s*\|?\s*$",
        r"\b(?:getty\s+images|shutterstock|ap\s+photo|reuters/|afp\s+via|istock)\b.{0,40}$",
        r"^_{2,}$|^[-=*•·]{3,}$",
        # print pages and reprint notices
        r"^(?:article\s+url|url\s+of\s+(?:the\s+)?article|source\s+url|permalink|"
        r"адрес\s+(?:статьи|материала|страницы)|ссылка\s+на\s+(?:статью|материал)|"
        r"постоянная\s+ссылка)\s*:",
        r"\b(?:reprint\w*|republi\w*|reproduction|перепечатка|копирование)\b.{0,80}"
        r"\b(?:allowed|permitted|prohibited|forbidden|разрешен\w*|запрещен\w*)\b",
    )
]
_ABOUT_RE = re.compile(
    r"^(?:about|über|à\s+propos\s+d[e']|sobre|acerca\s+de|о\s+компании)\s+\S.{0,60}$",
    re.IGNORECASE,
)
_CONTACT_RE = re.compile(
    r"^(?:media|press|investor)\s+(?:contacts?|enquiries|inquiries|relations)\s*:?$|"
    r"^(?:for\s+(?:further|more)\s+information|contacts?)\s*:?$",
    re.IGNORECASE,
)
_DATE_WORDS = re.compile(
    r"\b(?:\d{1,4}|jan\w*|feb\w*|mar\w*|apr\w*|may|jun\w*|jul\w*|aug\w*|sep\w*|oct\w*|nov\w*|"
    r"dec\w*|mon\w*|tue\w*|wed\w*|thu\w*|fri\w*|sat\w*|sun\w*|am|pm|a|p|m|at|on|de|às|"
    r"segunda|terça|quarta|quinta|sexta|feira|sábado|domingo|janeiro|fevereiro|março|abril|"
    r"maio|junho|julho|agosto|setembro|outubro|novembro|dezembro|gmt|utc|est|edt|pst|pdt|cet|"
    r"updated|published|posted|publicado|por|em|le|von|am|um|uhr|et|ist|bst)\b",
    re.IGNORECASE,
)
_YEAR_OR_TIME_RE = re.compile(r"\b(?:19|20)\d{2}\b|\b\d{1,2}:\d{2}\b")


def _is_dateline(text: str) -> bool:
    """A line that is only a date / time stamp (in any of the usual spellings)."""
    found = split_words(text)
    if not found or len(found) > 14 or not _YEAR_OR_TIME_RE.search(text):
        return False
    dateish = sum(1 for w in found if _DATE_WORDS.fullmatch(w))
    return dateish >= len(found) - 1 if len(found) > 3 else dateish == len(found)


#: The patterns above as one expression: one search per paragraph instead of thirty.
_CHROME_ANY = re.compile("|".join(f"(?:{rx.pattern})" for rx in _CHROME_RES), re.IGNORECASE)


def _is_chrome(p: _Para) -> bool:
    text = p.text
    size = paragraph_size(text)
    if size > 60:
        return False
    if _CHROME_ANY.search(text):
        return True
    if _TEASER_TAG_RE.search(text):
        return True
    return _is_dateline(text)


def _is_link_item(p: _Para) -> bool:
    """A short paragraph or list item that is (nearly) all link text: navigation or a teaser."""
    n = len(p.text)
    return n > 0 and p.link_chars >= 0.8 * n and paragraph_size(p.text) <= 25


def _is_link_list(p: _Para) -> bool:
    """Several links and (almost) nothing else: a tag list, a row of related headlines."""
    return len(p.links) >= 3 and p.link_chars >= 0.9 * len(p.text)


def _clean(paras: list[_Para], meta: _Meta) -> list[_Para]:
    titles = [t for t in meta.titles if t]
    kept: list[_Para] = []
    n = len(paras)
    skip_links = False  # after a "Related"/"Read more" header: drop the link list that follows
    about_from: int | None = None
    for i, p in enumerate(paras):
        text = p.text
        # Headline / standfirst repeated at the top of the body.
        if (
            not kept
            and i < 4
            and (
                any(_similar(text, t) for t in titles)
                or (p.kind == "head" and meta.title and _similar(text, meta.title, 0.8))
            )
        ):
            continue
        if (
            not kept
            and i < 4
            and meta.description
            and paragraph_size(text) <= 60
            and p.kind == "head"
            and _similar(text, meta.description, 0.95)
        ):
            continue
        match = _RELATED_RE.match(text)
        if match and paragraph_size(text) <= 25:
            rest = text[match.end() :].strip()
            # "Related: <headline link>" or a bare "Read more" header.
            if not rest or p.link_chars >= 0.5 * len(rest) or p.kind == "head":
                skip_links = not rest
                continue
        if skip_links:
            if (p.kind == "item" or _is_link_item(p) or _TEASER_TAG_RE.search(text)) and (
                paragraph_size(text) <= 25
            ):
                continue
            skip_links = False
        if p.kind == "item" and _is_link_item(p) and i > n // 2:
            continue
        if _TEASER_TAG_RE.search(text) and paragraph_size(text) <= 25:
            continue
        if (_is_chrome(p) or _is_link_list(p)) and not (i == n - 1 and CREDIT_RE.match(text)):
            continue  # (the source line a release ends with is metadata, split off later)
        if (
            about_from is None
            and i >= n // 2
            and paragraph_size(text) <= 8
            and (_ABOUT_RE.match(text) or _CONTACT_RE.match(text))
        ):
            about_from = len(kept)
        kept.append(p)
    if about_from is not None and about_from >= 2:
        kept = kept[:about_from]
    # Trailing link lists and headings with nothing after them.
    while kept and (kept[-1].kind == "head" or _is_link_item(kept[-1])):
        kept.pop()
    return kept


# ----------------------------------------------------------------------------- parsing

#: trafilatura's parser settings, with every element an HtmlElement looked up in C (lxml.html's
#: own lookup calls Python for each element the code touches: a few percent of the whole).
_PARSER = HTMLParser(
    collect_ids=False,
    default_doctype=False,
    encoding="utf-8",
    remove_comments=True,
    remove_pis=True,
)
_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(element=HtmlElement))


def load_html(html: str) -> HtmlElement | None:
    """The page as an lxml tree, parsed as trafilatura parses it (None for an empty page)."""
    if not html or not html.strip():
        return None
    html = repair_faulty_html(html, html[:50].lower())
    try:
        tree = fromstring(html, parser=_PARSER)
    except ValueError:  # a str with an XML encoding declaration: parse the bytes
        tree = fromstring(html.encode("utf-8", "surrogatepass"), parser=_PARSER)
    return tree if tree is not None and len(tree) else None


# ----------------------------------------------------------------------------- anchored pass

#: Headings that name a section, not a story ("Новости" as the page's <h1> beside the title).
_SECTION_WORDS = 3
_URL_DATE_RE = re.compile(
    r"/((?:19|20)\d{2})[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?:/|\D)"
)


def _declared(meta: _Meta) -> list[str]:
    """The titles the page declares for itself: JSON-LD headline, og:title, ``<title>``."""
    return [t for t in (meta.headline, meta.og_title, meta.page_title, meta.raw_title) if t]


def _title_block(blocks: list[blk.Block], meta: _Meta) -> tuple[blk.Block | None, bool]:
    """The block holding the headline, and whether it matches a declared title: the first
    heading (else any short block) matching the page's declared title; else the page's first
    ``<h1>``, or the heading after it when the ``<h1>`` only names the section ("Новости")."""
    strong = [_norm(t) for t in _declared(meta)]
    first_match: blk.Block | None = None
    for block in blocks:
        if block.chrome or block.words > 60 or block.link_density > 0.5:
            continue
        nb = _norm(block.text)
        if any(_similar_norms(nb, t, 0.85) or _is_part(nb, t) for t in strong):
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


def _teasers(blocks: list[blk.Block], tz: tzinfo) -> int:
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
        if raw and _OFFSET_RE.search(raw):
            when = find_datetime(raw, tz) or parse_datetime(raw, tz)
            if when is not None:
                return when
    return None


#: A dateline is short: the date, its time, a word or two ("Published:", a weekday, views).
_DATELINE_WORDS = 12
_DATELINE_REST = 4


def _dateline(
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


def _choose_date(
    meta: _Meta, line: tuple[str | None, datetime | None], url: str | None, tz: tzinfo
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


def _as_para(block: blk.Block) -> _Para:
    kind = "head" if block.heading else "item" if block.item else "row" if block.row else "p"
    return _Para(block.text, kind, block.link_chars, list(block.links))


def _as_paras(found: blk.Found, skip: set[int]) -> list[_Para]:
    return [_as_para(b) for b in found.blocks if b.index not in skip and not b.chrome]


@dataclass
class _Line:
    """A line of the page for matching trafilatura's text back to the page's blocks."""

    norm: str
    para: _Para
    inside: bool  # in the article block (or its headline and dateline)


def _combine(
    anchored: list[_Para],
    lines: list[_Line],
    container_text: str,
    anchor: bool,
    confident: bool,
    outside: list[blk.Block],
    elsewhere: set[str],
    html: str,
    tree: HtmlElement,
    url: str | None,
    meta: _Meta,
) -> list[_Para]:
    """The article's paragraphs from the two passes.

    trafilatura judges well what inside a page is running text (it drops captions, widgets and
    teasers) but keeps the sidebars of table layouts and glues their paragraphs; the anchored
    pass finds the article block and its paragraph boundaries. So trafilatura's paragraphs are
    cut again at the page's own line boundaries, and the lines that lie inside the article
    block are kept. The block is trusted when what trafilatura kept outside it is page
    furniture, or when the block is firmly anchored (it holds the headline and the dateline).
    Otherwise trafilatura's text is used as it is; the anchored block alone only when
    trafilatura found next to nothing (or, firmly anchored, far less)."""
    found = _clean(_trafilatura_paras(html, tree, url, anchor), meta)
    if anchored and found and container_text:
        block_lines = {line.norm for line in lines if line.inside}
        inside: list[_Para] = []
        for para, flag in _cut(found, lines):
            if (
                flag
                if flag is not None
                else _within(_norm(para.text), container_text, block_lines, elsewhere)
            ):
                inside.append(para)
        size = _size(inside)
        text = _norm(" ".join(p.text for p in found))
        lost = sum(b.words for b in outside if _norm(b.text) in text)
        if anchor and size < 0.5 * _size(anchored):
            return _clean(anchored, meta)  # trafilatura read something else than the block
        if size and (anchor or lost <= 0.1 * size):
            return inside
    if confident and _size(found) < MIN_WORDS <= _size(anchored):
        return _clean(anchored, meta)
    return found or (_clean(anchored, meta) if confident else [])


#: Lines beginning like a paragraph that are tried as the start of its pieces.
_CUT_CANDIDATES = 64


def _cut(paras: list[_Para], lines: list[_Line]) -> list[tuple[_Para, bool | None]]:
    """trafilatura's paragraphs, each one that glues several of the page's lines together cut
    back into those lines (a table cell's ``<br><br>`` paragraphs, a headline run into the
    first paragraph), with whether each piece lies in the article block; None where a
    paragraph is not made of whole lines (trafilatura left out words inside it)."""
    starts: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        if line.norm:
            starts.setdefault(line.norm[:8], []).append(i)
    out: list[tuple[_Para, bool | None]] = []
    done: dict[str, list[int] | None] = {}  # a repeated paragraph is matched once
    for para in paras:
        target = _norm(para.text)
        if target in done:
            picked = done[target]
        else:
            picked = None
            # bounded: a page of thousands of lines alike is not cut in quadratic time
            for i in starts.get(target[:8], [])[:_CUT_CANDIDATES]:
                picked = _pick(target, lines, i)
                if picked is not None:
                    break
            done[target] = picked
        if picked is None:
            out.append((para, None))
        elif len(picked) == 1:
            out.append((para, lines[picked[0]].inside))
        else:
            out.extend((lines[k].para, lines[k].inside) for k in picked)
    return out


def _pick(target: str, lines: list[_Line], start: int, max_skip: int = 12) -> list[int] | None:
    """The lines from ``start`` on whose texts, in order, make ``target`` (lines trafilatura
    dropped in between are skipped)."""
    if not target.startswith(lines[start].norm):
        return None
    rest = target[len(lines[start].norm) :]
    picked, skipped, j = [start], 0, start + 1
    while rest and j < len(lines) and skipped <= max_skip:
        norm = lines[j].norm
        if norm and rest.startswith(norm):
            picked.append(j)
            rest = rest[len(norm) :]
            skipped = 0
        else:
            skipped += 1
        j += 1
    return picked if not rest else None


def _within(text: str, container: str, lines: set[str], elsewhere: set[str]) -> bool:
    """A paragraph (normalised) lies in the container's text, allowing for words trafilatura
    left out inside it (a link's text, an inline widget). A short one that is a whole line
    outside the container and not one inside it is that outside line ("Member States:" is
    also a piece of many a sentence)."""
    if text in container:
        return len(text) >= 40 or text in lines or text not in elsewhere
    if len(text) < 60:
        return False
    head = container.find(text[:24])
    for _ in range(8):  # each place the paragraph's first words occur
        if head < 0:
            return False
        tail = container.find(text[-24:], head + 24)
        if tail < 0:
            return False
        if tail + 24 - head <= 1.2 * len(text):
            return True
        head = container.find(text[:24], head + 1)
    return False


def _anchored(
    found: blk.Found | None, title: blk.Block | None, line: blk.Block | None, meta: _Meta
) -> bool:
    """The block is where a news page puts its story: the headline (a heading, or the page's
    declared title) and the dateline are in it, or just before its first paragraph, whatever
    the markup around them."""
    if found is None or title is None or line is None or not found.blocks:
        return False
    if found.container.tag in ("body", "html"):
        return False
    strong = _declared(meta)
    if not (title.heading or any(_similar(title.text, t, 0.85) for t in strong)):
        return False
    within = {id(e) for e in found.container.iter()}
    if id(title.element) in within and id(line.element) in within:
        return True
    start = found.blocks[0].index
    return title.index < start and line.index < start and start - min(title.index, line.index) <= 6


def _confident(found: blk.Found | None, title: blk.Block | None, paras: list[_Para]) -> bool:
    """The anchored pass found a clear article block: a headline before it, dense text."""
    if found is None or title is None or found.density < 0.6:
        return False
    words = _size(paras)
    if words < MIN_WORDS and not (
        words >= MIN_SENTENCE_WORDS and sentences([p.text for p in paras]) >= 2
    ):
        return False
    return bool(paras)


# ----------------------------------------------------------------------------- entry point


def extract_generic(html: str, url: str | None = None, tz: tzinfo | None = None) -> Extracted:
    """Title, standfirst, date and body paragraphs of a news article page of any site.

    Dates written without an offset are in ``tz`` (default UTC). What was found is returned
    as it is (the title may be empty, the body short or empty): whether it makes an article is
    decided by the one rule in :mod:`flows.clean.detect`. Raises ``NotArticle`` only for HTML
    that cannot be parsed at all."""
    html = strip_preamble(html)
    try:
        tree = load_html(html)
    except Exception as exc:
        raise NotArticle("not_article", f"unparseable HTML: {exc}") from exc
    if tree is None:
        raise NotArticle("not_article", "empty or unparseable HTML")
    if _TOO_DEEP(tree):  # the parser stopped at its depth limit: flatten, read again
        html, _ = depth.flatten(html)
        tree = load_html(html)
        if tree is None:
            raise NotArticle("not_article", "empty or unparseable HTML")
    zone = tz or UTC
    meta = _metadata(tree, url, zone)
    _remove_popups(tree, html)

    page = blk.page_blocks(tree)
    page_blocks = page.blocks
    title_block, title_matched = _title_block(page_blocks, meta)
    implausible = [meta.implausible] if meta.implausible else []
    line_block, line_text, line_at = _dateline(page_blocks, title_block, zone, None, implausible)
    date_text, published_at = _choose_date(meta, (line_text, line_at), url, zone)
    # A news header (the headline and a dateline beside it): the story is what follows it.
    header_end = None
    if title_block is not None and line_block is not None and title_matched:
        header_end = max(title_block.index, line_block.index)
    found = blk.find_article(tree, page_blocks, title_block, after=header_end)
    if found is None and header_end is not None:
        # the headline and dateline are there but no running text follows them: an empty
        # article (what else the page holds is its furniture)
        found = blk.Found(title_block.element, title_block, [], 0, 0.0)  # type: ignore[union-attr]
    teasers = _teasers(found.blocks, zone) if found is not None else 0
    if line_at is None and found is not None:  # a <time> in the article block
        line_block, line_text, line_at = _dateline([], None, zone, found.container, implausible)
        date_text, published_at = _choose_date(meta, (line_text, line_at), url, zone)

    anchored: list[_Para] = []  # the block's paragraphs, chrome not yet dropped (when used)
    if found is not None:
        skip = {line_block.index} if line_block is not None else set()
        anchored = _as_paras(found, skip)
    confident = _confident(found, title_block, anchored)
    anchor = confident and _anchored(found, title_block, line_block, meta)
    # every line of the page, and whether it belongs to the article block (its headline and
    # dateline included: trafilatura often glues those onto the first paragraph)
    members = {b.index for b in found.blocks} if found is not None else set()
    heads = {b.index for b in (title_block, line_block) if b is not None}
    outside: list[blk.Block] = []  # running text outside the article block
    elsewhere: set[str] = set()  # every short line outside it
    lines: list[_Line] = []
    for b in page_blocks:
        norm = _norm(b.text)
        if found is not None and b.index not in members and b is not title_block:
            if len(b.text) < 60:  # only short lines are ever looked up there
                elsewhere.add(norm)
            if b.is_content:
                outside.append(b)
        if not b.chrome:
            lines.append(_Line(norm, _as_para(b), b.index in members or b.index in heads))
    for element in page.chrome_roots:  # trafilatura need not read menus and sidebars again
        if element.getparent() is not None:
            element.drop_tree()
    container_text = "".join(line.norm for line in lines if line.inside)
    if header_end is not None and found is not None and not found.blocks:
        paras: list[_Para] = []  # a headline and a dateline with no story after them
    else:
        paras = _combine(
            anchored,
            lines,
            container_text,
            anchor,
            confident,
            outside,
            elsewhere,
            html,
            tree,
            url,
            meta,
        )
    heading = title_block.text if title_block is not None else None
    paragraphs = [p.text for p in paras if not (date_text and p.text == date_text)]
    headlines = [t for t in (heading, *meta.titles) if t]
    while paragraphs and any(_similar(paragraphs[0], t) for t in headlines):
        paragraphs.pop(0)  # the headline, glued on by the extraction and cut off again
    links: list[str] = []
    for p in paras:
        for target in p.links:
            link = urljoin(url, target) if url else target
            if link.startswith(("http://", "https://")) and link not in links:
                links.append(link)

    subtitle = meta.description
    if subtitle and (
        _norm(subtitle)[:80] in _norm(" ".join(paragraphs[:5]))  # a snippet of the body
        or (meta.title is not None and _similar(subtitle, meta.title))
    ):
        subtitle = None
    title = _visible_title(meta, heading, title_matched)
    return Extracted(
        title=title,
        subtitle=subtitle,
        date_text=date_text,
        published_at=published_at,
        paragraphs=paragraphs,
        canonical_url=meta.canonical_url,
        links=links,
        teasers=teasers,
        implausible_date=implausible[0] if implausible and published_at is None else None,
    )


def _visible_title(meta: _Meta, heading: str | None, matched: bool) -> str:
    """The headline as the page shows it when it matches a declared title; else the declared
    headline (JSON-LD, og:title), the page's heading, or its ``<title>``."""
    if heading and matched:
        return heading
    return meta.headline or meta.og_title or heading or meta.page_title or meta.title or ""


#: An element near the depth where libxml2 stops building the tree (256): text below was lost.
#: (A path of that many steps visits each element once: linear, in C.)
_TOO_DEEP = etree.XPath("boolean(" + "/*" * (depth.MAX_DEPTH + 40) + ")")

_POPUP_WORDS = ("rollover", "tooltip", "popover", "hovercard")  # (hover-card: popover)


def _remove_popups(tree: HtmlElement, html: str) -> None:
    """Remove inline pop-ups (person cards, tooltips) but keep the text after them."""
    if not any(word in html for word in _POPUP_WORDS) and "hover-card" not in html:
        return
    for node in tree.xpath(_POPUP_XPATH):
        parent = node.getparent()
        if parent is not None and node.tag not in ("body", "html", "article", "main"):
            tail = node.tail
            prev = node.getprevious()
            parent.remove(node)
            if tail:
                if prev is not None:
                    prev.tail = (prev.tail or "") + tail
                else:
                    parent.text = (parent.text or "") + tail


def _trafilatura_paras(
    html: str, tree: HtmlElement, url: str | None, anchored: bool = False
) -> list[_Para]:
    """trafilatura's fast pass; its full pass when that finds little, unless a news header
    already anchors the article block (see the module doc)."""
    pieces = _split_bodies(tree)
    paras = _trafilatura(tree, url, fast=True)
    if _size(paras) < SHORT_BODY and not anchored:
        retry = load_html(html)
        if retry is not None:
            _remove_popups(retry, html)
            full = _trafilatura(retry, url, fast=False)
            if _size(full) >= max(1.5 * _size(paras), MIN_WORDS):
                paras = full
    return _restore_pieces(paras, pieces)
