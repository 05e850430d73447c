"""Russian names in the nominative: normalising the names natasha finds in running text.

A Russian name stands in the sentence in any of six cases (``с Владимиром Воронковым``,
``Министерства культуры Киргизии``); an entity is keyed and shown by its nominative. The NER
run (:func:`infoshos.flows.enrich.ner.ner_ru`) hands each name found here with its type, and the
natasha models it loaded (:class:`Morphology`). Rules:

- Persons: every word (first name, patronymic, surname) is put in the nominative by natasha's
  span normaliser: ``Владимиром Воронковым`` -> ``Владимир Воронков``.
- Places and organisations: only the head noun phrase goes to the nominative, that is the
  modifiers before the first noun (adjectives, participles, determiners, numerals) and that
  noun; the words after it are its genitive complement and stay as written
  (``Министерства культуры Киргизии`` -> ``Министерство культуры Киргизии``, ``Южной Азией``
  -> ``Южная Азия``). Each word keeps the letter case it was written in (``ШОС``).
- A place that is one adjective (``Центральной``) is flagged as such: it is a name only as the
  first half of a pair sharing the next name's noun (``Центральной и Южной Азией`` ->
  ``Центральная Азия``, :func:`elliptic`); otherwise the caller drops it (``Астанинского``).
- A name is tagged in its own sentence (from the ". " or line break before it to the one after
  it), so that the morph tagger sees its context; the sentences of all new names go through
  the tagger in one batch.
- Each (surface, type) is normalised once per process (a cache of up to 100,000 names, emptied
  when full). Where natasha fails on odd input, there is no nominative (None): the surface
  stands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple


class Morphology(NamedTuple):
    """The natasha models the normalisation runs (loaded once, by the NER module)."""

    segmenter: Any  # natasha.Segmenter
    tagger: Any  # natasha.NewsMorphTagger
    vocab: Any  # natasha.MorphVocab


_ELLIPSIS = re.compile(r"\s+(?:и|или)\s+[А-ЯЁ][а-яё]+\s+([А-ЯЁ][а-яё]+)")


def elliptic(
    text: str, stop: int, later: Sequence[tuple[int, int]], models: Morphology
) -> str | None:
    """``Центральной`` in ``Центральной и Южной Азией``: the nominative of the adjective with
    the noun of the next name (``Центральная Азия``), when that name is a span found too."""
    m = _ELLIPSIS.match(text, stop)
    if not m or not any(a == m.start(1) - len(m.group(1)) - 1 or b == m.end(1) for a, b in later):
        return None
    phrase = text[_word_start(text, stop) : stop] + " " + m.group(1)
    normal, _ = normalize([(phrase, 0, len(phrase), "location")], models)[(phrase, "location")]
    return normal


def _word_start(text: str, stop: int) -> int:
    i = stop
    while i > 0 and text[i - 1].isalpha():
        i -= 1
    return i


_NORMAL_CACHE: dict[tuple[str, str], tuple[str | None, bool]] = {}
_MODIFIERS = ("ADJ", "VERB", "DET", "NUM")  # before the head noun: agree with it
_HEADS = ("NOUN", "PROPN")


class _FixedSpans:
    """Stands in for the NER tagger in ``Doc.tag_ner``: returns the spans we already have."""

    def __init__(self, spans: list[tuple[int, int, str]]) -> None:
        self.spans = spans

    def __call__(self, text: str) -> _FixedSpans:
        return self


def _sentence(text: str, start: int, stop: int) -> tuple[int, int]:
    dot = text.rfind(". ", 0, start)
    lo = max(dot + 2 if dot != -1 else 0, text.rfind("\n", 0, start) + 1)
    ends = [e for e in (text.find(". ", stop), text.find("\n", stop)) if e != -1]
    return lo, (min(ends) + 1 if ends else len(text))


def _head_normal(vocab: Any, tokens: Sequence[Any]) -> str:
    """The nominative of a noun phrase's head (modifiers and the first noun); the words after it
    (genitive complements: ``культуры Киргизии``) stay as written."""
    from natasha.norm import inflect_word
    from natasha.shape import recover_shape

    parts: list[str] = []
    head_done = False
    prev_stop: int | None = None
    for tok in tokens:
        word = tok.text
        if not head_done and tok.pos in _MODIFIERS + _HEADS:
            try:
                word = recover_shape(inflect_word(vocab, tok), tok.text)
            except Exception:  # odd shapes: keep the word
                word = tok.text
            head_done = tok.pos in _HEADS
        else:
            head_done = True
        if prev_stop is not None:
            parts.append(" " * (tok.start - prev_stop))
        parts.append(word)
        prev_stop = tok.stop
    return "".join(parts)


def normalize(
    items: list[tuple[str, int, int, str]], models: Morphology
) -> dict[tuple[str, str], tuple[str | None, bool]]:
    """(surface, type) -> (nominative, whether it is one adjective) for the names
    text[start:stop] of the given type: each new surface is normalised once (cached per
    process), in its sentence; the sentences are morph-tagged in one batch. Persons: every word
    (natasha); places and organisations: the head noun phrase (:func:`_head_normal`)."""
    from natasha import Doc

    segmenter, morph, vocab = models
    # the new surfaces, grouped by sentence: one doc per sentence
    by_sent: dict[tuple[int, int, int], list[tuple[tuple[str, str], int, int]]] = {}
    texts: dict[int, str] = {}
    todo: set[tuple[str, str]] = set()
    for text, start, stop, t in items:
        key = (text[start:stop], t)
        if key in _NORMAL_CACHE or key in todo:
            continue
        todo.add(key)
        lo, hi = _sentence(text, start, stop)
        texts[id(text)] = text
        by_sent.setdefault((id(text), lo, hi), []).append((key, start - lo, stop - lo))
    docs: list[tuple[Any, list[tuple[tuple[str, str], int, int]]]] = []
    for (tid, lo, hi), names in by_sent.items():
        doc = Doc(texts[tid][lo:hi])
        try:
            doc.segment(segmenter)
        except Exception:  # natasha may fail on odd input; keep the surface
            _NORMAL_CACHE.update((key, (None, False)) for key, _, _ in names)
            continue
        docs.append((doc, names))
    sents = [sent for doc, _ in docs for sent in doc.sents]
    if sents:
        words = [[tok.text for tok in sent.tokens] for sent in sents]
        for sent, markup in zip(sents, morph.map(words), strict=True):
            for tok, tagged in zip(sent.tokens, markup.tokens, strict=True):
                tok.pos, tok.feats = tagged.pos, tagged.feats
    if len(_NORMAL_CACHE) > 100_000:
        _NORMAL_CACHE.clear()
    for doc, names in docs:
        for key, a, b in names:
            normal, lone_adj = None, False
            try:
                doc.tag_ner(_FixedSpans([(a, b, "PER")]))
                for span in doc.spans:
                    if key[1] == "person":
                        span.normalize(vocab)
                        normal = str(span.normal) if span.normal else None
                    else:
                        normal = _head_normal(vocab, span.tokens) or None
                        lone_adj = len(span.tokens) == 1 and span.tokens[0].pos == "ADJ"
            except Exception:  # keep the surface
                normal = None
            _NORMAL_CACHE[key] = (normal, lone_adj)
    return {(t[a:b], ty): _NORMAL_CACHE.get((t[a:b], ty), (None, False)) for t, a, b, ty in items}
