"""Pages nested deeper than the HTML parser reads.

libxml2 (under lxml, trafilatura and the site rules) stops building the tree at 256 levels:
everything deeper is lost, and a page whose story sits in 300 nested ``<div>`` would read as
empty. :func:`flatten` drops the wrapper tags (``div``, ``span``, tables...) nested deeper
than :data:`MAX_DEPTH`, and any tag deeper than :data:`HARD_DEPTH`; their text stays in place,
so the headline, dateline and paragraphs of such a page are read like any other's. Pure
function, linear time.
"""

from __future__ import annotations

import re

#: Element nesting kept (the parser's limit is 256; the margin is for html, body and the
#: elements a parser adds).
MAX_DEPTH = 200
#: Beyond this, every tag is dropped.
HARD_DEPTH = 240

_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^>]*?(/?)>|<!--.*?-->", re.DOTALL)
_VOID = frozenset(
    ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param")
    + ("source", "track", "wbr", "basefont", "frame", "keygen", "isindex")
)
#: Containers whose tags are dropped first (their text stays where it is): the usual wrappers.
_WRAPPERS = frozenset(
    ("div", "span", "section", "article", "main", "aside", "header", "footer", "nav", "font")
    + ("center", "blockquote", "form", "fieldset", "figure", "table", "tbody", "thead")
    + ("tfoot", "tr", "td", "th")
)
#: Elements a new sibling of the same name closes (``<p>a<p>b``, ``<li>``...).
_SELF_CLOSING_SIBLINGS = frozenset(["p", "li", "dt", "dd", "tr", "td", "th", "option"])
_RAW_TEXT = frozenset(("script", "style", "textarea", "title", "xmp", "plaintext"))


def max_depth(html: str) -> int:
    """How deep the elements of ``html`` nest (an estimate that follows the parser's
    implicit closing of ``<p>``, ``<li>``, table cells and void elements)."""
    return _walk(html, None)[1]


def flatten(html: str, limit: int = MAX_DEPTH) -> tuple[str, int]:
    """``html`` with the tags nested deeper than ``limit`` removed (their content kept), and
    how deep the page nested. The page is returned unchanged when it nests no deeper."""
    if html.count("<") <= limit:
        return html, max_depth(html)
    deepest = max_depth(html)
    if deepest <= limit:
        return html, deepest
    return _walk(html, limit)[0], deepest


def _kept_deep(name: str, kept_depth: int, limit: int) -> bool:
    return name not in _WRAPPERS and kept_depth < limit + (HARD_DEPTH - MAX_DEPTH)


def _walk(html: str, limit: int | None) -> tuple[str, int]:
    stack: list[tuple[str, bool]] = []  # (name, kept)
    out: list[str] = []
    last = 0
    deepest = 0
    kept = 0  # the tags on the stack that are kept
    pos = 0
    while True:
        match = _TAG_RE.search(html, pos)
        if match is None:
            break
        pos = match.end()
        closing, name, selfclose = match.group(1), (match.group(2) or "").lower(), match.group(3)
        if not name:  # a comment
            continue
        keep = True
        if closing:
            if any(n == name for n, _ in stack):
                while stack:
                    top, was_kept = stack.pop()
                    kept -= was_kept
                    if top == name:
                        keep = was_kept
                        break
        elif name not in _VOID and not selfclose:
            if name in _SELF_CLOSING_SIBLINGS and stack and stack[-1][0] == name:
                kept -= stack.pop()[1]
            keep = limit is None or kept < limit or _kept_deep(name, kept, limit)
            stack.append((name, keep))
            kept += keep
            deepest = max(deepest, len(stack))
            if name in _RAW_TEXT:  # its text is not markup: skip to its end tag
                end = re.compile(rf"</{name}\s*>", re.IGNORECASE).search(html, pos)
                pos = end.start() if end is not None else len(html)
        if not keep and limit is not None:
            out.append(html[last : match.start()])
            last = match.end()
    if limit is None:
        return html, deepest
    out.append(html[last:])
    return "".join(out), deepest
