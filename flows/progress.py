"""Live progress of the crawl subprocesses, for the operator.

:func:`run_crawl` runs one crawl (``python -m infoshos.spiders.crawl ... --progress FILE``),
tails its progress file (see :mod:`infoshos.spiders.progress`) and its stderr while it runs:

- each progress line goes to a :class:`ProgressView`: on a terminal a ``rich`` display (one
  bar per source: pages, articles, rejects by reason, rate, ETA when the total is known);
  elsewhere (a pipe, a log file, ``infoshos run --json > out``) a log line every
  :data:`LOG_EVERY` seconds. Both also go to the Prefect run logger (the terminal display
  every :data:`RICH_LOG_EVERY` seconds, so the run's logs keep a trace).
- Scrapy's own WARNING, ERROR and CRITICAL lines are relayed to the logger, and counted.

``INFOSHOS_PROGRESS=rich|log|off`` overrides the choice (default: rich on a terminal).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Seconds between two progress log lines (non-terminal).
LOG_EVERY = 5.0
#: Seconds between two progress lines in the run's logs while the terminal display runs.
RICH_LOG_EVERY = 30.0
#: Seconds between two looks at the progress file.
POLL = 0.25
#: A Scrapy log line: ``2026-01-01 12:00:00 [scrapy.core.scraper] ERROR: ...``.
SCRAPY_LEVEL = re.compile(r"\[[\w.]+\] (WARNING|ERROR|CRITICAL): ")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def format_progress(p: dict[str, Any]) -> str:
    """One line: ``sectsco: 120 pages, 40 articles, rejects offsite 3; 5.2 pages/s; 120/500
    (24%), ETA 1m13s``."""
    rejects = ", ".join(f"{k} {v}" for k, v in sorted((p.get("rejects") or {}).items()))
    text = f"{p['source']}: {p['pages']} pages, {p['articles']} articles"
    text += f", rejects {rejects}" if rejects else ", no rejects"
    text += f"; {p.get('rate', 0):.1f} pages/s"
    if p.get("total"):
        done, total = p.get("done") or 0, p["total"]
        text += f"; {done}/{total} ({100 * done / total:.0f}%)"
        if p.get("eta") is not None:
            text += f", ETA {_duration(p['eta'])}"
    if p.get("final"):
        text += f"; done in {_duration(p.get('elapsed', 0))}"
    return text


def scrapy_level(line: str) -> str | None:
    """WARNING, ERROR or CRITICAL for a Scrapy log line of that level, else None."""
    m = SCRAPY_LEVEL.search(line)
    return m.group(1) if m else None


class ProgressView:
    """Where progress lines go: a rich display, or log lines at most every ``every`` s."""

    def __init__(
        self,
        logger: logging.Logger | logging.LoggerAdapter[Any],
        mode: str | None = None,
        console: Any = None,
        every: float | None = None,
    ) -> None:
        self.logger = logger
        self.mode = mode or choose_mode()
        self.every = (
            every if every is not None else (RICH_LOG_EVERY if self.mode == "rich" else LOG_EVERY)
        )
        self._logged: dict[str, float] = {}
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._console = console

    def start(self) -> None:
        if self.mode != "rich":
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        console = self._console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]{task.fields[source]}"),
            BarColumn(),
            TextColumn("{task.fields[line]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._progress.start()

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.refresh()
            self._progress.stop()
            self._progress = None

    def update(self, p: dict[str, Any]) -> None:
        line = format_progress(p)
        source = str(p["source"])
        if self._progress is not None:
            task = self._tasks.get(source)
            if task is None:
                task = self._tasks[source] = self._progress.add_task(
                    source, total=p.get("total"), source=source, line=line
                )
            self._progress.update(
                task, completed=p.get("done") or 0, total=p.get("total"), line=line
            )
            if p.get("final"):
                self._progress.update(task, completed=p.get("total") or 0, total=p.get("total"))
        now = time.monotonic()
        if self.mode == "off" and not p.get("final"):
            return
        if p.get("final") or now - self._logged.get(source, -1e9) >= self.every:
            self._logged[source] = now
            self.logger.info("crawl progress: %s", line)


def choose_mode() -> str:
    mode = os.environ.get("INFOSHOS_PROGRESS", "").strip().lower()
    if mode in ("rich", "log", "off"):
        return mode
    return "rich" if sys.stderr.isatty() else "log"


_ACTIVE: list[ProgressView] = []


def active_view() -> ProgressView | None:
    """The view of the crawl stage now running (the crawl tasks of one run share it)."""
    return _ACTIVE[-1] if _ACTIVE else None


@contextlib.contextmanager
def progress_view(
    logger: logging.Logger | logging.LoggerAdapter[Any], **kwargs: Any
) -> Iterator[ProgressView]:
    """Show the progress of the crawls started inside (see :func:`active_view`)."""
    view = ProgressView(logger, **kwargs)
    view.start()
    _ACTIVE.append(view)
    try:
        yield view
    finally:
        _ACTIVE.remove(view)
        view.stop()


@dataclass
class CrawlResult:
    returncode: int
    stdout: str
    stderr_tail: list[str]
    warnings: int = 0
    errors: int = 0
    last: dict[str, Any] = field(default_factory=dict)


def _read_new(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Complete JSON lines of ``path`` from ``offset``; the offset after the last one."""
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    out = []
    for raw in data[:end].splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(raw))
    return out, offset + end


def run_crawl(
    argv: list[str],
    progress_file: Path,
    on_progress: Callable[[dict[str, Any]], None],
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> CrawlResult:
    """Run a crawl subprocess (``argv`` must carry ``--progress progress_file``), feeding its
    progress lines to ``on_progress`` and relaying its warnings and errors to ``logger``."""
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
    )
    result = CrawlResult(returncode=0, stdout="", stderr_tail=[])
    out: list[str] = []

    def pump_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            line = line.rstrip("\n")
            result.stderr_tail = [*result.stderr_tail[-19:], line]
            level = scrapy_level(line)
            if level == "WARNING":
                result.warnings += 1
                logger.warning("crawl: %s", line)
            elif level is not None:
                result.errors += 1
                logger.error("crawl: %s", line)

    def pump_stdout() -> None:
        assert proc.stdout is not None
        out.extend(proc.stdout)

    threads = [threading.Thread(target=f, daemon=True) for f in (pump_stderr, pump_stdout)]
    for t in threads:
        t.start()
    offset = 0
    while True:
        done = proc.poll() is not None
        lines, offset = _read_new(progress_file, offset)
        for p in lines:
            result.last = p
            on_progress(p)
        if done:
            break
        time.sleep(POLL)
    for t in threads:
        t.join()
    result.returncode = proc.returncode
    result.stdout = "".join(out)
    return result
