"""Entity linking: give every mention a canonical ``entity_id``.

1. A gazetteer alias match keeps the gazetteer id (``country:CN``, ``org:sco``, ...).
2. A person found by NER is keyed by a normalised name (nominative from natasha, Cyrillic
   transliterated, a few spelling variants folded: y/i, ye/e, kh/h, dzh/j, double letters), so
   ``Владимир Воронков`` and ``Vladimir Voronkov`` share a key. A key known to the gazetteer takes
   its id. A surname alone (``Voronkov``, ``Mr Voronkov``, ``Р.Алимов``) resolves to a full name
   seen in the same article, else to the one gazetteer person with that surname.
3. Anything else becomes a new entity whose id is derived from its normalised name
   (``person:<slug>``, ``org:<slug>``, ``loc:<slug>``): the same name gives the same id in every
   run. Except: a lone word that NER takes for a person and that resolves to nobody is dropped
   ("Slovak chairmanship"), or is a place after "in", "at", "from" ("an office in Bogotá"); a
   bare organ word ("the Secretariat") is the one body of that kind the article names
   ("SCO Secretariat"), else dropped.

Gazetteer matches win over the NER spans they overlap, except an organisation found by NER that
contains them whole and extends them into the name of another body: "SCO Youth Council" or
"Университета ШОС" (with a word such as Council, Club, Group, University, Ministry), but not the
parent's own organs ("RATS Council", "CSTO Secretariat") nor events and projects ("SCO Kunming
International Marathon", "Eight Wonders of the SCO"). The parties of a pair inside a name are
mentions too: "SCO-Afghanistan Contact Group" mentions the SCO and Afghanistan.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .gazetteer import NOT_NAME, Entity, Gazetteer, Match, ru_forms
from .ner import NerSpan

_CYR = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "_",
            "y",
            "_",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)
_TITLES = re.compile(
    r"^(?:mr|mrs|ms|dr|prof|mister|madam|г-н|г-жа|господин|госпожа|гн)\.?\s+", re.IGNORECASE
)
_KEY_RULES = (("dzh", "j"), ("ye", "e"), ("yo", "e"), ("y", "i"), ("ii", "i"))


def translit(s: str) -> str:
    out = []
    for ch in s:
        low = ch.lower()
        if low in _CYR:
            t = _CYR[low].replace("_", "")
            out.append(t.capitalize() if ch != low else t)
        else:
            out.append(ch)
    return "".join(out)


def ascii_fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", translit(s))
    return "".join(c for c in s if not unicodedata.combining(c))


def slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", ascii_fold(s).lower()).strip("-")


@lru_cache(maxsize=1 << 16)  # names repeat across articles; a few MB
def name_key(name: str) -> str:
    """Spelling-insensitive key of a person name: 'Yevgeny Sysoyev' == 'Евгений Сысоев'."""
    s = _TITLES.sub("", name.strip())
    s = ascii_fold(s).lower()
    s = re.sub(r"[^a-z]+", " ", s).strip()
    for a, b in _KEY_RULES:
        s = s.replace(a, b)
    s = re.sub(r"([a-z])\1", r"\1", s)
    return s


def _word_char(ch: str) -> bool:
    """``\\w`` of a str pattern: a Unicode letter, digit or numeric character, or ``_``."""
    return ch.isalnum() or ch == "_"


def whole_words(text: str, forms: list[str]) -> list[tuple[int, int]]:
    """The spans of ``forms`` in ``text`` standing as words: not after a word character, ``.`` or
    ``-``, not before a word character or ``-``; scanning left to right, the longest form at a
    position, matches not overlapping. The spans of the pattern
    ``(?<![\\w.-])(?:FORM|...)(?![\\w-])`` (longest form first), found without compiling one
    per article (that compile was a third of enrichment's time)."""
    hits: list[tuple[int, int]] = []
    for form in set(forms):
        if not form:
            continue
        at = text.find(form)
        while at != -1:
            end = at + len(form)
            before = text[at - 1] if at else ""
            after = text[end] if end < len(text) else ""
            if not (before and (_word_char(before) or before in ".-")) and not (
                after and (_word_char(after) or after == "-")
            ):
                hits.append((at, -end))
            at = text.find(form, at + 1)
    out: list[tuple[int, int]] = []
    for at, neg_end in sorted(hits):  # at each position the longest first
        if not out or at >= out[-1][1]:
            out.append((at, -neg_end))
    return out


def _tokens(name: str) -> list[str]:
    """Name words without titles; initials (single letters) dropped."""
    s = _TITLES.sub("", name.strip())
    return [t for t in re.split(r"[\s.]+", s) if len(t) > 1]


def _initial(name: str) -> str | None:
    m = re.match(r"^\s*(\w)\.\s*\w", _TITLES.sub("", name.strip()))
    return name_key(m.group(1))[:1] if m else None


# Head nouns of the names of bodies (lower case; Russian as stems).
_BODY_EN = {
    "university", "ministry", "club", "group", "centre", "center", "bank", "fund", "institute",
    "academy", "agency", "association", "union", "consortium", "alliance", "federation",
    "foundation", "network", "chamber", "society", "league", "party", "bureau", "service",
    "department", "office", "directorate", "commission", "committee", "council", "secretariat",
    "assembly", "board", "parliament", "court", "corporation", "company", "organisation",
    "organization", "school", "college", "museum", "library", "administration", "government",
    "structure", "team", "mission",
}  # fmt: skip
_BODY_RU = re.compile(
    r"^(?:университет|министерств|клуб|групп|центр|банк|фонд|институт|академи|агентств|"
    r"ассоциаци|союз|объединени|консорциум|альянс|федераци|палат|обществ|парти|бюро|служб|"
    r"департамент|управлени|дирекци|комисси|комитет|исполком|совет|секретариат|ассамбле|"
    r"парламент|суд|корпораци|компани|организаци|школ|колледж|музе|библиотек|администраци|"
    r"правительств|структур|миссия|миссии)"
)
# Organs every body has: "RATS Council" is the RATS, "the Secretariat" the one named.
_ORGAN_EN = {"council", "secretariat", "committee", "executive", "board", "presidium"}
_ORGAN_RU = re.compile(r"^(?:совет|секретариат|комитет|исполком|исполнительн|президиум)")
_PLACE_PREP = re.compile(r"\b(?:in|at|from|near|to|в|во|из)\s+$", re.IGNORECASE)
# a dash between two names inside a longer one: "SCO-Afghanistan", "ШОС – Афганистан"
_PAIR_DASH = re.compile(r"\s?[-\u2013\u2014]\s?")


def _descriptive(name: str) -> bool:
    """A Russian description rather than a name: no word but the first is capitalised and the
    first is not an abbreviation ("Министерство иностранных дел", "Деловой совет")."""
    words = name.split()
    if len(words) < 2 or not re.search("[а-яё]", name) or words[0].isupper():
        return False
    return all(w[:1].islower() for w in words[1:])


def _repeat(text: str, spans: list[NerSpan]) -> list[NerSpan]:
    """A name of a place or body found once is found wherever the article repeats it (NER may
    miss it in another context: "летнюю школу Университета ШОС для студентов")."""
    names = {sp.text: sp for sp in spans if sp.type != "person" and len(sp.text) > 3}
    if not names:
        return spans
    out = list(spans)
    pat = re.compile(
        r"(?<![\w-])(?:"
        + "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
        + r")(?![\w-])"
    )
    for m in pat.finditer(text):
        a, b = m.span()
        if any(sp.start < b and a < sp.end for sp in out):
            continue
        sp = names[m.group()]
        out.append(NerSpan(a, b, sp.type, sp.text, sp.normal))
    out.sort(key=lambda sp: sp.start)
    return out


def _is_body(word: str) -> bool:
    w = word.lower()
    return w in _BODY_EN or bool(_BODY_RU.match(w))


def _is_organ(word: str) -> bool:
    w = word.lower()
    return w in _ORGAN_EN or bool(_ORGAN_RU.match(w))


def names_other_body(text: str, start: int, end: int, inner: list[tuple[int, int]]) -> bool:
    """Whether text[start:end], a name containing the names ``inner``, is the name of another
    body: its other words include a capitalised one and a body noun that is not just an organ of
    the inner body ("Youth Council", "Университета", "Министерства культуры")."""
    rest: list[str] = []
    pos = start
    for a, b in sorted(inner):
        rest += re.findall(r"\w+", text[pos:a])
        pos = b
    rest += re.findall(r"\w+", text[pos:end])
    if not any(w[0].isupper() for w in rest) or not any(_is_body(w) for w in rest):
        return False
    return not all(_is_organ(w) or w[0].islower() for w in rest)


@dataclass
class Mention:
    start: int
    end: int
    surface: str
    entity_id: str
    type: str
    method: str  # gazetteer or ner


@dataclass
class Linker:
    """Links the mentions of one batch; collects the entities it creates."""

    gaz: Gazetteer
    new: dict[str, Entity] = field(default_factory=dict)
    _full: dict[str, str] = field(default_factory=dict)
    _surname: dict[str, set[str]] = field(default_factory=dict)
    _forms: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for e in self.gaz.entities.values():
            if e.type != "person":
                continue
            for n in [e.name, *e.aliases]:
                toks = _tokens(n)
                if len(toks) >= 2:
                    self._full.setdefault(name_key(n), e.entity_id)
                    self._surname.setdefault(name_key(toks[-1]), set()).add(e.entity_id)
            if e.surname:
                self._surname.setdefault(name_key(e.surname), set()).add(e.entity_id)

    def surname_forms(self, entity_id: str) -> set[str]:
        """Ways the person's surname alone may be written (Voronkov, Воронков, Воронковым)."""
        cached = self._forms.get(entity_id)
        if cached is not None:
            return cached
        ent = self.entity(entity_id)
        forms: set[str] = set()
        if ent is not None:
            names = [ent.name, *ent.aliases]
            if ent.surname:
                forms.add(ent.surname)
            for n in names:
                toks = _tokens(n)
                if len(toks) < 2 or ent.surname and ent.surname in toks:
                    continue
                last = toks[-1]
                if re.search("[а-яА-ЯёЁ]", last):
                    forms.update(ru_forms(last, person=True))
                else:
                    forms.add(last)
        forms = {f for f in forms if len(f) >= 2 and f[0].isupper()}
        if entity_id in self.gaz.entities:  # new entities may still gain aliases
            self._forms[entity_id] = forms
        return forms

    def entity(self, entity_id: str) -> Entity | None:
        return self.gaz.entities.get(entity_id) or self.new.get(entity_id)

    def _new(self, prefix: str, type_: str, key_src: str, name: str, surface: str) -> str:
        eid = f"{prefix}:{slug(key_src)}"
        ent = self.new.get(eid)
        if ent is None:
            ent = self.new[eid] = Entity(eid, type_, name)
        elif re.search("[а-яА-ЯёЁ]", ent.name) and not re.search("[а-яА-ЯёЁ]", name):
            ent.aliases.append(ent.name)  # prefer a Latin-script canonical name
            ent.name = name
        for a in (name, surface):
            if a != ent.name and a not in ent.aliases:
                ent.aliases.append(a)
        return eid

    def link(self, text: str, matches: list[Match], spans: list[NerSpan]) -> list[Mention]:
        """Mentions of one article from its gazetteer matches (``not_names`` matches, id ``""``,
        included: no name is found in them) and NER spans."""
        blocked = [(m.start, m.end) for m in matches if m.entity_id == NOT_NAME]
        matches = [m for m in matches if m.entity_id != NOT_NAME]
        spans = _repeat(text, spans)
        matches, bodies = self._bodies(text, matches, spans)
        out: list[Mention] = []
        # article-level person index: surname key -> [(full key, first-initial, id)]
        seen: dict[str, list[tuple[str, str]]] = {}
        for m in matches:
            ent = self.gaz.entities[m.entity_id]
            out.append(Mention(m.start, m.end, text[m.start : m.end], ent.entity_id, ent.type,
                               "gazetteer"))  # fmt: skip
            if ent.type == "person":
                toks = _tokens(ent.name)
                if ent.surname:
                    seen.setdefault(name_key(ent.surname), []).append(
                        (name_key(toks[0])[:1], ent.entity_id)
                    )
                if toks:
                    seen.setdefault(name_key(toks[-1]), []).append(
                        (name_key(toks[0])[:1], ent.entity_id)
                    )
        taken = [(m.start, m.end) for m in matches] + blocked
        free = bodies + [
            s
            for s in spans
            if s not in bodies and not any(s.start < e and b < s.end for b, e in taken)
        ]
        named = {m.entity_id for m in matches}
        # full names first, so that surnames can resolve to them
        free.sort(key=lambda s: (s.type != "person" or len(_tokens(s.normal)) < 2, s.start))
        for sp in free:
            if _is_organ(sp.normal) and " " not in sp.normal.strip():
                eid = self._organ(sp.normal, named)
            elif sp.type == "org" and _descriptive(sp.normal):
                eid = self._short_form(sp.normal, named)
            else:
                eid = self._link_span(sp, seen)
                if eid is None and sp.type == "person":
                    eid = self._lone_word(text, sp)
            if eid is None:
                continue
            linked = self.entity(eid)
            etype = linked.type if linked else sp.type
            out.append(Mention(sp.start, sp.end, sp.text, eid, etype, "ner"))
            taken.append((sp.start, sp.end))
        out += self._surnames(text, out, taken)
        out += self._pairs(text, out)
        out.sort(key=lambda m: m.start)
        return out

    def _bodies(
        self, text: str, matches: list[Match], spans: list[NerSpan]
    ) -> tuple[list[Match], list[NerSpan]]:
        """NER organisations that contain gazetteer matches and name another body (returned
        second) win over the match that begins them ("SCO" in "SCO Youth Council"); the names
        in their complement stay mentioned ("Киргизии" in "Министерства культуры Киргизии",
        "ШОС" in "Университета ШОС")."""
        drop: set[tuple[int, int]] = set()
        bodies: list[NerSpan] = []
        for sp in spans:
            if sp.type != "org":
                continue
            inner = [m for m in matches if m.start < sp.end and sp.start < m.end]
            if not inner or any(m.start < sp.start or sp.end < m.end for m in inner):
                continue
            if names_other_body(text, sp.start, sp.end, [(m.start, m.end) for m in inner]):
                drop.update((m.start, m.end) for m in inner if m.start == sp.start)
                bodies.append(sp)
        return [m for m in matches if (m.start, m.end) not in drop], bodies

    def _short_form(self, normal: str, named: set[str]) -> str | None:
        """A description such as "Делового совета": the one body named in the article whose
        name begins with it ("Деловой совет ШОС"), else nothing."""
        low = normal.lower() + " "
        cands = {
            eid
            for eid in named
            if (ent := self.gaz.entities.get(eid)) is not None
            and ent.type == "org"
            and any(n.lower().startswith(low) for n in [ent.name, *ent.aliases])
        }
        return cands.pop() if len(cands) == 1 else None

    def _organ(self, word: str, named: set[str]) -> str | None:
        """A bare "Secretariat": the one body of that kind the article names, else nothing."""
        w = word.lower()[:8]
        cands = {
            eid
            for eid in named
            if (ent := self.gaz.entities.get(eid)) is not None
            and ent.type == "org"
            and any(n.split()[-1].lower().startswith(w) for n in [ent.name, *ent.aliases] if n)
        }
        return cands.pop() if len(cands) == 1 else None

    def _lone_word(self, text: str, sp: NerSpan) -> str | None:
        """One word taken for a person that resolved to no one: a place after "in" ("an office
        in Bogotá"), else not a name ("the Slovak chairmanship")."""
        toks = _tokens(sp.normal)
        if (
            len(toks) == 1
            and toks[0] == sp.normal
            and _PLACE_PREP.search(text[max(0, sp.start - 8) : sp.start])
        ):
            return self._new("loc", "location", sp.normal, sp.normal, sp.text)
        return None

    def _pairs(self, text: str, found: list[Mention]) -> list[Mention]:
        """The two parties of a dash pair inside a longer name ("SCO-Afghanistan Contact
        Group"): gazetteer names on either side of the dash."""
        out: list[Mention] = []
        have = {(m.start, m.end) for m in found}
        for m in found:
            if m.type != "org":
                continue
            for d in _PAIR_DASH.finditer(m.surface):
                a, b = m.start + d.start(), m.start + d.end()
                left = [x for x in self.gaz.find(text[m.start : a]) if x.end == a - m.start]
                right = [x for x in self.gaz.find(text[b : m.end]) if x.start == 0]
                if not left or not right:
                    continue
                (lm,), (rm,) = left[-1:], right[:1]
                for s, e, eid in ((m.start + lm.start, a, lm.entity_id),
                                  (b, b + rm.end, rm.entity_id)):  # fmt: skip
                    if eid != m.entity_id and (s, e) not in have:
                        have.add((s, e))
                        ent = self.gaz.entities[eid]
                        out.append(Mention(s, e, text[s:e], eid, ent.type, "gazetteer"))
        return out

    def _surnames(
        self, text: str, found: list[Mention], taken: list[tuple[int, int]]
    ) -> list[Mention]:
        """Bare surnames of the people already mentioned in this article."""
        by_form: dict[str, set[str]] = {}
        methods: dict[str, str] = {}
        for m in found:
            if m.type == "person":
                methods.setdefault(m.entity_id, m.method)
                for f in self.surname_forms(m.entity_id):
                    by_form.setdefault(f, set()).add(m.entity_id)
        forms = [f for f, ids in by_form.items() if len(ids) == 1]
        out: list[Mention] = []
        for a, b in whole_words(text, forms):
            if any(a < e and s < b for s, e in taken):
                continue
            (eid,) = by_form[text[a:b]]
            out.append(Mention(a, b, text[a:b], eid, "person", methods[eid]))
            taken.append((a, b))
        return out

    def _link_span(self, sp: NerSpan, seen: dict[str, list[tuple[str, str]]]) -> str | None:
        if sp.type != "person":
            alias_id = self.gaz.alias_ids.get(sp.text) or self.gaz.alias_ids.get(sp.normal)
            if alias_id:
                return alias_id
            prefix = "org" if sp.type == "org" else "loc"
            return self._new(prefix, sp.type if sp.type == "org" else "location", sp.normal,
                             sp.normal, sp.text)  # fmt: skip
        name = sp.normal
        toks = _tokens(name)
        if not toks:
            return None
        if len(toks) >= 2:
            key = name_key(" ".join(toks))
            eid = self._full.get(key)
            first = name_key(toks[0])[:1]
            if eid is None:
                latin = ascii_fold(name) if re.search("[а-яА-ЯёЁ]", name) else name
                eid = self._new("person", "person", key, _TITLES.sub("", latin), sp.text)
            seen.setdefault(name_key(toks[-1]), []).append((first, eid))
            return eid
        # a surname alone, possibly with an initial
        skey = name_key(toks[0])
        initial = _initial(name)
        cands = [eid for ini, eid in seen.get(skey, []) if initial is None or ini == initial]
        if cands:
            return cands[-1]
        gaz = sorted(self._surname.get(skey, ()))
        if len(gaz) == 1:
            return gaz[0]
        return None  # one word that names no one known: see _lone_word


def entity_rows(
    linker: Linker, used: set[str], surfaces: dict[str, set[str]]
) -> list[dict[str, Any]]:
    """ENTITIES rows for the ids used in this batch, aliases extended by the surfaces seen."""
    rows: list[dict[str, Any]] = []
    for eid in sorted(used):
        ent = linker.entity(eid)
        if ent is None:
            continue
        row = ent.row()
        for s in sorted(surfaces.get(eid, ())):
            if s != row["name"] and s not in row["aliases"]:
                row["aliases"].append(s)
        rows.append(row)
    return rows
