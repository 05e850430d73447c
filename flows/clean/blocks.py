"""The page as text blocks, and the article block found by its title, dateline and text density.

This is the first pass of the generic extractor (``flows.clean.generic``). It walks the parsed
page once and cuts it into *blocks*: the runs of text between block-level boundaries (``<p>``,
``<div>``, headings, list items, table cells of layout tables, ``<br><br>``...). Each block keeps
its element, its number of words, how much of it is link text and whether it sits in page chrome
(``nav``, ``aside``, ``footer``, or an element whose class or id says sidebar, menu, comments,
share...). Then :func:`find_article` picks the *article container*: the element whose content
words, weighted by their share of all the words inside it, are highest (a text-density score:
a whole page holds every paragraph but also every menu and sidebar, a single paragraph holds
too little), preferring one that holds the title. The paragraphs are the blocks of that
container after the title.

Layout tables (old portals put the whole page in nested tables) are read as nested boxes: a
table whose cells hold block content, other tables or long text is a layout table and its rows
and cells are block boundaries, so paragraphs never glue together. A data table (short cells:
a currency-rate table, a schedule) gives one block per row, cells joined by `` | ``.

Pure functions over an lxml tree; nothing is modified.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree
from lxml.html import HtmlElement

from .detect import text_size

__all__ = ["Block", "Found", "Page", "find_article", "page_blocks"]

BLOCK_TAGS = frozenset(
    {
        *("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd"),
        *("table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "blockquote", "pre"),
        *("section", "article", "header", "footer", "aside", "nav", "main", "address", "hr"),
        *("figure", "figcaption", "form", "fieldset", "center", "details", "summary", "body"),
        *("amp-sidebar", "amp-carousel", "menu", "noindex", "legend", "picture", "video"),
    }
)
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
#: Never text: code, styles, embedded objects, form controls.
DROP_TAGS = frozenset(
    {
        *("script", "style", "noscript", "template", "iframe", "object", "embed", "svg"),
        *("button", "select", "option", "textarea", "input", "head", "title", "meta", "link"),
        *("canvas", "map", "audio", "amp-analytics", "amp-ad", "amp-embed", "math"),
    }
)
#: Elements that are page chrome by their tag.
CHROME_TAGS = frozenset({"nav", "aside", "footer", "amp-sidebar", "menu"})
# Class or id words of page chrome (after readability's "unlikely candidates"), unless the same
# attribute also says content.
_CHROME_ATTR = re.compile(
    r"(?:^|[^a-z])(?:sidebar|side-bar|sidebox|side_block|menu|navbar|nav|navigation|breadcrumbs?|"
    r"footer|comments?|commentlist|respond|disqus|share|sharing|social|sociallinks|likes?|"
    r"related|recommend\w*|popular|most-read|mostread|trending|latest|lastnews|last-news|"
    r"other-news|more-news|news-?list|newslist|teasers?|widget|banner|advert\w*|ads?|adv|"
    r"sponsor\w*|promo|subscribe|newsletter|pagination|pager|paging|tags?|tagcloud|rubrics?|"
    r"clock|clocks|weather|currency|rates?|exchange|informer|counter|copyright|cookie\w*|"
    r"gdpr|popup|modal|login|search|skip|print-?link|toolbar|tools|author-bio|byline-?social)"
    r"(?:$|[^a-z])",
    re.IGNORECASE,
)
_CONTENT_ATTR = re.compile(
    r"(?:^|[^a-z])(?:article|content|entry|post|story|text|body|main|news-?detail|"
    r"detail|materia[l]?|single|page-?content)(?:$|[^a-z])",
    re.IGNORECASE,
)
# Class or itemprop of an inline element that holds the page's date.
_DATE_ATTR = re.compile(
    r"(?:^|[^a-z])(?:date|datetime|date-?time|dateline|pubdate|published|posted-?on|time)"
    r"(?:$|[^a-z])|datePublished",
    re.IGNORECASE,
)
#: The text of an element a reader sees (not that of scripts, styles and templates), in C.
_VISIBLE_TEXT = etree.XPath(
    ".//text()[not(ancestor::script or ancestor::style or ancestor::noscript"
    " or ancestor::template)]",
    smart_strings=False,
)
_ITEM_TAGS = frozenset({"li", "dt", "dd"})
#: Inline elements that may hold a page's date on their own (``span.news-date-time``).
_DATE_CARRIERS = frozenset({"span", "time", "small", "em", "i", "b", "strong", "font", "abbr"})
#: Inline elements whose content never runs on into the next word.
_SEPARATE_TAGS = frozenset({"time", "img", "input", "wbr"})
_WS_RE = re.compile(r"\s+")
_SENTENCE_END_RE = re.compile(r"[.!?…:;。！？][\"'»”)\]]*\s*$")


def collapse(text: str) -> str:
    return _WS_RE.sub(" ", text).strip()


@dataclass
class Block:
    """One run of text between block boundaries."""

    text: str
    element: HtmlElement  # the innermost block-level element around it
    index: int
    words: int
    link_chars: int = 0
    links: list[str] = field(default_factory=list)
    heading: bool = False
    item: bool = False  # a list item
    row: bool = False  # a data-table row
    chrome: bool = False  # inside page chrome

    @property
    def link_density(self) -> float:
        return self.link_chars / len(self.text) if self.text else 0.0

    @property
    def is_plain(self) -> bool:
        """Text of the page itself, however short: not links, chrome, headings or rows."""
        return not self.chrome and not self.row and not self.heading and self.link_density < 0.35

    @property
    def is_content(self) -> bool:
        """Running text: a few words, not mostly links, not in chrome."""
        return (
            not self.chrome
            and not self.heading
            and self.words >= 8
            and self.link_density < 0.35
            and not self.row
        )


def _attrs(el: HtmlElement) -> str:
    return f"{el.get('class') or ''} {el.get('id') or ''} {el.get('role') or ''}"


def is_chrome_element(el: HtmlElement) -> bool:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in CHROME_TAGS:
        return True
    attrs = _attrs(el)
    if attrs.strip() and _CHROME_ATTR.search(attrs) and not _CONTENT_ATTR.search(attrs):
        return True
    return el.get("role") in ("navigation", "complementary", "banner", "contentinfo")


#: A cell holding one of these makes its table a layout table.
_LAYOUT_CHILDREN = frozenset({"table", "p", "div", "h1", "h2", "h3", "ul", "ol", "form", "article"})
#: Finds such a cell in C (a path, not a walk in Python).
_LAYOUT_CELL = etree.XPath(
    "boolean(.//*[self::td or self::th]/*["
    + " or ".join(f"self::{t}" for t in sorted(_LAYOUT_CHILDREN))
    + "])"
)


def is_layout_table(table: HtmlElement) -> bool:
    """A table used for page layout: cells holding blocks, other tables or long text."""
    if _LAYOUT_CELL(table):
        return True
    for cell in table.iter("td", "th"):
        text = cell.text_content() or ""
        if len(text) > 120 and text_size(text) > 30:
            return True
    return False


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.buf: list[str] = []
        self.link_chars = 0
        self.links: list[str] = []
        self.brs = 0
        #: The outermost elements of page chrome (nav, aside, sidebars...), in document order.
        self.chrome_roots: list[HtmlElement] = []

    def flush(self, element: HtmlElement, heading: bool, item: bool, chrome: bool) -> None:
        if not self.buf:
            self.brs = 0
            return
        text = collapse("".join(self.buf))
        if text:
            self.blocks.append(
                Block(
                    text,
                    element,
                    len(self.blocks),
                    text_size(text),
                    min(self.link_chars, len(text)),
                    self.links,
                    heading=heading,
                    item=item,
                    chrome=chrome,
                )
            )
        self.buf = []
        self.link_chars = 0
        self.links = []
        self.brs = 0

    def walk(self, el: HtmlElement, block: HtmlElement, chrome: bool, in_link: bool) -> None:
        """Text of ``el``'s content, appended to the block of ``block``."""
        tag = block.tag if isinstance(block.tag, str) else ""
        heading = tag in HEADINGS
        item = tag in _ITEM_TAGS
        text = el.text
        if text:
            self._text(text, in_link)
        for child in el:
            ctag = child.tag
            if not isinstance(ctag, str) or ctag in DROP_TAGS:
                pass  # comments, processing instructions, scripts...: only the tail is text
            elif ctag == "br":
                self.brs += 1
                if self.brs >= 2 or (self.brs == 1 and self._ends_sentence()):
                    self.flush(block, heading, item, chrome)
                else:
                    self.buf.append(" ")
            elif ctag in BLOCK_TAGS:
                self.flush(block, heading, item, chrome)
                if ctag == "table" and not is_layout_table(child):
                    self._data_table(child, chrome or is_chrome_element(child))
                elif not chrome and is_chrome_element(child):
                    # page chrome is not read line by line: one block stands for its words
                    self.chrome_roots.append(child)
                    self._chrome_block(child)
                else:
                    self.walk(child, child, chrome, in_link)
                    self.flush(child, ctag in HEADINGS, ctag in _ITEM_TAGS, chrome)
            elif ctag in _DATE_CARRIERS and _DATE_ATTR.search(
                f"{child.get('class') or ''} {child.get('itemprop') or ''}"
            ):
                # a date in its own element (span.news-date-time): a line of its own
                self.flush(block, heading, item, chrome)
                self.walk(child, block, chrome, in_link)
                self.flush(block, heading, item, chrome)
            else:
                link = in_link
                if ctag == "a":
                    href = child.get("href")
                    if href and not href.isspace():
                        self.links.append(href.strip())
                        link = True
                if len(child):
                    self.walk(child, block, chrome, link)
                else:
                    text = child.text
                    if text:
                        self._text(text, link)
                if ctag in _SEPARATE_TAGS and self.buf:
                    self.buf.append(" ")  # a <time> is a value of its own: never glue it on
            tail = child.tail
            if tail:
                self._text(tail, in_link)

    def _chrome_block(self, element: HtmlElement) -> None:
        text = collapse(" ".join(_VISIBLE_TEXT(element)))
        if text:
            words = text_size(text)
            self.blocks.append(
                Block(text, element, len(self.blocks), words, len(text), chrome=True)
            )

    def _ends_sentence(self) -> bool:
        text = "".join(self.buf)
        return len(text) > 60 and bool(_SENTENCE_END_RE.search(text))

    def _text(self, text: str, in_link: bool) -> None:
        if text.isspace():
            if self.buf:
                self.buf.append(" ")
            return
        self.brs = 0
        if in_link:
            self.link_chars += len(text.strip())
        self.buf.append(text)

    def _data_table(self, table: HtmlElement, chrome: bool) -> None:
        for row in table.iter("tr"):
            cells = [collapse(c.text_content() or "") for c in row if c.tag in ("td", "th")]
            text = " | ".join(c for c in cells if c)
            if text:
                links = len(collapse("".join(a.text_content() or "" for a in row.iter("a"))))
                self.blocks.append(
                    Block(
                        text,
                        row,
                        len(self.blocks),
                        text_size(text),
                        min(links, len(text)),
                        row=True,
                        chrome=chrome,
                    )
                )


