"""What an article is: the one rule that decides whether an extracted page is an article.

A page is an article when it has a title, a publication date and a body of about
:data:`MIN_WORDS` words or more, however short otherwise: at least ``MIN_WORDS`` words, or at
least :data:`MIN_SENTENCE_WORDS` words in two or more complete sentences (a two-sentence press
release of 34 words is an article; a stub's "Page under construction." is not). Words are
counted so that every script is treated alike: alphabetic words and numbers for Latin, Cyrillic
and other alphabets, and one word per two characters for Chinese, Japanese and Korean, which are
written without spaces.

Listings, tag pages, contact pages and stubs fail the rule: a listing's main block is a run of
headlines each with a date of its own (:data:`MAX_TEASERS` or more: ``not_article``), its link
lists are not body text, so what is left is short, or they carry no dateline. The clean stage
applies this rule to every
candidate page (:func:`check`); the spiders do not judge content (a candidate is any page a
source's article patterns match, or any HTML page of a generic crawl), so there is one rule, in
one place. Pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infoshos.flows.text import CJK_RE

__all__ = [
    "MIN_SENTENCE_WORDS",
    "MIN_WORDS",
    "Verdict",
    "body_words",
    "CREDIT_RE",
    "check",
    "sentences",
    "split_credit",
    "text_size",
]

#: Words of body text that always make enough of an article ("about 40 words").
MIN_WORDS = 40
#: A shorter body still counts when it is at least this long and has two complete sentences.
MIN_SENTENCE_WORDS = 25

_WORD_RE = re.compile(r"[^\W\d_][\w'’-]*|\d+(?:[.,]\d+)*", re.UNICODE)


def text_size(text: str) -> int:
    """Words in ``text``: alphabetic words and numbers, plus one word per two CJK characters
    (runs of CJK are not split by ``\\w+`` into words, so they are counted apart)."""
    cjk = len(CJK_RE.findall(text))
    if not cjk:
        return len(_WORD_RE.findall(text))
    rest = CJK_RE.sub(" ", text)
    return len(_WORD_RE.findall(rest)) + (cjk + 1) // 2


#: A line naming where the text comes from, as portals end their releases with it
#: ("Source: Исполнительный комитет РАТС ШОС"): metadata, not body text.
CREDIT_RE = re.compile(
    r"^\s*(?:source|sources|источник|источники|джерело|manba|дереккөз|来源|資料來源|资料来源|"
    r"fuente|quelle|fonte)\s*[:：]\s*\S.{0,200}$",
    re.IGNORECASE,
)


def split_credit(paragraphs: list[str]) -> tuple[list[str], str | None]:
    """The body without its trailing source line, and that line (None when there is none)."""
    if paragraphs and len(paragraphs[-1]) <= 240 and CREDIT_RE.match(paragraphs[-1]):
        return paragraphs[:-1], paragraphs[-1].strip()
    return paragraphs, None


def body_words(paragraphs: list[str]) -> int:
    return sum(text_size(p) for p in paragraphs)


# A sentence: some words ending in . ! ? … or 。！？ (closing quotes and brackets may follow),
# then the end of the paragraph or a space.
_SENTENCE_END = re.compile(r"\w[^\s]*?[.!?…。！？][\"'»”)\]]*(?=\s|$)")


def sentences(paragraphs: list[str]) -> int:
    """Complete sentences in the body (approximate: sentence-ending punctuation after a word)."""
    return sum(len(_SENTENCE_END.findall(p)) for p in paragraphs)


@dataclass(frozen=True)
class Verdict:
    """``reason`` is None for an article, else a reject code with a one-line ``detail``."""

    reason: str | None
    detail: str = ""

    @property
    def is_article(self) -> bool:
        return self.reason is None


#: Dated headlines in a page's main block that make it a listing, not an article.
MAX_TEASERS = 3


def check(title: str | None, has_date: bool, paragraphs: list[str], teasers: int = 0) -> Verdict:
    """The article rule: some text, a date, a body of about :data:`MIN_WORDS` words, a title
    (checked in that order: the first one missing is the reason)."""
    if teasers >= MAX_TEASERS:
        return Verdict("not_article", f"a listing: {teasers} headlines with dates of their own")
    words = body_words(paragraphs)
    if not words:
        return Verdict("no_body", "no article text on the page")
    if not has_date:  # the mark of a news item: contact, about and stub pages have none
        return Verdict("no_date", "no publication date or dateline found")
    if words < MIN_WORDS and not (words >= MIN_SENTENCE_WORDS and sentences(paragraphs) >= 2):
        return Verdict("no_body", f"{words} words of article text (fewer than {MIN_WORDS})")
    if not (title or "").strip():
        return Verdict("no_title", "no headline found")
    return Verdict(None)
