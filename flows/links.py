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
(``bench/quality.py``, ``tests/flows/test_links.py``). The weakest true pairs share no numbers
besides their date, which is why date numbers are not counted twice.
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
    "link_day",
    "link_translations",
    "link_translations_by_day",
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


def _wjaccard(a: frozenset[str], b: frozenset[str], w: Mapping[str, float]) -> float:
    union = sum(w.get(k, 1.0) for k in a | b)
    if union == 0:
        return 0.0
    return sum(w.get(k, 1.0) for k in a & b) / union


def _total(s: frozenset[str], w: Mapping[str, float]) -> float:
    return sum(w.get(k, 1.0) for k in s)


def _wjaccard_totals(
    a: frozenset[str], b: frozenset[str], w: Mapping[str, float], ta: float, tb: float
) -> float:
    """``_wjaccard`` from the two sets' weight totals: only the intersection is summed."""
    inter = a & b
    if not inter:
        return 0.0
    shared = sum(w.get(k, 1.0) for k in inter)
    union = ta + tb - shared
    return shared / union if union > 0 else 0.0


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


def _by_day(records: Iterable[Mapping[str, Any]]) -> Iterator[tuple[date, list[_Rec]]]:
    """The usable records (``_coerce``) grouped by day; ``records`` must come in day order."""
    group: list[_Rec] = []
    for raw in records:
        r = _coerce(raw)
        if r is None:
            continue
        if group and r.day < group[-1].day:
            raise ValueError(f"records out of day order at {r.article_id!r} ({r.day})")
        if group and r.day != group[-1].day:
            yield group[-1].day, group
            group = []
        group.append(r)
    if group:
        yield group[-1].day, group


def _candidates(
    days: Iterable[tuple[date, list[_Rec]]],
    num_w: Mapping[str, float],
    totals: dict[str, tuple[float, float]],
    ent_w: Mapping[str, float],
) -> Iterator[tuple[_Rec, list[_Rec]]]:
    """For each record, the records with a larger id in another language sharing a blocking
    key within the window. A sweep over the days: only the (key, day) buckets of the days
    within ``WINDOW_DAYS`` of the current day are held, so memory follows the articles of a
    week, not of the whole archive. ``totals`` holds the entity and number weight totals of
    the records in the window (for ``_wjaccard_totals``)."""
    window = timedelta(days=WINDOW_DAYS)
    offsets = [timedelta(days=d) for d in range(-WINDOW_DAYS, WINDOW_DAYS + 1)]
    index: dict[tuple[str, date], list[_Rec]] = defaultdict(list)
    keys: dict[str, list[str]] = {}
    source = iter(days)
    ahead: deque[tuple[date, list[_Rec]]] = deque()  # read and indexed, not yet swept
    behind: deque[tuple[date, list[_Rec]]] = deque()  # swept, still within the window

    def pull() -> bool:
        group = next(source, None)
        if group is None:
            return False
        for r in group[1]:
            totals[r.article_id] = (_total(r.entities, ent_w), _total(r.numbers, num_w))
            keys[r.article_id] = _blocking_keys(r, num_w)
            for k in keys[r.article_id]:
                index[k, group[0]].append(r)
        ahead.append(group)
        return True

    more = pull()
    while ahead:
        day, group = ahead[0]
        while more and ahead[-1][0] <= day + window:
            more = pull()
        while behind and behind[0][0] < day - window:
            old_day, old = behind.popleft()
            for r in old:
                del totals[r.article_id]
                for k in keys.pop(r.article_id):
                    index.pop((k, old_day), None)
        for a in group:
            ks = keys[a.article_id]
            present = [got for k in ks for off in offsets if (got := index.get((k, day + off)))]
            usable = [b for b in present if len(b) <= BUCKET_MAX]
            if not usable and present:  # only common keys: use the smallest bucket
                usable = [min(present, key=len)]
            seen: set[str] = set()
            others = []
            for bucket in usable:
                for b in bucket:
                    if (
                        b.article_id > a.article_id
                        and b.language != a.language
                        and b.article_id not in seen
                    ):
                        seen.add(b.article_id)
                        others.append(b)
            yield a, others
        behind.append(ahead.popleft())


