"""``infoshos probe``: the report's aggregation and formatting (pure, on spool rows), and the
command against local servers: the sample site (its layout matches the portal's rules), the same
site redesigned (the rules miss: the report must show the fallback), a small generic site with
a dateline in a time zone, and a site without articles (exit 1). Nothing may be written to a
warehouse and Prefect must not start."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from paths import REPO
from redesigned_site import RedesignedSite, infoshos_titles, redesign, sources_file
from sites.serve import Site
from zone_site import TITLE, write_site

from infoshos.flows.probe import analyse, discovery_paths, format_text, to_json, via_of
from infoshos.flows.sources import Source
from infoshos.spiders import sample_site
from infoshos.spiders.sample_site.render import SiteData
from infoshos.spiders.sample_site.server import resolve

ROOT = REPO
SOURCE = Source(name="t-portal", spider="infoshos", style="infoshos", encoding="windows-1251")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


# -- pure: rows in, report out ---------------------------------------------------------------
def _row(url: str, page_type: str, status: int | None = 200, **kw: Any) -> dict[str, Any]:
    return {"url": url, "source": SOURCE.name, "page_type": page_type, "status": status, **kw}


def _article_rows(redesigned: bool) -> tuple[list[dict[str, Any]], Any]:
    data = SiteData()
    art = next(a for a in sample_site.expected_articles() if a.portal == "infoshos")
    page = resolve(data, art.local_path, "http://127.0.0.1:1")
    body = redesign(page.body) if redesigned else page.body
    rows = [
        _row("http://portal.test/news/", "list", referer=None),
        _row(
            art.canonical_url,
            "article",
            headers={"content-type": page.content_type},
            body=body,
            referer="http://portal.test/news/",
        ),
        _row("http://portal.test/gone", "article", 404, referer="http://portal.test/news/"),
        _row(
            "http://elsewhere.test/x",
            "article",
            None,
            skip_reason="offsite",
            detail="host elsewhere.test",
            referer=art.canonical_url,
        ),
    ]
    return rows, art


def test_discovery_uses_via_and_falls_back_to_the_referers_page_type() -> None:
    rows, art = _article_rows(redesigned=False)
    assert via_of(rows[0], {}) == "start"
    assert via_of(rows[1], {"http://portal.test/news/": "list"}) == "list"
    assert via_of(rows[3], {art.canonical_url: "article"}) == "link"
    assert via_of({**rows[3], "via": "sitemap"}, {}) == "sitemap"  # the spool's own word wins
    paths = discovery_paths(rows)
    assert paths == {
        "list": {"links": 2, "articles": 1},
        "link": {"links": 1, "articles": 0},
        "start": {"links": 1, "articles": 0},
    }
    with_via = [
        {**r, "via": v} for r, v in zip(rows, ["start", "feed", "feed", "link"], strict=True)
    ]
    assert discovery_paths(with_via)["feed"] == {"links": 2, "articles": 1}


def test_a_matching_page_is_stored_by_the_site_rules() -> None:
    rows, art = _article_rows(redesigned=False)
    report = analyse(rows, SOURCE, "Europe/Moscow", "Europe/Moscow (test)", NOW)
    assert report.exit_code == 0 and report.has_rules
    assert report.rules_matched == 1 and report.fallbacks == []
    [stored] = report.stored
    assert stored["title"] == art.title and stored["extraction"] == "site rules"
    assert stored["language"] == art.language
    assert stored["published_at"] == art.published_msk.isoformat()  # with its +03:00
    assert stored["first_lines"][0].startswith(art.paragraphs[0][:60])
    assert {(r["reason"], r["url"]) for r in report.rejected} == {
        ("http_error", "http://portal.test/gone"),
        ("offsite", "http://elsewhere.test/x"),
    }
    assert report.navigation == 1
    text = format_text(report)
    assert "site rules (infoshos): matched on 1 page, fell back to generic extraction on 0" in text
    assert "offsite (crawl): http://elsewhere.test/x: host elsewhere.test" in text
    assert art.title in text and "verdict: OK, 1 article would be stored" in text


def test_a_redesigned_page_falls_back_to_generic_extraction_and_says_so() -> None:
    rows, art = _article_rows(redesigned=True)
    report = analyse(rows, SOURCE, None, "not set", NOW)
    assert report.rules_matched == 0
    [fallback] = report.fallbacks
    assert fallback["url"] == art.canonical_url and fallback["outcome"] == "stored"
    assert re.match(r"(no_title|no_date|no_body|not_article): ", fallback["miss"])
    assert report.stored[0]["title"] == art.title
    assert report.stored[0]["extraction"] == "generic (site rules missed)"
    text = format_text(report)
    assert "fell back to generic extraction on 1" in text
    assert f"fell back (stored): {art.canonical_url}: {fallback['miss']}" in text
    data = json.loads(json.dumps(to_json(report)))
    assert data["exit_code"] == 0 and data["fallbacks"][0]["miss"] == fallback["miss"]


def test_nothing_stored_exits_1() -> None:
    rows, _ = _article_rows(redesigned=False)
    report = analyse([rows[0], rows[2]], SOURCE, None, "not set", NOW)
    assert report.stored == [] and report.exit_code == 1
    assert "verdict: no article would be stored" in format_text(report)


# -- the command against local servers --------------------------------------------------------
def _probe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    home = cwd / "prefect-home"
    proc = subprocess.run(
        [sys.executable, "-m", "infoshos.flows.cli", "probe", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PREFECT_HOME": str(home), "INFOSHOS_WAREHOUSE": str(cwd / "wh")},
        timeout=300,
        check=False,
    )
    # writes nothing, starts nothing: no warehouse, no Prefect database or temporary server
    assert not (cwd / "wh").exists() and not (cwd / "data").exists()
    assert not home.exists() or not any(home.iterdir()), list(home.iterdir())
    assert "temporary server" not in proc.stdout + proc.stderr
    return proc


@pytest.mark.slow
def test_probe_matching_and_redesigned_layouts(tmp_path: Path) -> None:
    with sample_site.SampleSite(port=0) as site:
        src = sources_file(tmp_path, site.base_url, "t-matching")
        proc = _probe("t-matching", "--sources", str(src), "--pages", "8", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    matched = re.search(
        r"site rules \(infoshos\): matched on (\d+) pages?, fell back .* on (\d+)", out
    )
    assert matched and int(matched[1]) >= 4, out
    # the rules only miss on the sample pages damaged on purpose (a missing dateline)
    damaged = {a.canonical_url for a in sample_site.load_articles() if a.broken}
    missed = re.findall(r"^  fell back \((?:stored|rejected)\): (\S+): ", out, re.M)
    assert len(missed) == int(matched[2]) and set(missed) <= damaged, missed
    assert re.search(r"^  (list|feed) +[1-9]\d* links", out, re.M), out

    with RedesignedSite() as site:
        src = sources_file(tmp_path, site.base_url, "t-redesigned")
        proc = _probe("t-redesigned", "--sources", str(src), "--pages", "8", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["source"] == "t-redesigned" and report["has_rules"]
    assert report["stored"] and report["fallbacks"]
    assert report["rules_matched"] == 0
    stored = {a["url"]: a for a in report["stored"]}
    for fb in report["fallbacks"]:
        assert fb["miss"].split(":")[0] in ("no_title", "no_date", "no_body", "not_article")
    assert all(a["extraction"] == "generic (site rules missed)" for a in stored.values())
    assert {a["title"] for a in stored.values()} <= infoshos_titles()
    assert report["discovery"] and sum(c["links"] for c in report["discovery"].values()) > 1


@pytest.mark.slow
def test_probe_a_url_with_and_without_a_timezone(tmp_path: Path) -> None:
    with Site(str(write_site(tmp_path / "site"))) as site:
        plain = _probe(f"{site.base_url}/", cwd=tmp_path)
        almaty = _probe(f"{site.base_url}/", "--timezone", "Asia/Almaty", cwd=tmp_path)
    assert plain.returncode == 0 and almaty.returncode == 0, plain.stderr + almaty.stderr
    assert "timezone: UTC (no --timezone given for web:127.0.0.1)" in plain.stdout
    assert "timezone: Asia/Almaty (--timezone)" in almaty.stdout
    assert TITLE in plain.stdout
    # the dateline 02.05.2018 has no offset: read in the zone given (Almaty: UTC+6 in 2018)
    assert re.search(r"date 2018-05-02T\d\d:\d\d:00\+00:00", plain.stdout), plain.stdout
    assert re.search(r"date 2018-05-02T\d\d:\d\d:00\+06:00", almaty.stdout), almaty.stdout
    assert "site rules: none for style 'generic'" in plain.stdout


@pytest.mark.slow
def test_probe_without_articles_exits_1(tmp_path: Path) -> None:
    with Site(str(write_site(tmp_path / "empty", with_article=False))) as site:
        proc = _probe(f"{site.base_url}/", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "verdict: no article would be stored" in proc.stdout


def test_probe_operator_errors_are_one_line(tmp_path: Path) -> None:
    for args, message in (
        (["nosuch"], "unknown source 'nosuch'"),
        (["ftp://example.org/"], "is not an http(s) URL with a host"),
        (["infoshos-sample", "--timezone", "Mars/Olympus"], "is not an IANA time zone"),
        (["infoshos-sample", "--pages", "0"], "must be >= 1"),
    ):
        proc = _probe(*args, cwd=tmp_path)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, (args, proc.stderr)
        assert lines[0].startswith("infoshos: error: ") and message in lines[0], lines


@pytest.mark.slow
def test_readme_probe_commands_run(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Probing a source before scheduling it", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^\.venv/bin/infoshos (probe .+)$", section, re.M)
    assert commands, "the README shows a probe command"
    for command in commands:
        proc = _probe(*shlex.split(command)[1:], cwd=tmp_path)
        assert proc.returncode == 0, (command, proc.stderr)
        assert "would store:" in proc.stdout and "discovery" in proc.stdout
