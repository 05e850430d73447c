"""Scripts and words: which characters belong to which script, and what a word is, declared once
for every flow that counts words, splits a text or tells scripts apart (cleaning, dedup).

Rules:

* Each script's code points are written here only, as regular-expression character-class
  ranges: ``LATIN``, ``CYRILLIC``, ``HAN`` (``HAN_BMP`` and ``HAN_SUPPLEMENT``), ``KANA``,
  ``HANGUL``. ``CJK`` is Han, kana and hangul: the scripts written without spaces between
  words. A module that needs another set composes it from these pieces with :func:`chars`
  (language detection tells Han from kana and hangul); it never types a range itself.
* A word is a run of ``\\w`` characters (:data:`WORD`, :func:`split_words`): letters, digits and
  underscores of any script, so a hyphen or an apostrophe splits words. Counting words,
  tokenizing for dedup and reading names all use it; the article rule counts its own way
  (``flows/clean/detect.py``: one word for ``штаб-квартире`` or ``3.5``), as it documents.
* Pure: standard library only, nothing of ours.
"""

from __future__ import annotations

import re

__all__ = [
    "CJK",
    "CJK_RE",
    "CYRILLIC",
    "HAN",
    "HANGUL",
    "HAN_BMP",
    "HAN_SUPPLEMENT",
    "KANA",
    "LATIN",
    "WORD",
    "chars",
    "split_words",
]

#: Basic Latin letters and Latin-1 Supplement to Latin Extended-B (accented letters).
LATIN = r"A-Za-z\u00c0-\u024f"
#: The Cyrillic block (Russian, Kazakh, Kyrgyz, Tajik, Uzbek, Mongolian ... letters).
CYRILLIC = r"\u0400-\u04ff"
#: Hiragana and katakana.
KANA = r"\u3040-\u30ff"
#: Hangul syllables.
HANGUL = r"\uac00-\ud7af"
#: Han ideographs of the Basic Multilingual Plane: Extension A, the unified block, the
#: compatibility ideographs.
HAN_BMP = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
#: Han ideographs beyond it: Extensions B to F.
HAN_SUPPLEMENT = r"\U00020000-\U0002ebef"
HAN = HAN_BMP + HAN_SUPPLEMENT
#: Han, kana and hangul: the scripts written without spaces between words.
CJK = HAN + KANA + HANGUL

#: A word: a run of ``\\w`` characters.
WORD = re.compile(r"\w+")


def chars(*ranges: str) -> re.Pattern[str]:
    """One character of any of ``ranges`` (the constants above), as a compiled pattern."""
    return re.compile(f"[{''.join(ranges)}]")


#: One CJK character.
CJK_RE = chars(CJK)


def split_words(text: str) -> list[str]:
    """The words of ``text`` (:data:`WORD` runs), in order, as written."""
    return WORD.findall(text)
