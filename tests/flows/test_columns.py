"""The run's keys in columns (``flows.keys``, ``StoredState``, ``RunIndex``) decide exactly
what the dicts of strings they replace decided: each is checked against a straightforward dict
implementation (the code as it was) on random inputs."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pytest
from dedup_scale import build, reference_cluster_articles

from infoshos.flows import merge
from infoshos.flows.clean.articles import CleanOutput
from infoshos.flows.columns import (
    NO_TIME,
    Codes,
    KeyIndex,
    find,
    find_one,
    micros,
    pack,
    sort_unique,
    to_datetime,
)
from infoshos.flows.dedup import (
    SIGNATURE_SCHEME,
    DedupInput,
    SignatureStore,
    article_signatures,
)
from infoshos.flows.state import StoredState, iso
from infoshos.flows.stream import RunIndex
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.store import Warehouse

T0 = datetime(2024, 1, 1, tzinfo=UTC)
WORDS = ["ab", "b", "ba", "é", "éa", "z", "中", "中文", "a\u0301", "b" * 20, "0", "9f"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))


# -- the primitives ------------------------------------------------------------------------


def test_packed_strings_sort_and_compare_as_the_strings() -> None:
    rng = random.Random(1)
    words = list({_word(rng) for _ in range(400)})
    packed = pack(words)
    assert [p.decode() for p in packed[np.argsort(packed, kind="stable")]] == sorted(words)
    keys = np.sort(packed)
    probes = words[:50] + [_word(rng) + "x" for _ in range(50)] + ["b" * 30, "ab\u0301"]
    expected = [sorted(words).index(w) if w in words else -1 for w in probes]
    assert find(keys, pack(probes)).tolist() == expected
    assert [find_one(keys, w) for w in probes] == expected
    # a key longer than every stored one is not cut to their width
    assert find(pack(["ab"]), pack(["abc"])).tolist() == [-1] and find_one(pack(["ab"]), "abc") < 0
    assert find(pack([]), pack(["a"])).tolist() == [-1]


def test_sort_unique_keeps_the_first_or_the_last_of_equal_keys() -> None:
    keys = pack(["b", "a", "b", "c", "a"])
    assert sort_unique(keys).tolist() == [1, 0, 3]
    assert sort_unique(keys, last=True).tolist() == [4, 2, 3]


def test_key_index_answers_as_a_dict() -> None:
    rng = random.Random(2)
    index, model = KeyIndex(), dict[str, int]()
    for step in range(3000):
        if rng.random() < 0.6:
            key, value = _word(rng), step
            assert index.add(key, value) == (key not in model)
            model.setdefault(key, value)
        else:
            keys = [_word(rng) for _ in range(rng.randint(0, 30))]
            added = index.add_many(pack(keys), np.arange(len(keys)) + step * 100)
            expected = []
            for i, key in enumerate(keys):
                expected.append(key not in model)
                model.setdefault(key, i + step * 100)
            assert added.tolist() == expected
        if step % 97 == 0:
            probes = [_word(rng) for _ in range(40)]
            assert index.find(pack(probes)).tolist() == [model.get(k, -1) for k in probes]
            assert [index.get(k) for k in probes] == [model.get(k) for k in probes]
            assert len(index) == len(model) and sorted(index) == sorted(model)
    with pytest.raises(ValueError):
        index.add("", 1)


def test_codes_rank_as_the_strings_with_none_as_empty() -> None:
    codes = Codes(["run-b", None, "", "run-a", "run-b"])
    assert codes.values == ["run-b", None, "", "run-a"]
    assert codes.codes(pa.chunked_array([["run-a", None], ["x", "run-b"]])).tolist() == [3, 1, 4, 0]
    assert codes.ranks().tolist() == [2, 0, 0, 1, 3]  # None and "" rank together, first


def test_microseconds_order_as_the_utc_iso_texts() -> None:
    rng = random.Random(3)
    times: list[datetime | None] = [None, T0, T0 + timedelta(microseconds=1)]
    times += [T0 + timedelta(seconds=rng.randint(-(10**10), 10**10)) for _ in range(300)]
    times += [t.replace(microsecond=rng.choice([0, 1, 500000])) for t in times[3:50] if t]
    times += [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)]
    us = micros(times)
    by_iso = sorted(range(len(times)), key=lambda i: (iso(times[i]), i))
    by_us = sorted(range(len(times)), key=lambda i: (int(us[i]), i))
    assert by_us == by_iso
    assert [to_datetime(int(u)) for u in us] == times
    arrow = pa.array(times, pa.timestamp("us", tz="UTC"))
    assert micros(arrow).tolist() == us.tolist() and us[0] == NO_TIME
    # another offset: the same instant; a naive time is UTC, as the warehouse stores it
    moscow = timezone(timedelta(hours=3))
    assert micros([T0.astimezone(moscow), T0.replace(tzinfo=None)]).tolist() == [us[1]] * 2


def test_signature_store_bulk_and_one_by_one_agree_across_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(SignatureStore, "BLOCK_ROWS", 7)
    rng = np.random.default_rng(4)
    sigs = rng.integers(0, 2**32, (60, 128), dtype=np.uint32)
    hashes = [f"h{i % 45}" for i in range(60)]  # equal hashes: the first one stays
    one, bulk = SignatureStore(), SignatureStore()
    for h, sig in zip(hashes, sigs, strict=True):
        one.add(h, sig.astype("<u4").tobytes())
    bulk.add_many(pack(hashes[:25]), sigs[:25])
    bulk.add_many(pack(hashes[25:]), sigs[25:])
    rows = np.arange(45)
    for store in (one, bulk):
        assert len(store) == 45
        assert np.array_equal(store.matrix(store.rows(pack([f"h{i}" for i in rows]))), sigs[:45])
        assert store.signature("h3") == sigs[3].astype("<u4").tobytes()
        view = store.view(store.rows([f"h{i}" for i in (44, 0, 13, 13)]))
        assert np.array_equal(view.columns(5, 9), sigs[[44, 0, 13, 13], 5:9])
        assert np.array_equal(view.take(np.array([3, 0])), sigs[[13, 44]])
    assert one.rows(["nope", "h1"]).tolist()[0] == -1


# -- the stored state ----------------------------------------------------------------------


class FakeWarehouse:
    """The reads of ``StoredState``, from Arrow tables."""

    def __init__(self, tables: dict[str, list[dict[str, Any]]], texts: dict[str, str]) -> None:
        self.tables = {
            name: pa.Table.from_pylist(rows, schema=_schema(name, rows))
            for name, rows in tables.items()
        }
        self.texts = texts

    def read(self, table: str, columns: Sequence[str] | None = None) -> pa.Table:
        names = list(columns or TABLES[table].schema.names)
        if table not in self.tables:
            return TABLES[table].schema.empty_table().select(names)
        return self.tables[table].select(names)

    def rows_by_key(
        self, table: str, key: str, values: Sequence[str], columns: Sequence[str] | None = None
    ) -> pa.Table:
        assert (table, key, list(columns or [])) == (
            "articles",
            "article_id",
            ["article_id", "text"],
        )
        return pa.table({"article_id": list(values), "text": [self.texts[v] for v in values]})


def _schema(name: str, rows: list[dict[str, Any]]) -> pa.Schema:
    schema = TABLES[name].schema
    return pa.schema([schema.field(c) for c in rows[0]]) if rows else schema


def _stored_rows(rng: random.Random, ids: list[str], hashes: list[str]) -> list[dict[str, Any]]:
    runs = ["20240101T000000Z-aaaaaa", "20240102T000000Z-bbbbbb", "", None]
    rows = []
    for aid, h in zip(ids, hashes, strict=True):
        rows.append(
            {
                "article_id": aid,
                "content_hash": h,
                "first_seen_run": rng.choice(runs),
                "gone_at": rng.choice([None, None, T0 + timedelta(days=rng.randint(0, 9))]),
                "cluster_id": rng.choice([aid, rng.choice(ids), f"old-{rng.randint(0, 5)}", None]),
                "is_canonical": rng.choice([True, False, None]),
                "language": rng.choice(["en", "ru", "", None]),
                "word_count": rng.choice([None, 0, 40, 40, 41, rng.randint(1, 500)]),
                "published_at": rng.choice(
                    [None, T0, T0 + timedelta(seconds=rng.randint(0, 10**6), microseconds=7)]
                ),
            }
        )
    return rows


def _old_state(rows: list[dict[str, Any]], versions: list[dict[str, Any]]) -> dict[str, Any]:
    """``StoredState.read`` as it was: dicts of strings (the last row of an id wins)."""
    return {
        "hashes": {r["article_id"]: r["content_hash"] for r in rows},
        "first_seen": {r["article_id"]: r["first_seen_run"] for r in rows},
        "gone_at": {r["article_id"]: r["gone_at"] for r in rows if r["gone_at"] is not None},
        "clusters": {r["article_id"]: (r["cluster_id"], r["is_canonical"]) for r in rows},
        "versions": {
            a: max(v["version"] for v in versions if v["article_id"] == a)
            for a in {v["article_id"] for v in versions}
        },
        "dedup": {
            r["article_id"]: (
                r["language"] or "und",
                r["content_hash"],
                r["word_count"] or 0,
                r["first_seen_run"] or "",
                iso(r["published_at"]),
            )
            for r in rows
        },
    }


def test_stored_state_answers_as_the_dicts_it_replaces() -> None:
    rng = random.Random(5)
    ids = [hashlib.sha256(b"%d" % i).hexdigest()[:16] for i in range(300)] + ["short", "ü-id"]
    hashes = [hashlib.sha256(b"t%d" % rng.randint(0, 250)).hexdigest()[:32] for _ in ids]
    rows = _stored_rows(rng, ids, hashes)
    rows += [dict(r, content_hash="f" * 32) for r in rows[:5]]  # an id twice: the last row
    versions = [{"article_id": a, "version": rng.randint(1, 4)} for a in ids[:200] * 2]
    wh = FakeWarehouse({"articles": rows, "article_versions": versions}, {})
    state = StoredState.read(cast(Warehouse, wh))
    old = _old_state(rows, versions)
    assert state.hashes == old["hashes"] and state.first_seen == old["first_seen"]
    assert state.gone_at == old["gone_at"] and state.versions == old["versions"]
    assert state.dedup == old["dedup"]
    # cluster fields: an empty cluster id reads as None (neither is a cluster to keep)
    assert state.clusters == {a: (c or None, k) for a, (c, k) in old["clusters"].items()}
    probes = ids[::7] + ["missing", "ü-id", ""]
    for aid in probes:
        assert (aid in state.articles) == (aid in old["hashes"])
        assert state.gone_at.get(aid) == old["gone_at"].get(aid)
        assert state.versions.get(aid, 0) == old["versions"].get(aid, 0)
        if aid in old["hashes"]:
            assert state.articles[aid] == {
                "content_hash": old["hashes"][aid],
                "first_seen_run": old["first_seen"][aid],
                "gone_at": old["gone_at"].get(aid),
            }
    assert len(state.articles) == len(old["hashes"]) and len(state.signatures) == 0


# -- a run: its chunks, its end ------------------------------------------------------------


def _article(
    rec: Mapping[str, Any], run: str, published: datetime | None, wc: int
) -> dict[str, Any]:
    return {
        "article_id": rec["article_id"],
        "url": rec["url"],
        "source": "s",
        "language": rec["language"],
        "title": "t",
        "published_at": published,
        "text": rec["text"],
        "word_count": wc,
        "content_hash": rec["content_hash"],
        "page_id": f"{run}-{rec['article_id']}",
    }


class OldRun:
    """``RunIndex`` as it was: a dict of dedup keys per article, a set of seen ids, a dict of
    written ids (the first page of an article wins), the clusters made from records."""

    def __init__(self, old: dict[str, Any], run_id: str, store: SignatureStore) -> None:
        self.old, self.run_id, self.signatures = old, run_id, store
        self.dedup: dict[str, tuple[str, str, int, str, str]] = dict(old["dedup"])
        self.seen: set[str] = set()
        self.written: dict[str, bool] = {}
        self.changed: set[str] = set()

    def take(self, articles: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for a in articles:
            if a["article_id"] not in self.seen:
                self.seen.add(a["article_id"])
                out.append(a)
        return out

    def plan(self, articles: list[dict[str, Any]]) -> tuple[set[str], list[tuple[str, str]]]:
        existing = {
            a: {"content_hash": h, "first_seen_run": self.old["first_seen"][a]}
            for a, h in self.old["hashes"].items()
        }
        plan = merge.plan_articles(existing, self.old["versions"], articles, self.run_id)
        rows = merge.rows_to_write(plan, articles, existing, self.run_id)
        self.changed.update(a["article_id"] for a in plan.changed)
        for row in rows:
            self.written[row["article_id"]] = row["article_id"] in existing
            self.dedup[row["article_id"]] = (
                row.get("language") or "und",
                row["content_hash"],
                row.get("word_count") or 0,
                row.get("first_seen_run") or "",
                iso(row.get("published_at")),
            )
        todo = {r["content_hash"]: r for r in rows if not self.signatures.has(r["content_hash"])}
        records = [dict(self._record(r["article_id"]), text=r["text"]) for r in todo.values()]
        for (_, h), sig in article_signatures(cast(list[DedupInput], records)).items():
            self.signatures.add(h, sig)
        updated = {r["article_id"] for r in rows if r["article_id"] in existing}
        return updated, [(r["article_id"], r["content_hash"]) for r in rows]

    def _record(self, aid: str, text: str = "") -> DedupInput:
        lang, h, wc, first, published = self.dedup[aid]
        return DedupInput(
            article_id=aid,
            url="",
            language=lang,
            text=text,
            content_hash=h,
            word_count=wc,
            seen_order=(first, published, aid),
            published_at=None,
        )

    def records(self, texts: dict[str, str]) -> list[DedupInput]:
        return [self._record(aid, texts[aid]) for aid in self.dedup]


def test_a_run_over_its_keys_decides_as_the_dicts_did() -> None:
    rng = random.Random(6)
    records, _ = build(700, seed=6)
    texts = {r["article_id"]: r["text"] for r in records}
    stored_recs, new_recs = records[:420], records[420:]
    rows = _stored_rows(rng, [r["article_id"] for r in stored_recs], [""] * 420)
    for row, rec in zip(rows, stored_recs, strict=True):
        row.update(content_hash=rec["content_hash"], language=rec["language"])
    for i in range(0, 60, 2):  # ties of the canonical choice: same word count, same seen order
        rows[i + 1].update(word_count=rows[i]["word_count"], published_at=rows[i]["published_at"])
        rows[i + 1]["first_seen_run"] = rows[i]["first_seen_run"]
    sigs = article_signatures(stored_recs)
    kept = [(h, s) for i, ((_, h), s) in enumerate(sorted(sigs.items())) if i % 5]  # 80 %
    schemes = [SIGNATURE_SCHEME if i % 9 else "other-scheme" for i in range(len(kept))]
    minhash_rows: list[dict[str, Any]] = [
        {"content_hash": h, "scheme": scheme, "signature": s}
        for (h, s), scheme in zip(kept, schemes, strict=True)
    ]
    versions = [{"article_id": r["article_id"], "version": 1} for r in rows]
    wh = FakeWarehouse(
        {"articles": rows, "article_versions": versions, "minhashes": minhash_rows}, texts
    )
    state = StoredState.read(cast(Warehouse, wh))
    old = _old_state(rows, versions)
    old_store = SignatureStore()
    for (h, sig), scheme in zip(kept, schemes, strict=True):
        if scheme == SIGNATURE_SCHEME:
            old_store.add(h, sig)
    run_id = "20240103T000000Z-cccccc"
    index, was = RunIndex.start(state, run_id, False), OldRun(old, run_id, old_store)

    # chunks: new articles, stored ones again (unchanged, and a few with a new text), repeats
    def when() -> datetime | None:
        return rng.choice([None, T0 + timedelta(seconds=rng.randint(0, 10**6))])

    pages = [_article(r, run_id, when(), rng.choice([40, 41, r["word_count"]])) for r in new_recs]
    for r, row in zip(stored_recs[::3], rows[::3], strict=True):
        page = _article(r, run_id, row["published_at"], row["word_count"] or 0)
        if rng.random() < 0.3:
            page.update(text=page["text"] + " more", content_hash=page["content_hash"][::-1])
            texts[page["article_id"]] = page["text"]
        pages.append(page)
    rng.shuffle(pages)
    pages += [dict(p, title="again") for p in pages[:40]]  # seen in an earlier chunk
    for start in range(0, len(pages), 97):
        chunk = pages[start : start + 97]
        chunk += [dict(p, title="twice") for p in chunk[:3]]  # twice in one chunk: first wins
        planned = index.plan(state, index.take(CleanOutput(articles=chunk)))
        updated, written = was.plan(was.take(chunk))
        assert planned.updated == updated
        assert [(r["article_id"], r["content_hash"]) for r in planned.rows] == written
        assert all(r["title"] != "twice" for r in planned.rows)
        assert [(m["article_id"], m["signature"]) for m in planned.minhashes] == [
            (a, old_store.signature(h)) for a, h in written if old_store.has(h)
        ]
    assert len(index.seen) == len(was.seen) and dict(index.written) == was.written
    assert set(index.changed) == was.changed and len(index.changed) == len(was.changed)
    assert set(index.written.updated) == {a for a, s in was.written.items() if s}
    assert all(a in index.written for a in was.written) and "missing" not in index.written

    signed = index.sign_stored(state)
    missing = [a for a in was.dedup if a not in was.written and not old_store.has(was.dedup[a][1])]
    expected = article_signatures([r for r in was.records(texts) if r["article_id"] in missing])
    assert {(r["article_id"], r["content_hash"]): r["signature"] for r in signed} == expected
    assert signed  # the stored texts without a signature of this scheme were signed

    previous = {a: c for a, (c, _) in old["clusters"].items() if c}
    reference = reference_cluster_articles(was.records(texts), previous)
    got = index.cluster(state)
    assert list(got.rows()) == reference
    fields = got.fields()
    assert {a: fields[a] for a in texts} == {
        r["article_id"]: (r["cluster_id"], r["role"] == "canonical") for r in reference
    }
    # the decisions made from the clusters: moved articles, changed cluster rows
    assert merge.moved_articles(state.clusters, got.rows(), index.written) == merge.moved_articles(
        {a: (c, k) for a, (c, k) in old["clusters"].items()}, reference, set(was.written)
    )


def test_a_first_run_into_an_empty_warehouse() -> None:
    records, _ = build(120, seed=7)
    wh = FakeWarehouse({}, {})
    state = StoredState.read(cast(Warehouse, wh))
    run_id = "20240103T000000Z-cccccc"
    index = RunIndex.start(state, run_id, False)
    pages = [
        _article(r, run_id, None if i % 3 else T0, r["word_count"]) for i, r in enumerate(records)
    ]
    for start in range(0, len(pages), 50):
        index.plan(state, index.take(CleanOutput(articles=pages[start : start + 50])))
    assert index.sign_stored(state) == [] and len(index.written.updated) == 0
    was = OldRun(_old_state([], []), run_id, SignatureStore())
    was.plan(was.take(pages))
    texts = {r["article_id"]: r["text"] for r in records}
    assert list(index.cluster(state).rows()) == reference_cluster_articles(was.records(texts))


def test_the_seen_order_of_a_run_is_the_one_the_next_run_reads() -> None:
    """Two copies first seen by one run, published in other time zones: the copy published
    first (as an instant) is seen first, in the run that writes them and in the next one
    (which reads them stored in UTC). Their ISO texts in their own zones order them the other
    way round: ``10:00+03:00`` (07:00 UTC) sorts after ``09:00+00:00``."""
    records, _ = build(1, seed=8)
    rec = records[0]
    moscow = timezone(timedelta(hours=3))
    run_id = "20240103T000000Z-cccccc"
    copies = [
        _article(dict(rec, article_id="b" * 16), run_id, datetime(2024, 5, 1, 9, tzinfo=UTC), 50),
        _article(
            dict(rec, article_id="a" * 16), run_id, datetime(2024, 5, 1, 10, tzinfo=moscow), 50
        ),
    ]
    state = StoredState.read(cast(Warehouse, FakeWarehouse({}, {})))
    index = RunIndex.start(state, run_id, False)
    planned = index.plan(state, index.take(CleanOutput(articles=copies)))
    first = {r["article_id"]: r for r in index.cluster(state).rows()}
    assert first["a" * 16]["role"] == "canonical" and first["b" * 16]["cluster_id"] == "a" * 16

    rows = [
        {
            **{k: r[k] for k in ("article_id", "content_hash", "language", "word_count")},
            **{k: r[k] for k in ("first_seen_run", "published_at")},
            "cluster_id": first[r["article_id"]]["cluster_id"],
            "is_canonical": first[r["article_id"]]["role"] == "canonical",
            "gone_at": None,
        }
        for r in planned.rows
    ]
    again = StoredState.read(cast(Warehouse, FakeWarehouse({"articles": rows}, {})))
    later = RunIndex.start(again, "20240104T000000Z-dddddd", False)
    assert list(later.cluster(again).rows()) == list(first.values())


def test_stored_cluster_rows_answer_as_the_dict_they_replace() -> None:
    rng = random.Random(9)
    ids = [f"{i:016x}" for i in range(200)]
    rows: list[dict[str, Any]] = [
        {
            "cluster_id": rng.choice(ids),
            "article_id": aid,
            "role": rng.choice(["canonical", "duplicate"]),
            "similarity": rng.choice([None, 1.0, rng.random()]),
            "reason": rng.choice(["canonical", "same_content", "near_duplicate", None]),
        }
        for aid in ids
    ]
    rows += [dict(r, role="duplicate") for r in rows[:9]]  # stored twice: the last row
    state = StoredState(cast(Warehouse, FakeWarehouse({"clusters": rows}, {})))
    old = {r["article_id"]: r for r in rows}
    assert state.cluster_rows() == old
    run_rows = [dict(r, similarity=0.5) for r in rows[::3]]
    got = merge.cluster_changes(state.cluster_rows(), run_rows, "r2")
    assert got == merge.cluster_changes(old, run_rows, "r2")
