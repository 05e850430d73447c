"""Translation links: articles in different languages that report the same release
(table ``article_links``, ``kind="translation_of"``).

Pure transform: records in, link rows out (without ``run_id``).

Input records (mappings): ``article_id``, ``language``, ``published_at`` (aware datetime or
``None``), ``event_date`` (date or ``None``), ``text`` (or its ``numbers``: ``link_input`` keeps
an article's inputs without its text) and ``entity_ids`` (the canonical entity ids of the
article's mentions, e.g. from ``enrich_articles``).

Rules (``link_translations``):

* Only articles with a known, different ``language`` are compared (``und`` is skipped).
* Dates: both ``published_at`` within ``WINDOW_DAYS`` (3 days) of each other; when both have an
  ``event_date`` they must be equal. The article's day is its ``event_date``, else the date of
  ``published_at``; an article with neither is never linked.
* Candidates (never all pairs): an inverted index keyed by (blocking key, day), where the keys
  are the article's entity ids and its distinctive numbers. A key shared by more than
  ``BUCKET_MAX`` articles on one day is too common to block on and is skipped (unless it is
  all the article has). Each article looks up its keys on the days of its window, so the work
  grows with the number of articles times the articles per day, not with all pairs.
* Score in [0, 1]: ``0.65 * entities + 0.25 * numbers + 0.1 * dates``, where ``entities`` and
  ``numbers`` are IDF-weighted Jaccard similarities (weights ``log(1 + N / df)`` over the batch,
  so ``org:sco`` counts for little, a named person for much) of the entity id sets and of the
  digit strings in the text (without the day and year of the article's own dates, which every
  same-day story shares), and ``dates`` is 1 for the same event date (else 1 for the same
  publication time, decaying linearly to 0 at the window's edge).
* Each article links to at most one article per other language: pairs at or above
  ``THRESHOLD`` are taken greedily, best score first (ties by ids), skipping a pair when either
  side already has a link in the other's language (a one-to-one matching per language pair).
* Rows: a translation link is symmetric and both directions are stored, ``(a, b)`` and
  ``(b, a)`` with the same score, so ``WHERE article_id = ?`` finds every translation of an
  article. Rows are sorted by (article_id, other_id).

Threshold: on the sample site (``spiders/sample_site/articles.yaml``, entity ids from
``enrich_articles``, event dates from ``flows.clean.dates.find_event_date``) the 19 true
candidate pairs (translations and their republished copies) score 0.40-0.82 and the wrong
candidates that pass the date rules 0.08-0.12; ``THRESHOLD = 0.3`` sits between them
(``bench/quality.py``, ``tests/test_links.py``). The weakest true pairs share no numbers
besides their date, which is why date numbers are not counted twice.
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypedDict

__all__ = [
    "BUCKET_MAX",
    "KIND",
    "THRESHOLD",
    "WINDOW_DAYS",
    "LinkRow",
    "candidate_scores",
    "link_input",
    "link_record",
    "link_translations",
    "numbers",
    "score_pair",
]

KIND = "translation_of"
#: Publication times of two translations differ by at most this many days.
WINDOW_DAYS = 3
#: A (key, day) bucket holding more articles than this is not used to find candidates.
BUCKET_MAX = 50
#: Minimum score of a link (tuned on the sample site, see the module docstring).
THRESHOLD = 0.3
W_ENTITIES, W_NUMBERS, W_DATES = 0.65, 0.25, 0.1

_NUMBER = re.compile(r"\d+")


class LinkRow(TypedDict):
    article_id: str
    other_id: str
    kind: str
    score: float


def numbers(text: str) -> set[str]:
    """The digit strings of ``text`` without leading zeros (``72nd`` and ``72-й`` -> ``72``)."""
    return {m.lstrip("0") or "0" for m in _NUMBER.findall(text)}


@dataclass(frozen=True, slots=True)
class _Rec:
    article_id: str
    language: str
    published_at: datetime | None
    event_date: date | None
    day: date
    entities: frozenset[str]
    numbers: frozenset[str]


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def _coerce(raw: Mapping[str, Any]) -> _Rec | None:
    lang = str(raw.get("language") or "").lower()[:2]
    if lang in ("", "un"):
        return None
    published = raw.get("published_at")
    published = published if isinstance(published, datetime) else None
    event = _day(raw.get("event_date"))
    day = event or _day(published)
    if day is None:
        return None
    return _Rec(
        article_id=str(raw["article_id"]),
        language=lang,
        published_at=published,
        event_date=event,
        day=day,
        entities=frozenset(str(e) for e in raw.get("entity_ids") or ()),
        # the numbers of the article's own date are scored as its date, not as shared numbers
        numbers=frozenset(_numbers_of(raw) - _date_numbers(event, published)),
    )


def _numbers_of(raw: Mapping[str, Any]) -> set[str]:
    """``numbers`` of the text, or the ``numbers`` given instead of a text (``link_input``)."""
    given = raw.get("numbers")
    return set(given) if given is not None else numbers(str(raw.get("text") or ""))


def link_input(
    article: Mapping[str, Any], entity_ids: Iterable[str]
) -> tuple[str, datetime | None, date | None, tuple[str, ...], tuple[str, ...]]:
    """What ``link_translations`` needs of an article, without its text: (language,
    published_at, event_date, numbers, entity ids). ``link_record`` makes it a record again."""
    # interned: the same numbers and entity ids recur over many articles, and a run keeps
    # this tuple for every article it writes
    return (
        sys.intern(str(article.get("language") or "und")),
        article.get("published_at"),
        article.get("event_date"),
        tuple(sorted(sys.intern(n) for n in numbers(str(article.get("text") or "")))),
        tuple(sorted({sys.intern(str(e)) for e in entity_ids})),
    )


def link_record(
    article_id: str,
    kept: tuple[str, datetime | None, date | None, tuple[str, ...], tuple[str, ...]],
) -> dict[str, Any]:
    """A ``link_translations`` input record from ``link_input``'s tuple."""
    language, published_at, event_date, nums, entity_ids = kept
    return {
        "article_id": article_id,
        "language": language,
        "published_at": published_at,
        "event_date": event_date,
        "numbers": nums,
        "entity_ids": entity_ids,
    }


