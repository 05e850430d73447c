"""Running unattended: incremental runs over a changing site, re-processing, kill -9 at every
stage, and the operator's errors. The site is the sample site served by the test itself, so it
can gain, change and lose articles between runs."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_warehouse import query as _query
from redesigned_site import sources_file

from infoshos.spiders import sample_site
from infoshos.spiders.sample_site import SampleSite
from infoshos.spiders.sample_site.render import SiteData
from infoshos.warehouse.faults import CRASH_ENV, POINTS
from infoshos.warehouse.store import Warehouse

pytestmark = pytest.mark.slow

SOURCE = "t-infoshos"


def _infoshos_data(drop: set[str] = frozenset(), **changes: list[str]) -> SiteData:  # type: ignore[assignment]
    """The sample site's Infoshos articles, minus ``drop``, with new paragraphs for
    ``changes`` (key -> paragraphs)."""
    arts = []
    for a in sample_site.load_articles():
        if a.portal != "infoshos" or a.key in drop:
            continue
        if a.key in changes:
            a = dataclasses.replace(a, paragraphs=changes[a.key])
        arts.append(a)
    return SiteData(articles=arts)


def _valid_infoshos() -> list[Any]:
    return [a for a in sample_site.expected_articles() if a.portal == "infoshos"]


@pytest.fixture()
def site() -> Iterator[SampleSite]:
    with SampleSite(port=0, data=_infoshos_data()) as s:
        yield s


def _run(wh: Path, sources_file: Path, **kw: Any) -> dict[str, Any]:
    from infoshos.flows.pipeline import run_pipeline

    state: Any = run_pipeline(
        warehouse=str(wh), sources=[SOURCE], sources_file=str(sources_file), return_state=True, **kw
    )
    result = state.result(raise_on_failure=False)
    assert isinstance(result, dict), result
    return result


def test_new_changed_and_gone_articles(
    prefect_harness: None, site: SampleSite, tmp_path: Path
) -> None:
    arts = sorted(_valid_infoshos(), key=lambda a: a.published_at, reverse=True)
    new, changed, gone = arts[0], arts[5], arts[9]  # a new article tops the lists
    site.update(_infoshos_data(drop={new.key}))
    src = sources_file(tmp_path, site.base_url, SOURCE)
    wh_path = tmp_path / "wh"
    wh = Warehouse(wh_path)
    first = _run(wh_path, src)
    assert first["articles_new"] == len(arts) - 1

    # a new article adds exactly one row, and nothing else is fetched again
    site.update(_infoshos_data())
    second = _run(wh_path, src)
    assert (second["articles_new"], second["articles_updated"]) == (1, 0)
    assert _query(wh, "select count(*) from articles") == [(len(arts),)]
    assert _query(wh, f"select count(*) from articles where url = '{new.canonical_url}'") == [(1,)]

    # a changed article adds a version; `articles` shows the latest; a deleted one is gone_at
    edited = [*changed.paragraphs[:-1], "The parties agreed to meet again next spring."]
    site.update(_infoshos_data(drop={gone.key}, **{changed.key: edited}))
    third = _run(wh_path, src, full=True)
    assert third["articles_updated"] == 1 and third["articles_new"] == 0
    assert third["articles_gone"] == 1
    assert _query(wh, "select count(*) from articles") == [(len(arts),)]
    versions = _query(
        wh,
        "select v.version, v.text from article_versions v join articles a using (article_id) "
        f"where a.url = '{changed.canonical_url}' order by v.version",
    )
    assert [v[0] for v in versions] == [1, 2]
    assert versions[1][1].endswith("next spring.") and not versions[0][1].endswith("spring.")
    latest = _query(wh, f"select text from articles where url = '{changed.canonical_url}'")
    assert latest == [(versions[1][1],)]
    gone_rows = _query(wh, f"select gone_at from articles where url = '{gone.canonical_url}'")
    assert len(gone_rows) == 1 and gone_rows[0][0] is not None
    # the full re-crawl used conditional requests: pages whose bytes did not change answered
    # 304 (removing an article changes the "latest news" chrome of some pages)
    not_modified = _query(
        wh, f"select count(*) from pages where status = 304 and run_id = '{third['run_id']}'"
    )
    assert not_modified[0][0] >= len(arts) // 2


def test_reprocess_rebuilds_the_same_tables_from_stored_pages(
    prefect_harness: None, site: SampleSite, tmp_path: Path
) -> None:
    from infoshos.flows.pipeline import reprocess_pipeline

    src = sources_file(tmp_path, site.base_url, SOURCE)
    wh_path = tmp_path / "wh"
    wh = Warehouse(wh_path)
    _run(wh_path, src)
    before = _state(wh)
    pages_before = _query(wh, "select count(*) from pages")
    site.stop()  # no network from here on
    result: Any = reprocess_pipeline(warehouse=str(wh_path), sources_file=str(src))
    assert result["articles_new"] == 0
    assert _state(wh) == before
    assert _query(wh, "select count(*) from pages") == pages_before
    assert _query(wh, "select mode from runs order by started_at desc limit 1") == [("reprocess",)]


def _state(wh: Warehouse) -> dict[str, list[tuple[Any, ...]]]:
    """The keyed tables, without run ids, for comparing two warehouses."""
    return {
        "articles": _query(
            wh,
            "select article_id, url, title, content_hash, cluster_id, is_canonical, published_at "
            "from articles order by 1",
        ),
        "clusters": _query(wh, "select article_id, cluster_id, role from clusters order by 1"),
        "entities": _query(wh, "select entity_id, type, name from entities order by 1"),
        "mentions": _query(
            wh, "select article_id, entity_id, start_char, end_char from mentions order by all"
        ),
    }


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infoshos.flows.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
        check=False,
    )


def _api_env() -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return {"PREFECT_API_URL": str(PREFECT_API_URL.value())}


def test_kill_9_at_every_stage_leaves_the_previous_snapshot(
    prefect_harness: None, tmp_path: Path
) -> None:
    arts = sorted(_valid_infoshos(), key=lambda a: a.published_at, reverse=True)
    with SampleSite(port=0, data=_infoshos_data(drop={a.key for a in arts[:4]})) as s:
        src = sources_file(tmp_path, s.base_url, SOURCE)
        base = tmp_path / "base"
        _run(base, src)
        s.update(_infoshos_data())
        reference = tmp_path / "reference"
        shutil.copytree(base, reference)
        _run(reference, src)
        expected = _state(Warehouse(reference))
        previous = _state(Warehouse(base))
        assert expected != previous
        env = _api_env()
        for point in POINTS:
            wh_path = tmp_path / point
            shutil.copytree(base, wh_path)
            current = Warehouse(wh_path).current().number
            args = ["run", "--warehouse", str(wh_path), "--sources", str(src), "--source", SOURCE]
            killed = _cli(*args, env={**env, CRASH_ENV: point})
            assert killed.returncode == -9, (point, killed.stderr[-500:])
            # the previous snapshot is intact and queryable (the search index may be stale)
            after_kill = Warehouse(wh_path)
            assert after_kill.current().number == current or point == "after-publish"
            if point != "after-publish":
                assert _state(after_kill) == previous, point
            if point == "before-publish":  # the killed run's files are orphans ...
                assert after_kill.orphans(), point
            done = _cli(*args, env=env)
            assert done.returncode == 0, (point, done.stderr[-500:])
            assert _state(Warehouse(wh_path)) == expected, point
            assert Warehouse(wh_path).orphans() == [], point  # ... that the next run deleted


def test_operator_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  x: [unclosed\n")
    cases = [
        (["run", "--source", "nope", "--warehouse", str(tmp_path / "w")], "unknown source 'nope'"),
        (["run", "--sources", str(bad), "--warehouse", str(tmp_path / "w")], "not valid YAML"),
        (["run", "--warehouse", "/proc/infoshos"], "is not writable"),
        (["sql", "select 1", "--warehouse", str(tmp_path / "none")], "no warehouse at"),
        (["export", "--warehouse", str(tmp_path / "none"), "--to", str(tmp_path / "e")], "no "),
    ]
    for argv, message in cases:
        proc = _cli(*argv)
        assert proc.returncode == 2, (argv, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (argv, proc.stderr)
        assert lines[0].startswith("infoshos: error: ")
    debug = _cli("--debug", "run", "--source", "nope", "--warehouse", str(tmp_path / "w"))
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    usage = _cli("run", "--since", "2020-13-01")
    assert usage.returncode == 2 and "is not a date" in usage.stderr


def test_unreachable_source_fails_the_run_with_a_clear_message(
    prefect_harness: None, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    proc = _cli(
        "run", "--warehouse", str(tmp_path / "w"), "--start-url", f"http://127.0.0.1:{port}/",
        env=_api_env(),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-800:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("infoshos: error: source web:127.0.0.1 yielded no articles"), last
    rejects = _query(Warehouse(tmp_path / "w"), "select reason from rejects")
    assert ("http_error",) in rejects
