"""Tests of infoshos.flows.clean.repair: every damage form, words that must stay, names."""

from __future__ import annotations

import re

import pytest

from infoshos.flows.clean.glued import split_glued
from infoshos.flows.clean.lexicon import is_known, lexicon
from infoshos.flows.clean.repair import KINDS, normalize_for_hash, repair_text

CLEAN = (
    "On 20 September 2017, SCO Secretary-General Rashid Alimov met with Vladimir Voronkov "
    "on the sidelines of the 72nd session of the UN General Assembly in New York."
)


def counts(**kinds: int) -> dict[str, int]:
    out = dict.fromkeys(KINDS, 0)
    out.update(kinds)
    return out


# ------------------------------------------------------------------ every damage form


@pytest.mark.parametrize(
    ("damaged", "kind", "n"),
    [
        (CLEAN.replace("with ", "with\u00a0").replace("of ", "of\u00a0"), "nbsp", 3),
        (CLEAN.replace("with ", "with\u2020").replace("of ", "of\u2020"), "mac_roman_nbsp", 3),
        (CLEAN.replace("with ", "with\u00e1").replace("of ", "of\u00e1"), "cp437_nbsp", 3),
        (
            CLEAN.replace("with ", "with\u00c2\u00a0").replace("of ", "of\u00c2\u00a0"),
            "latin1_nbsp",
            3,
        ),
        (CLEAN.replace("with ", "with\u00c2 ").replace("of ", "of\u00c2 "), "latin1_nbsp", 3),
        (CLEAN.replace("with ", "with").replace("of ", "of").replace("in ", "in"), "glued", 4),
    ],
)
def test_each_form_restores_the_clean_text(damaged: str, kind: str, n: int) -> None:
    assert damaged != CLEAN
    assert repair_text(damaged, "en") == (CLEAN, counts(**{kind: n}))


def test_nbsp_entity_and_variants() -> None:
    assert repair_text("of&nbsp;the in\u202fMoscow", "en") == ("of the in Moscow", counts(nbsp=2))


def test_glued_examples() -> None:
    cases = {
        "Taking intoaccount the geography": "Taking into account the geography",
        "the meeting ofthe heads": "the meeting of the heads",
        "cooperation betweenthe UN and the SCO": "cooperation between the UN and the SCO",
        "the headquarters inNew York": "the headquarters in New York",
        "the need toimplement all four pillars": "the need to implement all four pillars",
        "attended bySCO officials": "attended by SCO officials",
        "He spoke aboutthe results": "He spoke about the results",
        "as well asone of the priorities": "as well as one of the priorities",
        "resolution 71/291 of15 June 2017": "resolution 71/291 of 15 June 2017",
        "a message ofgreetings fromSCO": "a message of greetings from SCO",
        "withUnder-Secretary-General": "with Under-Secretary-General",
        "a priority asa rule ina way": "a priority as a rule in a way",
        "the role asofthe date": "the role as of the date",
        "work inorganising events infavour ofpeace": "work in organising events in favour of peace",
        "Inthe region": "In the region",
        "expressed support ofthe SCO's work": "expressed support of the SCO's work",
        "his words of“high appointment”": "his words of “high appointment”",
        "representatives in(RATS) meet": "representatives in (RATS) meet",
        "work oncyber security": "work on cyber security",
        "progress ondigitalisation": "progress on digitalisation",
        "joint onco-production": "joint on co-production",
    }
    for damaged, clean in cases.items():
        assert repair_text(damaged, "en")[0] == clean, damaged


def test_longest_preposition_first() -> None:
    assert split_glued("intoaccount") == "into account"
    assert split_glued("aboutthe") == "about the"
    assert split_glued("betweenthe") == "between the"


def _split(words: str) -> list[str]:
    return words.split()


