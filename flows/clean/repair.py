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

The ``†``/``á``/glued kinds are repaired in English text only. Transforms are pure; the word
lists (symspellpy's English frequency dictionary, ``data/vocab.txt`` and ``data/names.txt``)
load once, lazily. A glued token ``<prep><rest>`` is split only when the whole token is not a
known word, inflection or name, and ``<rest>`` is a known word (count >= 20,000), a British
spelling of one, a capitalised name/acronym (camelCase: ``inNew``) or a number (``of15``);
the longest preposition wins (``intoaccount``). Tokens inside URLs or identifiers stay.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import ftfy

from infoshos.flows.clean.language import detect_language
from infoshos.flows.text import CJK_RE, CYRILLIC, LATIN, chars, split_words

KINDS: tuple[str, ...] = (
    "nbsp",
    "mac_roman_nbsp",
    "cp437_nbsp",
    "latin1_nbsp",
    "glued",
    "mojibake",
    "whitespace",
)


def _words(spec: str) -> frozenset[str]:
    return frozenset(spec.split())


# Prepositions (and two particles the portals also bind with a no-break space). Longest first,
# so "intoaccount" splits as "into account", not "in toaccount".
PREPOSITIONS: tuple[str, ...] = tuple(
    sorted(
        _words(
            """
        of in on at to by for with from into onto about between as over under after before
        against among amongst through throughout during without within upon towards toward via
        per across along around behind beyond near since until than despite beside besides
        inside outside below above amid like but up
        """
        ),
        key=lambda p: (-len(p), p),
    )
)
_PREP_SET = frozenset(PREPOSITIONS)
_MAX_PREP = max(map(len, PREPOSITIONS))

# Words after which a cp437 ``á`` is read as a lost no-break space.
_NBSP_WORDS = _PREP_SET | _words("a an the and or nor not no mr mrs ms dr st mt vs")

# Short remainders are only accepted from this list (the dictionary holds every letter pair).
_SHORT_REST = _words(
    "a an it its us me my be we he she no so do go up on in at to of by as or if is am "
    "all any our his her who how one two six ten new old law war"
)

# After a capitalised preposition ("Inthe", "Ofthe") the remainder must be one of these, so
# that unknown names such as "Tobin", "Forman" or "Overton" are never split.
_CAP_REST = _words("""
    the this that these those his her its their our my your which whom what all each every
    both order particular addition general fact total turn view accordance response line
    terms spite favour favor part
    """)

# Glued forms that the frequency dictionary happens to list as words, but that in news text
# are almost always a preposition plus an article. Lowercase tokens only.
_GLUED_FORCE = {
    "ina": "in a",
    "asa": "as a",
    "fora": "for a",
    "thana": "than a",
    "ona": "on a",
    "ata": "at a",
    "init": "in it",
}

# Inflections of a known word count as known ("formatters", "onwards" are not in the list).
_SUFFIXES = ("s", "es", "ed", "d", "ing", "er", "ers", "ly")

# Stacked prepositions split recursively ("asofthe" -> "as of the") only from this core list.
_STACKABLE = _words("of in on at to by for with from into about between as against")

_DIGIT_PREPS = _words(
    "of in on at to by for from with about over under after before since until than "
    "between during around per"
)

# Minimal count in the frequency dictionary for a lowercase remainder ("ofthe" -> "the").
_MIN_REST_COUNT = 20_000

_DATA_DIR = Path(__file__).resolve().parent / "data"
NAMES_FILE = _DATA_DIR / "names.txt"
VOCAB_FILE = _DATA_DIR / "vocab.txt"

# Prefixes of hyphenated compounds, accepted as a remainder before a hyphen: "onco-production".
_HYPHEN_PREFIXES = _words(
    "co anti non pre post re ex counter cross self sub semi multi inter intra trans well high "
    "low long short mid full half top so un bi tri mini micro macro neo pro"
)

# British spellings missing from the (American-leaning) word list, checked via their US form.
_BRITISH = (
    ("isations", "izations"),
    ("isation", "ization"),
    ("ising", "izing"),
    ("ised", "ized"),
    ("ises", "izes"),
    ("ise", "ize"),
    ("yse", "yze"),
    ("our", "or"),
    ("ours", "ors"),
    ("tre", "ter"),
    ("tres", "ters"),
    ("ogue", "og"),
    ("elled", "eled"),
    ("elling", "eling"),
)


@dataclass(frozen=True)
class Lexicon:
    """English words (lowercase -> corpus count) and protected names (casefolded tokens)."""

    words: dict[str, int]
    names: frozenset[str]
    name_entries: tuple[str, ...]


def _read_names(path: Path) -> tuple[str, ...]:
    entries: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            entries.append(line)
    return tuple(entries)


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """Load the word list and the names list once."""
    words: dict[str, int] = {}
    ref = resources.files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt")
    for line in ref.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            words[parts[0].lower()] = int(parts[1])
    for word in _read_names(VOCAB_FILE):
        words.setdefault(word.lower(), _MIN_REST_COUNT)
    entries = _read_names(NAMES_FILE)
    names: set[str] = set()
    for entry in entries:
        for tok in split_words(entry):
            names.add(tok.casefold())
        names.add(entry.casefold())
    return Lexicon(words=words, names=frozenset(names), name_entries=entries)


#: A real word that is also a preposition glued to a word (``indifferent`` = ``in different``,
#: ``atone`` = ``at one``) is split only when the two-word reading is this many times more
#: frequent than the word (symspellpy's bigram and word counts) AND the same text shows
#: unambiguous glued damage elsewhere. ``into`` (6x), ``inform`` (5x), ``onto`` (50x) stay.
AMBIGUOUS_RATIO = 100
#: How many unambiguous glued repairs in a text count as evidence of glued damage.
GLUED_EVIDENCE = 2


@lru_cache(maxsize=1)
def prep_bigrams() -> dict[tuple[str, str], int]:
    """Counts of the bigrams that start with a preposition (symspellpy's bigram list)."""
    out: dict[tuple[str, str], int] = {}
    ref = resources.files("symspellpy").joinpath("frequency_bigramdictionary_en_243_342.txt")
    for line in ref.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in _PREP_SET and parts[2].isdigit():
            out[(parts[0], parts[1])] = int(parts[2])
    return out


def split_ambiguous(token: str) -> str | None:
    """``indifferent`` -> ``in different`` when the glued reading dominates; else None.

    Only lower-case tokens; the caller applies it only to text with glued damage."""
    if not token.islower():
        return None
    lex = lexicon()
    count = lex.words.get(token)
    if count is None:
        return None
    bigrams = prep_bigrams()
    for n in range(min(_MAX_PREP, len(token) - 1), 1, -1):
        prep, rest = token[:n], token[n:]
        if prep not in _PREP_SET or rest not in lex.words:
            continue
        if bigrams.get((prep, rest), 0) > AMBIGUOUS_RATIO * count:
            return prep + " " + rest
    return None


def is_known(token: str) -> bool:
    """True when ``token`` is an English word or a protected name (case-insensitive)."""
    lex = lexicon()
    low = token.casefold()
    return low in lex.words or low in lex.names


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
    "(?<![\\w'\u2019&;-])(" + _trie_pattern(_cased_words(_NBSP_WORDS)) + ")\u2020"
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
# Token decisions


def _valid_rest(rest: str, prefix: str, lex: Lexicon) -> bool:
    """Is ``rest`` (what follows a preposition ``prefix``) a word on its own?"""
    if not rest:
        return False
    if rest.isdigit():
        return prefix.islower() and prefix in _DIGIT_PREPS and len(rest) <= 4
    if not rest.isalpha():
        return False
    first = rest[0]
    if first.isupper():
        # camelCase: "inNew", "bySCO", "toInternational", "ofState"
        return prefix.islower() and (len(rest) >= 2 or rest in ("I", "A"))
    if not rest.islower():
        return False
    if prefix[0].isupper():
        return rest in _CAP_REST
    if len(rest) <= 2:
        return rest in _SHORT_REST
    if rest in lex.names or lex.words.get(rest, 0) >= _MIN_REST_COUNT:
        return True
    for gb, us in _BRITISH:
        if rest.endswith(gb) and lex.words.get(rest[: -len(gb)] + us, 0) >= _MIN_REST_COUNT:
            return True
    return False


def _inflected(low: str, lex: Lexicon) -> bool:
    """``low`` is a known word plus an inflection suffix ("formatters", "onwards")."""
    return any(
        low.endswith(suffix) and len(low) - len(suffix) >= 4 and low[: -len(suffix)] in lex.words
        for suffix in _SUFFIXES
    )


@lru_cache(maxsize=65536)
def split_glued(token: str, before_hyphen: bool = False) -> str | None:
    """Return ``token`` with glued leading prepositions split off, or None to keep it.

    ``before_hyphen``: the token is the first part of a hyphenated compound ("onco-production").
    """
    return _split_glued(token, lexicon(), before_hyphen=before_hyphen)


def _split_glued(
    token: str, lex: Lexicon, depth: int = 0, before_hyphen: bool = False
) -> str | None:
    if token in _GLUED_FORCE:
        return _GLUED_FORCE[token]
    low = token.casefold()
    if len(token) < 3 or low in lex.words or low in lex.names:
        return None
    # camelCase decides first: "withInger" is "with Inger", not "within ger"
    for i in range(2, min(len(token), _MAX_PREP + 1)):
        if token[i].isupper() and token[:i].islower():
            if token[:i] in _PREP_SET and _valid_rest(token[i:], token[:i], lex):
                return token[:i] + " " + token[i:]
            break
    if _inflected(low, lex):
        return None
    for prep in PREPOSITIONS:
        n = len(prep)
        if len(token) <= n or not low.startswith(prep) or (depth and prep not in _STACKABLE):
            continue
        prefix = token[:n]
        if not (prefix.islower() or (prefix[0].isupper() and prefix[1:].islower())):
            continue
        rest = token[n:]
        if _valid_rest(rest, prefix, lex) or (
            before_hyphen and prefix.islower() and rest in _HYPHEN_PREFIXES
        ):
            return prefix + " " + rest
        if depth < 2 and prep in _STACKABLE and prefix.islower() and rest.islower():
            # "asofthe" -> "as of the"
            inner = _split_glued(rest, lex, depth + 1)
            if inner is not None:
                return prefix + " " + inner
    return None


@lru_cache(maxsize=16384)
def split_cp437(token: str) -> tuple[str, int]:
    """Replace each ``á`` of ``token`` that stands for a lost no-break space after a
    preposition (``ofáthe``, ``asáofáthe``); ``Málaga`` or ``ofáMálaga``'s second ``á`` stay."""
    if is_known(token):
        return token, 0
    lex = lexicon()
    for i, ch in enumerate(token):
        if ch != "\u00e1" or i == 0:
            continue
        left = token[:i]
        if left.lower() not in _NBSP_WORDS or not (left.islower() or left.istitle()):
            continue
        right = token[i + 1 :]
        if not right:  # "ofá" before a quote or a bracket
            return left + " ", 1
        new_right, k = split_cp437(right)
        head = new_right.split(" ", 1)[0]
        if (
            _valid_rest(head, left, lex)
            or (is_known(head) and (left.islower() or head.lower() in _CAP_REST))
            or (left.islower() and (_loose_rest(head) or head in _HYPHEN_PREFIXES))
        ):
            return left + " " + new_right, k + 1
    return token, 0


def _loose_rest(part: str) -> bool:
    """After ``<prep>á`` accept any lowercase word of 3+ letters (the ``á`` is evidence)."""
    return len(part) >= 3 and part.isalpha() and part.islower()


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
            if tok in _PREP_SET:
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
