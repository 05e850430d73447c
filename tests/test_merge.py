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
