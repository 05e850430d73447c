"""Roles stated in apposition before a person's name.

``SCO Secretary-General Rashid Alimov``, ``Director of the Executive Committee of SCO's Regional
Anti-Terrorist Structure Yevgeny Sysoyev``, ``UN Under-Secretary General and Chief of the UN
Counter-Terrorism Office Vladimir Voronkov``, ``Генеральный секретарь ШОС Рашид Алимов``.

For each person mention, the words just before it (back to the previous person, a clause
boundary, or the first word that is neither a role title, an entity mention, a capitalised word
nor a particle such as "of", "the", "and") are searched for role titles. A role's organisation is
the last organisation mentioned between the title and the next title ("Director of ... RATS"),
else the last one just before the title ("SCO Secretary-General"); a country stands in when no
organisation is named ("Foreign Minister of Russia").
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from .linking import Mention

# (pattern, canonical role); tried in order, so longer titles come first.
ROLE_PATTERNS: list[tuple[str, str]] = [
    (r"Deputy\s+Secretar(?:y|ies)[-\s]+General", "Deputy Secretary-General"),
    (r"Under[-\s]+Secretary[-\s]+General", "Under-Secretary-General"),
    (r"Assistant\s+Secretary[-\s]+General", "Assistant Secretary-General"),
    (r"Secretary[-\s]+General", "Secretary-General"),
    (r"Executive\s+Secretary", "Executive Secretary"),
    (r"Executive\s+Director", "Executive Director"),
    (r"Director[-\s]+General", "Director-General"),
    (r"Deputy\s+Director", "Deputy Director"),
    (r"Director(?:\s+of\s+the\s+Executive\s+Committee)?", "Director"),
    (r"Minister\s+of\s+Foreign\s+Affairs|Foreign\s+Minister", "Foreign Minister"),
    (r"Prime\s+Minister|Premier", "Prime Minister"),
    (r"Vice[-\s]+President", "Vice-President"),
    (r"President", "President"),
    (r"Chairman|Chairperson|Chairwoman", "Chairman"),
    (r"Chief|Head", "Head"),
    (r"Special\s+Representative", "Special Representative"),
    (r"Ambassador", "Ambassador"),
    (
        r"[Зз]аместител\w*\s+[Гг]енеральн\w*\s+[Сс]екретар\w*|[Зз]амгенсек\w*",
        "Deputy Secretary-General",
    ),
    (r"[Гг]енеральн\w*\s+[Сс]екретар\w*|[Гг]енсек\w*", "Secretary-General"),
    (r"[Ии]сполнительн\w*\s+[Сс]екретар\w*", "Executive Secretary"),
    (r"[Ии]сполнительн\w*\s+[Дд]иректор\w*", "Executive Director"),
    (r"[Гг]енеральн\w*\s+[Дд]иректор\w*", "Director-General"),
    (r"[Зз]аместител\w*\s+[Дд]иректор\w*", "Deputy Director"),
    (r"[Дд]иректор\w*(?:\s+[Ии]сполнительн\w*\s+[Кк]омитет\w*)?", "Director"),
    (r"[Мм]инистр\w*\s+иностранных\s+дел", "Foreign Minister"),
    (r"[Пп]ремьер-министр\w*", "Prime Minister"),
    (r"[Пп]резидент\w*", "President"),
    (r"[Пп]редседател\w*", "Chairman"),
    (r"[Рр]уководител\w*|[Гг]лав(?:а|ы|ой|е|у)", "Head"),
    (r"[Сс]пецпредставител\w*|[Сс]пециальн\w*\s+представител\w*", "Special Representative"),
    (r"[Пп]ос(?:ол|ла|лу|лом|ле)", "Ambassador"),
]  # fmt: skip
_ROLE_RE = re.compile(
    "|".join(f"(?P<r{i}>\\b(?:{p})\\b)" for i, (p, _) in enumerate(ROLE_PATTERNS))
)
_PARTICLES = {"of", "the", "and", "at", "for", "on", "in", "to", "и", "по", "в", "при", "&"}
_BOUNDARY = re.compile(r"(?<=[a-zа-яё0-9)\x00])[.!?](?=\s)|[;:,\n\"«»“”]")
_MENTION, _ROLE = "\x00", "\x01"
_WINDOW = 300


def find_roles(text: str, mentions: list[Mention]) -> list[tuple[str, str, str | None]]:
    """(person_id, role, org_id) for every role stated before a person mention."""
    out: list[tuple[str, str, str | None]] = []
    ments = sorted(mentions, key=lambda m: m.start)
    for i, p in enumerate(ments):
        if p.type != "person":
            continue
        lo = max(0, p.start - _WINDOW)
        for q in ments[:i]:
            if q.type == "person" and q.end <= p.start:
                lo = max(lo, q.end)
        inside = [m for m in ments[:i] if m.start >= lo and m.end <= p.start]
        chars = list(text[lo : p.start])
        for m in inside:
            chars[m.start - lo : m.end - lo] = _MENTION * (m.end - m.start)
        masked = "".join(chars)
        bounds = [b.end() for b in _BOUNDARY.finditer(masked)]
        start = bounds[-1] if bounds else 0
        roles = []
        for rm in _ROLE_RE.finditer(masked, start):
            name = ROLE_PATTERNS[int((rm.lastgroup or "r0")[1:])][1]
            roles.append((rm.start() + lo, rm.end() + lo, name))
            chars[rm.start() : rm.end()] = _ROLE * (rm.end() - rm.start())
        if not roles:
            continue
        masked = "".join(chars)
        # the chain of allowed tokens that ends at the person
        chain_start = start + lo
        for tok in reversed(list(re.finditer(r"\S+", masked[start:]))):
            word = tok.group().strip("()[]'\u2019-")
            if not (
                word == ""
                or set(word) <= {_MENTION, _ROLE, "'", "\u2019", "s", "-", ")", "("}
                or word.lower() in _PARTICLES
                or word[:1].isupper()
                or word[:1] in (_MENTION, _ROLE)
            ):
                chain_start = tok.end() + start + lo
                break
        roles = [r for r in roles if r[0] >= chain_start]
        orgs = [m for m in inside if m.type in ("org", "country") and m.start >= chain_start]
        for j, (rs, _re, name) in enumerate(roles):
            nxt = roles[j + 1][0] if j + 1 < len(roles) else p.start
            prv = roles[j - 1][1] if j > 0 else chain_start
            org = _pick([m for m in orgs if rs <= m.start and m.end <= nxt])
            if org is None:
                org = _pick([m for m in orgs if prv <= m.start and m.end <= rs])
            out.append((p.entity_id, name, org))
    return out


def _pick(cands: list[Mention]) -> str | None:
    org_only = [m for m in cands if m.type == "org"]
    pool = org_only or cands
    return pool[-1].entity_id if pool else None


def role_rows(
    article_id: str, text: str, mentions: list[Mention], as_of: date | None
) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for person_id, role, org_id in find_roles(text, mentions):
        key = (person_id, role)
        if key in rows and rows[key]["org_id"] is not None:
            continue
        rows[key] = {
            "article_id": article_id,
            "person_id": person_id,
            "role": role,
            "org_id": org_id,
            "as_of": as_of,
        }
    return list(rows.values())
