"""The English words and names the text repair consults: which tokens are known words.

The word lists load once, lazily, and are never written: symspellpy's English frequency
dictionary (word -> corpus count), ``data/vocab.txt`` (domain words the dictionary lacks, given
the common count) and ``data/names.txt`` (people, places, organisations and acronyms, protected
from splitting; one entry a line, ``#`` comments). The prepositions, and the other words a
no-break space follows, are declared here once. A real word that is also a preposition glued
to a word (``indifferent``) is read as two words only when symspellpy's bigram counts say the
two-word reading dominates (``split_ambiguous``); whether the text shows glued damage is the
caller's to decide. Pure functions; no I/O beyond the read-only lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from infoshos.flows.text import split_words


def word_set(spec: str) -> frozenset[str]:
    """The whitespace-separated words of ``spec``."""
    return frozenset(spec.split())


# Prepositions (and two particles the portals also bind with a no-break space). Longest first,
# so "intoaccount" splits as "into account", not "in toaccount".
PREPOSITIONS: tuple[str, ...] = tuple(
    sorted(
        word_set(
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
PREP_SET = frozenset(PREPOSITIONS)
MAX_PREP = max(map(len, PREPOSITIONS))

#: The words a no-break space follows: a ``†`` or a CP437 ``á`` after one is a lost space.
NBSP_WORDS = PREP_SET | word_set("a an the and or nor not no mr mrs ms dr st mt vs")

#: A word this frequent in the dictionary counts as common (a glued remainder must be one:
#: "ofthe" -> "the"); the domain vocabulary's words are given this count.
COMMON_COUNT = 20_000

DATA_DIR = Path(__file__).resolve().parent / "data"
NAMES_FILE = DATA_DIR / "names.txt"
VOCAB_FILE = DATA_DIR / "vocab.txt"


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
        words.setdefault(word.lower(), COMMON_COUNT)
    entries = _read_names(NAMES_FILE)
    names: set[str] = set()
    for entry in entries:
        for tok in split_words(entry):
            names.add(tok.casefold())
        names.add(entry.casefold())
    return Lexicon(words=words, names=frozenset(names), name_entries=entries)


def is_known(token: str) -> bool:
    """True when ``token`` is an English word or a protected name (case-insensitive)."""
    lex = lexicon()
    low = token.casefold()
    return low in lex.words or low in lex.names


#: A real word that is also a preposition glued to a word (``indifferent`` = ``in different``,
#: ``atone`` = ``at one``) is split only when the two-word reading is this many times more
#: frequent than the word (symspellpy's bigram and word counts) AND the same text shows
#: unambiguous glued damage elsewhere. ``into`` (6x), ``inform`` (5x), ``onto`` (50x) stay.
AMBIGUOUS_RATIO = 100


@lru_cache(maxsize=1)
def prep_bigrams() -> dict[tuple[str, str], int]:
    """Counts of the bigrams that start with a preposition (symspellpy's bigram list)."""
    out: dict[tuple[str, str], int] = {}
    ref = resources.files("symspellpy").joinpath("frequency_bigramdictionary_en_243_342.txt")
    for line in ref.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in PREP_SET and parts[2].isdigit():
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
    for n in range(min(MAX_PREP, len(token) - 1), 1, -1):
        prep, rest = token[:n], token[n:]
        if prep not in PREP_SET or rest not in lex.words:
            continue
        if bigrams.get((prep, rest), 0) > AMBIGUOUS_RATIO * count:
            return prep + " " + rest
    return None
