"""Where a token of glued words splits: a preposition glued to the next word (``ofthe``) or
joined to it by a CP437 ``á`` that was a no-break space (``ofáthe``).

A glued token ``<prep><rest>`` is split only when the whole token is not a known word,
inflection or name (``flows/clean/lexicon.py`` knows them), and ``<rest>`` is a common word
(count >= 20,000), a British spelling of one, a capitalised name/acronym (camelCase:
``inNew``) or a number (``of15``); the longest preposition wins (``intoaccount``); stacked
prepositions split recursively (``asofthe``). An ``á`` is a lost space only after a word a
no-break space follows, before a word; names such as ``Málaga`` stay. Decisions are on one
token, pure and cached; whether a token is inside a URL, and whether the text is English, is
the caller's (``flows/clean/repair.py``).
"""

from __future__ import annotations

from functools import lru_cache

from infoshos.flows.clean.lexicon import (
    COMMON_COUNT,
    MAX_PREP,
    NBSP_WORDS,
    PREP_SET,
    PREPOSITIONS,
    Lexicon,
    is_known,
    lexicon,
    word_set,
)

# Short remainders are only accepted from this list (the dictionary holds every letter pair).
_SHORT_REST = word_set(
    "a an it its us me my be we he she no so do go up on in at to of by as or if is am "
    "all any our his her who how one two six ten new old law war"
)

# After a capitalised preposition ("Inthe", "Ofthe") the remainder must be one of these, so
# that unknown names such as "Tobin", "Forman" or "Overton" are never split.
_CAP_REST = word_set("""
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
_STACKABLE = word_set("of in on at to by for with from into about between as against")

_DIGIT_PREPS = word_set(
    "of in on at to by for from with about over under after before since until than "
    "between during around per"
)

# Prefixes of hyphenated compounds, accepted as a remainder before a hyphen: "onco-production".
_HYPHEN_PREFIXES = word_set(
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
    if rest in lex.names or lex.words.get(rest, 0) >= COMMON_COUNT:
        return True
    for gb, us in _BRITISH:
        if rest.endswith(gb) and lex.words.get(rest[: -len(gb)] + us, 0) >= COMMON_COUNT:
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
    for i in range(2, min(len(token), MAX_PREP + 1)):
        if token[i].isupper() and token[:i].islower():
            if token[:i] in PREP_SET and _valid_rest(token[i:], token[:i], lex):
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
        if left.lower() not in NBSP_WORDS or not (left.islower() or left.istitle()):
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