@dataclass
class Page:
    blocks: list[Block]
    chrome_roots: list[HtmlElement]


def page_blocks(root: HtmlElement) -> Page:
    """The text blocks of a page, in document order, and the page's chrome elements."""
    body = root.find(".//body")
    start = body if body is not None else root
    walker = _Walker()
    walker.walk(start, start, False, False)
    walker.flush(start, False, False, False)
    return Page(walker.blocks, walker.chrome_roots)


@dataclass
class Found:
    """The article container and the blocks that make the article."""

    container: HtmlElement
    title: Block | None
    blocks: list[Block]  # the container's blocks after the title (title excluded)
    content_words: int
    density: float


def _ancestors(el: HtmlElement, stop: HtmlElement) -> Iterable[HtmlElement]:
    node: HtmlElement | None = el
    while node is not None:
        yield node
        if node is stop:
            return
        node = node.getparent()


def find_article(
    root: HtmlElement, blocks: list[Block], title: Block | None, after: int | None = None
) -> Found | None:
    """The article container by text density, anchored at the title when there is one.

    ``after``: the index of the last block of a news header (headline and dateline); then
    only containers that hold the title or begin after the header are candidates, and None
    means that no running text follows the header."""
    body = root.find(".//body")
    stop = body if body is not None else root
    content: dict[int, int] = {}  # words of running text (blocks of 8 words or more)
    plain: dict[int, int] = {}  # words of plain text of any length (not links, menus, rows)
    total: dict[int, int] = {}
    elements: dict[int, HtmlElement] = {}
    first: dict[int, int] = {}
    chains: dict[int, list[int]] = {}  # element -> the ids of it and its ancestors
    header = {title.index} if title is not None else set()
    if after is not None:
        header.add(after)
    content_get, plain_get, total_get = content.get, plain.get, total.get
    for block in blocks:
        if block.index in header:
            continue  # the headline and dateline say nothing about the body's density
        good = block.words if block.is_content else 0
        text = block.words if block.is_plain else 0
        if after is not None and block.index <= after:
            good = 0  # text before a news header is not the story's
        chain = chains.get(id(block.element))
        if chain is None:
            chain = []
            for anc in _ancestors(block.element, stop):
                key = id(anc)
                if key not in elements:
                    elements[key] = anc
                    first[key] = block.index
                chain.append(key)
            chains[id(block.element)] = chain
        words = block.words
        for key in chain:
            total[key] = total_get(key, 0) + words
        if good:
            for key in chain:
                content[key] = content_get(key, 0) + good
        if text:
            for key in chain:
                plain[key] = plain_get(key, 0) + text
    if not content:
        return None
    title_ancestors = (
        {id(a) for a in _ancestors(title.element, stop)} if title is not None else set()
    )
    best_key = None
    best_score = 0.0
    for key, good in content.items():
        if after is not None and key not in title_ancestors and first[key] <= after:
            continue
        density = plain.get(key, 0) / total[key]
        score = good * density * density
        if title is not None:
            if key in title_ancestors:
                score *= 1.25
            elif first[key] < title.index:
                score *= 0.5  # begins before the title without holding it: a sidebar
        if score > best_score:
            best_key, best_score = key, score
    if best_key is None:
        return None
    container = elements[best_key]
    inside = {id(e) for e in container.iter()}
    members = [b for b in blocks if id(b.element) in inside]
    if title is not None and id(container) in title_ancestors:
        members = [b for b in members if b.index > title.index]
    return Found(
        container,
        title,
        members,
        content[best_key],
        plain.get(best_key, 0) / total[best_key],
    )
