"""Merging a run into the stored state: new, updated and unchanged articles; cluster moves;
entity aliases."""

from __future__ import annotations

from typing import Any

from infoshos.flows import merge


def _art(aid: str, h: str, **kw: Any) -> dict[str, Any]:
    return {"article_id": aid, "content_hash": h, "text": f"text {h}", "title": "t", **kw}


def test_plan_articles_sorts_new_updated_unchanged_and_numbers_versions() -> None:
    stored = {
        "a": _art("a", "h1", first_seen_run="r0"),
        "b": _art("b", "h2", first_seen_run="r0"),
    }
    plan = merge.plan_articles(
        stored, {"a": 1, "b": 3}, [_art("a", "h1"), _art("b", "h9"), _art("c", "h3")], "r1"
    )
    assert plan.unchanged == ["a"]
    assert [a["article_id"] for a in plan.updated] == ["b"]
    assert [a["article_id"] for a in plan.new] == ["c"]
    assert plan.updated[0]["first_seen_run"] == "r0"
    assert plan.new[0]["first_seen_run"] == "r1"
    assert [(v["article_id"], v["version"]) for v in plan.versions] == [("b", 4), ("c", 1)]


def test_same_input_twice_plans_nothing() -> None:
    cleaned = [_art("a", "h1"), _art("b", "h2")]
    first = merge.plan_articles({}, {}, cleaned, "r1")
    stored = {a["article_id"]: a for a in first.new}
    again = merge.plan_articles(stored, {"a": 1, "b": 1}, cleaned, "r2")
    assert again.changed == [] and again.versions == []
    assert sorted(again.unchanged) == ["a", "b"]


def test_apply_clusters_writes_changed_articles_and_moved_ones_only() -> None:
    arts = {
        "a": _art("a", "h1", cluster_id="a", is_canonical=True, run_id="r0"),
        "b": _art("b", "h2", cluster_id="b", is_canonical=True, run_id="r0"),
        "c": _art("c", "h3", run_id="r1"),
    }
    clusters = [
        {"cluster_id": "a", "article_id": "a", "role": "duplicate"},
        {"cluster_id": "b", "article_id": "b", "role": "canonical"},
        {"cluster_id": "a", "article_id": "c", "role": "canonical"},
    ]
    out = {r["article_id"]: r for r in merge.apply_clusters(arts, clusters, {"c"}, "r1")}
    assert set(out) == {"a", "c"}  # b did not move
    assert out["a"]["is_canonical"] is False and out["a"]["run_id"] == "r1"
    assert out["c"]["cluster_id"] == "a" and out["c"]["is_canonical"] is True


def test_cluster_changes_skips_identical_rows() -> None:
    row = {
        "cluster_id": "a",
        "article_id": "b",
        "role": "duplicate",
        "reason": "near_duplicate",
        "similarity": 0.9,
    }
    assert merge.cluster_changes({"b": dict(row)}, [row], "r1") == []
    moved = dict(row, similarity=0.8)
    assert merge.cluster_changes({"b": dict(row)}, [moved], "r1")[0]["similarity"] == 0.8


def test_merge_entities_adds_new_and_grows_aliases_once() -> None:
    stored = {"org:sco": {"entity_id": "org:sco", "type": "org", "name": "SCO", "aliases": ["ШОС"]}}
    found = [
        {"entity_id": "org:sco", "type": "org", "name": "SCO", "aliases": ["ШОС"]},
        {"entity_id": "person:x", "type": "person", "name": "X Y", "aliases": ["Mr Y"]},
    ]
    out = merge.merge_entities(stored, found, "r1")
    assert [e["entity_id"] for e in out] == ["person:x"]
    grown = merge.merge_entities(stored, [dict(found[0], aliases=["Shanghai Cooperation"])], "r2")
    assert grown[0]["aliases"] == ["Shanghai Cooperation", "ШОС"]


