"""The gold evaluation (bench/quality.py) at test time: the goals of issue 4 (entity F1 >= 0.90
for every type, linking accuracy >= 0.95, duplicate precision and recall) are asserted, so a
regression fails."""

from __future__ import annotations

import re
from typing import Any

import bench_modules
import pytest

from infoshos.flows.enrich import enrich_articles, load
from infoshos.spiders.sample_site.model import expected_articles

quality = bench_modules.load("quality")


@pytest.fixture(scope="module")
def report() -> Any:
    return quality.evaluate()


# --------------------------------------------------------------------------------- the gold set


def test_gold_set_shape() -> None:
    gold, pairs = quality.load_gold()
    texts = {a.key: a.text for a in expected_articles()}
    assert len(gold) >= 40
    assert sum(g["language"] == "ru" for g in gold) >= 10
    assert len({g["key"] for g in gold}) == len(gold)
    gaz = load()
    for g in gold:
        for e in g["entities"]:
            assert e["type"] in quality.TYPES, e
            prefix = {"person": "person", "org": "org", "country": "country", "location": "loc"}
            assert e["id"].startswith(prefix[e["type"]] + ":"), e
            if e["type"] == "country":
                assert re.fullmatch(r"country:[A-Z]{2}", e["id"]), e
            for s in e["surfaces"]:
                assert s in texts[g["key"]], (g["key"], s)
            gz = gaz.entities.get(e["id"])
            assert gz is None or gz.type == e["type"], e
    keys = set(texts)
    for a, b in pairs["duplicates"] + pairs["translations"]:
        assert a in keys and b in keys
    assert len(pairs["translations"]) == 8 and len(pairs["aliases"]) == 3


# --------------------------------------------------------------------------------- goals met


@pytest.mark.parametrize("etype", ["person", "org", "country", "location"])
def test_entity_f1_goal(report: Any, etype: str) -> None:
    assert report.entities[etype].f1 >= quality.GOALS["entity_f1"]


def test_linking_accuracy_goal(report: Any) -> None:
    assert report.linking_total >= 500
    assert report.linking_accuracy >= quality.GOALS["linking"]


def test_duplicates_goal(report: Any) -> None:
    assert report.duplicates.gold == 21
    assert report.duplicates.precision >= quality.GOALS["dup_precision"]
    assert report.duplicates.recall >= quality.GOALS["dup_recall"]


def test_translation_links(report: Any) -> None:
    assert report.translations.gold == 8
    assert report.translations.precision == 1.0
    assert report.translations.recall == 1.0


# --------------------------------------------------------------------------------- mentions


def test_mention_offsets_on_the_sample_site() -> None:
    """Every mention of every sample article is its exact text, once per span."""
    records = quality.sample_records()
    texts = {r["article_id"]: r["text"] for r in records}
    result = enrich_articles(records)
    assert len(result.mentions) > 500
    for m in result.mentions:
        assert texts[m["article_id"]][m["start_char"] : m["end_char"]] == m["surface"], m
    keys = [(m["article_id"], m["start_char"], m["end_char"]) for m in result.mentions]
    assert len(keys) == len(set(keys))
    assert {m["entity_id"] for m in result.mentions} == {e["entity_id"] for e in result.entities}
