"""The gold evaluation (bench/quality.py) at test time: the goals of issue 4 that the system
meets are asserted, so a regression fails. Goals not met yet (location F1, linking accuracy)
are strict xfails (they turn into failures once met, to be promoted to asserts) plus a floor at
today's value, so they cannot get worse unnoticed."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from infoshos.flows.enrich import load
from infoshos.spiders.sample_site.model import expected_articles

BENCH = Path(__file__).resolve().parents[1] / "bench" / "quality.py"


def _quality() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_quality", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


quality = _quality()


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


@pytest.mark.parametrize("etype", ["person", "org", "country"])
def test_entity_f1_goal(report: Any, etype: str) -> None:
    assert report.entities[etype].f1 >= quality.GOALS["entity_f1"]


def test_duplicates_goal(report: Any) -> None:
    assert report.duplicates.gold == 21
    assert report.duplicates.precision >= quality.GOALS["dup_precision"]
    assert report.duplicates.recall >= quality.GOALS["dup_recall"]


def test_translation_links(report: Any) -> None:
    assert report.translations.gold == 8
    assert report.translations.precision == 1.0
    assert report.translations.recall == 1.0


# --------------------------------------------------------------------------------- goals not met


def test_location_and_linking_floors(report: Any) -> None:
    """Today's values (location F1 0.879, linking accuracy 0.939): no regression below them."""
    assert report.entities["location"].f1 >= 0.87
    assert report.linking_accuracy >= 0.93


@pytest.mark.xfail(strict=True, reason="location F1 0.879: Russian place ids not lemmatised")
def test_location_f1_goal(report: Any) -> None:
    assert report.entities["location"].f1 >= quality.GOALS["entity_f1"]


@pytest.mark.xfail(strict=True, reason="linking accuracy 0.939, see the report of issue 4")
def test_linking_accuracy_goal(report: Any) -> None:
    assert report.linking_accuracy >= quality.GOALS["linking"]