# Every word the brief lists as "must not be split", plus more of the same shape.
MUST_NOT_SPLIT = _split(
    "inform into onto another often attend together within without atmosphere bypass forum "
    "ascertain Alimov SCO UN Interpol Astana Bishkek international Tokayev Islamabad Uzbekistan "
    "Inform Into Another Often Together Within Without Atmosphere Forum International "
    "inside onset format forget tonight today toward towards across around against about "
    "offer office official bygone overall attempt attack asking aspect aside inside forward "
    "Tobin Forman Inman Overton Ashton Atwood Forbes Byers Asher Toby Tomsk Ontario Inga "
    "Tashkent Almaty Ashgabat Atyrau Aktobe Onur Omar Ashraf Asif Asad Askar Tolib Tohir"
)


@pytest.mark.parametrize("word", MUST_NOT_SPLIT)
def test_must_not_split(word: str) -> None:
    for sentence in (f"They noted {word} here.", f"{word} was noted.", f"({word})"):
        assert repair_text(sentence, "en") == (sentence, counts()), sentence
    assert split_glued(word) is None


def test_inflections_and_code_not_split() -> None:
    for text in (
        "The formatters moved onwards, upperbound and uptime stay.",
        "See tree.at(point), print(infile.readline()), tox.ini and https://x.org/forum/?fromgroups",
        "Call asdict_ or FieldInfo.asdict() and config.inplace=true",
    ):
        assert repair_text(text, "en") == (text, counts()), text


def test_unknown_names_are_not_split() -> None:
    # Not in the names list: protected by the rules (capitalised preposition + name part).
    text = (
        "Talks with Tomasz, Inigo, Asghar, Byrnes, Ongwen, Forsyth, Atkins, Tobiah, Inwood, "
        "Onslow, Byford, Ashby, Atherton, Tolliver, Fordham, Inglis, Toland, Asquith and Atlee."
    )
    assert repair_text(text, "en")[0] == text


def test_cp437_keeps_real_accents() -> None:
    text = "António Guterres visited Málaga, Bogotá and Inácio Sánchez spoke."
    assert repair_text(text, "en") == (text, counts())
    assert repair_text("trip ofáMálaga toáAntónio", "en") == (
        "trip of Málaga to António",
        counts(cp437_nbsp=2),
    )


def test_mac_roman_after_preposition_before_quote_or_space() -> None:
    text = "He spoke of\u2020\u201cpeace\u201d and in\u2020(RATS) as\u2020of\u2020the rest"
    assert repair_text(text, "en") == (
        "He spoke of \u201cpeace\u201d and in (RATS) as of the rest",
        counts(mac_roman_nbsp=4),
    )
    # a dagger used as a footnote mark stays
    assert repair_text("Alimov\u2020 said.", "en")[0] == "Alimov\u2020 said."


# ------------------------------------------------------------------ mojibake and whitespace


def test_mojibake_fixed_by_ftfy() -> None:
    text = "The SCO\u00e2\u20ac\u2122s role, Ant\u00c3\u00b3nio Guterres said."
    assert repair_text(text, "en") == (
        "The SCO\u2019s role, Ant\u00f3nio Guterres said.",
        counts(mojibake=2),
    )
    # Cyrillic read as cp1252
    assert repair_text("\u00d0\u0153\u00d0\u00b8\u00d1\u20ac", "ru")[0] == "Мир"


def test_mojibake_not_fixed() -> None:
    # A truncated sequence (the closing quote lost its last byte) is left as written.
    text = "\u00e2\u20ac\u0153quote\u00e2\u20ac"
    assert repair_text(text, "en")[0] == "\u201cquote\u00e2\u20ac"


def test_quotes_and_dashes_kept() -> None:
    text = 'He said: \u201cAstana\u201d \u2014 and \u2018Bishkek\u2019 \u2013 "fine", 2018-2019.'
    assert repair_text(text, "en") == (text, counts())


def test_whitespace() -> None:
    text = "a  b\tc , d ( e ) f .\nnext  \n\nlast  "
    assert repair_text(text, "en") == ("a b c, d (e) f.\nnext\n\nlast", counts(whitespace=8))


