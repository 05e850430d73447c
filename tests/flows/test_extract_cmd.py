"""`infoshos extract`: the flow's cleaning on files, gzipped files, folders and URLs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from infoshos.flows.cli import main
from infoshos.spiders.sample_site import SampleSite, expected_articles, render
from infoshos.spiders.sample_site.model import SampleArticle

KEYS = {
    "input", "url", "title", "subtitle", "published_at", "event_date", "language", "text",
    "repairs", "error",
}  # fmt: skip


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, object]]]:
    code = main(["extract", "--format", "json", *argv])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines()]


def _glued_article() -> SampleArticle:
    return next(a for a in expected_articles() if a.portal == "infoshos" and a.nbsp_form == "glued")


def test_files_gz_and_folders_give_the_clean_article(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    art = _glued_article()
    page = render.infoshos_article(render.SiteData(), art)
    (tmp_path / "a.html").write_bytes(page)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.html.gz").write_bytes(gzip.compress(page))
    code, rows = _run(capsys, str(tmp_path / "a.html"), str(tmp_path / "sub"))
    assert code == 0
    assert len(rows) == 2
    for row in rows:
        assert set(row) == KEYS
        assert row["error"] is None
        assert row["title"] == art.title
        assert row["text"] == art.text
        assert row["url"] == art.canonical_url
        assert row["language"] == "en"
        assert row["published_at"] == art.published_msk.isoformat()
        assert isinstance(row["repairs"], dict) and row["repairs"]["glued"] > 0
    assert rows[0]["input"] == str(tmp_path / "a.html")


def test_a_canonical_link_without_a_canonical_form_is_kept_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    art = _glued_article()
    odd = art.canonical_url.replace(".test/", ".test:99999/", 1)  # a port out of range
    page = render.infoshos_article(render.SiteData(), art)
    assert art.canonical_url.encode() in page
    (tmp_path / "a.html").write_bytes(page.replace(art.canonical_url.encode(), odd.encode()))
    code, rows = _run(capsys, str(tmp_path / "a.html"))
    assert code == 0 and rows[0]["error"] is None, rows
    assert (rows[0]["url"], rows[0]["title"]) == (odd, art.title)


def test_a_page_without_article_fails_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chrome = "<html><body><nav><a href='/'>Home</a> <a href='/about'>About</a></nav></body></html>"
    (tmp_path / "chrome.html").write_text(chrome)
    good = tmp_path / "good.html"
    good.write_bytes(render.infoshos_article(render.SiteData(), _glued_article()))
    code, rows = _run(capsys, str(tmp_path / "chrome.html"), str(good), str(tmp_path / "nope"))
    assert code == 1
    assert rows[0]["error"] and str(rows[0]["error"]).startswith("not_article: not an article")
    assert rows[1]["error"] is None
    assert rows[2]["error"] == f"no such file: {tmp_path / 'nope'}"


def test_urls_are_fetched_and_use_the_named_source_rules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ru = next(a for a in expected_articles() if a.portal == "infoshos" and a.language == "ru")
    with SampleSite(port=0) as site:
        url = site.base_url + ru.local_path
        code, rows = _run(capsys, "--source", "infoshos-sample", url, site.base_url + "/nope")
    assert code == 1
    assert rows[0]["error"] is None
    assert rows[0]["title"] == ru.title and rows[0]["text"] == ru.text
    assert rows[0]["language"] == "ru"
    assert rows[1]["error"] == "HTTP 404"


def test_text_format_and_non_http_schemes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["extract", "file:///etc/passwd"])
    assert code == 1
    assert "only http(s) URLs and files are read" in capsys.readouterr().out
    art = _glued_article()
    page = tmp_path / "p.html"
    page.write_bytes(render.infoshos_article(render.SiteData(), art))
    assert main(["extract", str(page)]) == 0
    out = capsys.readouterr().out
    assert f"title: {art.title}" in out
    assert "repairs: " in out and "glued" in out


def test_a_refused_page_shows_its_text_beside_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = " ".join(f"Sentence {i} of a page that carries no date at all." for i in range(9))
    page = (
        "<html><head><title>About us</title></head>"
        f"<body><h1>About us</h1><p>{body}</p></body></html>"
    )
    (tmp_path / "about.html").write_text(page)
    code, rows = _run(capsys, str(tmp_path / "about.html"))
    assert code == 1
    assert rows[0]["error"] == "not_article: not an article: no publication date or dateline found"
    assert rows[0]["title"] == "About us" and rows[0]["text"] == body


# -- issue 13, finding 4: the crawler's limits on local input -------------------------------
def _bomb(path: Path, megabytes: int) -> None:
    """A small .gz that inflates to ``megabytes`` MB, written in chunks."""
    chunk = b" " * (1024 * 1024)
    with gzip.open(path, "wb", compresslevel=9) as fh:
        for _ in range(megabytes):
            fh.write(chunk)


def test_a_gzip_bomb_and_a_huge_file_are_too_large_and_the_next_input_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import tracemalloc

    from infoshos.flows.extract import MAX_BYTES

    bomb = tmp_path / "bomb.html.gz"
    _bomb(bomb, 64)
    assert bomb.stat().st_size < 1024 * 1024
    huge = tmp_path / "huge.html"
    huge.write_bytes(b"<p>" + b"a paragraph of text " * (MAX_BYTES // 20) + b"</p>")
    good = tmp_path / "good.html"
    good.write_bytes(render.infoshos_article(render.SiteData(), _glued_article()))
    tracemalloc.start()
    try:
        code, rows = _run(capsys, str(bomb), str(huge), str(good))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 1
    assert [r["input"] for r in rows] == [str(bomb), str(huge), str(good)]
    assert str(rows[0]["error"]).startswith("too_large:") and "decompresses" in str(
        rows[0]["error"]
    )
    assert str(rows[1]["error"]).startswith("too_large:")
    assert rows[2]["error"] is None and rows[2]["title"] == _glued_article().title
    assert peak < 4 * MAX_BYTES  # the bomb never inflated past the limit (64 MB)


def test_fifos_and_devices_are_refused_without_opening_them(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    fifo = tmp_path / "pipe.html"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    os.mkfifo(folder / "inside.html")
    good = folder / "good.html"
    good.write_bytes(render.infoshos_article(render.SiteData(), _glued_article()))
    argv = [sys.executable, "-m", "infoshos.flows.cli", "extract", "--format", "json"]
    argv += [str(fifo), str(folder), "/dev/null"]
    # a FIFO opened for reading would wait for a writer forever: the timeout fails the test
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    rows = {r["input"]: r for r in map(json.loads, proc.stdout.splitlines())}
    assert rows[str(fifo)]["error"] == f"not a regular file: {fifo} is a FIFO"
    assert rows[str(folder / "inside.html")]["error"].endswith("is a FIFO")
    assert rows["/dev/null"]["error"] == "not a regular file: /dev/null is a character device"
    assert rows[str(good)]["error"] is None
    assert proc.stderr == ""


def test_a_page_whose_cleaning_takes_too_long_is_stopped_and_the_rest_go_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time
    from typing import Any

    from infoshos.flows import extract

    real = extract.clean_page

    def slow_on_marked_pages(record: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if b"<!-- endless -->" in record["body"]:
            time.sleep(3600)  # a page the cleaning never finishes
        return real(record, *args, **kwargs)

    monkeypatch.setattr(extract, "clean_page", slow_on_marked_pages)
    page = render.infoshos_article(render.SiteData(), _glued_article())
    (tmp_path / "a-slow.html").write_bytes(page + b"<!-- endless -->")
    (tmp_path / "b-good.html").write_bytes(page)
    code, rows = _run(capsys, "--page-timeout", "1", str(tmp_path))
    assert code == 1
    assert rows[0]["error"] == "time_limit: cleaning took longer than 1 s"
    assert rows[1]["error"] is None and rows[1]["title"] == _glued_article().title