def _date_numbers(*days: date | None) -> set[str]:
    out: set[str] = set()
    for d in days:
        if d is not None:
            out |= {str(d.day), str(d.year)}
    return out


def _weights(sets: Iterable[frozenset[str]], n: int) -> dict[str, float]:
    df: Counter[str] = Counter()
    for s in sets:
        df.update(s)
    return {k: math.log(1.0 + n / c) for k, c in df.items()}


def _wjaccard(a: frozenset[str], b: frozenset[str], w: Mapping[str, float]) -> float:
    union = sum(w.get(k, 1.0) for k in a | b)
    if union == 0:
        return 0.0
    return sum(w.get(k, 1.0) for k in a & b) / union


def _dates_ok(a: _Rec, b: _Rec) -> bool:
    if a.event_date is not None and b.event_date is not None and a.event_date != b.event_date:
        return False
    if a.published_at is not None and b.published_at is not None:
        return abs(a.published_at - b.published_at) <= timedelta(days=WINDOW_DAYS)
    return abs((a.day - b.day).days) <= WINDOW_DAYS


def _date_score(a: _Rec, b: _Rec) -> float:
    if a.event_date is not None and b.event_date is not None:
        return 1.0  # equal, or _dates_ok would have refused the pair
    if a.published_at is not None and b.published_at is not None:
        days = abs(a.published_at - b.published_at).total_seconds() / 86400.0
    else:
        days = float(abs((a.day - b.day).days))
    return max(0.0, 1.0 - days / WINDOW_DAYS)


def score_pair(a: _Rec, b: _Rec, ent_w: Mapping[str, float], num_w: Mapping[str, float]) -> float:
    """The link score of two records (see the module docstring)."""
    ent = _wjaccard(a.entities, b.entities, ent_w)
    num = _wjaccard(a.numbers, b.numbers, num_w)
    return W_ENTITIES * ent + W_NUMBERS * num + W_DATES * _date_score(a, b)


