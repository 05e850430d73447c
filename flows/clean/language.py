"""Language of an article text: ``en``, ``ru``, ``zh`` or ``und``.

A cheap script count decides most texts (share of Latin, Cyrillic and CJK letters); only mixed
texts go to lingua, built once and lazily with English, Russian and Chinese only.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

LANGUAGES: tuple[str, ...] = ("en", "ru", "zh", "und")

# Fewer letters than this (CJK characters count double) -> "und".
MIN_LETTERS = 12
# Share of one script above which lingua is not consulted.
DOMINANT_SHARE = 0.9

_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(
        Language.ENGLISH, Language.RUSSIAN, Language.CHINESE
    ).build()


def script_counts(text: str) -> tuple[int, int, int]:
    """Numbers of Latin, Cyrillic and CJK letters in ``text``."""
    return len(_LATIN.findall(text)), len(_CYRILLIC.findall(text)), len(_CJK.findall(text))


def detect_language(text: str) -> str:
    """Return ``en``, ``ru``, ``zh`` or ``und`` (empty, short or undecidable text)."""
    if not text:
        return "und"
    latin, cyrillic, cjk = script_counts(text)
    total = latin + cyrillic + cjk
    if latin + cyrillic + 2 * cjk < MIN_LETTERS:
        return "und"
    if cyrillic >= DOMINANT_SHARE * total:
        return "ru"
    if cjk >= DOMINANT_SHARE * total:
        return "zh"
    if latin >= DOMINANT_SHARE * total:
        return "en"
    found = _detector().detect_language_of(text)
    if found is None:
        return "und"
    return {"ENGLISH": "en", "RUSSIAN": "ru", "CHINESE": "zh"}.get(found.name, "und")
