"""Tests of infoshos.flows.clean.language and infoshos.flows.clean.words."""

from __future__ import annotations

import pytest

from infoshos.flows.clean import language
from infoshos.flows.clean.language import detect_language
from infoshos.flows.clean.words import shingles, tokenize_words, word_count

EN = "SCO Secretary-General Rashid Alimov met with the UN Secretary-General in New York."
RU = "Генеральный секретарь ШОС Рашид Алимов встретился с Генеральным секретарём ООН."
ZH = "上海合作组织秘书长会见联合国秘书长，双方讨论了反恐合作。"


@pytest.mark.parametrize(("text", "expected"), [(EN, "en"), (RU, "ru"), (ZH, "zh")])
def test_detect_by_script(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "Hi", "ШОС", "2019-12-11 13:58", "!!! ... ???", "上海"]
)
def test_short_or_empty_is_und(text: str) -> None:
    assert detect_language(text) == "und"


def test_mixed_text_goes_to_lingua(monkeypatch: pytest.MonkeyPatch) -> None:
    mostly_ru = (
        "Генеральный секретарь ШОС встретился с представителями CSTO и CICA в Москве, "
        "обсуждались вопросы сотрудничества в рамках SCO RATS."
    )
    mostly_en = (
        "The SCO Secretary-General met the head of ОДКБ and spoke about cooperation with the "
        "CSTO; «Шанхайская организация сотрудничества» was mentioned."
    )
    assert detect_language(mostly_ru) == "ru"
    assert detect_language(mostly_en) == "en"

    calls: list[str] = []

    class Fake:
        def detect_language_of(self, text: str) -> None:
            calls.append(text)
            return None

    monkeypatch.setattr(language, "_detector", lambda: Fake())
    assert detect_language(mostly_ru) == "und"  # lingua undecided
    assert calls == [mostly_ru]
    assert detect_language(EN) == "en"  # pure script: lingua not called
    assert calls == [mostly_ru]


def test_tokenize_en_ru() -> None:
    assert tokenize_words("It's the SCO's 2019 summit — in Astana.", "en") == [
        "It",
        "s",
        "the",
        "SCO",
        "s",
        "2019",
        "summit",
        "in",
        "Astana",
    ]
    assert tokenize_words("Встреча в Москве, 2019 год.", "ru") == [
        "Встреча",
        "в",
        "Москве",
        "2019",
        "год",
    ]
    assert tokenize_words("", "en") == []


def test_tokenize_zh_words_only() -> None:
    tokens = tokenize_words(ZH, "zh")
    assert "秘书长" in tokens and "联合国" in tokens
    assert "，" not in tokens and "。" not in tokens
    assert all(t.strip() == t and t for t in tokens)
    assert "".join(tokens) == ZH.replace("，", "").replace("。", "")


def test_word_count() -> None:
    assert word_count(EN, "en") == 14
    assert word_count(RU, "ru") == 10
    assert word_count(ZH, "zh") == len(tokenize_words(ZH, "zh")) > 5
    assert word_count("", "zh") == 0


def test_shingles() -> None:
    assert shingles("A b C d e f", "en", k=3) == ["a b c", "b c d", "c d e", "d e f"]
    assert len(shingles(EN, "en")) == word_count(EN, "en") - 4
    assert shingles("one two", "en") == ["one two"]
    assert shingles("", "en") == []
    zh = shingles(ZH, "zh", k=2)
    assert zh[0] == "上海 合作"
    with pytest.raises(ValueError):
        shingles(EN, "en", k=0)


def test_shingles_casefold_same_text() -> None:
    assert shingles("SCO Summit IN Astana today", "en") == shingles(
        "sco summit in astana today", "en"
    )
    assert shingles("SCO Summit in Astana today", "en") != shingles(
        "SCO Summit in Almaty today", "en"
    )
