"""Generic article extraction for news pages we have no site rules for: the composition.

``extract_generic(html, url, tz)`` returns the same :class:`~infoshos.flows.clean.sites.Extracted`
as the per-portal rules: what it found, whether or not that makes an article (the one rule that
decides is :mod:`infoshos.flows.clean.detect`).

How a page is read (``bench/extraction.py`` and ``bench/corpus.py`` measure it); each step's
rules are in the module named:

1. Metadata first, on the untouched tree (:mod:`~infoshos.flows.clean.metadata`): JSON-LD of
   an article type, OpenGraph / ``article:*`` meta tags, ``<h1>``, ``<title>``. A PHP warning
   printed before ``<html>`` is dropped; a tree cut off at the parser's depth limit is
   flattened and read again.
2. The page is cut into text blocks (:mod:`~infoshos.flows.clean.blocks`): layout tables are
   read as boxes, ``<br><br>`` and block elements end a paragraph, a date in its own element is
   a line of its own, menus and sidebars are marked as chrome.
3. The news header (:mod:`~infoshos.flows.clean.header`): the headline is the block matching
   the page's declared title (a one-word section heading such as "Новости" beside it is
   skipped); the dateline is a short line beside the headline that is a date, with its time of
   day (an explicit offset, in the text or a ``<time datetime>``, wins over the source's zone
   ``tz``); a date beyond another heading belongs to that heading. A headline with a dateline
   is a *news header*: the story is what follows it.
4. The article block is the element whose running text, weighted by its share of all the text
   in it, is highest (text density), preferring the one holding the headline; a header with no
   running text after it is an empty article. Headlines in the block each with a dateline of
   their own are counted: a listing.
5. trafilatura (:mod:`~infoshos.flows.clean.paragraphs`: ``fast=True``, precision-favoured;
   its full pass only when that finds little) judges which text in the page is running text;
   its paragraphs are cut back into the page's own lines and kept where they lie in the
   article block (:mod:`~infoshos.flows.clean.body`). So sidebars (clocks, rate tables,
   member-state lists, headline lists, funding notices) fall outside, and glued paragraphs
   come apart. When the article block is not trusted (text trafilatura kept outside it is
   running text, and no news header anchors it), trafilatura's text is used as it is.
6. Page chrome trafilatura keeps is dropped paragraph by paragraph
   (:mod:`~infoshos.flows.clean.furniture`): a repeated headline or standfirst, dateline and
   "updated" stamps, "Related:"/"Read more" teasers and link lists, newsletter prompts,
   credits and captions, reprint notices, "About <company>" boilerplate.
7. Here: the date's own line and the headline glued onto the body are cut off, the links of
   the kept paragraphs collected, a description that only repeats the body or the title
   dropped.

Pure: HTML string in, values out; no network or file access.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from urllib.parse import urljoin

from lxml import etree

from . import blocks as blk
from . import depth
from .body import as_paras, combine, is_anchored, is_confident, page_lines
from .header import choose_date, count_teasers, find_dateline, find_title_block
from .metadata import Meta, norm_text, read_metadata, similar
from .paragraphs import (
    MIN_WORDS,
    SHORT_BODY,
    Para,
    load_html,
    paragraph_size,
    remove_popups,
)
from .sites import Extracted, NotArticle, strip_preamble

__all__ = ["MIN_WORDS", "SHORT_BODY", "extract_generic", "paragraph_size"]


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
    meta = read_metadata(tree, url, zone)
    remove_popups(tree, html)

    page = blk.page_blocks(tree)
    page_blocks = page.blocks
    title_block, title_matched = find_title_block(page_blocks, meta)
    implausible = [meta.implausible] if meta.implausible else []
    line_block, line_text, line_at = find_dateline(
        page_blocks, title_block, zone, None, implausible
    )
    date_text, published_at = choose_date(meta, (line_text, line_at), url, zone)
    # A news header (the headline and a dateline beside it): the story is what follows it.
    header_end = None
    if title_block is not None and line_block is not None and title_matched:
        header_end = max(title_block.index, line_block.index)
    found = blk.find_article(tree, page_blocks, title_block, after=header_end)
    if found is None and header_end is not None:
        # the headline and dateline are there but no running text follows them: an empty
        # article (what else the page holds is its furniture)
        found = blk.Found(title_block.element, title_block, [], 0, 0.0)  # type: ignore[union-attr]
    teasers = count_teasers(found.blocks, zone) if found is not None else 0
    if line_at is None and found is not None:  # a <time> in the article block
        line_block, line_text, line_at = find_dateline([], None, zone, found.container, implausible)
        date_text, published_at = choose_date(meta, (line_text, line_at), url, zone)

    anchored: list[Para] = []  # the block's paragraphs, chrome not yet dropped (when used)
    if found is not None:
        skip = {line_block.index} if line_block is not None else set()
        anchored = as_paras(found, skip)
    confident = is_confident(found, title_block, anchored)
    anchor = confident and is_anchored(found, title_block, line_block, meta)
    lines = page_lines(page_blocks, found, title_block, line_block)
    for element in page.chrome_roots:  # trafilatura need not read menus and sidebars again
        if element.getparent() is not None:
            element.drop_tree()
    if header_end is not None and found is not None and not found.blocks:
        paras: list[Para] = []  # a headline and a dateline with no story after them
    else:
        paras = combine(anchored, lines, anchor, confident, html, tree, url, meta)
    heading = title_block.text if title_block is not None else None
    paragraphs = _body_texts(paras, date_text, [t for t in (heading, *meta.titles) if t])
    return Extracted(
        title=_visible_title(meta, heading, title_matched),
        subtitle=_standfirst(meta, paragraphs),
        date_text=date_text,
        published_at=published_at,
        paragraphs=paragraphs,
        canonical_url=meta.canonical_url,
        links=_links(paras, url),
        teasers=teasers,
        implausible_date=implausible[0] if implausible and published_at is None else None,
    )


# -- step 7: the body's texts and links, the standfirst, the visible title -------------------------


def _body_texts(paras: list[Para], date_text: str | None, headlines: list[str]) -> list[str]:
    """The paragraphs' texts without the date's own line, and without the headline that the
    extraction glued on at the start."""
    texts = [p.text for p in paras if not (date_text and p.text == date_text)]
    while texts and any(similar(texts[0], t) for t in headlines):
        texts.pop(0)
    return texts


def _links(paras: list[Para], url: str | None) -> list[str]:
    """The absolute http(s) links of the paragraphs, each once, in page order."""
    links: list[str] = []
    for p in paras:
        for target in p.links:
            link = urljoin(url, target) if url else target
            if link.startswith(("http://", "https://")) and link not in links:
                links.append(link)
    return links


def _standfirst(meta: Meta, paragraphs: list[str]) -> str | None:
    """The page's description, unless it only repeats a snippet of the body or the title."""
    description = meta.description
    if description and (
        norm_text(description)[:80] in norm_text(" ".join(paragraphs[:5]))
        or (meta.title is not None and similar(description, meta.title))
    ):
        return None
    return description


def _visible_title(meta: Meta, heading: str | None, matched: bool) -> str:
    """The headline as the page shows it when it matches a declared title; else the declared
    headline (JSON-LD, og:title), the page's heading, or its ``<title>``."""
    if heading and matched:
        return heading
    return meta.headline or meta.og_title or heading or meta.page_title or meta.title or ""


#: An element near the depth where libxml2 stops building the tree (256): text below was lost.
#: (A path of that many steps visits each element once: linear, in C.)
_TOO_DEEP = etree.XPath("boolean(" + "/*" * (depth.MAX_DEPTH + 40) + ")")
