"""The curated gazetteer (``gazetteer.yaml``) and an Aho-Corasick matcher over its aliases.

Matching rules: whole words only (the characters around a match must not be letters or digits);
aliases without lower-case letters (``SCO``, ``UN``, ``ШОС``) match case-sensitively, all others
case-insensitively, except that a match written all in lower case is dropped when the alias has
capitals ("turkey" is not Turkey). When matches overlap, the longest wins (then the leftmost).
No-break spaces (and the mojibake dagger some pages carry instead) count as spaces, an em dash
as an en dash; offsets always index the original text. An alias claimed by two entities ("Mr
Zhang") is not matched. Phrases listed under ``not_names`` ("Shanghai spirit") take part in the
longest-match contest and are then dropped, so the name inside them is not matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import ahocorasick
import yaml

STATUSES = ("member", "observer", "dialogue_partner", "none")

# Characters that separate words in the texts but are not spaces (no-break spaces, and the
# mojibake dagger some pages carry instead of one). Only the matching copy is changed.
_SPACE_LIKE = str.maketrans(
    {"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2020": " ", "\u2014": "\u2013"}
)
# "государств-членов" is also written with a spaced dash: "государств – членов".
_MEMBER_DASH = re.compile(r"(государств\w*)-(?=\w)")
#: entity id of the ``not_names`` phrases (never returned)
NOT_NAME = ""
_APOS = str.maketrans({"\u2019": "'", "\u02bc": "'"})


@dataclass
class Entity:
    entity_id: str
    type: str  # person, org, country, location
    name: str
    aliases: list[str] = field(default_factory=list)
    iso_code: str | None = None
    surname: str | None = None
    roles: list[tuple[str, str, int, int | None]] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {
            "entity_id": self.entity_id,
            "type": self.type,
            "name": self.name,
            "aliases": list(self.aliases),
            "iso_code": self.iso_code,
        }


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    entity_id: str
    alias: str


# --------------------------------------------------------------------------- Russian inflection

_HUSHING = set("гкхжшчщ")
_CASES = 7  # nominative, genitive, dative, accusative, instrumental, prepositional, alternate


def _noun_forms(w: str, animate: bool = False) -> list[str]:
    """Case forms of one Russian noun (or name part) in the singular, by its ending."""
    lw = w.lower()
    if not re.search("[а-яё]$", lw) or w.isupper():
        return [w] * _CASES
    if lw.endswith("ия"):
        s = w[:-1]
        return [w, s + "и", s + "и", s + "ю", s + "ей", s + "и", s + "ею"]
    if lw.endswith("а"):
        s = w[:-1]
        gen = s + ("и" if s[-1:].lower() in _HUSHING else "ы")
        return [w, gen, s + "е", s + "у", s + "ой", s + "е", s + "ою"]
    if lw.endswith("я"):
        s = w[:-1]
        return [w, s + "и", s + "е", s + "ю", s + "ей", s + "е", s + "ею"]
    if lw.endswith("й"):
        s = w[:-1]
        return [w, s + "я", s + "ю", s + "я" if animate else w, s + "ем", s + "е", s + "и"]
    if lw.endswith("ь"):
        s = w[:-1]
        return [w, s + "я", s + "ю", s + "я" if animate else w, s + "ем", s + "е", s + "и"]
    if lw.endswith(("ов", "ев", "ёв", "ин", "ын")) and animate:
        return [w, w + "а", w + "у", w + "а", w + "ым", w + "е", w]
    if lw.endswith("ие"):
        s = w[:-1]
        return [w, s + "я", s + "ю", w, s + "ем", s + "и", w]
    if lw.endswith("ство"):
        s = w[:-1]
        return [w, s + "а", s + "у", w, s + "ом", s + "е", w]
    if lw[-1] in "оеиуыэюё":
        return [w] * _CASES
    if lw.endswith("ец") and not animate:
        return [w, w + "а", w + "у", w, w + "ем", w + "е", w]
    return [w, w + "а", w + "у", w + "а" if animate else w, w + "ом", w + "е", w]


def _adj_forms(w: str) -> list[str]:
    lw = w.lower()
    s = w[:-2]
    if lw.endswith("ая"):
        return [w, s + "ой", s + "ой", s + "ую", s + "ой", s + "ой", s + "ою"]
    if lw.endswith("яя"):
        return [w, s + "ей", s + "ей", s + "юю", s + "ей", s + "ей", s + "ею"]
    ins = s + ("им" if s[-1:].lower() in _HUSHING else "ым")
    if lw.endswith(("ый", "ой", "ое")):
        return [w, s + "ого", s + "ому", w, ins, s + "ом", w]
    if lw.endswith("ий") and s[-1:].lower() in _HUSHING:
        return [w, s + "ого", s + "ому", w, s + "им", s + "ом", w]
    if lw.endswith(("ий", "ее")):
        return [w, s + "его", s + "ему", w, s + "им", s + "ем", w]
    return [w] * _CASES


def ru_forms(phrase: str, person: bool = False) -> list[str]:
    """Nominative Russian name -> its case forms (the nominative first).

    Words after ``|`` stay as they are. In names of things, every word before the last inflected
    one that ends like an adjective is declined as an adjective; in person names every word is
    declined as an (animate) noun.
    """
    head, _, tail = phrase.partition("|")
    words = head.split()
    tail = tail.strip()
    if not words:
        return [phrase.strip()]
    per_word: list[list[str]] = []
    for i, w in enumerate(words):
        parts = w.split("-")
        if person:
            forms = _compound(parts, animate=True)
        elif i < len(words) - 1 and re.search("(ая|яя|ый|ий|ой|ое|ее)$", w.lower()):
            forms = _adj_forms(w)
        else:
            forms = _compound(parts, animate=False)
        per_word.append(forms)
    out: list[str] = []
    for c in range(_CASES):
        s = " ".join(f[c] for f in per_word)
        if tail:
            s = s + " " + tail
        if s not in out:
            out.append(s)
    return out


def _compound(parts: list[str], animate: bool) -> list[str]:
    """Hyphenated names: only the last part is declined (Шри-Ланка, Нью-Йорк, Касым-Жомарт)."""
    last = _noun_forms(parts[-1], animate)
    prefix = "-".join(parts[:-1])
    return [prefix + "-" + f if prefix else f for f in last]


# --------------------------------------------------------------------------- loading


@dataclass
class Gazetteer:
    entities: dict[str, Entity]
    #: alias (as written) -> entity id
    alias_ids: dict[str, str]
    #: iso -> [(status, from, to)]
    statuses: dict[str, list[tuple[str, int, int | None]]]
    _exact: Any = None
    _folded: Any = None

    def status_at(self, iso: str, year: int) -> str:
        """SCO status of a country in a year: member, observer, dialogue_partner or none."""
        result = "none"
        for status, start, end in self.statuses.get(iso.upper(), []):
            if start <= year and (end is None or year <= end):
                result = status  # periods are sorted; a later one wins a shared year
        return result

    def find(self, text: str, not_names: bool = False) -> list[Match]:
        """Whole-word, longest-first, non-overlapping alias matches, in text order. With
        ``not_names``, the matches of ``not_names`` phrases are included (entity id ``""``): text
        that no name should be found in."""
        if not text:
            return []
        norm = text.translate(_SPACE_LIKE).translate(_APOS)
        low = norm.lower()
        if len(low) != len(norm):  # a few characters lower-case to two; keep offsets aligned
            low = "".join(c.lower() if len(c.lower()) == 1 else c for c in norm)
        cands: list[tuple[int, int, str, str]] = []
        for end_idx, (alias, eid) in self._exact.iter(norm):
            cands.append((end_idx + 1 - len(alias), end_idx + 1, eid, alias))
        for end_idx, (alias, eid) in self._folded.iter(low):
            start = end_idx + 1 - len(alias)
            surface = norm[start : end_idx + 1]
            if alias != alias.lower() and surface == surface.lower():
                continue  # "turkey" is not Turkey
            cands.append((start, end_idx + 1, eid, alias))
        cands = [c for c in cands if _bounded(norm, c[0], c[1])]
        cands.sort(key=lambda c: (-(c[1] - c[0]), c[0]))
        taken: list[tuple[int, int]] = []
        out: list[Match] = []
        for start, end, eid, alias in cands:
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            if eid != NOT_NAME or not_names:
                out.append(Match(start, end, eid, alias))
        out.sort(key=lambda m: m.start)
        return out


def _bounded(text: str, start: int, end: int) -> bool:
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        return False
    return not (end < len(text) and (text[end].isalnum() or text[end] == "_"))


def _is_case_sensitive(alias: str) -> bool:
    return alias == alias.upper()


def _period(spec: str) -> tuple[str, int, int | None]:
    m = re.fullmatch(r"\s*(\w+)\s+(\d{4})-(\d{4})?\s*(\(\?\))?\s*", spec)
    if not m or m.group(1) not in STATUSES:
        raise ValueError(f"bad status period: {spec!r}")
    return m.group(1), int(m.group(2)), int(m.group(3)) if m.group(3) else None


def _role(spec: str) -> tuple[str, str, int, int | None]:
    m = re.fullmatch(r"\s*(.+?)\s+@\s+(\S+)\s+(\d{4})-(\d{4})?\s*(\(\?\))?\s*", spec)
    if not m:
        raise ValueError(f"bad role: {spec!r}")
    end = int(m.group(4)) if m.group(4) else None
    return m.group(1), m.group(2), int(m.group(3)), end


def _person_aliases(name: str, surname: str | None, ru: list[str], fixed: bool) -> list[str]:
    out: list[str] = []
    words = name.split()
    sur = surname or words[-1]
    first = words[0] if words[0] != sur else (words[1] if len(words) > 1 else "")
    out += [f"Mr {sur}", f"Mr. {sur}", f"Ms {sur}", f"Ms. {sur}", f"Mrs {sur}", f"Mrs. {sur}"]
    if first and sur == words[-1]:
        out += [f"{first[0]}. {sur}", f"{first[0]}.{sur}"]
    for r in ru:
        rwords = r.split()
        forms = [r] if fixed else ru_forms(r, person=True)
        out += forms
        if len(rwords) >= 2 and surname is None:
            rsur_forms = [rwords[-1]] if fixed else ru_forms(rwords[-1], person=True)
            ini = rwords[0][0]
            for f in rsur_forms:
                out += [f"{ini}.{f}", f"{ini}. {f}", f"г-н {f}", f"г-на {f}", f"г-ну {f}"]
                out += [f"г-ном {f}", f"господин {f}"]
    return out


@cache
def load() -> Gazetteer:
    """Load and index ``gazetteer.yaml`` (once per process)."""
    raw = yaml.safe_load(resources.files(__package__).joinpath("gazetteer.yaml").read_text("utf-8"))
    entities: dict[str, Entity] = {}
    statuses: dict[str, list[tuple[str, int, int | None]]] = {}
    match_aliases: dict[str, list[str]] = {}

    def add(e: Entity, extra: list[str]) -> None:
        if e.entity_id in entities:
            raise ValueError(f"duplicate gazetteer id {e.entity_id}")
        entities[e.entity_id] = e
        seen: list[str] = []
        for a in [e.name, *e.aliases, *extra]:
            a = " ".join(a.split())
            for v in (a, _MEMBER_DASH.sub("\\1 \u2013 ", a)):
                if v and v not in seen:
                    seen.append(v)
        match_aliases[e.entity_id] = seen

    for iso, d in (raw.get("countries") or {}).items():
        if not isinstance(iso, str) or len(iso) != 2:
            raise ValueError(
                f"gazetteer: country key {iso!r} is not an ISO 3166 alpha-2 code "
                '(quote codes YAML reads as booleans, like "NO")'
            )
        ru = [f for r in d.get("ru", []) for f in ru_forms(r)]
        aliases = list(d.get("aliases", [])) + [r.replace("|", "").strip() for r in d.get("ru", [])]
        add(Entity(f"country:{iso}", "country", d["name"], _dedupe(aliases), iso), ru)
        statuses[iso] = sorted((_period(p) for p in d.get("status", [])), key=lambda p: p[1])
    for kind, etype in (("orgs", "org"), ("locations", "location")):
        for d in raw.get(kind) or []:
            ru = [f for r in d.get("ru", []) for f in ru_forms(r)]
            aliases = list(d.get("aliases", [])) + [
                " ".join(r.replace("|", " ").split()) for r in d.get("ru", [])
            ]
            add(Entity(d["id"], etype, d["name"], _dedupe(aliases)), ru)
    for d in raw.get("persons") or []:
        ru = list(d.get("ru", []))
        extra = _person_aliases(d["name"], d.get("surname"), ru, bool(d.get("ru_fixed")))
        aliases = _dedupe(list(d.get("aliases", [])) + ru)
        surname = d.get("surname") or d["name"].split()[-1]
        roles = [_role(r) for r in d.get("roles", [])]
        add(Entity(d["id"], "person", d["name"], aliases, None, surname, roles), extra)

    not_names = [" ".join(str(p).split()) for p in raw.get("not_names") or []]
    owners: dict[str, set[str]] = {}
    for eid, aliases in match_aliases.items():
        for a in aliases:
            owners.setdefault(a.translate(_APOS), set()).add(eid)
    alias_ids: dict[str, str] = {}
    exact = ahocorasick.Automaton()
    folded = ahocorasick.Automaton()
    for eid, aliases in match_aliases.items():
        for a in aliases:
            key = a.translate(_APOS)
            if len(owners[key]) > 1 or key in alias_ids:
                continue  # ambiguous ("Mr Zhang"): left to the linker
            alias_ids[key] = eid
            if _is_case_sensitive(key):
                exact.add_word(key, (key, eid))
            else:
                low = key.lower()
                if len(low) == len(key) and folded.get(low, None) is None:
                    folded.add_word(low, (key, eid))
    for p in not_names:
        key = p.translate(_APOS)
        if _is_case_sensitive(key):
            exact.add_word(key, (key, NOT_NAME))
        elif len(key.lower()) == len(key):
            folded.add_word(key.lower(), (key, NOT_NAME))
    exact.make_automaton()
    folded.make_automaton()
    return Gazetteer(entities, alias_ids, statuses, exact, folded)


def _dedupe(items: list[str]) -> list[str]:
    out: list[str] = []
    for i in items:
        if i not in out:
            out.append(i)
    return out


def status_at(iso: str, year: int) -> str:
    """SCO status of the country ``iso`` in ``year`` (member, observer, dialogue_partner, none)."""
    return load().status_at(iso, year)
