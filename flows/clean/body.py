"""The article body: which lines of the page are the story, from the generic extractor's two
passes.

The anchored pass (:mod:`~infoshos.flows.clean.blocks`) finds the article block by text
density, next to the news header; trafilatura (:mod:`~infoshos.flows.clean.paragraphs`) judges
what in the page is running text. Rules (:func:`combine`):

- The block is *confident* when a headline was found, its text density is 0.6 or more and it
  holds :data:`MIN_WORDS` words (or 25 words in two complete sentences); it is *anchored* when,
  besides, the headline (a heading, or like a declared title) and the dateline are inside it or
  just before its first paragraph (:func:`is_anchored`).
- trafilatura's paragraphs, furniture dropped, are cut back at the page's own line boundaries
  (a glued table cell, a headline run into the first paragraph) and each piece is kept when it
  lies in the article block. The result is used when the block is anchored, or when the
  running text trafilatura kept outside it is at most a tenth of what lies inside; when the
  block is anchored but what lies inside is less than half the block, the block's own
  paragraphs are used.
- Otherwise trafilatura's text is used as it is; the block's paragraphs only when it is
  confident and trafilatura found fewer than :data:`MIN_WORDS` words, or nothing.

Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml.html import HtmlElement

from . import blocks as blk
from .detect import MIN_SENTENCE_WORDS, sentences
from .furniture import drop_furniture
from .metadata import Meta, declared_titles, norm_text, similar
from .paragraphs import MIN_WORDS, Para, paras_size, trafilatura_paras


def as_para(block: blk.Block) -> Para:
    kind = "head" if block.heading else "item" if block.item else "row" if block.row else "p"
    return Para(block.text, kind, block.link_chars, list(block.links))


def as_paras(found: blk.Found, skip: set[int]) -> list[Para]:
    return [as_para(b) for b in found.blocks if b.index not in skip and not b.chrome]


@dataclass
class Line:
    """A line of the page for matching trafilatura's text back to the page's blocks."""

    norm: str
    para: Para
    inside: bool  # in the article block (or its headline and dateline)


@dataclass
class PageLines:
    """The page's lines (chrome left out), and what lies outside the article block."""

    lines: list[Line] = field(default_factory=list)
    outside: list[blk.Block] = field(default_factory=list)  # running text outside the block
    elsewhere: set[str] = field(default_factory=set)  # every short line outside it (normalised)

    @property
    def container_text(self) -> str:
        """The article block's text (normalised), its headline and dateline included."""
        return "".join(line.norm for line in self.lines if line.inside)


def page_lines(
    blocks: list[blk.Block],
    found: blk.Found | None,
    title: blk.Block | None,
    dateline: blk.Block | None,
) -> PageLines:
    """Every line of the page, and whether it belongs to the article block (its headline and
    dateline included: trafilatura often glues those onto the first paragraph)."""
    members = {b.index for b in found.blocks} if found is not None else set()
    heads = {b.index for b in (title, dateline) if b is not None}
    out = PageLines()
    for b in blocks:
        norm = norm_text(b.text)
        if found is not None and b.index not in members and b is not title:
            if len(b.text) < 60:  # only short lines are ever looked up there
                out.elsewhere.add(norm)
            if b.is_content:
                out.outside.append(b)
        if not b.chrome:
            out.lines.append(Line(norm, as_para(b), b.index in members or b.index in heads))
    return out


def combine(
    anchored: list[Para],
    page: PageLines,
    anchor: bool,
    confident: bool,
    html: str,
    tree: HtmlElement,
    url: str | None,
    meta: Meta,
) -> list[Para]:
    """The article's paragraphs from the two passes.

    trafilatura judges well what inside a page is running text (it drops captions, widgets and
    teasers) but keeps the sidebars of table layouts and glues their paragraphs; the anchored
    pass finds the article block and its paragraph boundaries. So trafilatura's paragraphs are
    cut again at the page's own line boundaries, and the lines that lie inside the article
    block are kept. The block is trusted when what trafilatura kept outside it is page
    furniture, or when the block is firmly anchored (it holds the headline and the dateline).
    Otherwise trafilatura's text is used as it is; the anchored block alone only when
    trafilatura found next to nothing (or, firmly anchored, far less)."""
    lines, outside, elsewhere = page.lines, page.outside, page.elsewhere
    container_text = page.container_text
    found = drop_furniture(trafilatura_paras(html, tree, url, anchor), meta)
    if anchored and found and container_text:
        block_lines = {line.norm for line in lines if line.inside}
        inside: list[Para] = []
        for para, flag in _cut(found, lines):
            if (
                flag
                if flag is not None
                else _within(norm_text(para.text), container_text, block_lines, elsewhere)
            ):
                inside.append(para)
        size = paras_size(inside)
        text = norm_text(" ".join(p.text for p in found))
        lost = sum(b.words for b in outside if norm_text(b.text) in text)
        if anchor and size < 0.5 * paras_size(anchored):
            return drop_furniture(anchored, meta)  # trafilatura read something else than the block
        if size and (anchor or lost <= 0.1 * size):
            return inside
    if confident and paras_size(found) < MIN_WORDS <= paras_size(anchored):
        return drop_furniture(anchored, meta)
    return found or (drop_furniture(anchored, meta) if confident else [])


#: Lines beginning like a paragraph that are tried as the start of its pieces.
_CUT_CANDIDATES = 64


def _cut(paras: list[Para], lines: list[Line]) -> list[tuple[Para, bool | None]]:
    """trafilatura's paragraphs, each one that glues several of the page's lines together cut
    back into those lines (a table cell's ``<br><br>`` paragraphs, a headline run into the
    first paragraph), with whether each piece lies in the article block; None where a
    paragraph is not made of whole lines (trafilatura left out words inside it)."""
    starts: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        if line.norm:
            starts.setdefault(line.norm[:8], []).append(i)
    out: list[tuple[Para, bool | None]] = []
    done: dict[str, list[int] | None] = {}  # a repeated paragraph is matched once
    for para in paras:
        target = norm_text(para.text)
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


def _pick(target: str, lines: list[Line], start: int, max_skip: int = 12) -> list[int] | None:
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


def is_anchored(
    found: blk.Found | None, title: blk.Block | None, line: blk.Block | None, meta: Meta
) -> bool:
    """The block is where a news page puts its story: the headline (a heading, or the page's
    declared title) and the dateline are in it, or just before its first paragraph, whatever
    the markup around them."""
    if found is None or title is None or line is None or not found.blocks:
        return False
    if found.container.tag in ("body", "html"):
        return False
    strong = declared_titles(meta)
    if not (title.heading or any(similar(title.text, t, 0.85) for t in strong)):
        return False
    within = {id(e) for e in found.container.iter()}
    if id(title.element) in within and id(line.element) in within:
        return True
    start = found.blocks[0].index
    return title.index < start and line.index < start and start - min(title.index, line.index) <= 6


def is_confident(found: blk.Found | None, title: blk.Block | None, paras: list[Para]) -> bool:
    """The anchored pass found a clear article block: a headline before it, dense text."""
    if found is None or title is None or found.density < 0.6:
        return False
    words = paras_size(paras)
    if words < MIN_WORDS and not (
        words >= MIN_SENTENCE_WORDS and sentences([p.text for p in paras]) >= 2
    ):
        return False
    return bool(paras)