def test_paragraph_breaks_kept() -> None:
    text = "First ofthe.\n\nSecond   inNew York .\n\n\nThird\u00a0para."
    assert repair_text(text, "en") == (
        "First of the.\n\nSecond in New York.\n\n\nThird para.",
        counts(glued=2, whitespace=2, nbsp=1),
    )


def test_counts_mixed() -> None:
    text = "of\u00a0the of\u2020the of\u00e1the of\u00c2\u00a0the ofthe don\u00e2\u20ac\u2122t"
    assert repair_text(text, "en") == (
        "of the of the of the of the of the don\u2019t",
        counts(nbsp=1, mac_roman_nbsp=1, cp437_nbsp=1, latin1_nbsp=1, glued=1, mojibake=1),
    )


# ------------------------------------------------------------------ other languages


def test_russian_only_nbsp() -> None:
    text = "В\u00a0Москве\u2020состоялась ofthe of\u00e1the встреча ШОС"
    expected = ("В Москве\u2020состоялась ofthe of\u00e1the встреча ШОС", counts(nbsp=1))
    assert repair_text(text, "ru") == expected
    assert repair_text(text) == expected  # detected as Russian


def test_chinese_untouched() -> None:
    text = "上海合作组织秘书长会见联合国秘书长。ofthe"
    assert repair_text(text, "zh") == (text, counts())


def test_language_detected_when_not_given() -> None:
    assert repair_text("The leaders met ofthe summit inNew York and spoke aboutthe plans.")[0] == (
        "The leaders met of the summit in New York and spoke about the plans."
    )


def test_empty() -> None:
    assert repair_text("", "en") == ("", counts())


# ------------------------------------------------------------------ names list


def test_names_list_round_trip() -> None:
    entries = lexicon().name_entries
    assert len(entries) >= 500
    changed = [
        name
        for name in entries
        if repair_text(name, "en")[0] != name
        or repair_text(f"It is {name} here.", "en")[0] != f"It is {name} here."
    ]
    assert changed == []


def test_names_glued_after_preposition_are_split() -> None:
    for name in ("Astana", "Tokayev", "Bishkek", "Interpol", "SCO", "Uzbekistan"):
        assert repair_text(f"met in{name} today", "en")[0] == f"met in {name} today"


def test_common_words_never_split() -> None:
    words = sorted(lexicon().words.items(), key=lambda kv: -kv[1])
    top = [w for w, _ in words if w.isalpha()][:3000]
    assert [w for w in top if split_glued(w) is not None] == []
    assert is_known("Astana") and is_known("together") and not is_known("ofthe")


# ------------------------------------------------------------------ hash normalisation


def test_normalize_for_hash() -> None:
    a = "The SCO\u2019s  \u201cHigh\u201d\u00a0Level \u2014 Meeting\u2026\n\nNext ."
    b = 'the sco\'s "high" level - meeting...  next.'
    assert (
        normalize_for_hash(a)
        == normalize_for_hash(b)
        == 'the sco\'s "high" level - meeting... next.'
    )
    assert normalize_for_hash("Astana") != normalize_for_hash("Almaty")
    assert re.fullmatch(r"\S+( \S+)*", normalize_for_hash("  a \t b\n"))


def test_ambiguous_glued_words_split_only_in_damaged_text() -> None:
    from infoshos.flows.clean.repair import repair_text

    damaged = "The talks ofthe two sides took place inNew York and indifferent formats."
    fixed, counts = repair_text(damaged, "en")
    assert fixed == "The talks of the two sides took place in New York and in different formats."
    assert counts["glued"] == 3
    # the same word in a clean text is a word
    clean = "The committee was not indifferent to the proposal."
    assert repair_text(clean, "en")[0] == clean
    # real words whose glued reading does not dominate stay, even in damaged text
    text = "ofthe talks inNew York: they often attend, inform and go into it, onto it."
    assert repair_text(text, "en")[0] == (
        "of the talks in New York: they often attend, inform and go into it, onto it."
    )
