"""Shared fixtures. Prefect keeps its state in a temporary folder and never phones home; one
Prefect test harness (a temporary API, ~8 s to start) serves the whole session."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from infoshos.flows.cli import PREFECT_DEFAULTS

_PREFECT_HOME = tempfile.mkdtemp(prefix="infoshos-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.update(PREFECT_DEFAULTS)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


# The local servers of the scale-out tests (Redis, PostgreSQL, S3) and a Prefect server of the
# deployment tests, for every test module.
from prefect_server import prefect_server  # noqa: E402, F401
from services import postgres_dsn, redis_url, s3_endpoint  # noqa: E402, F401
