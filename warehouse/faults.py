"""Crash points for testing: ``INFOSHOS_CRASH_AT=<name>`` kills the process with SIGKILL at
that point, so tests can check that a run killed at any stage leaves the previous snapshot
intact and that the next run completes. Unset (always, outside tests), it does nothing."""

from __future__ import annotations

import os
import signal

CRASH_ENV = "INFOSHOS_CRASH_AT"

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
