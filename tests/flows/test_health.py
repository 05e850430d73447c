"""The yield alarm that keeps a schedule from silently collecting nothing."""

from __future__ import annotations

from infoshos.flows.health import source_yield, yield_alarms


def test_source_yield_counts_article_pages_and_known_skips() -> None:
    rows: list[dict[str, object]] = [
        {"source": "a", "page_type": "article", "status": 200, "skip_reason": None},
        {"source": "a", "page_type": "print", "status": 304, "skip_reason": None},
        {"source": "a", "page_type": "article", "status": 404, "skip_reason": None},
        {"source": "a", "page_type": "list", "status": 200, "skip_reason": None},
        {"source": "b", "page_type": "article", "status": None, "skip_reason": "offsite"},
    ]
    assert source_yield(rows, {"b": 7}) == {"a": 2, "b": 7}


def test_alarms_on_zero_and_on_a_collapse_only() -> None:
    history = [{"a": 100, "b": 10}, {"a": 90, "b": 12}, {"a": 110}]
    assert yield_alarms(["a", "b"], {"a": 95, "b": 11}, history) == []
    alarms = yield_alarms(["a", "b", "c"], {"a": 5, "b": 0}, history)
    assert len(alarms) == 3
    assert "source a yielded 5 articles, far below its recent median 100" in alarms[0]
    assert "source b yielded no articles" in alarms[1]
    assert "source c yielded no articles" in alarms[2]
    # a new source has no baseline: only zero is flagged
    assert yield_alarms(["new"], {"new": 1}, history) == []