def _scored_by_day(
    records: Callable[[], Iterable[Mapping[str, Any]]], threshold: float | None
) -> list[tuple[float, _Rec, _Rec]]:
    """Candidate pairs (a, b with a's id < b's) passing the date rules (and scoring at least
    ``threshold``): (score, a, b), best first; ties go to the pair published closer in time,
    then by ids, so a translation links to the original rather than to a republished copy.
    ``records()`` gives the records in day order; it is called twice (weights, then pairs)."""
    n = 0
    ent_df: Counter[str] = Counter()
    num_df: Counter[str] = Counter()
    ids: set[str] = set()
    for _, group in _by_day(records()):
        for r in group:
            if r.article_id in ids:
                raise ValueError(f"duplicate article_id {r.article_id!r} in the input")
            ids.add(r.article_id)
            ent_df.update(r.entities)
            num_df.update(r.numbers)
    n = len(ids)
    del ids
    ent_w = {k: math.log(1.0 + n / c) for k, c in ent_df.items()}
    num_w = {k: math.log(1.0 + n / c) for k, c in num_df.items()}
    keyed = []
    totals: dict[str, tuple[float, float]] = {}
    for a, others in _candidates(_by_day(records()), num_w, totals, ent_w):
        ea, na = totals[a.article_id]
        for b in others:
            if not _dates_ok(a, b):
                continue
            eb, nb = totals[b.article_id]
            ent = _wjaccard_totals(a.entities, b.entities, ent_w, ea, eb)
            num = _wjaccard_totals(a.numbers, b.numbers, num_w, na, nb)
            score = round(W_ENTITIES * ent + W_NUMBERS * num + W_DATES * _date_score(a, b), 6)
            if threshold is not None and score < threshold:
                continue
            gap = (
                abs(a.published_at - b.published_at) if a.published_at and b.published_at else None
            )
            seconds = (
                gap.total_seconds() if gap is not None else 86400.0 * abs((a.day - b.day).days)
            )
            keyed.append((-score, seconds, a.article_id, b.article_id, a, b))
    keyed.sort(key=lambda k: k[:4])
    return [(-k[0], k[4], k[5]) for k in keyed]


def _day_order(articles: Sequence[Mapping[str, Any]]) -> Callable[[], list[Mapping[str, Any]]]:
    recs = [(r.day, i) for i, r in enumerate(map(_coerce, articles)) if r is not None]
    ordered = [articles[i] for _, i in sorted(recs, key=lambda t: t[0])]
    return lambda: ordered


def candidate_scores(articles: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, float]]:
    """Every candidate pair that passes the date rules, with its score: ``(a, b, score)`` with
    ``a < b``, best first (ties by ids). For tuning and diagnostics."""
    return [
        (a.article_id, b.article_id, s) for s, a, b in _scored_by_day(_day_order(articles), None)
    ]


def link_translations(
    articles: Sequence[Mapping[str, Any]], *, threshold: float = THRESHOLD
) -> list[LinkRow]:
    """Translation links between ``articles`` (see the module docstring for the rules).

    Returns both directions of every link, sorted by (article_id, other_id).
    """
    return link_translations_by_day(_day_order(articles), threshold=threshold)


def link_translations_by_day(
    records: Callable[[], Iterable[Mapping[str, Any]]], *, threshold: float = THRESHOLD
) -> list[LinkRow]:
    """``link_translations`` over records read twice from ``records()``, which gives them in
    the order of their day (``event_date``, else the date of ``published_at``): memory follows
    the articles of a week and the pairs above the threshold, not the whole archive."""
    linked: set[tuple[str, str]] = set()  # (article, language it has a link in)
    rows: list[LinkRow] = []
    for score, ra, rb in _scored_by_day(records, threshold):
        a, b = ra.article_id, rb.article_id
        if (a, rb.language) in linked or (b, ra.language) in linked:
            continue
        linked.add((a, rb.language))
        linked.add((b, ra.language))
        rows.append(LinkRow(article_id=a, other_id=b, kind=KIND, score=score))
        rows.append(LinkRow(article_id=b, other_id=a, kind=KIND, score=score))
    rows.sort(key=lambda r: (r["article_id"], r["other_id"]))
    return rows


def link_day(record: Mapping[str, Any]) -> date | None:
    """The day a record is swept on (None: never linked): its ``event_date``, else the date of
    its ``published_at``."""
    return _day(record.get("event_date")) or _day(
        record.get("published_at") if isinstance(record.get("published_at"), datetime) else None
    )
