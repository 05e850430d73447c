"""Language of an article text: an ISO 639-1 code (``en``, ``ru``, ``zh``, ``fr``, ``kk``, ...)
or ``und`` when the text is too short or the detector is unsure.

- A page with a declared language (a portal edition's ``language_hint``) keeps it, unless its
  text is written in a script that language does not use (an English edition page in Cyrillic
  is detected like any other text).
- Cyrillic Central Asian languages are told apart by the letters only their alphabets have
  (lingua knows Kazakh and Mongolian, but not Uzbek, Tajik or Kyrgyz): Tajik ҷ ӣ ӯ, Uzbek ў with
  қ ғ ҳ, Kazakh ә і ұ with қ ғ ң, Kyrgyz ң ө ү without those. Uzbek in Latin letters is told by
  its oʻ and gʻ.
- Everything else goes to lingua (offline), built once, with the languages below and a minimum
  relative distance so that an undecided text is ``und``: never ``en`` or ``ru`` because most
  of its letters are Latin or Cyrillic. Han without kana or hangul is Chinese; with them,
  lingua tells Japanese from Korean (a Chinese edition's hint does not hold for them).
- Only the first :data:`SAMPLE_CHARS` characters are read: enough for the detector, and the
  cost of a page stays flat however long the article is.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from infoshos.flows.text import CJK_RE, CYRILLIC, HANGUL, KANA, LATIN, chars

#: Fewer letters than this (CJK characters count double) -> "und".
MIN_LETTERS = 12
#: Share of one script above which a text is "written in" it.
DOMINANT_SHARE = 0.9
#: Characters of a text the detector reads (from the start).
SAMPLE_CHARS = 2000
#: lingua's minimum relative distance between the best and the second language (0..0.99):
#: below it the text is "und".
MIN_RELATIVE_DISTANCE = 0.1

#: The languages lingua chooses from: the SCO region's, Europe's main ones and the world's
#: most used, so that a page in any of them is named and not forced into a neighbour.
LINGUA_LANGUAGES: tuple[str, ...] = (
    "ENGLISH", "RUSSIAN", "CHINESE", "FRENCH", "GERMAN", "SPANISH", "ITALIAN", "PORTUGUESE",
    "DUTCH", "POLISH", "CZECH", "ROMANIAN", "HUNGARIAN", "TURKISH", "AZERBAIJANI", "KAZAKH",
    "MONGOLIAN", "UKRAINIAN", "BELARUSIAN", "BULGARIAN", "SERBIAN", "MACEDONIAN", "ARMENIAN",
    "GEORGIAN", "PERSIAN", "ARABIC", "URDU", "HINDI", "BENGALI", "JAPANESE", "KOREAN",
    "VIETNAMESE", "INDONESIAN", "MALAY", "THAI",
)  # fmt: skip

#: Scripts a declared language is written in (a hint outside this table is trusted as is).
HINT_SCRIPTS: dict[str, str] = {
    **dict.fromkeys(("en", "fr", "de", "es", "it", "pt", "tr", "az", "uz", "id", "ms"), "latin"),
    **dict.fromkeys(("ru", "kk", "ky", "tg", "mn", "uk", "be", "bg", "sr", "mk"), "cyrillic"),
    "zh": "cjk",
}

_LATIN = chars(LATIN)
_CYRILLIC = chars(CYRILLIC)
_CJK = CJK_RE
#: runs of each script's letters: counted by the runs' lengths (fewer objects than one per letter)
_RUNS = tuple(re.compile(p.pattern + "+") for p in (_LATIN, _CYRILLIC, _CJK))
#: kana or hangul tell Japanese or Korean from Chinese (Han alone)
_KANA_HANGUL = chars(KANA, HANGUL)
_UZ_LATIN = re.compile(r"\b\w*[oOgG][\u02bb\u2018'`]\w+")


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    return (
        LanguageDetectorBuilder.from_languages(*(getattr(Language, n) for n in LINGUA_LANGUAGES))
        .with_minimum_relative_distance(MIN_RELATIVE_DISTANCE)
        .build()
    )


def script_counts(text: str) -> tuple[int, int, int]:
    """Numbers of Latin, Cyrillic and CJK letters in ``text`` (CJK: Han, kana and hangul, so
    that Korean and Japanese text counts as written in a script, not as too short)."""
    latin, cyrillic, cjk = (sum(map(len, runs.findall(text))) for runs in _RUNS)
    return latin, cyrillic, cjk


def _dominant_script(latin: int, cyrillic: int, cjk: int) -> str | None:
    total = latin + cyrillic + cjk
    for name, n in (("latin", latin), ("cyrillic", cyrillic), ("cjk", cjk)):
        if total and n >= DOMINANT_SHARE * total:
            return name
    return None


def _rate(text: str, letters: str, cyrillic: int) -> float:
    """Occurrences of ``letters`` per 1,000 Cyrillic letters."""
    return 1000.0 * sum(text.count(c) for c in letters) / max(cyrillic, 1)


def central_asian_cyrillic(text: str, cyrillic: int) -> str | None:
    """``tg``, ``uz``, ``kk`` or ``ky`` from the letters only those alphabets use, or None.

    A rate (per 1,000 Cyrillic letters) and not a bare presence, so that one quoted name
    (Қазақстан in a Russian text) does not make a language."""
    low = text.lower()
    if cyrillic < 40:
        return None
    if _rate(low, "ҷӣӯ", cyrillic) >= 3:
        return "tg"
    if _rate(low, "ў", cyrillic) >= 3 and _rate(low, "қғҳ", cyrillic) >= 3:
        return "uz"
    if _rate(low, "әіұ", cyrillic) >= 5 and _rate(low, "қғң", cyrillic) >= 3:
        return "kk"
    if _rate(low, "ң", cyrillic) >= 3 and _rate(low, "өү", cyrillic) >= 5:
        return "ky"
    return None


def _uzbek_latin(text: str, latin: int) -> bool:
    """Uzbek in Latin letters: oʻ and gʻ (with a turned comma or an apostrophe) are frequent."""
    return latin >= 40 and 1000.0 * len(_UZ_LATIN.findall(text)) / latin >= 4


def detect_language(text: str, hint: str | None = None) -> str:
    """An ISO 639-1 code, or ``und`` (empty, short or undecidable text).

    ``hint`` is a declared language (a portal edition's): kept when the text is written in a
    script that language uses."""
    if not text:
        return "und"
    sample = text[:SAMPLE_CHARS]
    latin, cyrillic, cjk = script_counts(sample)
    if latin + cyrillic + 2 * cjk < MIN_LETTERS:
        return "und"
    script = _dominant_script(latin, cyrillic, cjk)
    if hint:
        code = hint.lower()[:2]
        wanted = HINT_SCRIPTS.get(code)
        japanese_or_korean = code == "zh" and _KANA_HANGUL.search(sample) is not None
        if wanted is None or (wanted == script and not japanese_or_korean):
            return code
    if script == "cyrillic":
        found = central_asian_cyrillic(sample, cyrillic)
        if found is not None:
            return found
    elif script == "latin" and _uzbek_latin(sample, latin):
        return "uz"
    elif script == "cjk" and not _KANA_HANGUL.search(sample):
        return "zh"  # Han characters without kana or hangul: Chinese
    language = _detector().detect_language_of(sample)
    if language is None:
        return "und"
    return str(language.iso_code_639_1.name).lower()
