"""Translation links (flows/links.py): the sample site's `translation_of` pairs as truth, plus
synthetic negatives (same-day different stories) and the blocking rules."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from infoshos.flows.clean.dates import find_event_date
from infoshos.flows.enrich import enrich_articles
from infoshos.flows.links import (
    KIND,
    THRESHOLD,
    WINDOW_DAYS,
    candidate_scores,
    link_input,
    link_record,
    link_translations,
    numbers,
)
from infoshos.spiders.sample_site.model import expected_articles

T0 = datetime(2019, 6, 14, 9, 0, tzinfo=UTC)


def rec(
    aid: str,
    lang: str,
    entities: set[str],
    text: str = "",
    *,
    published: datetime = T0,
    event: date | None = None,
) -> dict[str, Any]:
    return {
        "article_id": aid,
        "language": lang,
        "published_at": published,
        "event_date": event,
        "text": text,
        "entity_ids": entities,
    }


# --------------------------------------------------------------------------------- sample site


@pytest.fixture(scope="module")
def sample() -> tuple[list[dict[str, Any]], dict[str, str], set[frozenset[str]]]:
    """(records with entity ids from enrich_articles, story of each article, gold story pairs)."""
    arts = expected_articles()
    records: list[dict[str, Any]] = []
    for a in arts:
        records.append(
            {
                "article_id": a.key,
                "language": a.language,
                "text": a.text,
                "published_at": a.published_at,
                "event_date": find_event_date(a.paragraphs[0], a.language, a.published_at),
            }
        )
    ents: dict[str, set[str]] = defaultdict(set)
    for m in enrich_articles(records).mentions:
        ents[m["article_id"]].add(m["entity_id"])
    for r in records:
        r["entity_ids"] = ents[r["article_id"]]
    story = {a.key: a.republish_of or a.key for a in arts}
    gold = {frozenset((story[a.key], story[a.translation_of])) for a in arts if a.translation_of}
    return records, story, gold


def test_sample_site_translation_pairs(
    sample: tuple[list[dict[str, Any]], dict[str, str], set[frozenset[str]]],
) -> None:
    records, story, gold = sample
    rows = link_translations(records)
    found = {frozenset((story[r["article_id"]], story[r["other_id"]])) for r in rows}
    assert len(gold) == 8
    assert found == gold  # every translation found, nothing else linked
    # the direct translation_of pairs themselves (not only their republished copies)
    direct = {(r["article_id"], r["other_id"]) for r in rows}
    for a in expected_articles():
        if a.translation_of and a.portal == "infoshos":
            assert (a.key, a.translation_of) in direct, a.key


def test_sample_site_scores_are_separated(
    sample: tuple[list[dict[str, Any]], dict[str, str], set[frozenset[str]]],
) -> None:
    records, story, gold = sample
    scored = candidate_scores(records)
    true = [s for a, b, s in scored if frozenset((story[a], story[b])) in gold]
    false = [s for a, b, s in scored if frozenset((story[a], story[b])) not in gold]
    assert true and min(true) >= THRESHOLD
    assert all(s < THRESHOLD for s in false)


def test_rows_symmetric_one_per_language(
    sample: tuple[list[dict[str, Any]], dict[str, str], set[frozenset[str]]],
) -> None:
    records, _, _ = sample
    rows = link_translations(records)
    assert rows == sorted(rows, key=lambda r: (r["article_id"], r["other_id"]))
    pairs = {(r["article_id"], r["other_id"]): r["score"] for r in rows}
    for (a, b), s in pairs.items():
        assert pairs[b, a] == s and 0.0 < s <= 1.0
    assert all(r["kind"] == KIND == "translation_of" for r in rows)
    lang = {r["article_id"]: r["language"] for r in records}
    per = Counter((r["article_id"], lang[r["other_id"]]) for r in rows)
    assert max(per.values()) == 1
    assert all(lang[r["article_id"]] != lang[r["other_id"]] for r in rows)


def test_input_order_does_not_matter(
    sample: tuple[list[dict[str, Any]], dict[str, str], set[frozenset[str]]],
) -> None:
    records, _, _ = sample
    shuffled = list(records)
    random.Random(7).shuffle(shuffled)
    assert link_translations(shuffled) == link_translations(records)


# --------------------------------------------------------------------------------- negatives

PEOPLE = {"org:sco", "person:vladimir-norov", "person:sooronbay-jeenbekov", "loc:bishkek"}
EN = "On 14 June 2019 the leaders signed 22 documents in Bishkek."
RU = "14 июня 2019 года в Бишкеке лидеры подписали 22 документа."


def test_translation_pair_is_linked() -> None:
    rows = link_translations([rec("en1", "en", PEOPLE, EN), rec("ru1", "ru", PEOPLE, RU)])
    assert [(r["article_id"], r["other_id"]) for r in rows] == [("en1", "ru1"), ("ru1", "en1")]


def test_same_day_different_stories_not_linked() -> None:
    # background articles so that org:sco and Beijing (the Secretariat's seat) are common, as
    # in a real corpus: they weigh little
    bg = [
        rec(
            f"bg{i}", "en", {"org:sco", f"person:p{i}"} | ({"loc:beijing"} if i % 4 == 0 else set())
        )
        for i in range(20)
    ]
    en = rec("en1", "en", {"org:sco", "loc:beijing", "person:zhang-ming"},
             "On 14 June 2019 Zhang Ming received 12 ambassadors in Beijing.")  # fmt: skip
    ru = rec("ru1", "ru", {"org:sco", "loc:beijing", "org:sco-secretariat"},
             "14 июня 2019 года в Пекине прошла выставка 300 фотографий.")  # fmt: skip
    assert link_translations([*bg, en, ru]) == []


def test_same_language_never_linked() -> None:
    assert link_translations([rec("a", "en", PEOPLE, EN), rec("b", "en", PEOPLE, EN)]) == []


def test_unknown_language_or_date_skipped() -> None:
    a = rec("a", "und", PEOPLE, EN)
    b = rec("b", "ru", PEOPLE, RU)
    assert link_translations([a, b]) == []
    c = rec("c", "en", PEOPLE, EN)
    c["published_at"] = None
    assert link_translations([c, b]) == []


def test_dates_outside_window_or_different_event_not_linked() -> None:
    late = T0 + timedelta(days=WINDOW_DAYS, hours=1)
    assert (
        link_translations([rec("a", "en", PEOPLE, EN), rec("b", "ru", PEOPLE, RU, published=late)])
        == []
    )
    inside = T0 + timedelta(days=WINDOW_DAYS - 1)
    rows = link_translations(
        [rec("a", "en", PEOPLE, EN), rec("b", "ru", PEOPLE, RU, published=inside)]
    )
    assert len(rows) == 2
    a = rec("a", "en", PEOPLE, EN, event=date(2019, 6, 14))
    b = rec("b", "ru", PEOPLE, RU, event=date(2019, 6, 13))
    assert link_translations([a, b]) == []


def test_best_candidate_wins_one_link_per_language() -> None:
    ru = rec("ru", "ru", PEOPLE | {"person:x"}, RU)
    good = rec("en-good", "en", PEOPLE | {"person:x"}, EN)
    weaker = rec("en-weak", "en", PEOPLE, EN, published=T0 + timedelta(days=2))
    rows = link_translations([ru, good, weaker])
    assert {(r["article_id"], r["other_id"]) for r in rows} == {
        ("ru", "en-good"),
        ("en-good", "ru"),
    }


def test_numbers() -> None:
    assert numbers("the 72nd session, 72-й, 2018–2022, 007") == {"72", "2018", "2022", "7"}


def test_duplicate_ids_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate article_id"):
        link_translations([rec("a", "en", PEOPLE), rec("a", "ru", PEOPLE)])


# --------------------------------------------------------------------------------- blocking


def test_candidates_grow_linearly() -> None:
    """3,000 articles over 300 days, 10 per day: candidates stay within the date window and
    shared keys, far below all pairs (about 4.5 million)."""
    rng = random.Random(3)
    pool = [f"person:p{i}" for i in range(400)] + [f"loc:l{i}" for i in range(60)]
    records = []
    for i in range(3000):
        day = T0 + timedelta(days=i // 10, minutes=i)
        ents = {"org:sco", *rng.sample(pool, 4)}
        text = " ".join(str(rng.randrange(10, 5000)) for _ in range(5))
        records.append(rec(f"a{i:05d}", rng.choice(("en", "ru")), ents, text, published=day))
    pairs = candidate_scores(records)
    assert len(pairs) < 20 * len(records)
    day_of = {r["article_id"]: r["published_at"] for r in records}
    assert all(abs(day_of[a] - day_of[b]) <= timedelta(days=WINDOW_DAYS) for a, b, _ in pairs)


def test_common_key_alone_does_not_block_everything() -> None:
    """300 articles on one day sharing only org:sco (plus a person of their own) give no
    candidates: the org:sco bucket is too large to block on."""
    records = [
        rec(f"a{i:03d}", "en" if i % 2 else "ru", {"org:sco", f"person:p{i}"}) for i in range(300)
    ]
    assert candidate_scores(records) == []


def test_link_inputs_without_text_give_the_same_links(
    sample: tuple[list[dict[str, Any]], dict[str, str], set[frozenset[str]]],
) -> None:
    records, _, _ = sample
    kept = [link_record(r["article_id"], link_input(r, r["entity_ids"])) for r in records]
    assert all("text" not in k for k in kept)
    assert link_translations(kept) == link_translations(records)
    assert link_translations(kept)  # the sample site has translations
