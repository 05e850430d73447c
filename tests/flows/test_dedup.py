"""Story clusters: exact and near duplicates (infoshos.flows.dedup)."""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
import random
import re
from datetime import datetime

import datasketch
import numpy as np
import pytest
from datasketch import MinHash
from dedup_reference import IndexRecord, NearDuplicateIndex, minhashes, shingle_set
from dedup_scale import build, identity, reference_cluster_articles

from infoshos.flows import dedup
from infoshos.flows.dedup import (
    DEFAULT_THRESHOLD,
    MIN_WORDS,
    NUM_PERM,
    SEED,
    SIGNATURE_BYTES,
    ClusterRow,
    DedupInput,
    SignatureStore,
    article_signatures,
    cluster_articles,
    clusters,
    permutations,
    shingle_hashes,
    sketch,
    tokens,
)

BOILERPLATE = [
    "SCO Secretary-General Rashid Alimov met with",
    "The sides discussed the state and prospects of cooperation within the Shanghai "
    "Cooperation Organisation framework.",
    "The Secretary-General noted the importance of further strengthening mutual trust and "
    "good-neighbourly relations among the member states.",
]

STORIES: dict[str, list[str]] = {
    "ambassador": [
        BOILERPLATE[0] + " the Ambassador of the Kyrgyz Republic to China on 12 March in Beijing.",
        BOILERPLATE[1],
        "The ambassador briefed the Secretary-General on preparations for the summit of the "
        "heads of state to be held in Bishkek in June.",
        "Particular attention was paid to the draft documents on regional security, transport "
        "corridors and the joint programme of cultural events for the coming year.",
        "Mr Alimov thanked the Kyrgyz side for its active work as the chairing country and "
        "expressed confidence that the summit would give new impetus to the organisation.",
        BOILERPLATE[2],
        "The meeting took place in a warm and friendly atmosphere.",
    ],
    "students": [
        BOILERPLATE[0] + " a delegation of students from the Moscow State Institute of "
        "International Relations on 4 April at the Secretariat.",
        "The guests were told about the history of the organisation, its structure and the "
        "main directions of its activity over the past eighteen years.",
        "The students asked questions about the role of the youth council, academic exchange "
        "programmes and the network university of the member states.",
        "Answering them, Mr Alimov said that people to people contacts were one of the pillars "
        "of the organisation and invited the students to take part in the essay contest.",
        BOILERPLATE[1],
        "At the end of the visit the delegation toured the exhibition of national crafts.",
    ],
    "energy": [
        BOILERPLATE[0] + " the Minister of Energy of the Republic of Uzbekistan on 20 May "
        "during his working visit to Tashkent.",
        BOILERPLATE[1],
        "The minister presented the plans of his country to build new hydroelectric power "
        "plants and to expand the regional electricity grid towards the neighbouring states.",
        "The interlocutors exchanged views on the creation of an energy club, the financing of "
        "joint projects and the use of renewable sources in remote areas.",
        "The Secretary-General stressed that energy security remained high on the agenda and "
        "proposed to hold an expert meeting before the end of the year.",
        BOILERPLATE[2],
    ],
    "forum": [
        "The third media forum of the member states opened on 14 June in Qingdao with more than "
        "two hundred journalists, editors and bloggers from sixteen countries.",
        "The participants discussed the coverage of the organisation in national media, the "
        "fight against fake news and joint television projects.",
        "In a video address the organisers called on the media to tell the stories of ordinary "
        "people who benefit from cooperation in trade, education and health care.",
        "The forum will close on Saturday with the adoption of a final declaration and the "
        "presentation of awards for the best reports about the region.",
        BOILERPLATE[2],
    ],
}

RUSSIAN = [
    "Генеральный секретарь ШОС Рашид Алимов встретился с послом Киргизской Республики в Китае "
    "12 марта в Пекине.",
    "Стороны обсудили состояние и перспективы сотрудничества в рамках Шанхайской организации "
    "сотрудничества.",
    "Посол проинформировал Генерального секретаря о подготовке к саммиту глав государств, "
    "который пройдёт в Бишкеке в июне.",
    "Особое внимание было уделено проектам документов по региональной безопасности, "
    "транспортным коридорам и совместной программе культурных мероприятий на следующий год.",
    "Встреча прошла в тёплой и дружественной атмосфере.",
]

