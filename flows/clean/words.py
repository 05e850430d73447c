"""Word tokens, word counts and word shingles for English, Russian and Chinese text."""

from __future__ import annotations

import logging
import warnings
from functools import lru_cache
from typing import Any

from infoshos.flows.text import WORD, split_words


@lru_cache(maxsize=1)
def _jieba() -> Any:
    """Import and initialise jieba once, without its log lines and import warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def tokenize_words(text: str, language: str) -> list[str]:
    """Word tokens: ``flows.text.split_words`` for en/ru (and anything else), jieba words for zh."""
    if language == "zh":
        return [t for t in (w.strip() for w in _jieba().lcut(text)) if t and WORD.search(t)]
    return split_words(text)


def word_count(text: str, language: str) -> int:
    """Number of word tokens in ``text``."""
    if language == "zh":
        return len(tokenize_words(text, language))
    return len(WORD.findall(text))


def shingles(text: str, language: str, k: int = 5) -> list[str]:
    """Word ``k``-shingles of the casefolded tokens, joined by one space.

    A text shorter than ``k`` words gives one shingle of all its words (none if empty).
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    tokens = [t.casefold() for t in tokenize_words(text, language)]
    if not tokens:
        return []
    if len(tokens) <= k:
        return [" ".join(tokens)]
    return [" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)]
