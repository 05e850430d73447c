"""Site rules are hints, never a cliff: a run against the sample portal after a redesign (every
class name changed) stores its articles through the generic extractor, counts the fallbacks per
source in the summary and in `runs`, and warns without failing the run. And the ad hoc
``timezone``: a `--start-url` run reads datelines without an offset in the zone given, or in UTC
and says so."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from helpers_warehouse import query
from redesigned_site import RedesignedSite, infoshos_titles, sources_file
from sites.serve import Site
from zone_site import TITLE, write_site

from infoshos.flows.summary import RunSummary, rule_miss_warnings
from infoshos.warehouse.store import Warehouse

SOURCE = "t-redesigned"


# -- the summary (pure) -------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Artifact creation outside:FutureWarning")
def test_warnings_are_shown_and_stored_but_do_not_fail_the_run() -> None:
    from infoshos.flows.process import finish

    summary = RunSummary(run_id="r1", sources=["a", "b"])
    summary.rule_misses = Counter({"b": 3})
    summary.warnings = rule_miss_warnings({"b": 3, "a": 0}, {"b": "http://b.test/1: no_title: x"})
    assert summary.warnings == [
        "b: site rules missed on 3 pages (generic extraction used; has the site been "
        "redesigned?); e.g. http://b.test/1: no_title: x"
    ]
    text = summary.text()
    assert "   rule misses: b 3" in text
    assert f"       warning: {summary.warnings[0]}" in text
    assert "| rule misses | b 3 |" in summary.markdown()
    assert f"**warning:** {summary.warnings[0]}" in summary.markdown()
    row = summary.run_row()
    assert row["rule_misses"] == {"b": 3} and row["status"] == "completed"
    assert row["message"] == summary.warnings[0]
    result = finish(summary)
    assert isinstance(result, dict), result  # a warning never fails the flow run
    assert result["warnings"] == summary.warnings and result["alarms"] == []
    summary.messages.append("source a yielded no articles")
    failed = finish(summary)
    assert not isinstance(failed, dict) and failed.is_failed()
    assert failed.message == "source a yielded no articles"
    assert RunSummary(run_id="r2", sources=["a"]).text().count("rule misses: none") == 1


# -- a run against a redesigned portal ----------------------------------------------------------
@pytest.fixture(scope="module")
def redesigned_run(
    prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    from infoshos.flows.pipeline import run_pipeline

    tmp = tmp_path_factory.mktemp("redesigned")
    with RedesignedSite() as site:
        src = sources_file(tmp, site.base_url, SOURCE)
        state: Any = run_pipeline(
            warehouse=str(tmp / "wh"), sources=[SOURCE], sources_file=str(src), return_state=True
        )
    return {"state": state, "summary": state.result(raise_on_failure=False), "wh": tmp / "wh"}


@pytest.mark.slow
def test_a_redesign_is_counted_and_warned_about(redesigned_run: dict[str, Any]) -> None:
    state, summary = redesigned_run["state"], redesigned_run["summary"]
    assert isinstance(summary, dict) and not state.is_failed(), state.message
    assert summary["status"] == "completed"
    misses = summary["rule_misses"]
    assert set(misses) == {SOURCE} and misses[SOURCE] >= summary["articles_new"] > 0
    [warning] = summary["warnings"]
    assert warning.startswith(f"{SOURCE}: site rules missed on {misses[SOURCE]} pages")
    assert "e.g. http://infoshos.sample.test/" in warning  # one example, canonical URL
    assert f"rule misses: {SOURCE} {misses[SOURCE]}" in summary["text"]
    assert f"warning: {warning}" in summary["text"]


@pytest.mark.slow
def test_the_redesigned_articles_are_stored_and_the_misses_are_in_runs(
    redesigned_run: dict[str, Any],
) -> None:
    wh = Warehouse(redesigned_run["wh"])
    summary = redesigned_run["summary"]
    [(misses, status, message)] = query(wh, "select rule_misses, status, message from runs")
    assert dict(misses) == summary["rule_misses"] and status == "completed"
    assert message == summary["warnings"][0]
    titles = {t for (t,) in query(wh, "select title from articles")}
    assert len(titles) == summary["articles_new"] > 0
    assert titles <= infoshos_titles()  # the generic extractor found the real titles


# -- ad hoc runs: --timezone --------------------------------------------------------------------
@pytest.mark.slow
def test_an_adhoc_run_reads_datelines_in_its_timezone_or_says_utc(
    prefect_harness: None, tmp_path: Path
) -> None:
    from infoshos.flows.pipeline import run_pipeline

    stored: dict[str | None, tuple[Any, list[tuple[Any, ...]]]] = {}
    with Site(str(write_site(tmp_path / "site"))) as site:
        for zone in (None, "Asia/Almaty"):
            wh = tmp_path / f"wh-{zone or 'none'}".replace("/", "-")
            summary: Any = run_pipeline(
                warehouse=str(wh), start_urls=[f"{site.base_url}/"], timezone=zone
            )
            stored[zone] = (
                summary,
                query(Warehouse(wh), "select title, published_at from articles"),
            )
    plain, [(title, utc_time)] = stored[None]
    almaty, [(_, almaty_time)] = stored["Asia/Almaty"]
    assert title == TITLE
    assert plain["timezone"] == "UTC (no --timezone given for web:127.0.0.1)"
    assert "      timezone: UTC (no --timezone given for web:127.0.0.1)" in plain["text"]
    assert almaty["timezone"] == "Asia/Almaty" and "timezone: Asia/Almaty" in almaty["text"]
    # the same wall-clock dateline, read six hours east of UTC (Almaty in 2018)
    assert (utc_time - almaty_time).total_seconds() == 6 * 3600


@pytest.mark.slow
def test_the_cli_hands_timezone_to_the_flow(prefect_harness: None, tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    from prefect.settings import PREFECT_API_URL

    with Site(str(write_site(tmp_path / "site"))) as site:
        proc = subprocess.run(
            [sys.executable, "-m", "infoshos.flows.cli", "run", "--json", "--warehouse",
             str(tmp_path / "wh"), "--start-url", f"{site.base_url}/", "--timezone", "Asia/Almaty"],
            capture_output=True,
            text=True,
            env={**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())},
            timeout=600,
            check=False,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-800:]
    summary = json.loads(proc.stdout)
    assert summary["timezone"] == "Asia/Almaty" and summary["articles_new"] == 1
    [(when,)] = query(Warehouse(tmp_path / "wh"), "select published_at from articles")
    from datetime import UTC
    from zoneinfo import ZoneInfo

    # the dateline's day in Almaty, and not UTC midnight: the zone reached the extraction
    assert when.astimezone(ZoneInfo("Asia/Almaty")).strftime("%d.%m.%Y") == "02.05.2018"
    assert when.astimezone(UTC).hour != 0
