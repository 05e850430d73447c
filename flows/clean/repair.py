"""Repair damaged no-break spaces, glued prepositions and mojibake in article text.

The English editions of the portals put a no-break space (U+00A0) after short prepositions
("of\u00a0the"). Copies of those pages reach us damaged in several ways, each counted by kind:

- ``nbsp``            U+00A0 (and its narrow/figure variants, a stray ``&nbsp;``) -> space
- ``latin1_nbsp``     ``Â`` + U+00A0, ``Â`` + space, or ``Â`` between letters -> space
- ``mac_roman_nbsp``  ``†`` between word characters or after a preposition (``of†the``,
                      ``of†“peace”``) -> space; a footnote dagger (``Alimov†``) stays
- ``cp437_nbsp``      ``á`` after a preposition, before a word (``ofáthe``) -> space;
                      names such as ``Málaga`` or ``Inácio`` stay
- ``glued``           a preposition glued to the next word (``ofthe``, ``inNew``, ``bySCO``)
- ``mojibake``        other UTF-8-read-as-cp1252 damage, fixed with ftfy (``â€™`` -> ``’``)
- ``whitespace``      runs of spaces/tabs, spaces before punctuation, trailing spaces

The ``†``/``á``/glued kinds are repaired in English text only; tokens inside URLs or
identifiers stay. This module holds the passes over a text and their counts; where one token
splits is ``flows/clean/glued.py``'s, which words and names are known is
``flows/clean/lexicon.py``'s. A real word that reads as a glued preposition (``indifferent``)
is split only in a text that shows ``GLUED_EVIDENCE`` unambiguous glued repairs. Transforms are
pure. ``normalize_for_hash`` gives the canonical form content hashes are taken of.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy

from infoshos.flows.clean.glued import split_cp437, split_glued
from infoshos.flows.clean.language import detect_language
from infoshos.flows.clean.lexicon import NBSP_WORDS, PREP_SET, PREPOSITIONS, split_ambiguous
from infoshos.flows.text import CJK_RE, CYRILLIC, LATIN, chars

KINDS: tuple[str, ...] = (
    "nbsp",
    "mac_roman_nbsp",
    "cp437_nbsp",
    "latin1_nbsp",
    "glued",
    "mojibake",
    "whitespace",
)

#: How many unambiguous glued repairs in a text count as evidence of glued damage.
GLUED_EVIDENCE = 2


# --------------------------------------------------------------------------------------------
# Compiled patterns

_CP1252_CONT = "".join(
    bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(0x80, 0xC0)
)
_CONT_CLASS = "[" + re.escape(_CP1252_CONT + "".join(chr(c) for c in range(0x80, 0xA0))) + "]"
# A UTF-8 lead byte read as cp1252/latin-1 followed by continuation bytes read the same way.
_MOJIBAKE_HINT = re.compile(
    "(?:[\u00c2-\u00df]" + _CONT_CLASS + "|[\u00e0-\u00ef]" + _CONT_CLASS + "{2})"
)
_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=False,
    uncurl_quotes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    fix_line_breaks=False,
    normalization=None,
    explain=False,
)

_LATIN1_NBSP = re.compile(
    "\u00c2\u00a0"  # Â + NBSP
    "|(?<![A-Z\u00c0-\u00de])\u00c2(?= )"  # Â + plain space (the space stays)
    "|(?<=[a-z])\u00c2(?=\\w)"  # Â alone between letters
)
_NBSP = re.compile("[\u00a0\u202f\u2007]")
_NBSP_ENTITY = re.compile("&nbsp;|&#160;|&#xa0;", re.IGNORECASE)


def _cased_words(words: frozenset[str] | tuple[str, ...]) -> list[str]:
    return [alt for w in words for alt in (w, w.capitalize())]


_Trie = dict[str, "_Trie"]


def _trie_pattern(words: list[str]) -> str:
    """A regex matching any of ``words``, as a prefix trie (``re`` does not factor alternations;
    a trie with a first-letter look-ahead is about three times faster than ``a|b|c``)."""
    trie: _Trie = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: _Trie) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        group = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in node:
            return "(?:" + "|".join(alts) + ")?"
        return group

    first = "".join(sorted({re.escape(w[0]) for w in words}))
    return "(?=[" + first + "])" + build(trie)


_MAC_ROMAN = re.compile("(?<=\\w)\u2020(?=\\w)")
_MAC_ROMAN_AFTER_PREP = re.compile(
    "(?<![\\w'\u2019&;-])(" + _trie_pattern(_cased_words(NBSP_WORDS)) + ")\u2020"
)
_CP437_TOKEN = re.compile("\\w*\u00e1\\w*")
# A token starting with a preposition, or a bare lowercase preposition glued to an opening
# quote or bracket (of"word", in(RATS), to“peace”).
_PREP_TRIE = _trie_pattern(_cased_words(PREPOSITIONS))
_GLUE_CANDIDATE = re.compile(r"\b" + _PREP_TRIE + r"(?:\w+|(?=[\u201c\u2018\u00ab(\[]|\"\w))")
_GLUE_TOKEN = re.compile(r"\b" + _PREP_TRIE + r"\w+")
_QUOTE_OPENERS = ("\u201c", "\u2018", "\u00ab", "(", "[", '"')
_NO_SPLIT_BEFORE = frozenset("'\u2019&;-")
_CODE_BEFORE = frozenset("./\\@#_=:`~<$%+*?&")
_CODE_AFTER = frozenset("./\\@#_=:$%+*")
_MOJIBAKE_LEAD = re.compile("[\u00c2-\u00ef]")
# Spacing, each pass run only when a cheap substring test says it may apply:
# trailing spaces, spaces before closing punctuation, spaces after an opening bracket (all
# removed), then runs of spaces/tabs and lone tabs (one space).
_WS_PASSES: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    ((" \n", "\t\n"), re.compile(r"[ \t]+(?=\n)"), ""),
    (
        (" ,", " .", " ;", " :", " !", " ?", " )", " ]"),
        re.compile(r"(?<=\S) +(?=[,.;:!?)\]](?:\s|$))"),
        "",
    ),
    (("( ", "[ "), re.compile(r"(?<=[(\[]) +"), ""),
    (("  ", "\t"), re.compile(r"[ \t]{2,}|\t"), " "),
)


def _fix_whitespace(text: str) -> tuple[str, int]:
    stripped = text.rstrip(" \t")
    total = 1 if len(stripped) != len(text) else 0
    text = stripped
    for hints, pattern, repl in _WS_PASSES:
        if any(h in text for h in hints):
            text, n = pattern.subn(repl, text)
            total += n
    return text, total


_LATIN = chars(LATIN)
_CYRILLIC = chars(CYRILLIC)


# --------------------------------------------------------------------------------------------
# Public API


def _is_english(text: str, language: str | None) -> bool:
    if language is not None:
        return language == "en" or (language == "und" and _mostly_latin(text))
    lang = detect_language(text)
    return lang == "en" or (lang == "und" and _mostly_latin(text))


def _mostly_latin(text: str) -> bool:
    latin = len(_LATIN.findall(text))
    other = len(_CYRILLIC.findall(text)) + len(CJK_RE.findall(text))
    return latin > 0 and latin >= 4 * other


def _latin1_sub(m: re.Match[str]) -> str:
    # "Â" + NBSP -> space; "Â" before a plain space -> nothing; "Â" between letters -> space
    end = m.end()
    if m.group() == "\u00c2" and end < len(m.string) and m.string[end] == " ":
        return ""
    return " "


def _fix_mojibake(text: str) -> tuple[str, int]:
    if not _MOJIBAKE_LEAD.search(text) or not _MOJIBAKE_HINT.search(text):
        return text, 0
    fixed = ftfy.fix_text(text, _FTFY_CONFIG)
    if fixed == text:
        return text, 0
    return fixed, _count_changes(text, fixed)


def _count_changes(before: str, after: str) -> int:
    """Number of separate changed stretches between two texts (small diff, rare path)."""
    from difflib import SequenceMatcher

    start = 0
    limit = min(len(before), len(after))
    while start < limit and before[start] == after[start]:
        start += 1
    end_b, end_a = len(before), len(after)
    while end_b > start and end_a > start and before[end_b - 1] == after[end_a - 1]:
        end_b -= 1
        end_a -= 1
    matcher = SequenceMatcher(None, before[start:end_b], after[start:end_a], autojunk=False)
    return max(1, sum(1 for op in matcher.get_opcodes() if op[0] != "equal"))


def repair_text(text: str, language: str | None = None) -> tuple[str, dict[str, int]]:
    """Repair ``text``; return the new text and the number of repairs by kind.

    ``language`` is ``en``/``ru``/``zh``/``und``; None detects it. The ``†``, ``á`` and glued
    repairs run on English text only; the rest on every language.
    """
    counts = dict.fromkeys(KINDS, 0)
    if not text:
        return text, counts

    if "\u00c2" in text:
        text, counts["latin1_nbsp"] = _LATIN1_NBSP.subn(_latin1_sub, text)

    text, counts["mojibake"] = _fix_mojibake(text)

    text, counts["nbsp"] = _NBSP.subn(" ", text)
    if "&" in text:  # an entity left unescaped by an extractor
        text, n = _NBSP_ENTITY.subn(" ", text)
        counts["nbsp"] += n

    if _is_english(text, language):
        if "\u2020" in text:
            text, n1 = _MAC_ROMAN.subn(" ", text)
            text, n2 = _MAC_ROMAN_AFTER_PREP.subn(r"\1 ", text)
            counts["mac_roman_nbsp"] = n1 + n2
        if "\u00e1" in text:
            cp437 = 0

            def _cp437(m: re.Match[str]) -> str:
                nonlocal cp437
                new, k = split_cp437(m.group())
                cp437 += k
                return new

            text = _CP437_TOKEN.sub(_cp437, text)
            counts["cp437_nbsp"] = cp437

        glued = 0
        quotes = any(q in text for q in _QUOTE_OPENERS)

        def _glued(m: re.Match[str]) -> str:
            nonlocal glued
            tok = m.group()
            string, start, end = m.string, m.start(), m.end()
            before = string[start - 1] if start else ""
            after = string[end : end + 2]
            if before in _CODE_BEFORE or (after[:1] in _CODE_AFTER and after[1:2].isalnum()):
                return tok  # part of a URL, a file name or an identifier
            if tok in PREP_SET:
                # a bare preposition glued to a quote or bracket: of“peace”, in(RATS)
                if before in _NO_SPLIT_BEFORE or after[:1] not in _QUOTE_OPENERS:
                    return tok
                glued += 1
                return tok + " "
            new = split_glued(tok, after[:1] == "-")
            if new is None:
                return tok
            glued += 1
            return new

        text = (_GLUE_CANDIDATE if quotes else _GLUE_TOKEN).sub(_glued, text)
        if glued >= GLUED_EVIDENCE:
            # context: this text lost its no-break spaces, so a dominant glued reading of a
            # real word is the likelier one
            def _ambiguous(m: re.Match[str]) -> str:
                nonlocal glued
                new = split_ambiguous(m.group())
                if new is None:
                    return m.group()
                glued += 1
                return new

            text = _GLUE_TOKEN.sub(_ambiguous, text)
        counts["glued"] = glued

    text, counts["whitespace"] = _fix_whitespace(text)
    return text, counts


# --------------------------------------------------------------------------------------------
# Hash normalisation

_HASH_TRANSLATE = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u0060\u00b4", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b", "-"),
        "\u2026": "...",
        "\u00ad": None,
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
    }
)
_ANY_SPACE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r" (?=[,.;:!?)\]])")


def normalize_for_hash(text: str) -> str:
    """Canonical form for content hashes: NFKC, casefolded, quotes/dashes unified, one space."""
    text = unicodedata.normalize("NFKC", text).translate(_HASH_TRANSLATE).casefold()
    text = _ANY_SPACE.sub(" ", text).strip()
    return _SPACE_BEFORE_PUNCT.sub("", text)
