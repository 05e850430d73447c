"""The clean stage on pages it has no rules for: the one article rule, site rules as hints,
datelines with their time and zone, the source line, legacy Cyrillic code pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infoshos.flows.clean import decode, detect, sites
from infoshos.flows.clean.articles import clean_page, clean_pages
from infoshos.flows.clean.dates import find_datetime, find_datetime_span
from infoshos.spiders.sample_site.render import SiteData, infoshos_article, load_articles

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MSK = ZoneInfo("Europe/Moscow")

RELEASE_RU = [
    "2 мая 2018 года в Секретариате ШОС состоялась встреча Генерального секретаря ШОС Рашида "
    "Алимова с Послом Республики Казахстан.",
    "Стороны обсудили подготовку к очередному заседанию Совета глав государств ШОС.",
    "Генеральный секретарь поблагодарил казахстанскую сторону за поддержку.",
    "Встреча прошла в дружественной атмосфере.",
]


def record(body: bytes, url: str = "http://news.example.org/item/7", **extra: Any) -> dict:
    row = {
        "page_id": "p1",
        "url": url,
        "final_url": url,
        "source": "src",
        "page_type": "article",
        "status": 200,
        "headers": {"content-type": "text/html"},
        "body": body,
    }
    row.update(extra)
    return row


def release_page(dateline: str = "02.05.2018 15:40", paragraphs: list[str] = RELEASE_RU) -> str:
    """A short release in a table layout with portal chrome around it."""
    sidebar = "".join(
        f"<tr><td>0{i}.05.2018 1{i}:00</td><td><a href='/item/{i}'>Другая новость номер {i} о "
        f"работе ШОС</a></td></tr>"
        for i in range(1, 6)
    )
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        "<html><head><title>Встреча Генерального секретаря ШОС с Послом Казахстана</title>"
        "</head><body><table><tr><td class='left'><table>"
        "<tr><td>Москва 15:40</td></tr><tr><td>Пекин 20:40</td></tr></table>"
        f"<table class='news'>{sidebar}</table></td><td class='main'>"
        "<div class='head'>Встреча Генерального секретаря ШОС с Послом Казахстана</div>"
        f"<div class='when'>{dateline}</div>{body}</td></tr></table></body></html>"
    )


# -- the article rule ------------------------------------------------------------------------


def test_short_release_of_two_sentences_is_an_article_and_a_stub_is_not() -> None:
    two = [  # a real two-sentence release of the SCO RATS (34 words)
        "Директор Исполнительного комитета РАТС ШОС провёл рабочую встречу с делегацией "
        "Антитеррористического центра государств-участников Содружества Независимых Государств.",
        "Стороны обсудили ход реализации меморандума о взаимопонимании между двумя структурами и "
        "договорились продолжить регулярные консультации на экспертном уровне.",
    ]
    assert detect.body_words(two) < detect.MIN_WORDS
    assert detect.check("Рабочая встреча", True, two).is_article
    assert detect.check(
        "Раздел", True, ["Раздел находится в разработке. Зайдите позже."]
    ).reason == ("no_body")
    assert detect.check("Контакты", False, two * 3).reason == "no_date"
    assert detect.check("", True, two * 3).reason == "no_title"


def test_words_are_counted_sensibly_in_every_script() -> None:
    assert detect.text_size("The SCO, founded in 2001, has 9 members.") == 8
    assert detect.text_size("Шанхайская организация сотрудничества — 2001 г.") == 5
    # Chinese has no spaces: two characters make a word
    assert detect.text_size("上海合作组织成员国元首理事会会议") == 8
    assert detect.text_size("上海合作组织 SCO 2024") == 5


def test_the_source_line_is_metadata() -> None:
    body, credit = detect.split_credit(["First.", "Source: Исполнительный комитет РАТС ШОС"])
    assert body == ["First."]
    assert credit == "Source: Исполнительный комитет РАТС ШОС"
    assert detect.split_credit(["Source: inside the body.", "Last."]) == (
        ["Source: inside the body.", "Last."],
        None,
    )


# -- datelines -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("02.05.2018 15:40", "2018-05-02T15:40:00+03:00"),
        ("Published: 2 May 2018, 15:40", "2018-05-02T15:40:00+03:00"),
        ("May 2, 2018 at 3:40 pm", "2018-05-02T15:40:00+03:00"),
        ("Wednesday, May 2, 2018 12:05 a.m.", "2018-05-02T00:05:00+03:00"),
        ("2 мая 2018 г., 15:40", "2018-05-02T15:40:00+03:00"),
        ("Среда, 2 мая 2018 15:40", "2018-05-02T15:40:00+03:00"),
        ("2018年5月2日 15:40", "2018-05-02T15:40:00+03:00"),
        ("2018-05-02T15:40:00+05:00", "2018-05-02T15:40:00+05:00"),
        ("2018-05-02 15:40:00 GMT", "2018-05-02T15:40:00+00:00"),
        ("Wed May 02 2018 15:40:00 GMT+0500 (UZT)", "2018-05-02T15:40:00+05:00"),
    ],
)
def test_datelines_keep_time_and_zone(text: str, expected: str) -> None:
    found = find_datetime(text, MSK)
    assert found is not None and found.isoformat() == expected


def test_a_sentence_with_a_date_is_not_a_dateline() -> None:
    found = find_datetime_span("4 апреля 2019 года в Ташкенте прошло заседание Совета", MSK)
    assert found is not None and len(found[1].split()) > 4  # much more than the date
    assert find_datetime("Updated 3 hours ago", MSK) is None


def test_source_timezone_applies_and_an_explicit_offset_wins() -> None:
    page = release_page().encode("cp1251")
    stored = clean_page(record(page), "generic", None, NOW, timezone="Asia/Almaty").article
    assert stored is not None
    assert stored["published_at"] == datetime(
        2018, 5, 2, 15, 40, tzinfo=timezone(timedelta(hours=6))
    )
    utc = clean_page(record(page), "generic", None, NOW).article
    assert utc is not None and utc["published_at"] == datetime(2018, 5, 2, 15, 40, tzinfo=UTC)
    explicit = release_page(
        "<time datetime='2018-05-02T15:40:00+08:00'>02.05.2018 15:40</time>"
    ).encode("cp1251")
    stored = clean_page(record(explicit), "generic", None, NOW, timezone="Europe/Moscow").article
    assert stored is not None
    assert stored["published_at"] == datetime(2018, 5, 2, 7, 40, tzinfo=UTC)


# -- a short release in an unseen layout -------------------------------------------------------


def test_short_russian_release_in_undeclared_cp1251_is_stored_without_the_sidebar() -> None:
    page = release_page().encode("cp1251")
    assert b"charset" not in page
    result = clean_page(record(page), "generic", None, NOW, timezone="Europe/Moscow")
    assert result.reject is None, result.reject
    art = result.article
    assert art is not None
    assert art["language"] == "ru"
    assert art["title"] == "Встреча Генерального секретаря ШОС с Послом Казахстана"
    assert art["text"] == "\n\n".join(RELEASE_RU)  # every paragraph, nothing else
    assert art["published_at"] == datetime(2018, 5, 2, 12, 40, tzinfo=UTC)


def test_a_dateline_with_no_story_after_it_is_not_an_article() -> None:
    page = release_page(paragraphs=[]).encode("cp1251")
    result = clean_page(record(page), "generic", None, NOW, timezone="Europe/Moscow")
    assert result.reject is not None and result.reject["reason"] == "not_article"
    assert result.reject["detail"] == "not an article: no article text on the page"


# -- site rules are hints --------------------------------------------------------------------


def sample_page(idn: int) -> bytes:
    articles = load_articles()
    article = next(a for a in articles if a.idn == idn)
    return infoshos_article(SiteData(articles), article)


def test_a_redesigned_portal_page_goes_through_the_generic_extractor() -> None:
    original = sample_page(3228)
    stored = clean_page(record(original), "infoshos", "windows-1251", NOW).article
    assert stored is not None
    # the same page after a redesign: none of the portal's selectors match any more
    redesigned = (
        original.replace(b'class="center-column-wrap"', b'class="page__content"')
        .replace(b'class="title"', b'class="news-card__title"')
        .replace(b'class="date"', b'class="news-card__date"')
    )
    result = clean_page(record(redesigned), "infoshos", "windows-1251", NOW, "Europe/Moscow")
    assert result.rule_miss is not None and result.rule_miss.startswith("not_article")
    assert result.article is not None
    for key in ("title", "text", "published_at", "language"):
        assert result.article[key] == stored[key], key
    out = clean_pages(
        [record(redesigned, page_id="a"), record(original, page_id="b", url="http://x/2")],
        {"src": "infoshos"},
        {"src": "windows-1251"},
        NOW,
    )
    assert out.rule_misses == {"src": 1}
    assert out.rule_miss_examples["src"].startswith("http://news.example.org/item/7: not_article")


def test_a_truncated_page_is_not_handed_to_the_generic_extractor() -> None:
    cut = sample_page(3228)[:-2000]
    result = clean_page(record(cut), "infoshos", "windows-1251", NOW)
    assert result.reject is not None and result.reject["reason"] == "truncated"
    assert result.rule_miss is None


def test_a_section_heading_in_the_title_slot_is_a_rule_miss() -> None:
    html = (
        "<html><head><title>Состоялось заседание Совета РАТС ШОС в Ташкенте</title></head><body>"
        "<div class='workarea'><h1>Новости</h1><div class='news-detail'>"
        "<span class='news-date-time'>04.04.2019 11:15</span>"
        "<h3>Состоялось заседание Совета РАТС ШОС в Ташкенте</h3>"
        "<div class='news-detail-text'>"
        + "".join(f"<p>{p}</p>" for p in RELEASE_RU)
        + "</div></div></div></body></html>"
    )
    with pytest.raises(sites.NotArticle, match="names the section"):
        sites.extract_article(html, "https://ecrats.org/ru/press/news/1/", "ecrats")
    result = clean_page(record(html.encode()), "ecrats", "utf-8", NOW, "Asia/Tashkent")
    assert result.rule_miss is not None
    assert result.article is not None
    assert result.article["title"] == "Состоялось заседание Совета РАТС ШОС в Ташкенте"


# -- decoding --------------------------------------------------------------------------------


def test_koi8_and_cp1251_are_told_apart_and_a_stray_byte_is_not_cyrillic() -> None:
    text = "<html><body><p>" + " ".join(RELEASE_RU) + "</p></body></html>"
    for codepage in ("koi8-r", "windows-1251"):
        decoded, used = decode.decode_body(text.encode(codepage), {})
        assert (decoded, used) == (text, codepage)
    ascii_page = b"<html><body><p>An English page with one stray byte \xff here.</p></body></html>"
    assert decode.decode_body(ascii_page, {})[1] == "windows-1252"


def test_a_refused_page_still_shows_what_it_holds() -> None:
    page = release_page(dateline="").encode("cp1251")  # no date anywhere
    result = clean_page(record(page), "generic", None, NOW)
    assert result.reject is not None and result.reject["reason"] == "not_article"
    assert result.reject["detail"] == "not an article: no publication date or dateline found"
    assert result.article is None
    assert result.draft is not None and result.draft["text"] == "\n\n".join(RELEASE_RU)
