"""Live crawl progress: a slow crawl of the bundled sample site reports moving counts while it
runs, as log lines (not a terminal) and in a rich display (a forced terminal)."""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infoshos.flows.progress import ProgressView, format_progress, run_crawl, scrapy_level
from infoshos.flows.summary import RunSummary
from infoshos.spiders import sample_site
from infoshos.spiders.crawl import crawl_command
from infoshos.spiders.progress import eta
from infoshos.spiders.sample_site import SampleSite

pytestmark = pytest.mark.slow


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _logger(name: str) -> tuple[logging.Logger, Lines]:
    logger = logging.getLogger(f"infoshos.test.{name}")
    logger.setLevel(logging.INFO)
    handler = Lines()
    logger.handlers = [handler]
    logger.propagate = False
    return logger, handler


def _slow_crawl(tmp: Path, update: Callable[[dict[str, Any]], None], logger: logging.Logger) -> Any:
    """The sample site's Infoshos lists and articles at a polite delay (about 4 s)."""
    with SampleSite(port=0) as site:
        argv = crawl_command(
            "infoshos", "infoshos-sample", sample_site.start_urls(site.base_url)["infoshos-sample"],
            tmp / "out.parquet", url_map=sample_site.url_map(site.base_url), max_pages=24,
            delay=0.15, concurrency=1, no_robots=True, progress=tmp / "p.jsonl",
            progress_interval=0.4,
        )  # fmt: skip
        return run_crawl(argv, tmp / "p.jsonl", update, logger)


def test_log_lines_show_moving_progress(tmp_path: Path) -> None:
    logger, lines = _logger("log")
    seen: list[dict[str, Any]] = []
    view = ProgressView(logger, mode="log", every=0)

    def update(p: dict[str, Any]) -> None:
        seen.append(p)
        view.update(p)

    result = _slow_crawl(tmp_path, update, logger)
    assert result.returncode == 0, result.stderr_tail
    running = [p for p in seen if not p["final"]]
    pages = [p["pages"] for p in running]
    assert len(set(pages)) >= 3 and pages == sorted(pages)  # it moved while the crawl ran
    assert seen[-1]["final"] and seen[-1]["pages"] == 24 and seen[-1]["articles"] > 0
    assert all(p["total"] == 24 for p in seen)  # max_pages: a known total
    messages = [r.getMessage() for r in lines.records]
    assert len(messages) == len(seen)
    assert all(m.startswith("crawl progress: infoshos-sample: ") for m in messages)
    assert "pages/s" in messages[0] and "done in" in messages[-1]


def test_a_terminal_gets_a_rich_display(tmp_path: Path) -> None:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=160)
    logger, lines = _logger("rich")
    view = ProgressView(logger, mode="rich", console=console, every=3600)
    view.start()
    try:
        result = _slow_crawl(tmp_path, view.update, logger)
    finally:
        view.stop()
    assert result.returncode == 0
    screen = buffer.getvalue()
    assert "\x1b[" in screen  # a terminal display, with escape codes
    shown = [int(n) for n in re.findall(r"(\d+) pages,", screen)]
    assert len(set(shown)) >= 3 and max(shown) == 24  # redrawn with moving counts
    # the run's logs keep a trace: the first line, then only the last one (every=3600 s)
    assert [r.getMessage().split(": ")[0] for r in lines.records] == ["crawl progress"] * 2


def test_scrapy_warnings_and_errors_are_relayed_and_counted(tmp_path: Path) -> None:
    script = tmp_path / "noisy.py"
    script.write_text(
        "import sys\n"
        "for line in ['2026-01-01 10:00:00 [scrapy.core.engine] WARNING: slow',\n"
        "             '2026-01-01 10:00:01 [scrapy.core.scraper] ERROR: Spider error',\n"
        "             'Traceback (most recent call last):',\n"
        "             '2026-01-01 10:00:02 [py.warnings] WARNING: deprecated']:\n"
        "    print(line, file=sys.stderr)\n"
        "print('{\"pages\": 0}')\n"
    )
    logger, lines = _logger("relay")
    result = run_crawl([sys.executable, str(script)], tmp_path / "none.jsonl", print, logger)
    assert (result.warnings, result.errors) == (2, 1)
    levels = [r.levelname for r in lines.records]
    assert levels == ["WARNING", "ERROR", "WARNING"]
    assert result.stdout.strip() == '{"pages": 0}'
    summary = RunSummary(run_id="r", sources=["s"], crawl_warnings=2, crawl_errors=1)
    assert summary.to_json()["crawl_warnings"] == 2 and summary.to_json()["crawl_errors"] == 1
    assert "crawl log: 2 warnings, 1 errors" in summary.text()


def test_format_and_eta() -> None:
    p = {
        "source": "s", "pages": 120, "articles": 40, "rejects": {"offsite": 3},
        "rate": 5.2, "done": 120, "total": 500, "eta": 73.0, "final": False,
    }  # fmt: skip
    assert format_progress(p) == (
        "s: 120 pages, 40 articles, rejects offsite 3; 5.2 pages/s; 120/500 (24%), ETA 1m13s"
    )
    assert eta(100, 500, 4.0) == 100.0 and eta(1, None, 4.0) is None and eta(1, 5, 0) is None
    assert scrapy_level("x [scrapy.downloadermiddlewares.retry] ERROR: Gave up") == "ERROR"
    assert scrapy_level("INFO: nothing") is None
