"""Topics from the taxonomy in ``topics.yaml`` (see its header for the trigger syntax and the
threshold): an article gets a topic when its triggers occur at least ``min_hits`` times and make
up at least ``min_score`` of its words.

Matching works on lower-cased word tokens (hyphenated compounds are one token), so a trigger
word with ``*`` matches any token it begins, one without matches a whole token, and a phrase
matches consecutive tokens. At each word, a topic's longest trigger wins.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml

#: a word: letters/digits, with inner hyphens or apostrophes (counter-terrorism, Аль-Каида)
WORD = re.compile(r"\w+(?:[-'’]\w+)*")

Trigger = tuple[tuple[str, bool], ...]  # ((word, is_stem), ...)


@dataclass(frozen=True)
class Taxonomy:
    topics: tuple[str, ...]
    #: first word -> [(topic, trigger)] for whole-word first words
    exact: dict[str, list[tuple[str, Trigger]]]
    #: first-word stem -> [(topic, trigger)]
    stems: dict[str, list[tuple[str, Trigger]]]
    max_stem: int
    min_hits: int
    min_score: float


def _parse(trigger: str) -> Trigger:
    return tuple((w.rstrip("*").lower(), w.endswith("*")) for w in trigger.split())


@cache
def taxonomy() -> Taxonomy:
    raw = yaml.safe_load(resources.files(__package__).joinpath("topics.yaml").read_text("utf-8"))
    exact: dict[str, list[tuple[str, Trigger]]] = {}
    stems: dict[str, list[tuple[str, Trigger]]] = {}
    for code, spec in raw["topics"].items():
        for lang in ("en", "ru"):
            for t in spec.get(lang, []):
                trig = _parse(str(t))
                word, stem = trig[0]
                (stems if stem else exact).setdefault(word, []).append((code, trig))
    max_stem = max((len(s) for s in stems), default=0)
    return Taxonomy(
        tuple(raw["topics"]),
        exact,
        stems,
        max_stem,
        int(raw["min_hits"]),
        float(raw["min_score"]),
    )


def _matches(trig: Trigger, words: list[str], i: int) -> bool:
    if i + len(trig) > len(words):
        return False
    for (t, stem), w in zip(trig, words[i : i + len(trig)], strict=True):
        if not (w.startswith(t) if stem else w == t):
            return False
    return True


#: How many words' trigger candidates are remembered (an article's vocabulary repeats across
#: articles; a few MB).
WORD_MEMORY = 1 << 16


@lru_cache(maxsize=WORD_MEMORY)
def _candidates(word: str) -> tuple[tuple[str, Trigger], ...]:
    """The (topic, trigger) pairs whose first word is ``word`` or begins it."""
    tax = taxonomy()
    cands = list(tax.exact.get(word, ()))
    for n in range(1, min(len(word), tax.max_stem) + 1):
        cands += tax.stems.get(word[:n], ())
    return tuple(cands)


def topic_hits(text: str) -> tuple[int, dict[str, Counter[str]]]:
    """(number of words, topic -> Counter of matched trigger surfaces)."""
    words = [w.lower().replace("’", "'") for w in WORD.findall(text)]
    hits: dict[str, Counter[str]] = {}
    for i, w in enumerate(words):
        cands = _candidates(w)
        if not cands:
            continue
        best: dict[str, int] = {}
        for topic, trig in cands:
            if len(trig) > best.get(topic, 0) and _matches(trig, words, i):
                best[topic] = len(trig)
        for topic, n in best.items():
            hits.setdefault(topic, Counter())[" ".join(words[i : i + n])] += 1
    return len(words), hits


def topic_rows(article_id: str, text: str) -> list[dict[str, Any]]:
    tax = taxonomy()
    n_words, hits = topic_hits(text)
    rows: list[dict[str, Any]] = []
    if n_words == 0:
        return rows
    for code in tax.topics:
        counter = hits.get(code)
        if not counter:
            continue
        n = sum(counter.values())
        score = n / n_words
        if n >= tax.min_hits and score >= tax.min_score:
            triggers = [w for w, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]
            rows.append(
                {
                    "article_id": article_id,
                    "topic": code,
                    "score": round(score, 4),
                    "triggers": triggers,
                }  # fmt: skip
            )
    return rows
