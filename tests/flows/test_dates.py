"""Tests for infoshos.flows.clean.dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from infoshos.flows.clean.dates import (
    MOSCOW,
    find_event_date,
    is_plausible,
    month_number,
    parse_datetime,
    parse_portal_datetime,
)

MSK3 = timezone(timedelta(hours=3))


def test_portal_datetime_is_moscow_time() -> None:
    dt = parse_portal_datetime("12.03.2018 14:05")
    assert dt == datetime(2018, 3, 12, 14, 5, tzinfo=MSK3)
    assert dt is not None and dt.tzinfo is MOSCOW
    assert dt.astimezone(UTC) == datetime(2018, 3, 12, 11, 5, tzinfo=UTC)


def test_portal_date_only_and_surrounding_words() -> None:
    assert parse_portal_datetime("12.03.2018") == datetime(2018, 3, 12, tzinfo=MOSCOW)
    assert parse_portal_datetime(" Updated: 05.11.2019 09:30 ") == datetime(
        2019, 11, 5, 9, 30, tzinfo=MOSCOW
    )


def test_portal_datetime_historic_moscow_offset() -> None:
    # Moscow was UTC+4 from 2011 to October 2014: zoneinfo knows.
    dt = parse_portal_datetime("01.06.2012 12:00")
    assert dt is not None and dt.utcoffset() == timedelta(hours=4)


@pytest.mark.parametrize(
    "text", ["", "no date here", "31.02.2018 10:00", "12.13.2018", "71/291", "12.03.20181"]
)
def test_portal_datetime_rejects(text: str) -> None:
    assert parse_portal_datetime(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018-03-12T14:05:00+03:00", datetime(2018, 3, 12, 14, 5, tzinfo=MSK3)),
        ("2018-03-12T11:05:00Z", datetime(2018, 3, 12, 11, 5, tzinfo=UTC)),
        ("2018-03-12T14:05:00", datetime(2018, 3, 12, 14, 5, tzinfo=MOSCOW)),
        ("2018-03-12", datetime(2018, 3, 12, tzinfo=MOSCOW)),
        ("Tue, 12 Mar 2018 14:05:00 +0300", datetime(2018, 3, 12, 14, 5, tzinfo=MSK3)),
        ("Mon, 12 Mar 2018 11:05:00 GMT", datetime(2018, 3, 12, 11, 5, tzinfo=UTC)),
        ("12.03.2018 14:05", datetime(2018, 3, 12, 14, 5, tzinfo=MOSCOW)),
        ("12 March 2018", datetime(2018, 3, 12, tzinfo=MOSCOW)),
        ("12 Mar. 2018", datetime(2018, 3, 12, tzinfo=MOSCOW)),
        ("March 12, 2018", datetime(2018, 3, 12, tzinfo=MOSCOW)),
        ("12 марта 2018", datetime(2018, 3, 12, tzinfo=MOSCOW)),
        ("12 марта 2018 года", datetime(2018, 3, 12, tzinfo=MOSCOW)),
        ("12 МАРТА 2018 г.", datetime(2018, 3, 12, tzinfo=MOSCOW)),
        ("2 мая 2018 года, 10:30", datetime(2018, 5, 2, 10, 30, tzinfo=MOSCOW)),
        ("1 декабря 2019", datetime(2019, 12, 1, tzinfo=MOSCOW)),
        ("Март 2018", datetime(2018, 3, 1, tzinfo=MOSCOW)),
        ("Май 2018 года", datetime(2018, 5, 1, tzinfo=MOSCOW)),
    ],
)
def test_parse_datetime_forms(text: str, expected: datetime) -> None:
    got = parse_datetime(text)
    assert got == expected
    assert got is not None and got.tzinfo is not None


def test_parse_datetime_default_tz() -> None:
    got = parse_datetime("2018-03-12T14:05:00", default_tz=UTC)
    assert got == datetime(2018, 3, 12, 14, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["", "71/291", "+7 (495) 123-45-67", "8 800 555 35 35", "hello", "31 February 2018"]
)
def test_parse_datetime_rejects(text: str) -> None:
    assert parse_datetime(text) is None


def test_month_number_case_forms() -> None:
    assert [month_number(m) for m in ("марта", "март", "марте", "мая", "май", "мае")] == [
        3,
        3,
        3,
        5,
        5,
        5,
    ]
    assert month_number("Sept") == 9
    assert month_number("September") == 9
    assert month_number("машина") is None
    assert month_number("xyz") is None


def test_is_plausible() -> None:
    now = datetime(2019, 12, 11, 12, 0, tzinfo=UTC)
    assert is_plausible(datetime(2018, 3, 12, 14, 5, tzinfo=MOSCOW), now)
    assert is_plausible(now + timedelta(hours=23), now)  # grace of one day
    assert not is_plausible(now + timedelta(days=2), now)  # future
    assert not is_plausible(datetime(2030, 1, 1, tzinfo=UTC), now)
    assert not is_plausible(datetime(1989, 12, 31, tzinfo=MOSCOW), now)
    assert is_plausible(datetime(1990, 1, 2, tzinfo=MOSCOW), now)


PUB = datetime(2018, 1, 5, 10, 0, tzinfo=MOSCOW)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("On 20 September 2017, the SCO ministers met.", "en", date(2017, 9, 20)),
        ("On September 20, 2017 the ministers met.", "en", date(2017, 9, 20)),
        ("20 September 2017 - the ministers met.", "en", date(2017, 9, 20)),
        ("On 3 January, the SCO Secretary-General met.", "en", date(2018, 1, 3)),
        # no year, a day after publication: the year before
        ("On 20 September, the ministers met in Astana.", "en", date(2017, 9, 20)),
        ("On 20-21 September 2017 the summit took place.", "en", date(2017, 9, 20)),
        ("2 мая 2018 года в Пекине прошло заседание.", "ru", date(2018, 5, 2)),
        ("2 мая в Пекине прошло заседание.", "ru", date(2017, 5, 2)),
        ("4 января в Пекине прошло заседание.", "ru", date(2018, 1, 4)),
        ("20-21 сентября 2017 г. в Астане прошёл саммит.", "ru", date(2017, 9, 20)),
        ("Mr. Smith arrived on 20 September 2017 in Beijing.", "en", date(2017, 9, 20)),
    ],
)
def test_find_event_date(text: str, language: str, expected: date) -> None:
    assert find_event_date(text, language, PUB) == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("В 2018 году в Пекине прошло заседание.", "ru"),
        ("In 2018 the SCO grew.", "en"),
        ("Resolution 71/291 was adopted by the Assembly.", "en"),
        ("Call +7 (495) 123-45-67 for details.", "en"),
        ("В марте 2018 года прошло заседание.", "ru"),
        # only the first sentence counts
        ("The ministers met in Astana. On 20 September 2017 they signed.", "en"),
        # only the first paragraph counts
        ("The ministers met in Astana\nOn 20 September 2017 they signed.", "en"),
        ("", "en"),
    ],
)
def test_find_event_date_none(text: str, language: str) -> None:
    assert find_event_date(text, language, PUB) is None


def test_find_event_date_without_year_needs_published_at() -> None:
    assert find_event_date("On 20 September the ministers met.", "en", None) is None
    assert find_event_date("On 20 September 2017 the ministers met.", "en", None) == date(
        2017, 9, 20
    )


def test_find_event_date_language_picks_patterns() -> None:
    # a Russian date in an English lead is ignored; any language tries both
    text = "2 мая 2018 года прошло заседание."
    assert find_event_date(text, "en", PUB) is None
    assert find_event_date(text, "", PUB) == date(2018, 5, 2)


def test_chinese_event_dates() -> None:
    from datetime import date, datetime

    from infoshos.flows.clean.dates import MOSCOW, find_event_date

    pub = datetime(2024, 7, 5, 10, 0, tzinfo=MOSCOW)
    lead = "2024年7月3日，上海合作组织成员国元首理事会会议在阿斯塔纳举行。2025年将在天津举行峰会。"
    assert find_event_date(lead, "zh", pub) == date(2024, 7, 3)
    assert find_event_date("7月3日，秘书长会见了代表团。", "zh", pub) == date(2024, 7, 3)
    # only the first sentence counts; a year alone is not a day
    assert find_event_date("秘书长发表讲话。2024年7月3日举行会议。", "zh", pub) is None
    assert find_event_date("2024年是合作之年。", "zh", pub) is None


def test_year_1_and_year_9999_are_not_plausible_and_the_range_is_configurable() -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert not is_plausible(datetime(1, 1, 1, tzinfo=UTC), now)
    assert not is_plausible(datetime(9999, 12, 31, 23, 59, tzinfo=UTC), now)
    assert not is_plausible(datetime(1, 1, 1), now)  # naive
    old = datetime(1985, 6, 1, tzinfo=UTC)
    assert not is_plausible(old, now)
    assert is_plausible(old, now, earliest=datetime(1980, 1, 1, tzinfo=UTC))
    soon = now + timedelta(days=3)
    assert not is_plausible(soon, now) and is_plausible(soon, now, grace=timedelta(days=7))
