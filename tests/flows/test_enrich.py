"""Tests of the enrichment transform (gazetteer, NER, linking, roles, countries, topics)."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pytest

from infoshos.flows.enrich import EnrichInput, EnrichResult, enrich_articles, status_at
from infoshos.flows.enrich.gazetteer import load, ru_forms
from infoshos.flows.enrich.linking import name_key, whole_words
from infoshos.flows.enrich.ner import SPACY_MODEL, _Cover, ner_en, ner_ru, spacy_nlp, windows
from infoshos.flows.enrich.topics import topic_rows
from infoshos.warehouse import schema

EN = (
    "On 20 September 2017, SCO Secretary-General Rashid Alimov met with Under-Secretary-General "
    "of the UN Counter-Terrorism Office Vladimir Voronkov on the sidelines of the UN General "
    "Assembly in New York. The meeting was also attended by Director of the Executive Committee "
    "of SCO's Regional Anti-Terrorist Structure Yevgeny Sysoyev.\n\n"
    "Mr Voronkov noted the Shanghai Cooperation Organisation's role in combating terrorism and "
    "extremism, and praised the counter-terrorism work of India, China and the Russian "
    "Federation. Information officer Marat Tuayev also took part. Tuayev spoke about terrorist "
    "threats and the fight against terrorism in Central Asia."
)
RU = (
    "Генеральный секретарь ШОС Рашид Алимов встретился с руководителем Контртеррористического "
    "управления ООН Владимиром Воронковым в Нью-Йорке. Р.Алимов рассказал о борьбе государств-"
    "членов ШОС с терроризмом и экстремизмом, отметив роль России и Китая. Стороны обсудили "
    "сотрудничество в борьбе с международным терроризмом."
)
NOTHING = "it was a quiet day and nothing much happened, said nobody at all."


@pytest.fixture(scope="module")
def result() -> EnrichResult:
    return enrich_articles(
        [
            EnrichInput("en1", "en", EN, datetime(2017, 9, 21, 13, 22, tzinfo=UTC)),
            EnrichInput("ru1", "ru", RU, datetime(2018, 6, 1, tzinfo=UTC)),
            EnrichInput("none", "en", NOTHING, datetime(2018, 6, 1, tzinfo=UTC)),
        ]
    )


def _ids(res: EnrichResult, article_id: str) -> dict[str, str]:
    """surface -> entity_id for one article."""
    return {m["surface"]: m["entity_id"] for m in res.mentions if m["article_id"] == article_id}


def test_offsets_are_exact(result: EnrichResult) -> None:
    texts = {"en1": EN, "ru1": RU, "none": NOTHING}
    assert result.mentions
    for m in result.mentions:
        assert texts[m["article_id"]][m["start_char"] : m["end_char"]] == m["surface"]
        assert m["method"] in ("gazetteer", "ner")
    keys = [(m["article_id"], m["start_char"], m["end_char"]) for m in result.mentions]
    assert len(keys) == len(set(keys))


def test_english_entities_and_ids(result: EnrichResult) -> None:
    ids = _ids(result, "en1")
    assert ids["SCO"] == "org:sco"
    assert ids["Shanghai Cooperation Organisation"] == "org:sco"
    assert ids["UN Counter-Terrorism Office"] == "org:unoct"
    assert ids["UN General Assembly"] == "org:un-general-assembly"  # longest match, not "UN"
    assert ids["Rashid Alimov"] == "person:rashid-alimov"
    assert ids["Vladimir Voronkov"] == "person:vladimir-voronkov"
    assert ids["Mr Voronkov"] == "person:vladimir-voronkov"
    assert ids["Regional Anti-Terrorist Structure"] == "org:sco-rats"
    assert ids["Russian Federation"] == "country:RU"
    assert ids["New York"] == "loc:new-york"
    # a person the gazetteer lacks: found by NER, the bare surname resolves to the full name
    assert ids["Marat Tuayev"] == ids["Tuayev"] == "person:marat-tuaev"
    methods = {m["surface"]: m["method"] for m in result.mentions if m["article_id"] == "en1"}
    assert methods["Marat Tuayev"] == "ner" and methods["SCO"] == "gazetteer"
    ents = {e["entity_id"]: e for e in result.entities}
    assert ents["country:IN"]["type"] == "country" and ents["country:IN"]["iso_code"] == "IN"
    assert ents["org:sco"]["type"] == "org" and ents["org:sco"]["iso_code"] is None
    assert ents["person:rashid-alimov"]["type"] == "person"
    assert ents["person:rashid-alimov"]["name"] == "Rashid Alimov"
    assert ents["loc:new-york"]["type"] == "location"
    assert ents["person:marat-tuaev"]["type"] == "person"
    assert {m["entity_id"] for m in result.mentions} == set(ents)


def test_russian_entities_share_ids(result: EnrichResult) -> None:
    ids = _ids(result, "ru1")
    assert ids["ШОС"] == "org:sco"
    assert ids["Владимиром Воронковым"] == "person:vladimir-voronkov"
    assert ids["Рашид Алимов"] == ids["Р.Алимов"] == "person:rashid-alimov"
    assert ids["Контртеррористического управления ООН"] == "org:unoct"
    assert ids["России"] == "country:RU"
    assert ids["Китая"] == "country:CN"


def test_gazetteer_aliases() -> None:
    gaz = load()

    def found(text: str) -> list[tuple[str, str]]:
        return [(text[m.start : m.end], m.entity_id) for m in gaz.find(text)]

    assert found("UN Office of Counter-Terrorism and UNOCT") == [
        ("UN Office of Counter-Terrorism", "org:unoct"),
        ("UNOCT", "org:unoct"),
    ]
    assert found("Контртеррористическое управление ООН") == [
        ("Контртеррористическое управление ООН", "org:unoct")
    ]
    assert found("Россией и Китаем, КНР") == [
        ("Россией", "country:RU"),
        ("Китаем", "country:CN"),
        ("КНР", "country:CN"),
    ]
    # acronyms are case-sensitive and whole words only; lower-case common nouns are not names
    assert found("the un and the sco discussed SCOPE and a turkey") == []
    assert found("UNESCO") == [("UNESCO", "org:unesco")]
    assert found("SCO\u00a0Secretary-General Rashid\u00a0Alimov") == [
        ("SCO", "org:sco"),
        ("Rashid\u00a0Alimov", "person:rashid-alimov"),
    ]
    assert "Россией" in ru_forms("Россия") and "Китаем" in ru_forms("Китай")


def test_status_at() -> None:
    assert status_at("IN", 2010) == "observer"
    assert status_at("IN", 2016) == "observer"
    assert status_at("IN", 2017) == "member"
    assert status_at("IN", 2018) == "member"
    assert status_at("IN", 2003) == "none"
    assert status_at("IR", 2022) == "observer" and status_at("IR", 2023) == "member"
    assert status_at("BY", 2012) == "dialogue_partner"
    assert status_at("BY", 2020) == "observer" and status_at("BY", 2024) == "member"
    assert status_at("CN", 2001) == "member"
    assert status_at("TR", 2015) == "dialogue_partner"
    assert status_at("US", 2020) == "none"


def test_article_countries_by_year() -> None:
    text = "India and Pakistan joined the talks with Kazakhstan. India spoke first."
    res = enrich_articles(
        [
            EnrichInput("a2010", "en", text, datetime(2010, 5, 1)),
            EnrichInput("a2018", "en", text, datetime(2018, 5, 1)),
            EnrichInput("nodate", "en", text, None),
        ]
    )
    rows = {(r["article_id"], r["iso_code"]): r for r in res.article_countries}
    assert rows[("a2010", "IN")]["sco_status"] == "observer"
    assert rows[("a2018", "IN")]["sco_status"] == "member"
    assert rows[("a2010", "KZ")]["sco_status"] == "member"
    assert rows[("a2010", "IN")]["mentions"] == 2
    assert rows[("a2010", "PK")]["mentions"] == 1
    assert rows[("a2010", "IN")]["entity_id"] == "country:IN"
    assert rows[("nodate", "IN")]["sco_status"] is None
    assert ("a2010", "CN") not in rows


def test_roles(result: EnrichResult) -> None:
    rows = {(r["article_id"], r["person_id"], r["role"]): r for r in result.roles}
    sg = rows[("en1", "person:rashid-alimov", "Secretary-General")]
    assert sg["org_id"] == "org:sco" and sg["as_of"] == date(2017, 9, 21)
    usg = rows[("en1", "person:vladimir-voronkov", "Under-Secretary-General")]
    assert usg["org_id"] == "org:unoct"
    assert rows[("en1", "person:yevgeny-sysoyev", "Director")]["org_id"] == "org:sco-rats"
    ru = rows[("ru1", "person:rashid-alimov", "Secretary-General")]
    assert ru["org_id"] == "org:sco" and ru["as_of"] == date(2018, 6, 1)
    assert rows[("ru1", "person:vladimir-voronkov", "Head")]["org_id"] == "org:unoct"
    # "Information officer Marat Tuayev" is not a known title; "Mr Voronkov" has none
    assert not any(r["person_id"] == "person:marat-tuaev" for r in result.roles)
    assert len([r for r in result.roles if r["person_id"] == "person:vladimir-voronkov"]) == 2


def test_no_role_without_adjacent_title() -> None:
    res = enrich_articles(
        [EnrichInput("x", "en", "The SCO Secretary-General said that Rashid Alimov was away.")]
    )
    assert res.roles == []
    assert {m["entity_id"] for m in res.mentions} == {"org:sco", "person:rashid-alimov"}


def test_topics(result: EnrichResult) -> None:
    topics = {(r["article_id"], r["topic"]): r for r in result.article_topics}
    terror = topics[("en1", "terrorism")]
    assert {"terrorism", "counter-terrorism", "terrorist"} <= set(terror["triggers"])
    assert 0 < terror["score"] <= 1
    assert "терроризмом" in topics[("ru1", "terrorism")]["triggers"]
    assert ("en1", "energy") not in topics and ("en1", "culture_sport") not in topics
    # one trigger is below the threshold; two pass
    assert topic_rows("t", "The festival opened. " + "Delegates talked. " * 3) == []
    rows = topic_rows("t", "A sport festival opened and athletes arrived.")
    assert [r["topic"] for r in rows] == ["culture_sport"]
    assert rows[0]["triggers"] == ["athletes", "festival", "sport"]


def test_text_without_entities(result: EnrichResult) -> None:
    for table in ("mentions", "roles", "article_countries", "article_topics"):
        assert not [r for r in getattr(result, table) if r["article_id"] == "none"], table
    empty = enrich_articles([EnrichInput("e", "en", "", None)])
    assert empty == EnrichResult()
    assert enrich_articles([]) == EnrichResult()


def test_ner_pipeline_is_ner_only_and_equivalent() -> None:
    import spacy

    slim = spacy_nlp()
    assert slim.pipe_names == ["ner"]
    full = spacy.load(SPACY_MODEL)
    assert "tok2vec" in full.pipe_names
    for text in (EN, "UN Secretary-General António Guterres met Xi Jinping in Beijing."):
        a = [(e.start_char, e.end_char, e.label_) for e in full(text).ents]
        b = [(e.start_char, e.end_char, e.label_) for e in slim(text).ents]
        assert a == b and a


def test_windowed_ner_finds_the_same_full_names() -> None:
    text = EN + " Director of the OSCE centre Marcel Pesko and Interpol's Jurgen Stock spoke."
    covered = [(m.start, m.end) for m in load().find(text)]

    def names(spans: list[Any]) -> set[str]:
        return {
            s.text
            for s in spans
            if s.type == "person"
            and " " in s.text
            and not any(a < s.end and s.start < b for a, b in covered)
        }

    (windowed,) = ner_en([text], [covered])
    (full,) = ner_en([text])
    assert names(windowed) == names(full)
    assert "Marat Tuayev" in names(full)


def test_windows_skip_covered_text() -> None:
    text = "SCO and UN met. The talks were long. Marat Tuayev spoke."
    covered = [(m.start, m.end) for m in load().find(text)]
    wins = windows(text, covered)
    assert len(wins) == 1 and "Marat Tuayev" in text[wins[0][0] : wins[0][1]]
    assert windows("the talks were long.", []) == []
    # a headline in Title Case (no full stop) is skipped; the same words in a sentence are not
    headline = "Chinese Sanctions To Take Effect Against Human Rights Watch"
    assert windows(headline + "\nthe end.", []) == []
    assert windows(headline + ".", []) != []


def test_russian_person_normalised() -> None:
    (spans,) = ner_ru(["Генсек встретился с Владимиром Воронковым в Москве."])
    per = [s for s in spans if s.type == "person"]
    assert [s.normal for s in per] == ["Владимир Воронков"]
    assert name_key(per[0].normal) == name_key("Vladimir Voronkov")
    # a person outside the gazetteer: the same id from Russian and English text
    res = enrich_articles(
        [
            EnrichInput("r", "ru", "В Москве он встретился с Игорем Сечиным.", None),
            EnrichInput("e", "en", "In Moscow he met Igor Sechin.", None),
        ]
    )
    ids = _ids(res, "r") | _ids(res, "e")
    assert ids["Игорем Сечиным"] == ids["Igor Sechin"] == "person:igor-sechin"
    (ent,) = [e for e in res.entities if e["entity_id"] == "person:igor-sechin"]
    assert ent["name"] == "Igor Sechin" and "Игорем Сечиным" in ent["aliases"]


def test_mapping_input_and_language_guess() -> None:
    res = enrich_articles([{"article_id": "m", "language": None, "text": RU}])
    assert _ids(res, "m")["ШОС"] == "org:sco"


def _fits(table: schema.Table, rows: list[dict[str, Any]]) -> None:
    fields = [f for f in table.schema if f.name != "run_id"]
    got = pa.Table.from_pylist(rows, schema=pa.schema(fields))
    assert got.num_rows == len(rows)
    for row in rows:
        assert set(row) == {f.name for f in fields}
        for col in table.required:
            assert col == "run_id" or row[col] is not None, (table.name, col)


def test_rows_fit_warehouse_schema(result: EnrichResult) -> None:
    _fits(schema.ENTITIES, result.entities)
    _fits(schema.MENTIONS, result.mentions)
    _fits(schema.ROLES, result.roles)
    _fits(schema.ARTICLE_COUNTRIES, result.article_countries)
    _fits(schema.ARTICLE_TOPICS, result.article_topics)
    assert result.roles and result.article_countries and result.article_topics


# --------------------------------------------------------------------------------- issue 4 fixes


def test_russian_places_and_bodies_get_nominative_ids() -> None:
    text = (
        "Внимание было уделено коридорам между Европой и Азией. Следующий саммит пройдет в "
        "Челябинске. Ташкент предлагает расширять связи между Центральной и Южной Азией. Он "
        "рассказал о решениях Астанинского саммита.\n\n"
        "Представитель Министерства культуры Киргизии выступил перед студентами Университета "
        "ШОС. Конкурс организован Молодежным советом ШОС."
    )
    res = enrich_articles([EnrichInput("r", "ru", text)])
    ids = _ids(res, "r")
    assert ids["Европой"] == "loc:evropa" and ids["Азией"] == "loc:aziya"
    assert ids["Челябинске"] == "loc:chelyabinsk"
    # an adjective sharing the noun of the next name; a relative adjective is no place
    assert ids["Центральной"] == "loc:central-asia"
    assert ids["Южной Азией"] == "loc:yuzhnaya-aziya"
    assert not any("Астанинск" in s for s in ids)
    # bodies named after a known name: the head is normalised, the complement stays mentioned
    assert ids["Министерства культуры Киргизии"] == "org:ministerstvo-kultury-kirgizii"
    assert ids["Киргизии"] == "country:KG"
    assert ids["Университета ШОС"] == "org:universitet-shos"
    assert ids["Молодежным советом ШОС"] == "org:molodezhnyy-sovet-shos"
    assert ids["ШОС"] == "org:sco"


def test_russian_council_names_and_dashes() -> None:
    gaz = load()

    def found(text: str) -> list[tuple[str, str]]:
        return [(text[m.start : m.end], m.entity_id) for m in gaz.find(text)]

    assert found("заседание Совета глав государств – членов ШОС") == [
        ("Совета глав государств – членов ШОС", "org:sco-heads-of-state-council")
    ]
    assert found("Совета глав правительств государств-членов ШОС и Совета глав государств") == [
        ("Совета глав правительств государств-членов ШОС", "org:sco-heads-of-government-council"),
        ("Совета глав государств", "org:sco-heads-of-state-council"),
    ]
    assert found("в Шанхайской организации сотрудничества") == [
        ("Шанхайской организации сотрудничества", "org:sco")
    ]
    assert found("Директор Исполкома РАТС ШОС") == [("Исполкома РАТС ШОС", "org:sco-rats")]
    assert found("Советом министров иностранных дел") == [
        ("Советом министров иностранных дел", "org:sco-foreign-ministers-council")
    ]
    assert found("runners from Kenya and Ethiopia") == [("Kenya", "country:KE"),
                                                        ("Ethiopia", "country:ET")]  # fmt: skip
    # a concept is not the place inside it
    assert found("the Shanghai spirit in Shanghai") == [("Shanghai", "loc:shanghai")]
    assert [m.entity_id for m in gaz.find("the Shanghai spirit", not_names=True)] == [""]


def test_english_bodies_documents_and_lone_words() -> None:
    text = (
        "The SCO Secretariat hosted a meeting of the SCO Energy Club. Leaders approved a roadmap "
        "for the SCO-Afghanistan Contact Group and the Convention on Countering Extremism. The "
        "Secretariat will follow up. The summit confirmed the Shanghai spirit.\n\n"
        "The conference was organised by the Slovak chairmanship. A message from a UNODC office "
        "in Bogotá was read out."
    )
    other = "The Secretariat of the Parliament met in the capital. The Secretariat agreed."
    res = enrich_articles([EnrichInput("e", "en", text), EnrichInput("o", "en", other)])
    ids = _ids(res, "e")
    assert ids["SCO Energy Club"] == "org:sco-energy-club"
    assert ids["SCO-Afghanistan Contact Group"] == "org:sco-afghanistan-contact-group"
    # the parties of the pair are mentioned too
    assert ids["Afghanistan"] == "country:AF" and ids["SCO"] == "org:sco"
    # "the Secretariat" is the one the article names; not a document, a concept, an adjective
    assert ids["Secretariat"] == "org:sco-secretariat"
    assert ids["Bogotá"] == "loc:bogota"
    found = {m["entity_id"] for m in res.mentions if m["article_id"] == "e"}
    assert not any("convention" in i or "slovak" in i or "shanghai" in i for i in found)
    # no named secretariat: a bare "Secretariat" is nothing
    assert not [m for m in res.mentions if m["article_id"] == "o" and m["surface"] == "Secretariat"]


def test_body_extending_a_known_name() -> None:
    from infoshos.flows.enrich.linking import names_other_body

    def other(text: str, inner: str) -> bool:
        a = text.index(inner)
        return names_other_body(text, 0, len(text), [(a, a + len(inner))])

    assert other("SCO Youth Council", "SCO")
    assert other("Университета ШОС", "ШОС")
    assert other("Министерства культуры Киргизии", "Киргизии")
    assert not other("RATS Council", "RATS")  # the body's own organ
    assert not other("SCO Kunming International Marathon", "SCO")  # an event
    assert not other("Eight Wonders of the SCO", "SCO")  # a project


def test_every_country_has_a_string_iso_code() -> None:
    from infoshos.flows.enrich import gazetteer

    countries = [e for e in gazetteer.load().entities.values() if e.type == "country"]
    assert countries
    for e in countries:
        assert isinstance(e.iso_code, str) and len(e.iso_code) == 2, e
        assert e.entity_id == f"country:{e.iso_code}"
    norway = [e for e in countries if e.name == "Norway"]
    assert norway and norway[0].iso_code == "NO"


def _pattern_spans(text: str, forms: list[str]) -> list[tuple[int, int]]:
    """The rule ``whole_words`` keeps: one alternation, longest form first, word boundaries."""
    alternation = "|".join(map(re.escape, sorted(set(forms), key=len, reverse=True)))
    pattern = re.compile(r"(?<![\w.-])(?:" + alternation + r")(?![\w-])")
    return [m.span() for m in pattern.finditer(text)]


def test_whole_words_are_the_pattern_spans() -> None:
    # random texts over an alphabet of word characters (Latin, Cyrillic, digits, _), the
    # boundary characters (. -) and others; forms that overlap, nest and repeat
    rng = random.Random(5)
    alphabet = "abAБбж1_ -.,'’\n²"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        forms = ["".join(rng.choice("abБ-.") for _ in range(rng.randint(1, 3)))
                 for _ in range(rng.randint(1, 4))]  # fmt: skip
        assert whole_words(text, forms) == _pattern_spans(text, forms), (text, forms)
    text = "Ivanov met Ivanova; Petrov-Vodkin, a.Ivanov, Ivanov_ and Ivanov."
    assert [text[a:b] for a, b in whole_words(text, ["Ivanov", "Ivanova", "Petrov"])] == [
        "Ivanov", "Ivanova", "Ivanov"
    ]  # fmt: skip


def test_cover_is_any_span() -> None:
    # overlapping, nested and empty spans, in any order
    rng = random.Random(3)
    for _ in range(500):
        spans = [(a, a + rng.randint(0, 6)) for a in (rng.randint(0, 30) for _ in range(5))]
        inside = _Cover(spans)
        for at in range(-1, 40):
            assert inside(at) == any(s <= at < e for s, e in spans), (spans, at)
