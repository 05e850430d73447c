"""Enrichment: entities, mentions, roles, countries and topics of articles.

A pure transform: :func:`enrich_articles` takes article records and returns the rows of the
``entities``, ``mentions``, ``roles``, ``article_countries`` and ``article_topics`` tables
(without ``run_id``). Models (spaCy, natasha) and the gazetteer are loaded once per process.

Gazetteer first: alias matches from ``gazetteer.yaml`` win; NER (spaCy for English, natasha for
Russian) adds the people, organisations and places the gazetteer lacks. Other languages get
gazetteer matches only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .countries import country_rows
from .gazetteer import Gazetteer, Match, load, status_at
from .linking import Linker, Mention, entity_rows
from .ner import NerSpan, ner_en, ner_ru
from .roles import role_rows
from .topics import topic_rows

__all__ = ["EnrichInput", "EnrichResult", "enrich_articles", "load", "status_at"]

_CYRILLIC = re.compile("[а-яА-ЯёЁ]")


@dataclass(frozen=True)
class EnrichInput:
    article_id: str
    language: str | None
    text: str
    published_at: datetime | None = None


@dataclass
class EnrichResult:
    entities: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)
    article_countries: list[dict[str, Any]] = field(default_factory=list)
    article_topics: list[dict[str, Any]] = field(default_factory=list)


def _coerce(a: EnrichInput | Mapping[str, Any]) -> EnrichInput:
    if isinstance(a, EnrichInput):
        return a
    return EnrichInput(
        str(a["article_id"]), a.get("language"), a.get("text") or "", a.get("published_at")
    )


def _lang(a: EnrichInput) -> str:
    lang = (a.language or "").lower()[:2]
    if lang in ("en", "ru"):
        return lang
    if lang in ("", "un"):  # unknown: guess from the script
        sample = a.text[:2000]
        cyr = len(_CYRILLIC.findall(sample))
        latin = len(re.findall("[A-Za-z]", sample))
        if cyr or latin:
            return "ru" if cyr > latin else "en"
    return lang or "und"


def _ner(
    items: list[EnrichInput], langs: list[str], matches: list[list[Match]]
) -> list[list[NerSpan]]:
    spans: list[list[NerSpan]] = [[] for _ in items]
    for lang, fn in (("en", ner_en), ("ru", ner_ru)):
        idx = [i for i, lg in enumerate(langs) if lg == lang and items[i].text.strip()]
        if idx:
            texts = [items[i].text for i in idx]
            covered = [[(m.start, m.end) for m in matches[i]] for i in idx]
            for i, found in zip(idx, fn(texts, covered), strict=True):
                spans[i] = found
    return spans


def enrich_articles(
    articles: Sequence[EnrichInput | Mapping[str, Any]], gazetteer: Gazetteer | None = None
) -> EnrichResult:
    """Enrich a batch of articles. Offsets index each article's ``text`` (end excluded)."""
    gaz = gazetteer or load()
    items = [_coerce(a) for a in articles]
    langs = [_lang(a) for a in items]
    matches = [gaz.find(a.text, not_names=True) for a in items]
    spans = _ner(items, langs, matches)
    linker = Linker(gaz)
    result = EnrichResult()
    used: set[str] = set()
    surfaces: dict[str, set[str]] = {}
    for a, found, found_gaz in zip(items, spans, matches, strict=True):
        mentions: list[Mention] = linker.link(a.text, found_gaz, found)
        as_of: date | None = a.published_at.date() if a.published_at else None
        for m in mentions:
            used.add(m.entity_id)
            surfaces.setdefault(m.entity_id, set()).add(m.surface)
            result.mentions.append(
                {
                    "article_id": a.article_id,
                    "entity_id": m.entity_id,
                    "surface": m.surface,
                    "start_char": m.start,
                    "end_char": m.end,
                    "method": m.method,
                }
            )
        result.roles += role_rows(a.article_id, a.text, mentions, as_of)
        result.article_countries += country_rows(a.article_id, mentions, a.published_at, gaz)
        result.article_topics += topic_rows(a.article_id, a.text)
    result.entities = entity_rows(linker, used, surfaces)
    return result
