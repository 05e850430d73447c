"""Crash points for testing: ``INFOSHOS_CRASH_AT=<name>`` kills the process with SIGKILL at
that point, so tests can check that a run killed at any stage leaves the previous snapshot
intact and that the next run completes. ``INFOSHOS_PAUSE_AT=<name>:<file>`` holds the run at
that point (after creating ``<file>.reached``) until ``<file>`` exists, so tests can order two
writers. Unset (always, outside tests), they do nothing."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

CRASH_ENV = "INFOSHOS_CRASH_AT"
PAUSE_ENV = "INFOSHOS_PAUSE_AT"
#: The longest a paused run waits for its gate file.
PAUSE_LIMIT = 300.0

#: The named points, in the order a run reaches them.
POINTS = (
    "after-crawl",  # spools written, nothing cleaned
    "after-clean",
    "before-publish",  # data files written, the lake transaction not committed
    "after-publish",  # committed, the search index not yet rebuilt
)


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    point, _, gate = os.environ.get(PAUSE_ENV, "").partition(":")
    if point == name and gate:
        Path(gate + ".reached").touch()
        deadline = time.monotonic() + PAUSE_LIMIT
        while not Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
