"""The process's environment for Prefect, and a console log without tracebacks.

Rules:
- Nothing here imports Prefect: ``prefect_env`` sets the variables Prefect reads when it is
  imported, so a command calls it after its checks and before its first Prefect import.
- The environment's own values win over ``PREFECT_DEFAULTS`` (the benchmarks and tests use them
  too).
- Tracebacks are left out of the console only (``--debug`` keeps them); the other handlers get
  the whole record.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

#: Prefect's settings for every infoshos process (the environment's own values win): no
#: telemetry, and the temporary API of a run given 3 minutes to start (Prefect's 20 s default
#: is too short on a busy 2-core machine).
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}


def prefect_env(warehouse: str) -> None:
    """Prefect keeps its state in a folder we own and never phones home."""
    os.environ.setdefault("PREFECT_HOME", str(Path(warehouse).absolute() / ".prefect"))
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)


class _NoTraceback(logging.Formatter):
    """A console formatter that leaves out tracebacks (``--debug`` keeps them): the failure
    ends in the CLI's one line. The record is left whole for the other handlers (Prefect's
    API log keeps the traceback)."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def console_without_tracebacks() -> None:
    """Prefect's console log without tracebacks (called once Prefect has set up logging)."""
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            console = isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            )
            if console and not isinstance(handler.formatter, _NoTraceback):
                handler.setFormatter(_NoTraceback(handler.formatter))
