"""Entity linking: give every mention a canonical ``entity_id``.

1. A gazetteer alias match keeps the gazetteer id (``country:CN``, ``org:sco``, ...).
2. A person found by NER is keyed by a normalised name (nominative from natasha, Cyrillic
   transliterated, a few spelling variants folded: y/i, ye/e, kh/h, dzh/j, double letters), so
   ``Владимир Воронков`` and ``Vladimir Voronkov`` share a key. A key known to the gazetteer takes
   its id. A surname alone (``Voronkov``, ``Mr Voronkov``, ``Р.Алимов``) resolves to a full name
   seen in the same article, else to the one gazetteer person with that surname.
3. Anything else becomes a new entity whose id is derived from its normalised name
   (``person:<slug>``, ``org:<slug>``, ``loc:<slug>``): the same name gives the same id in every
   run.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from .gazetteer import Entity, Gazetteer, Match, ru_forms
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


def name_key(name: str) -> str:
    """Spelling-insensitive key of a person name: 'Yevgeny Sysoyev' == 'Евгений Сысоев'."""
    s = _TITLES.sub("", name.strip())
    s = ascii_fold(s).lower()
    s = re.sub(r"[^a-z]+", " ", s).strip()
    for a, b in _KEY_RULES:
        s = s.replace(a, b)
    s = re.sub(r"([a-z])\1", r"\1", s)
    return s


def _tokens(name: str) -> list[str]:
    """Name words without titles; initials (single letters) dropped."""
    s = _TITLES.sub("", name.strip())
    return [t for t in re.split(r"[\s.]+", s) if len(t) > 1]


def _initial(name: str) -> str | None:
    m = re.match(r"^\s*(\w)\.\s*\w", _TITLES.sub("", name.strip()))
    return name_key(m.group(1))[:1] if m else None


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
        taken = [(m.start, m.end) for m in matches]
        free = [s for s in spans if not any(s.start < e and b < s.end for b, e in taken)]
        # full names first, so that surnames can resolve to them
        free.sort(key=lambda s: (s.type != "person" or len(_tokens(s.normal)) < 2, s.start))
        for sp in free:
            eid = self._link_span(sp, seen)
            if eid is None:
                continue
            linked = self.entity(eid)
            etype = linked.type if linked else sp.type
            out.append(Mention(sp.start, sp.end, sp.text, eid, etype, "ner"))
            taken.append((sp.start, sp.end))
        out += self._surnames(text, out, taken)
        out.sort(key=lambda m: m.start)
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
        forms = sorted((f for f, ids in by_form.items() if len(ids) == 1), key=len, reverse=True)
        if not forms:
            return []
        pat = re.compile(r"(?<![\w.-])(?:" + "|".join(map(re.escape, forms)) + r")(?![\w-])")
        out: list[Mention] = []
        for mt in pat.finditer(text):
            a, b = mt.span()
            if any(a < e and s < b for s, e in taken):
                continue
            (eid,) = by_form[mt.group()]
            out.append(Mention(a, b, mt.group(), eid, "person", methods[eid]))
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
        latin = ascii_fold(toks[0]) if re.search("[а-яА-ЯёЁ]", toks[0]) else toks[0]
        return self._new("person", "person", skey, latin, sp.text)


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
