"""Page furniture: the paragraphs of an extracted body that are not the story, and the patterns
that find them.

:func:`drop_furniture` reads the paragraphs in order and drops:

- the headline, or a standfirst written as a heading, repeated before the first kept paragraph
  (among the first four);
- a "Related:" / "Read more" / "Читайте также" line (25 words or fewer) that is a header or a
  link, and, after a bare header, the link items and ``[TAG]`` teasers that follow it;
- link items in the second half of the body, and ``[TAG]``-marked teasers;
- short paragraphs (60 words or fewer) that are furniture by their wording (:data:`_CHROME_RES`:
  bylines and contact lines, newsletter and app prompts, share / tag labels, advertising labels,
  "updated" stamps and reading times, copyright and picture credits, print-page URLs, reprint
  notices) or only a date (:func:`_is_dateline`);
- link lists (three links or more and next to no other text);
- everything from an "About <company>" or "Media contacts" line in the second half on, when two
  kept paragraphs or more come before it (press-release boilerplate);
- headings and link items left at the end.

The source line a release ends with ("Source: ...") is kept: it is metadata, split off later
(:func:`~infoshos.flows.clean.detect.split_credit`). The wordings cover English, Russian,
Portuguese, Spanish, German and French. Pure.
"""

from __future__ import annotations

import re

from infoshos.flows.text import split_words

from .detect import CREDIT_RE
from .metadata import Meta, similar
from .paragraphs import Para, paragraph_size

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
    words = split_words(text)
    if not words or len(words) > 14 or not _YEAR_OR_TIME_RE.search(text):
        return False
    dateish = sum(1 for w in words if _DATE_WORDS.fullmatch(w))
    return dateish >= len(words) - 1 if len(words) > 3 else dateish == len(words)


#: The patterns above as one expression: one search per paragraph instead of thirty.
_CHROME_ANY = re.compile("|".join(f"(?:{rx.pattern})" for rx in _CHROME_RES), re.IGNORECASE)


def _is_chrome(p: Para) -> bool:
    text = p.text
    size = paragraph_size(text)
    if size > 60:
        return False
    if _CHROME_ANY.search(text):
        return True
    if _TEASER_TAG_RE.search(text):
        return True
    return _is_dateline(text)


def _is_link_item(p: Para) -> bool:
    """A short paragraph or list item that is (nearly) all link text: navigation or a teaser."""
    n = len(p.text)
    return n > 0 and p.link_chars >= 0.8 * n and paragraph_size(p.text) <= 25


def _is_link_list(p: Para) -> bool:
    """Several links and (almost) nothing else: a tag list, a row of related headlines."""
    return len(p.links) >= 3 and p.link_chars >= 0.9 * len(p.text)


def drop_furniture(paras: list[Para], meta: Meta) -> list[Para]:
    titles = [t for t in meta.titles if t]
    kept: list[Para] = []
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
                any(similar(text, t) for t in titles)
                or (p.kind == "head" and meta.title and similar(text, meta.title, 0.8))
            )
        ):
            continue
        if (
            not kept
            and i < 4
            and meta.description
            and paragraph_size(text) <= 60
            and p.kind == "head"
            and similar(text, meta.description, 0.95)
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