def _blocking_keys(r: _Rec, num_w: Mapping[str, float]) -> list[str]:
    """The article's entity ids and the rarer half of its numbers (numbers that are only dates
    are poor keys: keep the highest weights)."""
    out = {"e:" + e for e in r.entities}
    if r.numbers:
        cut = sorted(num_w.get(x, 0.0) for x in r.numbers)[len(r.numbers) // 2]
        out |= {"n:" + x for x in r.numbers if num_w.get(x, 0.0) >= cut}
    return list(out)


def _candidates(recs: Sequence[_Rec], num_w: Mapping[str, float]) -> Iterator[tuple[int, set[int]]]:
    """For each record ``i``, the records ``j > i`` in another language sharing a blocking key
    within the window. A sweep over the days: only the (key, day) buckets of the days within
    ``WINDOW_DAYS`` of the current day are held, so memory follows the articles of a week, not
    of the whole archive."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for i, r in enumerate(recs):
        by_day[r.day].append(i)
    days = sorted(by_day)
    index: dict[tuple[str, date], list[int]] = defaultdict(list)
    keys: dict[int, list[str]] = {}
    offsets = [timedelta(days=d) for d in range(-WINDOW_DAYS, WINDOW_DAYS + 1)]
    window = timedelta(days=WINDOW_DAYS)
    added = removed = 0
    for day in days:
        while added < len(days) and days[added] <= day + window:
            for i in by_day[days[added]]:
                keys[i] = _blocking_keys(recs[i], num_w)
                for k in keys[i]:
                    index[k, days[added]].append(i)
            added += 1
        while days[removed] < day - window:
            for i in by_day[days[removed]]:
                for k in keys.pop(i):
                    index.pop((k, days[removed]), None)
            removed += 1
        for i in by_day[day]:
            a = recs[i]
            present = [b for k in keys[i] for off in offsets if (b := index.get((k, day + off)))]
            usable = [b for b in present if len(b) <= BUCKET_MAX]
            if not usable and present:  # only common keys: use the smallest bucket
                usable = [min(present, key=len)]
            yield i, {j for b in usable for j in b if j > i and recs[j].language != a.language}


def candidate_scores(articles: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, float]]:
    """Every candidate pair that passes the date rules, with its score: ``(a, b, score)`` with
    ``a < b``, best first (ties by ids). For tuning and diagnostics."""
    recs = _records(articles)
    return [(recs[i].article_id, recs[j].article_id, s) for s, i, j in _scored(recs)]


def link_translations(
    articles: Sequence[Mapping[str, Any]], *, threshold: float = THRESHOLD
) -> list[LinkRow]:
    """Translation links between ``articles`` (see the module docstring for the rules).

    Returns both directions of every link, sorted by (article_id, other_id).
    """
    recs = _records(articles)
    linked: set[tuple[int, str]] = set()  # (article index, language it has a link in)
    rows: list[LinkRow] = []
    for score, i, j in _scored(recs, threshold):
        if (i, recs[j].language) in linked or (j, recs[i].language) in linked:
            continue
        linked.add((i, recs[j].language))
        linked.add((j, recs[i].language))
        a, b = recs[i].article_id, recs[j].article_id
        rows.append(LinkRow(article_id=a, other_id=b, kind=KIND, score=score))
        rows.append(LinkRow(article_id=b, other_id=a, kind=KIND, score=score))
    rows.sort(key=lambda r: (r["article_id"], r["other_id"]))
    return rows


def _records(articles: Sequence[Mapping[str, Any]]) -> list[_Rec]:
    recs = [r for r in (_coerce(a) for a in articles) if r is not None]
    recs.sort(key=lambda r: r.article_id)
    for a, b in zip(recs, recs[1:], strict=False):
        if a.article_id == b.article_id:
            raise ValueError(f"duplicate article_id {a.article_id!r} in the input")
    return recs


def _scored(recs: Sequence[_Rec], threshold: float | None = None) -> list[tuple[float, int, int]]:
    """Candidate pairs (i < j, sorted records) passing the date rules (and scoring at least
    ``threshold``): (score, i, j), best first; ties go to the pair published closer in time,
    then by position (that is, by ids), so a translation links to the original rather than to
    a republished copy."""
    n = len(recs)
    ent_w = _weights((r.entities for r in recs), n)
    num_w = _weights((r.numbers for r in recs), n)
    keyed = []
    for i, others in _candidates(recs, num_w):
        a = recs[i]
        for j in others:
            b = recs[j]
            if not _dates_ok(a, b):
                continue
            score = round(score_pair(a, b, ent_w, num_w), 6)
            if threshold is not None and score < threshold:
                continue
            gap = (
                abs(a.published_at - b.published_at) if a.published_at and b.published_at else None
            )
            seconds = (
                gap.total_seconds() if gap is not None else 86400.0 * abs((a.day - b.day).days)
            )
            keyed.append((-score, seconds, i, j))
    keyed.sort()
    return [(-neg, i, j) for neg, _, i, j in keyed]
