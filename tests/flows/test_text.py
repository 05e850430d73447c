"""Scripts and words declared once (infoshos.flows.text), and used instead of re-typed copies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from paths import REPO

from infoshos.flows import text
from infoshos.flows.text import (
    CJK,
    CJK_RE,
    HAN,
    HAN_BMP,
    HAN_SUPPLEMENT,
    HANGUL,
    KANA,
    chars,
    split_words,
)

ROOT = REPO
#: Every code point up to the end of the supplementary ideographic plane.
CODE_POINTS = "".join(map(chr, range(0x30000)))


def matched(pattern: re.Pattern[str]) -> set[str]:
    return set(pattern.findall(CODE_POINTS))


def escapes(ranges: str) -> list[str]:
    """The ``\\uXXXX`` / ``\\UXXXXXXXX`` escapes a range constant is written with."""
    return re.findall(r"\\u[0-9a-f]{4}|\\U[0-9a-f]{8}", ranges)


@pytest.mark.parametrize(
    ("char", "script"),
    [
        ("\u3040", "kana"),
        ("\u3042", "kana"),  # あ
        ("\u30ab", "kana"),  # カ
        ("\u30ff", "kana"),
        ("\u3400", "han"),
        ("\u4e0a", "han"),  # 上
        ("\u9fff", "han"),
        ("\uf900", "han"),  # a compatibility ideograph
        ("\U00020000", "han"),  # Extension B
        ("\U0002ebe0", "han"),  # Extension F
        ("\uac00", "hangul"),
        ("\ud55c", "hangul"),  # 한
        ("\ud7af", "hangul"),
        ("a", None),
        ("\u0436", None),  # ж
        ("\u3000", None),  # ideographic space
        ("\u3002", None),  # 。
        ("\uff21", None),  # fullwidth A
    ],
)
def test_each_script_range(char: str, script: str | None) -> None:
    assert bool(chars(KANA).match(char)) == (script == "kana")
    assert bool(chars(HAN).match(char)) == (script == "han")
    assert bool(chars(HANGUL).match(char)) == (script == "hangul")
    assert bool(CJK_RE.match(char)) == (script is not None)


def test_cjk_is_composed_of_the_pieces() -> None:
    han, kana, hangul = matched(chars(HAN)), matched(chars(KANA)), matched(chars(HANGUL))
    assert not (han & kana or han & hangul or kana & hangul)
    assert matched(CJK_RE) == han | kana | hangul
    assert matched(chars(HAN)) == matched(chars(HAN_BMP)) | matched(chars(HAN_SUPPLEMENT))
    # language detection's split: Han apart from kana and hangul, together the whole of CJK
    assert matched(chars(KANA, HANGUL)) | han == matched(chars(CJK))


def test_a_word_is_a_run_of_word_characters() -> None:
    assert split_words("Штаб-квартире It's 3.5 a_b  上海合作 SCO\u00a0summit") == [
        "Штаб",
        "квартире",
        "It",
        "s",
        "3",
        "5",
        "a_b",
        "上海合作",
        "SCO",
        "summit",
    ]
    assert split_words("") == [] and split_words(" -—, ") == []
    assert split_words("x") == text.WORD.findall("x")


def _sources() -> list[Path]:
    return [
        p
        for folder in ("flows", "spiders", "warehouse", "bench")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if p != ROOT / "flows" / "text.py"
    ]


def test_script_ranges_are_written_only_in_flows_text() -> None:
    """No module re-types a range of ``flows/text.py``: it composes the constants."""
    ranges = [getattr(text, name) for name in ("LATIN", "CYRILLIC", "KANA", "HAN", "HANGUL")]
    spelled = {
        r for block in ranges for r in re.findall(r"\\u\w{4}-\\u\w{4}|\\U\w{8}-\\U\w{8}", block)
    }
    # a CJK range's bounds alone too (a range cut differently is still a copy)
    bounds = {e for block in (KANA, HAN, HANGUL) for e in escapes(block)}
    assert spelled and bounds
    found = []
    for path in _sources():
        source = path.read_text("utf-8")
        for needle in sorted(spelled | bounds):
            if re.search(re.escape(needle), source, re.IGNORECASE):
                found.append(f"{path.relative_to(ROOT)}: {needle}")
    assert found == []


def test_the_cleaners_and_dedup_have_no_word_regex_of_their_own() -> None:
    """They split words with ``split_words``/``WORD``; the article rule's own word pattern in
    ``flows/clean/detect.py`` (one word for ``штаб-квартире``) is the documented exception."""
    folders = [ROOT / "flows" / "clean", ROOT / "flows" / "dedup"]
    copies = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in folders
        for path in sorted(folder.rglob("*.py"))
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if re.search(r"""re\.\w+\(\s*r["']\\w\+?["']""", line)
    ]
    assert copies == []