def test_gone_candidates_take_the_first_404_or_410_of_an_article_page() -> None:
    fetches = [
        {"article_id": "a", "status": 404, "page_type": "article", "fetched_at": 2},
        {"article_id": "a", "status": 410, "page_type": "print", "fetched_at": 3},
        {"article_id": "b", "status": 404, "page_type": "list", "fetched_at": 1},
        {"article_id": "c", "status": 200, "page_type": "article", "fetched_at": 1},
        {"article_id": "d", "status": 500, "page_type": "article", "fetched_at": 1},
        {"article_id": "e", "status": 410, "page_type": "print", "fetched_at": 5},
    ]
    assert merge.gone_candidates(fetches) == {"a": 2, "e": 5}


def test_gone_articles_are_known_and_not_gone_already() -> None:
    candidates = {"a": 2, "b": 3, "c": 4}
    known = {"a": None, "b": 1}  # b was marked gone before; c was never stored
    assert merge.gone_articles(candidates, known) == {"a": 2}
    assert merge.gone_articles({}, known) == {}


def test_moved_articles_are_stored_ones_whose_cluster_fields_change() -> None:
    stored = {"a": ("a", True), "b": ("a", False), "c": ("c", True), "d": ("d", True)}
    clusters = [
        {"article_id": "a", "cluster_id": "a", "role": "canonical"},  # same
        {"article_id": "b", "cluster_id": "a", "role": "canonical"},  # now canonical
        {"article_id": "c", "cluster_id": "a", "role": "duplicate"},  # joined a
        {"article_id": "d", "cluster_id": "x", "role": "duplicate"},  # written anyway: skipped
        {"article_id": "n", "cluster_id": "n", "role": "canonical"},  # not stored
    ]
    assert merge.moved_articles(stored, clusters, skip={"d"}) == {
        "b": ("a", True),
        "c": ("a", False),
    }


def test_links_unchanged_compares_rows_in_any_order_to_nine_places() -> None:
    a = {"article_id": "a", "other_id": "b", "kind": "translation_of", "score": 0.5}
    b = {"article_id": "b", "other_id": "a", "kind": "translation_of", "score": 0.5}
    assert merge.links_unchanged([a, b], [dict(b, score=0.5 + 1e-12), a])
    assert not merge.links_unchanged([a, b], [a, dict(b, score=0.6)])
    assert not merge.links_unchanged([a, b], [a])
    assert merge.links_unchanged([], [])


def test_latest_fetches_keep_the_last_200_of_an_article_page_per_url() -> None:
    rows = [
        {"url": "u1", "page_type": "article", "status": 200, "fetched_at": 1, "page_id": "p1"},
        {"url": "u1", "page_type": "article", "status": 200, "fetched_at": 3, "page_id": "p3"},
        {"url": "u1", "page_type": "article", "status": 404, "fetched_at": 4, "page_id": "p4"},
        {"url": "u2", "page_type": "list", "status": 200, "fetched_at": 1, "page_id": "p5"},
        {"url": "u3", "page_type": "print", "status": 200, "fetched_at": 2, "page_id": "p6"},
    ]
    latest = merge.latest_fetches(rows)
    assert {u: r["page_id"] for u, r in latest.items()} == {"u1": "p3", "u3": "p6"}


def test_rows_to_write_changed_ones_or_everything_on_a_reprocess() -> None:
    stored = {
        "a": _art("a", "h1", first_seen_run="r0", gone_at=None),
        "b": _art("b", "h2", first_seen_run="r0", gone_at="when"),
    }
    cleaned = [_art("a", "h1"), _art("b", "h9"), _art("c", "h3")]
    plan = merge.plan_articles(stored, {"a": 1, "b": 1}, cleaned, "r1")
    rows = merge.rows_to_write(plan, cleaned, stored, "r1")
    assert [(r["article_id"], r["gone_at"]) for r in rows] == [("c", None), ("b", "when")]
    everything = merge.rows_to_write(plan, cleaned, stored, "r1", everything=True)
    assert sorted(r["article_id"] for r in everything) == ["a", "b", "c"]
    kept = next(r for r in everything if r["article_id"] == "a")
    assert (kept["first_seen_run"], kept["run_id"], kept["gone_at"]) == ("r0", "r1", None)
