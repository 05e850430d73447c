"""Date parsing for the portals: page datetimes, feed dates and the event date of a lead.

Pure functions, no I/O. Own regular expressions cover the forms the portals use (fast);
``dateparser`` is only a guarded fallback for other written dates in :func:`parse_datetime`.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

__all__ = [
    "MOSCOW",
    "find_event_date",
    "is_plausible",
    "month_number",
    "parse_datetime",
    "parse_portal_datetime",
    "find_datetime",
    "find_datetime_span",
    "has_time",
]

MOSCOW = ZoneInfo("Europe/Moscow")
EARLIEST = datetime(1990, 1, 1, tzinfo=MOSCOW)
GRACE = timedelta(days=1)

_EN_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
# Stems that identify a Russian month in every case form (марта, март, марте, мартом ...).
_RU_STEMS = (
    ("январ", 1),
    ("феврал", 2),
    ("март", 3),
    ("апрел", 4),
    ("ма", 5),  # май, мая, мае, маем (checked after март)
    ("июн", 6),
    ("июл", 7),
    ("август", 8),
    ("сентябр", 9),
    ("октябр", 10),
    ("ноябр", 11),
    ("декабр", 12),
)

_EN_MONTH = (
    r"(?:jan(?:uary|\.)?|feb(?:ruary|\.)?|mar(?:ch|\.)?|apr(?:il|\.)?|may|june?|july?"
    r"|aug(?:ust|\.)?|sep(?:t(?:ember|\.)?|\.)?|oct(?:ober|\.)?|nov(?:ember|\.)?|dec(?:ember|\.)?)"
)
# Genitive (day + month) forms; "ма[яй]" keeps "мае"/"март" out.
_RU_MONTH_GEN = (
    r"(?:января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря)"
)
_RU_MONTH_ANY = (
    r"(?:январ[ьяеюё]\w*|феврал[ьяеюё]\w*|март\w*|апрел[ьяеюё]\w*|ма[йяеюё]\w*|июн[ьяеюё]\w*"
    r"|июл[ьяеюё]\w*|август\w*|сентябр[ьяеюё]\w*|октябр[ьяеюё]\w*|ноябр[ьяеюё]\w*|декабр[ьяеюё]\w*)"
)
_TIME = (
    r"(?:[,\s]+(?:at\s+|в\s+|[-–—|]\s*)?(?P<H>\d{1,2})[:.](?P<M>\d{2})(?::(?P<S>\d{2}))?"
    r"(?:\s*(?P<ampm>[ap])\.?\s?m\.?(?![a-z]))?)?"
)
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"

_PORTAL_RE = re.compile(
    r"(?<![\d.])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})"
    r"(?:[,\s]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?(?![\d.:]*\d)"
)
_EN_DMY_RE = re.compile(
    rf"^{_DAY}\s+(?P<mon>{_EN_MONTH})\s*,?\s*(?P<y>\d{{4}}){_TIME}$", re.IGNORECASE
)
_EN_MDY_RE = re.compile(
    rf"^(?P<mon>{_EN_MONTH})\s+{_DAY}\s*,?\s*(?P<y>\d{{4}}){_TIME}$", re.IGNORECASE
)
_RU_DMY_RE = re.compile(
    rf"^{_DAY}\s+(?P<mon>{_RU_MONTH_ANY})\s+(?P<y>\d{{4}})(?:\s*(?:года|год|г)\.?)?{_TIME}$",
    re.IGNORECASE,
)
_MONTH_YEAR_RE = re.compile(
    rf"^(?P<mon>{_EN_MONTH}|{_RU_MONTH_ANY})\s+(?P<y>\d{{4}})(?:\s*(?:года|год|г)\.?)?$",
    re.IGNORECASE,
)
_ISO_HINT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_RFC822_RE = re.compile(
    r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s|$)"
)
_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")


def month_number(name: str) -> int | None:
    """Month number for an English (full or abbreviated) or Russian (any case) month name."""
    low = name.strip().rstrip(".").lower()
    if not low:
        return None
    if low[0].isascii():
        return _EN_MONTHS.get(low[:3]) if len(low) >= 3 else None
    for stem, number in _RU_STEMS:
        if low.startswith(stem):
            if number == 5 and (len(low) < 3 or low[2] not in "йяеюё"):
                continue
            return number
    return None


def _build(
    year: int, month: int, day: int, hour: int, minute: int, second: int, tz: tzinfo
) -> datetime | None:
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None


def _int(value: str | None) -> int:
    return int(value) if value else 0


def _from_portal_match(match: re.Match[str], tz: tzinfo) -> datetime | None:
    return _build(
        int(match["y"]),
        int(match["m"]),
        int(match["d"]),
        _int(match["H"]),
        _int(match["M"]),
        _int(match["S"]),
        tz,
    )


def parse_portal_datetime(text: str, tz: tzinfo = MOSCOW) -> datetime | None:
    """``DD.MM.YYYY HH:MM`` (or ``DD.MM.YYYY``) in ``tz`` (Moscow time by default); None if
    absent or invalid.

    The date may be surrounded by other words (``Updated: 12.03.2018 14:05``) but not glued
    to further digits (``12.03.20181``)."""
    match = _PORTAL_RE.search(text)
    return None if match is None else _from_portal_match(match, tz)


def _aware(dt: datetime, tz: tzinfo) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)


def _from_match(match: re.Match[str], tz: tzinfo, day: int | None = None) -> datetime | None:
    month = month_number(match["mon"])
    if month is None:
        return None
    groups = match.groupdict()
    return _build(
        int(match["y"]),
        month,
        day if day is not None else int(match["d"]),
        _hour(groups.get("H"), groups.get("ampm")),
        _int(groups.get("M")),
        _int(groups.get("S")),
        tz,
    )


def _hour(hour: str | None, ampm: str | None) -> int:
    """The hour of a 12- or 24-hour clock reading (``3`` pm -> 15, ``12`` am -> 0)."""
    value = _int(hour)
    if ampm and 1 <= value <= 12:
        value = value % 12 + (12 if ampm.lower() == "p" else 0)
    return value


def parse_datetime(text: str, default_tz: tzinfo = MOSCOW) -> datetime | None:
    """Parse a written date/time into a tz-aware datetime (None when nothing sensible).

    Accepted: ISO 8601 with or without offset (``<time datetime>``), RFC 822 (RSS
    ``pubDate``), the portal form ``DD.MM.YYYY HH:MM``, ``12 March 2018``, ``March 12, 2018``,
    Russian ``12 марта 2018 (года)``, month + year (``Март 2018``: the 1st of that month).
    Times without an offset are taken in ``default_tz``."""
    s = " ".join(text.replace("\xa0", " ").split())
    if not s or len(s) > 100:
        return None
    if _ISO_HINT_RE.match(s):
        try:
            return _aware(datetime.fromisoformat(s), default_tz)
        except ValueError:
            pass
    if _RFC822_RE.match(s):
        try:
            rfc = parsedate_to_datetime(s)
        except (TypeError, ValueError, IndexError):
            rfc = None
        if rfc is not None:
            return _aware(rfc, default_tz)
    match = _PORTAL_RE.fullmatch(s)
    if match is not None:
        return _from_portal_match(match, default_tz)
    for regex in (_EN_DMY_RE, _EN_MDY_RE, _RU_DMY_RE):
        match = regex.match(s)
        if match is not None:
            return _from_match(match, default_tz)
    match = _MONTH_YEAR_RE.match(s)
    if match is not None:
        return _from_match(match, default_tz, day=1)
    return _dateparser_fallback(s, default_tz)


_WEEKDAY = (
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+|"
    r"(?:понедельник|вторник|среда|четверг|пятница|суббота|воскресенье),?\s+)?"
)
_DATELINE_RES = (
    re.compile(
        rf"(?<![\w.]){_WEEKDAY}{_DAY}\s+(?P<mon>{_EN_MONTH})\s*,?\s*(?P<y>\d{{4}})(?!\d){_TIME}",
        re.IGNORECASE,
    ),
    re.compile(
        rf"(?<![\w.]){_WEEKDAY}(?P<mon>{_EN_MONTH})\s+{_DAY}\s*,\s*(?P<y>\d{{4}})(?!\d){_TIME}",
        re.IGNORECASE,
    ),
    re.compile(
        rf"(?<![\w.]){_DAY}\s+(?P<mon>{_RU_MONTH_ANY})\s+(?P<y>\d{{4}})(?!\d)"
        rf"(?:\s*(?:года|год|г)\.?)?{_TIME}",
        re.IGNORECASE,
    ),
)
_ISO_IN_TEXT = re.compile(
    r"(?<!\d)\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
    r"(?P<utc>\s*(?:GMT|UTC)\b(?![+-]\d))?"
)
# JavaScript's Date.toString(): "Wed Nov 20 2019 09:28:00 GMT+0000 (UTC)"
_JS_DATE = re.compile(
    rf"\b(?P<mon>{_EN_MONTH})\s+(?P<d>\d{{1,2}})\s+(?P<y>\d{{4}})\s+"
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*GMT(?P<off>[+-]\d{4})",
    re.IGNORECASE,
)
_ZH_DATETIME = re.compile(
    r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"
    r"(?:\s*(?P<H>\d{1,2})[:：](?P<M>\d{2}))?"
)


def find_datetime(text: str, tz: tzinfo = MOSCOW) -> datetime | None:
    """The first date (with its time of day, when written) inside a short text such as a
    dateline: ``Published: 2 May 2018, 15:40``, ``May 2, 2018 at 3:40 pm``,
    ``02.05.2018 15:40``, ``2 мая 2018 г., 15:40``, ``2018年5月2日 15:40``, ISO 8601.
    Times without an offset are taken in ``tz``; None when there is no date."""
    found = find_datetime_span(text, tz)
    return found[0] if found is not None else None


def find_datetime_span(text: str, tz: tzinfo = MOSCOW) -> tuple[datetime, str] | None:
    """:func:`find_datetime` and the rest of the text around the date (what a dateline
    says besides the date: "Published:", a weekday, a view count)."""
    s = " ".join(text.replace("\xa0", " ").split())
    if not s:
        return None
    found: list[tuple[int, int, datetime]] = []

    def add(match: re.Match[str] | None, when: datetime | None) -> None:
        if match is not None and when is not None:
            found.append((match.start(), match.end(), when))

    match = _ISO_IN_TEXT.search(s)
    if match is not None:
        iso = match.group(0)[: match.start("utc") - match.start()] if match["utc"] else None
        with contextlib.suppress(ValueError):
            if iso is not None:  # "2019-11-18 17:19:53 GMT"
                add(match, _aware(datetime.fromisoformat(iso.strip()), UTC))
            else:
                add(match, _aware(datetime.fromisoformat(match.group(0)), tz))
    match = _JS_DATE.search(s)
    if match is not None:
        off = int(match["off"][1:3]) * 60 + int(match["off"][3:])
        zone = timezone(timedelta(minutes=off if match["off"][0] == "+" else -off))
        add(match, _from_match(match, zone))
    match = _PORTAL_RE.search(s)
    add(match, _from_portal_match(match, tz) if match is not None else None)
    for regex in _DATELINE_RES:
        match = regex.search(s)
        add(match, _from_match(match, tz) if match is not None else None)
    match = _ZH_DATETIME.search(s)
    if match is not None:
        add(
            match,
            _build(
                int(match["y"]),
                int(match["m"]),
                int(match["d"]),
                _int(match["H"]),
                _int(match["M"]),
                0,
                tz,
            ),
        )
    if not found:
        return None
    start, end, when = min(found, key=lambda item: (item[0], -item[1]))
    return when, (s[:start] + " " + s[end:]).strip()


def has_time(when: datetime) -> bool:
    """False for a date written without a time of day (midnight exactly)."""
    return (when.hour, when.minute, when.second) != (0, 0, 0)


def _dateparser_fallback(s: str, tz: tzinfo) -> datetime | None:
    """Last resort for other written dates: needs letters and a plausible 4-digit year."""
    if not _YEAR_RE.search(s) or not any(ch.isalpha() for ch in s):
        return None
    import dateparser  # slow import: only when the own rules did not match

    try:
        parsed = dateparser.parse(
            s,
            languages=["en", "ru"],
            settings={"STRICT_PARSING": True, "PREFER_DAY_OF_MONTH": "first"},
        )
    except Exception:  # dateparser raises a variety of errors on odd input
        return None
    if parsed is None:
        return None
    return _aware(parsed, tz)


def is_plausible(
    dt: datetime, now: datetime, earliest: datetime | None = None, grace: timedelta | None = None
) -> bool:
    """True unless ``dt`` is more than ``grace`` (a day) after ``now`` or before ``earliest``
    (1990; naive = Moscow): year 1 and year 9999 are not publication dates."""
    dt = _aware(dt, MOSCOW)
    now = _aware(now, MOSCOW)
    first = _aware(earliest, MOSCOW) if earliest is not None else EARLIEST
    return first <= dt <= now + (GRACE if grace is None else grace)


# --- event date of a lead ---------------------------------------------------------------

_RANGE = r"(?:\s*[-–—]\s*\d{1,2}(?:st|nd|rd|th)?)?"
_EVENT_EN_DMY = re.compile(
    rf"(?<![\d.,/:-])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?{_RANGE}\s+(?:of\s+)?(?P<mon>{_EN_MONTH})"
    rf"(?![a-z])(?:\s*,?\s*(?P<y>\d{{4}})(?!\d))?",
    re.IGNORECASE,
)
_EVENT_EN_MDY = re.compile(
    rf"(?<![a-z])(?P<mon>{_EN_MONTH})\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?{_RANGE}(?![\d:./])"
    rf"(?:\s*,\s*(?P<y>\d{{4}})(?!\d))?",
    re.IGNORECASE,
)
_EVENT_RU = re.compile(
    rf"(?<![\d.,/:-])(?P<d>\d{{1,2}}){_RANGE}\s+(?P<mon>{_RU_MONTH_GEN})(?!\w)"
    rf"(?:\s+(?P<y>\d{{4}})(?!\d))?",
    re.IGNORECASE,
)
_EVENT_NUM = re.compile(r"(?<![\d.,/:-])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})(?![\d])")
#: Chinese: 2024年7月3日 (the year may be left out: 7月3日).
_EVENT_ZH = re.compile(r"(?:(?P<y>\d{4})\s*年\s*)?(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日")
# A sentence ends at . ! ? followed by space and a capital, unless the word before the dot
# is an abbreviation (Mr., Sept., г., initials).
_SENT_END = re.compile(r"(?<=[.!?])[\"'»”)]*\s+(?=[\"'«“(]?[A-ZА-ЯЁ])")
_ABBREV = re.compile(
    r"(?:^|[\s(])(?:[A-ZА-ЯЁ]|Mr|Mrs|Ms|Dr|St|Gen|Col|Prof|No|vs|etc|Jan|Feb|Mar|Apr|Jun|Jul|Aug"
    r"|Sep|Sept|Oct|Nov|Dec|Inc|Ltd|Co|г|гг|им|т|д|ул|пр|см|тыс|млн|млрд)\.[\"'»”)]*$"
)


def first_sentence(text: str) -> str:
    """The first sentence of the first paragraph of ``text``."""
    para = ""
    for line in text.splitlines():
        if line.strip():
            para = line.strip()
            break
    start = 0
    for match in _SENT_END.finditer(para):
        head = para[start : match.start()]
        if _ABBREV.search(head):
            continue
        return para[: match.start()]
    return para


def find_event_date(text: str, language: str, published_at: datetime | None) -> date | None:
    """The date the first sentence of a lead reports (``On 20 September 2017, ...``).

    Without a year the year of ``published_at`` is used, one year earlier when that would be
    after the publication. ``В 2018 году`` or a month alone is not a day: None."""
    sentence = first_sentence(text)
    if not sentence or not any(ch.isdigit() for ch in sentence):
        return None
    lang = (language or "").lower()[:2]
    if lang == "zh":
        sentence = sentence.split("\u3002", 1)[0]  # up to the first 。
        regexes: tuple[re.Pattern[str], ...] = (_EVENT_ZH, _EVENT_NUM)
    elif lang == "ru":
        regexes = (_EVENT_RU, _EVENT_NUM)
    elif lang == "en":
        regexes = (_EVENT_EN_DMY, _EVENT_EN_MDY, _EVENT_NUM)
    else:
        regexes = (_EVENT_EN_DMY, _EVENT_EN_MDY, _EVENT_RU, _EVENT_NUM)
    best: re.Match[str] | None = None
    for regex in regexes:
        for match in regex.finditer(sentence):
            if _event_date(match, published_at) is not None:
                if best is None or match.start() < best.start():
                    best = match
                break
    return _event_date(best, published_at) if best is not None else None


def _event_date(match: re.Match[str], published_at: datetime | None) -> date | None:
    groups = match.groupdict()
    month = int(groups["m"]) if groups.get("m") else month_number(groups.get("mon") or "")
    if month is None:
        return None
    day = int(match["d"])
    if groups.get("y"):
        try:
            found = date(int(match["y"]), month, day)
        except ValueError:
            return None
        return found if found.year >= 1990 else None
    if published_at is None:
        return None
    pub = published_at.date()
    for year in (pub.year, pub.year - 1):
        try:
            found = date(year, month, day)
        except ValueError:
            continue  # 29 February
        if found <= pub:
            return found
    return None