CHINESE = (
    "上海合作组织秘书长阿利莫夫三月十二日在北京会见了吉尔吉斯共和国驻华大使。双方讨论了本组织框架内"
    "合作的现状和前景。大使向秘书长介绍了六月在比什凯克举行的元首理事会会议的筹备情况。会见在友好的"
    "气氛中进行。"
)
CHINESE_OTHER = (
    "上海合作组织秘书长阿利莫夫五月二十日在塔什干会见了乌兹别克斯坦能源部长。部长介绍了本国建设新"
    "水电站和扩大地区电网的计划。双方就成立能源俱乐部和联合项目融资交换了意见。"
)

CHROME = "Share this page: Facebook Twitter VK Telegram Print version Subscribe to our newsletter"


def join(sentences: list[str]) -> str:
    return " ".join(sentences)


def change_words(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def near_variants(story: list[str]) -> dict[str, str]:
    base = join(story)
    words = base.split()
    return {
        "whitespace": "\n\n".join(story).replace(" ", "  ", 7) + "\n",
        "case_and_nbsp": base.replace(" ", "\u00a0", 5).upper(),
        "one_word": change_words(base, (words[20], "XXXX")),
        "two_words": change_words(base, (words[15], "alpha"), (words[60], "beta")),
        "sentence_dropped": join(story[:3] + story[4:]),
        "sentence_added": join(story + ["Photo: press service of the SCO Secretariat."]),
        "chrome_added": base + "\n" + CHROME,
        "chrome_and_word": change_words(CHROME + "\n" + base, (words[30], "gamma")),
    }


def estimated(a: str, b: str) -> float:
    index = NearDuplicateIndex()
    ma, mb = index.sketch(a), index.sketch(b)
    assert ma is not None and mb is not None
    return float(ma.jaccard(mb))


def exact(a: str, b: str) -> float:
    sa, sb = shingle_set(a)[0], shingle_set(b)[0]
    return len(sa & sb) / len(sa | sb)


NEAR_PAIRS = [
    (f"{name}/{kind}", join(story), variant)
    for name, story in STORIES.items()
    for kind, variant in near_variants(story).items()
]
SHORT = (
    "The SCO Regional Anti-Terrorist Structure held a meeting of experts in Tashkent on 3 July "
    "to discuss the joint border operation planned for the autumn and the exchange of "
    "information on wanted persons."
)
NEAR_PAIRS.append(("short/one_word", SHORT, SHORT.replace("autumn", "spring")))
NEAR_PAIRS.append(("short/chrome", SHORT, SHORT + " Print version"))
NON_PAIRS = [
    (f"{a}~{b}", join(STORIES[a]), join(STORIES[b]))
    for i, a in enumerate(STORIES)
    for b in list(STORIES)[i + 1 :]
]


def rec(
    article_id: str,
    text: str,
    *,
    language: str = "en",
    seen: str | None = None,
    word_count: int | None = None,
    content_hash: str | None = None,
) -> DedupInput:
    return DedupInput(
        article_id=article_id,
        url=f"http://infoshos.sample.test/en/?idn={article_id}",
        language=language,
        text=text,
        content_hash=content_hash or hashlib.sha256(text.encode()).hexdigest(),
        word_count=len(text.split()) if word_count is None else word_count,
        seen_order=seen or ("run1", article_id),
        published_at=datetime(2019, 3, 12, 10, 0),
    )


def by_article(rows: list[ClusterRow]) -> dict[str, ClusterRow]:
    return {r["article_id"]: r for r in rows}


def partition(rows: list[ClusterRow]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for r in rows:
        groups.setdefault(r["cluster_id"], set()).add(r["article_id"])
    return {frozenset(g) for g in groups.values()}


# --------------------------------------------------------------------------- tokens, shingles


def test_tokens_casefold_and_cjk() -> None:
    assert tokens("SCO  Secretary-General\u00a0MET") == ["sco", "secretary", "general", "met"]
    assert tokens("上海合作组织 SCO") == ["上", "海", "合", "作", "组", "织", "s", "c", "o"]
    shingles, count = shingle_set("上海合作组织")
    assert count == 6
    assert "上海合".encode() in shingles and len(shingles) == 4
    assert shingle_set("") == (set(), 0)
    assert len(shingle_set("one two three")[0]) == 1


def test_shingle_hashes_match_shingle_set() -> None:
    for text in [join(STORIES["forum"]), CHINESE, "one two three", "", SHORT]:
        hashes, count = shingle_hashes(text)
        shingles, count2 = shingle_set(text)
        assert count == count2 == len(tokens(text))
        assert len(hashes) == len(shingles)
        assert hashes == sorted(set(hashes)) and all(0 <= h < 2**32 for h in hashes)
    assert shingle_hashes("a b c d e f")[0] != shingle_hashes("a b c d e g")[0]
    assert shingle_hashes("A  b c\u00a0d e")[0] == shingle_hashes("a b c d e")[0]


# --------------------------------------------------------------------------- labelled pairs


@pytest.mark.parametrize(("name", "a", "b"), NEAR_PAIRS, ids=[p[0] for p in NEAR_PAIRS])
def test_labelled_near_duplicates_pass_threshold(name: str, a: str, b: str) -> None:
    # a margin of about three MinHash standard errors above the threshold
    assert exact(a, b) >= DEFAULT_THRESHOLD + 0.12, name
    assert estimated(a, b) >= DEFAULT_THRESHOLD, name


@pytest.mark.parametrize(("name", "a", "b"), NON_PAIRS, ids=[p[0] for p in NON_PAIRS])
def test_labelled_non_duplicates_stay_below(name: str, a: str, b: str) -> None:
    assert exact(a, b) <= DEFAULT_THRESHOLD - 0.2, name
    assert estimated(a, b) < DEFAULT_THRESHOLD, name


def test_threshold_separates_labelled_pairs() -> None:
    near = min(exact(a, b) for _, a, b in NEAR_PAIRS)
    far = max(exact(a, b) for _, a, b in NON_PAIRS)
    assert far < DEFAULT_THRESHOLD < near


# --------------------------------------------------------------------------- index


def test_index_query_and_add() -> None:
    records = [
        IndexRecord(article_id=name, text=join(story), language="en")
        for name, story in STORIES.items()
    ]
    records.append(IndexRecord(article_id="short", text="SCO summit opens", language="en"))
    index = NearDuplicateIndex.from_records(records)
    assert len(index) == len(STORIES)
    assert "short" not in index and "energy" in index
    copy = near_variants(STORIES["energy"])["sentence_dropped"]
    found = index.query(copy, "en")
    assert [a for a, _ in found] == ["energy"]
    assert DEFAULT_THRESHOLD <= found[0][1] <= 1.0
    assert index.query(copy, "ru") == []
    assert index.query("SCO summit opens", "en") == []
    assert index.add("energy2", copy, "en") is True
    assert {a for a, _ in index.query(copy, "en")} == {"energy", "energy2"}
    assert index.add("tiny", "too short", "en") is False
    with pytest.raises(ValueError):
        index.add("energy2", copy, "en")


# --------------------------------------------------------------------------- clusters


def test_exact_duplicates_share_a_cluster() -> None:
    text = join(STORIES["forum"])
    rows = cluster_articles([rec("b", text, seen="2"), rec("a", text, seen="1")])
    assert by_article(rows)["a"] == ClusterRow(
        cluster_id="a", article_id="a", role="canonical", similarity=1.0, reason="canonical"
    )
    assert by_article(rows)["b"] == ClusterRow(
        cluster_id="a", article_id="b", role="duplicate", similarity=1.0, reason="same_content"
    )


def test_short_texts_match_only_exactly() -> None:
    short = "SCO Secretary-General Rashid Alimov met with the Ambassador of India today."
    assert len(tokens(short)) < MIN_WORDS
    rows = cluster_articles(
        [
            rec("a", short),
            rec("b", short.replace("today", "yesterday")),
            rec("c", short),
        ]
    )
    assert partition(rows) == {frozenset({"a", "c"}), frozenset({"b"})}


def test_near_duplicates_cluster_and_non_duplicates_do_not() -> None:
    records: list[DedupInput] = []
    for name, story in STORIES.items():
        records.append(rec(name, join(story)))
        for kind, text in near_variants(story).items():
            records.append(rec(f"{name}.{kind}", text))
    rows = cluster_articles(records)
    expected = {
        frozenset({name} | {f"{name}.{kind}" for kind in near_variants(story)})
        for name, story in STORIES.items()
    }
    assert partition(rows) == expected
    near = [r for r in rows if r["reason"] == "near_duplicate"]
    assert near and all(0.3 < r["similarity"] < 1.0 for r in near)
    assert all(r["role"] == "duplicate" for r in near)
    assert sum(r["role"] == "canonical" for r in rows) == len(STORIES)


def test_shared_boilerplate_is_not_enough() -> None:
    rows = cluster_articles([rec(name, join(story)) for name, story in STORIES.items()])
    assert len(partition(rows)) == len(STORIES)
    assert all(r["role"] == "canonical" and r["cluster_id"] == r["article_id"] for r in rows)


def test_languages_are_never_merged() -> None:
    text = join(STORIES["ambassador"])
    ru = join(RUSSIAN)
    rows = cluster_articles(
        [
            rec("en1", text, language="en"),
            rec("en2", near_variants(STORIES["ambassador"])["one_word"], language="en"),
            rec("xx", text, language="kk"),  # same words, another language tag: no near match
            rec("ru1", ru, language="ru"),
            rec("ru2", ru + " " + CHROME, language="ru"),
        ]
    )
    # same content hash is the same text: it joins whatever the language tag says
    assert partition(rows) == {
        frozenset({"en1", "en2", "xx"}),
        frozenset({"ru1", "ru2"}),
    }
    rows = cluster_articles(
        [
            rec("en2", near_variants(STORIES["ambassador"])["one_word"], language="en"),
            rec("xx", text, language="kk"),
        ]
    )
    assert partition(rows) == {frozenset({"en2"}), frozenset({"xx"})}


def test_cluster_id_is_first_seen_and_stable_when_a_copy_joins() -> None:
    story = STORIES["students"]
    first = [
        rec("m", join(story), seen="2019-04-04T10:00 m"),
        rec("k", near_variants(story)["chrome_added"], seen="2019-04-05T09:00 k"),
        rec("z", join(STORIES["energy"]), seen="2019-05-20T12:00 z"),
    ]
    rows1 = cluster_articles(first)
    assert {r["article_id"]: r["cluster_id"] for r in rows1} == {"m": "m", "k": "m", "z": "z"}
    previous = {r["article_id"]: r["cluster_id"] for r in rows1}

    # a copy seen in the second run but published earlier, with a smaller seen key
    newcomer = rec("a", near_variants(story)["sentence_dropped"], seen="2019-04-01T08:00 a")
    rows2 = cluster_articles([*first, newcomer], previous)
    assert {r["article_id"]: r["cluster_id"] for r in rows2} == {
        "m": "m",
        "k": "m",
        "a": "m",
        "z": "z",
    }
    # without the previous state it would have been named after the newcomer
    rows3 = cluster_articles([*first, newcomer])
    assert by_article(rows3)["m"]["cluster_id"] == "a"


def test_merging_two_old_clusters_keeps_the_oldest_id() -> None:
    story = STORIES["energy"]
    variants = near_variants(story)
    records = [
        rec("p", variants["sentence_added"], seen="1"),
        rec("q", variants["sentence_dropped"], seen="2"),
    ]
    previous = {"p": "old-p", "q": "old-q"}
    rows = cluster_articles(records, previous)
    assert {r["cluster_id"] for r in rows} == {"old-p"}
    # reversed seen order -> the other old id
    records = [
        rec("p", variants["sentence_added"], seen="3"),
        rec("q", variants["sentence_dropped"], seen="2"),
    ]
    assert {r["cluster_id"] for r in cluster_articles(records, previous)} == {"old-q"}


def test_old_cluster_split_keeps_id_once() -> None:
    # "a" and "b" were one cluster; now their texts differ completely
    records = [
        rec("a", join(STORIES["forum"]), seen="1"),
        rec("b", join(STORIES["students"]), seen="2"),
    ]
    rows = cluster_articles(records, {"a": "a", "b": "a"})
    assert {r["article_id"]: r["cluster_id"] for r in rows} == {"a": "a", "b": "b"}
    rows = cluster_articles(records, {"a": "x", "b": "x"})
    assert {r["article_id"]: r["cluster_id"] for r in rows} == {"a": "x", "b": "b"}


def test_canonical_is_most_complete_then_first_seen_then_id() -> None:
    story = STORIES["ambassador"]
    variants = near_variants(story)
    longer = variants["sentence_added"]
    rows = cluster_articles(
        [
            rec("a", join(story), seen="1"),
            rec("b", longer, seen="3"),
            rec("c", variants["one_word"], seen="0"),
        ]
    )
    got = by_article(rows)
    assert got["b"]["role"] == "canonical" and got["b"]["reason"] == "canonical"
    assert got["a"]["role"] == got["c"]["role"] == "duplicate"
    assert got["a"]["cluster_id"] == "c"  # the id is still the first seen member's

    # equal word counts: earliest seen wins; then the smaller article_id
    same = [
        rec("a", join(story), seen="2", word_count=100),
        rec("b", variants["one_word"], seen="1", word_count=100),
    ]
    assert by_article(cluster_articles(same))["b"]["role"] == "canonical"
    tie = [
        rec("b", join(story), seen="1", word_count=100),
        rec("a", variants["one_word"], seen="1", word_count=100),
    ]
    assert by_article(cluster_articles(tie))["a"]["role"] == "canonical"


def test_same_content_relative_to_canonical() -> None:
    story = STORIES["students"]
    base, longer = join(story), near_variants(story)["sentence_added"]
    rows = by_article(
        cluster_articles([rec("a", base), rec("b", longer), rec("c", longer), rec("d", base)])
    )
    assert rows["b"]["reason"] == "canonical"
    assert rows["c"]["reason"] == "same_content" and rows["c"]["similarity"] == 1.0
    assert rows["a"]["reason"] == rows["d"]["reason"] == "near_duplicate"
    assert rows["a"]["similarity"] == rows["d"]["similarity"] < 1.0


def test_cjk_texts_use_character_grams() -> None:
    changed = CHINESE.replace("友好", "热烈")
    assert len(tokens(CHINESE)) >= MIN_WORDS
    rows = cluster_articles(
        [
            rec("z1", CHINESE, language="zh"),
            rec("z2", changed, language="zh"),
            rec("z3", CHINESE_OTHER, language="zh"),
        ]
    )
    assert partition(rows) == {frozenset({"z1", "z2"}), frozenset({"z3"})}


def test_order_independent() -> None:
    records: list[DedupInput] = []
    for name, story in STORIES.items():
        records.append(rec(name, join(story), seen=f"s{len(records):03d}"))
        for kind, text in near_variants(story).items():
            records.append(rec(f"{name}.{kind}", text, seen=f"s{len(records):03d}"))
    previous = {"energy.one_word": "old-energy"}
    expected = cluster_articles(records, previous)
    assert any(r["cluster_id"] == "old-energy" for r in expected)
    rng = random.Random(7)
    for _ in range(5):
        shuffled = records[:]
        rng.shuffle(shuffled)
        assert cluster_articles(shuffled, previous) == expected


def test_duplicate_input_ids_rejected() -> None:
    with pytest.raises(ValueError):
        cluster_articles([rec("a", "x"), rec("a", "y")])


def test_empty_input() -> None:
    assert cluster_articles([]) == []


# ------------------------------------------------ batched sketches == datasketch, stored ones


TINY = "SCO Secretary-General Rashid Alimov met with the Ambassador of India today."


def fixture_records() -> list[DedupInput]:
    records: list[DedupInput] = []
    for name, story in STORIES.items():
        records.append(rec(name, join(story), seen=f"s{len(records):03d}"))
        for kind, text in near_variants(story).items():
            records.append(rec(f"{name}.{kind}", text, seen=f"s{len(records):03d}"))
    records += [
        rec("ru", join(RUSSIAN), language="ru"),
        rec("ru.one_word", join(RUSSIAN).replace("июне", "июле"), language="ru"),
        rec("ru.in_en", join(RUSSIAN)),  # same text, other language: exact duplicate only
        rec("z1", CHINESE, language="zh"),
        rec("z2", CHINESE.replace("友好", "热烈"), language="zh"),
        rec("z3", CHINESE_OTHER, language="zh"),
        rec("long1", SHORT),
        rec("long2", SHORT.replace("autumn", "spring")),
        rec("short1", TINY),
        rec("short2", TINY),
        rec("short3", TINY.replace("today", "yesterday")),
        rec("empty", ""),
        rec("same_hash", join(STORIES["forum"]), content_hash="h-forum", word_count=999),
        rec("same_hash2", join(STORIES["forum"]) + " Print", content_hash="h-forum"),
    ]
    for i, r in enumerate(records):  # one kind of seen_order for all (comparable)
        r["seen_order"] = f"s{i:03d}"
    return records


def test_batched_signatures_equal_datasketch(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [r["text"] for r in fixture_records()] + ["", "one", "a b c", "", "上海"]
    sets = [shingle_hashes(t)[0] for t in texts]
    expected = MinHash.bulk(sets, num_perm=NUM_PERM, seed=SEED, hashfunc=identity)
    for chunk in (7, 64, 8192):  # chunks cutting through texts, and whole batches
        monkeypatch.setattr(sketch, "CHUNK_ROWS", chunk)
        sig, counts = sketch.sketch_texts(texts)
        assert counts == [len(tokens(t)) for t in texts]
        for row, mh in zip(sig, expected, strict=True):
            assert np.array_equal(row, mh.hashvalues)
    for ours, theirs in zip(minhashes(shingle_hashes(t)[0] for t in texts), expected, strict=True):
        assert ours.jaccard(theirs) == 1.0


def test_frozen_permutations_are_datasketchs_bit_for_bit() -> None:
    mh = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=identity)
    assert mh.scheme == "affine32"
    a, b = mh.permutations
    assert a.dtype == b.dtype == np.uint32
    assert a.tolist() == list(permutations.PERM_A) and b.tolist() == list(permutations.PERM_B)
    assert all(x % 2 == 1 for x in permutations.PERM_A)  # odd: each permutation is a bijection
    # the scheme names the fingerprint of these very constants: changing one is a new scheme
    raw = np.array(permutations.PERM_A + permutations.PERM_B, dtype="<u4").tobytes()
    assert hashlib.sha256(raw).hexdigest()[:16] == dedup.PERMUTATIONS_FINGERPRINT
    assert "/perm-b14750dd0abf30bb/" in dedup.SIGNATURE_SCHEME


def test_mostly_cjk_is_decided_on_the_set_the_scheme_was_made_with() -> None:
    """SIGNATURE_SCHEME was made with kana, the BMP's Han and hangul deciding "mostly CJK": a
    change of the shared ranges (flows/text.py) must not change signatures under the same
    scheme."""
    frozen = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
    every = "".join(map(chr, range(0x30000)))
    assert sketch._CJK.findall(every) == frozen.findall(every)
    assert "/w5-c3/min30/blake2b-poly-v1" in dedup.SIGNATURE_SCHEME


def test_signatures_do_not_depend_on_datasketch_at_run_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = [join(STORIES["forum"]), CHINESE]
    before, _ = sketch.sketch_texts(texts)

    def broken(*args: object, **kwargs: object) -> None:
        raise AssertionError("datasketch consulted for the permutations")

    monkeypatch.setattr(datasketch.MinHash, "__init__", broken)
    permutations.parameters.cache_clear()
    try:
        after, _ = sketch.sketch_texts(texts)
    finally:
        permutations.parameters.cache_clear()
    assert np.array_equal(before, after)


@pytest.mark.parametrize("threshold", [0.3, DEFAULT_THRESHOLD, 0.8])
def test_same_clusters_as_the_datasketch_reference_on_fixtures(threshold: float) -> None:
    records = fixture_records()
    previous = {"energy.one_word": "old-energy", "forum": "old-forum", "z2": "old-z"}
    expected = reference_cluster_articles(records, previous, threshold=threshold)
    assert cluster_articles(records, previous, threshold=threshold) == expected


def test_same_clusters_as_the_datasketch_reference_on_synthetic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records, _ = build(1500, seed=3)
    previous = {r["article_id"]: f"old-{i % 97}" for i, r in enumerate(records[:700])}
    expected = reference_cluster_articles(records, previous)
    assert cluster_articles(records, previous) == expected
    monkeypatch.setattr(clusters, "_BATCH", 97)
    for info in pkgutil.iter_modules(dedup.__path__):  # every module working in chunks of rows
        module = importlib.import_module(f"{dedup.__name__}.{info.name}")
        if hasattr(module, "CHUNK_ROWS"):
            monkeypatch.setattr(module, "CHUNK_ROWS", 1000)
    assert cluster_articles(records, previous) == expected


def test_article_signatures_are_the_sketched_representatives() -> None:
    records = fixture_records()
    sigs = article_signatures(records)
    assert all(len(v) == SIGNATURE_BYTES for v in sigs.values())
    ids = {aid for aid, _ in sigs}
    assert len(tokens(TINY)) < MIN_WORDS <= len(tokens(SHORT))
    assert {"energy", "ru", "z1", "same_hash", "long1", "long2"} <= ids
    # short and empty texts, and copies of a content hash (not its representative), have none
    assert not ids & {"short1", "short2", "short3", "empty", "same_hash2", "ru.in_en"}
    key = ("energy", rec("energy", join(STORIES["energy"]))["content_hash"])
    expected = minhashes([shingle_hashes(join(STORIES["energy"]))[0]])[0].hashvalues
    assert np.array_equal(np.frombuffer(sigs[key], dtype="<u4"), expected)


def test_stored_signatures_give_the_same_clusters() -> None:
    records = fixture_records()
    previous = {"energy.one_word": "old-energy"}
    expected = cluster_articles(records, previous)
    sigs = article_signatures(records)
    assert cluster_articles(records, previous, signatures=sigs) == expected
    half = dict(list(sigs.items())[::2])
    assert cluster_articles(records, previous, signatures=half) == expected
    assert article_signatures(records, half) == sigs


def test_stored_signatures_are_used_and_keyed_by_content_hash() -> None:
    energy, forum = join(STORIES["energy"]), join(STORIES["forum"])
    records = [rec("a", energy), rec("b", forum)]
    sig_a = article_signatures(records)[("a", records[0]["content_hash"])]
    # a stored signature is trusted: b stored with a's signature joins a's cluster
    lie = {("b", records[1]["content_hash"]): sig_a}
    assert len(partition(cluster_articles(records, signatures=lie))) == 1
    # ... unless b's text changed since (another content hash): then b is hashed again
    stale = {("b", "an-older-content-hash"): sig_a}
    assert len(partition(cluster_articles(records, signatures=stale))) == 2
    with pytest.raises(ValueError):
        cluster_articles(records, signatures={("b", records[1]["content_hash"]): b"x" * 12})


def test_signature_store_answers_by_content_hash_and_grows() -> None:
    records = fixture_records()
    previous = {"energy.one_word": "old-energy"}
    sigs = article_signatures(records)
    store = SignatureStore()
    for (_, h), sig in sigs.items():
        store.add(h, sig)
        store.add(h, b"\0" * SIGNATURE_BYTES)  # a hash is signed once: the first one stays
    assert len(store) == len({h for _, h in sigs})
    for (_, h), sig in sigs.items():
        assert store.has(h) and store.signature(h) == sig
        assert store[("any-article", h)] == sig
    assert store.get(("x", "unknown-hash")) is None and not store.has("unknown-hash")
    # without texts: the store alone gives the clusters the texts give (short texts are never
    # sketched, so their text is not needed either)
    blank = [DedupInput(**{**r, "text": ""}) for r in records]
    assert cluster_articles(blank, previous, signatures=store) == cluster_articles(
        records, previous
    )
    grown = SignatureStore()
    rows = np.arange(3000 * NUM_PERM, dtype=np.uint32).reshape(3000, NUM_PERM)
    for i, row in enumerate(rows):
        grown.add(f"h{i}", row)
    assert len(grown) == 3000
    assert grown.signature("h2999") == rows[2999].astype("<u4").tobytes()
    with pytest.raises(ValueError):
        grown.add("bad", b"x" * 12)
