"""The page's running text as paragraphs: parsing the page, running trafilatura, rendering it.

Rules:

- The page is parsed with trafilatura's own parser settings (:func:`load_html`; None for an
  empty page). Inline pop-ups (person cards, tooltips) are removed, the text after them kept
  (:func:`remove_popups`).
- trafilatura's fast pass (precision-favoured, no comments, links or images, tables kept) runs
  first; its full pass runs only when the fast one finds fewer than :data:`SHORT_BODY` words
  and no news header anchors the article block, and is kept when it finds at least 1.5 times as
  many words and :data:`MIN_WORDS` (:func:`trafilatura_paras`).
- Its output tree becomes :class:`Para` items: ``<lb>`` ends a paragraph, list items and table
  rows stand alone (the cells of a row joined by `` | ``), graphics are skipped. Each keeps how
  many of its characters are link text and the links' targets: anchors are marked in the page
  before trafilatura runs (its own ``include_links`` changes what it keeps) and the marks are
  removed from the text.
- A body cut in pieces by ads or embeds (two or more containers sharing tag and class, each with
  150 characters of ``<p>`` text or more) gets back the pieces trafilatura missed, after the
  piece before them, when it kept at least half of one piece.
- Words are counted by :func:`paragraph_size`: ``\\w+`` runs, or one per two Chinese, Japanese
  or Korean characters when that is more.

Pure: HTML in, paragraphs out; no network or file access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree
from lxml.html import HtmlElement, HTMLParser, fromstring
from trafilatura import bare_extraction
from trafilatura.utils import repair_faulty_html

from infoshos.flows.text import CJK_RE, split_words

from .metadata import collapse, norm_text

MIN_WORDS = 40  # fewer words of body text: not an article
SHORT_BODY = 100  # fewer words from the fast pass: also try trafilatura's fallback extractors


def paragraph_size(text: str) -> int:
    """Words in a text; in Chinese, Japanese and Korean script every two characters count as one
    word (they have few or no spaces)."""
    return max(len(split_words(text)), len(CJK_RE.findall(text)) // 2)


@dataclass
class Para:
    """A paragraph of the page's text: its kind, and how much of it is link text."""

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


def _para(raw: str, kind: str, hrefs: list[str]) -> Para | None:
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
    return Para(text, kind, min(link_chars, len(text)), links)


def _render(body: etree._Element, hrefs: list[str]) -> list[Para]:
    """trafilatura's output tree -> paragraphs: ``lb`` splits, list items and rows stand alone."""
    out: list[Para] = []

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


def _trafilatura(tree: HtmlElement, url: str | None, fast: bool) -> list[Para]:
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


def _restore_pieces(paras: list[Para], groups: list[list[list[str]]]) -> list[Para]:
    """Add the pieces of a cut-up body that the extraction missed, after the piece before them."""
    if not groups or not paras:
        return paras
    index = {norm_text(p.text): i for i, p in enumerate(paras)}
    for pieces in groups:
        found = [sum(1 for t in piece if norm_text(t) in index) for piece in pieces]
        if not any(f >= max(1, len(piece) / 2) for f, piece in zip(found, pieces, strict=True)):
            continue
        additions: list[tuple[int, list[Para]]] = []
        anchor = -1
        for f, piece in zip(found, pieces, strict=True):
            if f:
                hits = [index[norm_text(t)] for t in piece if norm_text(t) in index]
                anchor = max(hits)
            elif anchor >= 0:
                additions.append((anchor, [Para(t, "p") for t in piece]))
        for at, new in reversed(additions):
            paras[at + 1 : at + 1] = new
        if additions:
            index = {norm_text(p.text): i for i, p in enumerate(paras)}
    return paras


def paras_size(paras: list[Para]) -> int:
    return sum(paragraph_size(p.text) for p in paras)


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


# Elements nested inside running text that are not part of it (person cards, tooltips).
_POPUP_XPATH = (
    "//*[contains(@class,'rollover') or contains(@class,'tooltip') or contains(@class,'popover')"
    " or contains(@class,'hovercard') or contains(@class,'hover-card')]"
)
_POPUP_WORDS = ("rollover", "tooltip", "popover", "hovercard")  # (hover-card: popover)


def remove_popups(tree: HtmlElement, html: str) -> None:
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


def trafilatura_paras(
    html: str, tree: HtmlElement, url: str | None, anchored: bool = False
) -> list[Para]:
    """trafilatura's fast pass; its full pass when that finds little, unless a news header
    already anchors the article block (see the module doc)."""
    pieces = _split_bodies(tree)
    paras = _trafilatura(tree, url, fast=True)
    if paras_size(paras) < SHORT_BODY and not anchored:
        retry = load_html(html)
        if retry is not None:
            remove_popups(retry, html)
            full = _trafilatura(retry, url, fast=False)
            if paras_size(full) >= max(1.5 * paras_size(paras), MIN_WORDS):
                paras = full
    return _restore_pieces(paras, pieces)
