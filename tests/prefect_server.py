"""A real Prefect server on 127.0.0.1 for the deployment tests, and the few REST calls they
make to it. The fixture ``prefect_server`` (one server per test, its state in the test's
temporary folder) yields the environment of a Prefect client of that server; ``stop_tree``
ends a process started in a session of its own and everything it started (a worker and its
flow-run processes)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from services import free_port

PREFECT = str(Path(sys.executable).parent / "prefect")
#: The states a flow run ends in.
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def get_json(url: str) -> Any:
    return _call(urllib.request.Request(url))


def post_json(url: str, body: dict[str, Any]) -> Any:
    return _call(
        urllib.request.Request(
            url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
    )


def _call(req: urllib.request.Request, tries: int = 20) -> Any:
    """The JSON answer; a busy server (503: its SQLite database locked by another writer, as
    when workers start) is asked again, like Prefect's own client does."""
    for attempt in range(tries):
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or attempt == tries - 1:
                raise
            time.sleep(0.5)


def flow_run_state(api: str, run_id: str) -> str | None:
    """The type of the flow run's state (None before it has one)."""
    state = get_json(f"{api}/flow_runs/{run_id}")["state"]
    return str(state["type"]) if state else None


def wait_final(api: str, run_ids: list[str], timeout: float) -> dict[str, str | None]:
    """Each flow run's state type once all are final, or as they are after ``timeout``
    seconds."""
    deadline = time.monotonic() + timeout
    while True:
        states = {run_id: flow_run_state(api, run_id) for run_id in run_ids}
        if all(s in FINAL for s in states.values()) or time.monotonic() > deadline:
            return states
        time.sleep(0.5)


def flow_run_logs(api: str, run_id: str) -> list[str]:
    """The messages the flow run logged to the API (its worker's too), oldest first."""
    body = {"logs": {"flow_run_id": {"any_": [run_id]}}, "sort": "TIMESTAMP_ASC", "limit": 200}
    return [str(entry["message"]) for entry in post_json(f"{api}/logs/filter", body)]


def stop_tree(proc: subprocess.Popen[Any]) -> None:
    """Kill ``proc`` (started with ``start_new_session``), its process group and every process
    it started, even those in sessions of their own (Prefect starts flow runs so)."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    with contextlib.suppress(ProcessLookupError):  # the group may outlive its leader
        os.killpg(proc.pid, signal.SIGKILL)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    proc.wait()


@pytest.fixture()
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                get_json(env["PREFECT_API_URL"] + "/health")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "prefect server did not start: "
                        + (tmp_path / "server.log").read_text()[-2000:]
                    ) from None
                time.sleep(0.5)
        yield env
    finally:
        stop_tree(server)
        log.close()
