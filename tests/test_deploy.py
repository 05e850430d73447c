"""Schedules and deployments: the specs `infoshos serve` runs match `prefect.yaml`, and a real
Prefect server on loopback deploys `prefect.yaml`, runs a deployment through a process work pool
and sees the flow run complete."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from infoshos.flows.schedule import WEEKLY_FULL_CRON, deployment_specs
from infoshos.flows.sources import load_sources
from infoshos.warehouse.catalog import connect
from infoshos.warehouse.store import Warehouse

ROOT = Path(__file__).resolve().parent.parent
PREFECT = str(Path(sys.executable).parent / "prefect")


def test_specs_cover_every_scheduled_live_source() -> None:
    sources = load_sources()
    specs = {s["name"]: s for s in deployment_specs(sources, "/wh")}
    scheduled = [s for s in sources.values() if s.schedule and not s.sample]
    assert scheduled
    for src in scheduled:
        spec = specs[f"daily-{src.name}"]
        assert spec["cron"] == src.schedule
        assert spec["parameters"] == {"warehouse": "/wh", "sources": [src.name]}
    assert specs["weekly-full"]["parameters"]["full"] is True
    assert specs["weekly-full"]["cron"] == WEEKLY_FULL_CRON
    assert specs["reprocess"]["flow"] == "reprocess" and specs["reprocess"]["cron"] is None
    assert not any("sample" in name for name in specs)


def test_prefect_yaml_declares_the_same_schedules() -> None:
    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    by_name = {d["name"]: d for d in declared}
    for spec in deployment_specs(load_sources(), "data"):
        dep = by_name[spec["name"]]
        crons = [s["cron"] for s in dep.get("schedules") or []]
        assert crons == ([spec["cron"]] if spec["cron"] else []), spec["name"]
        assert all(s["timezone"] == "Europe/Moscow" for s in dep.get("schedules") or [])
        assert dep["parameters"] == spec["parameters"], spec["name"]
        expected = "reprocess_pipeline" if spec["flow"] == "reprocess" else "run_pipeline"
        assert dep["entrypoint"] == f"flows/pipeline.py:{expected}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.fixture()
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    port = _free_port()
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
                _get(env["PREFECT_API_URL"] + "/health")
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
        os.killpg(server.pid, 9)
        server.wait()
        log.close()


@pytest.mark.slow
def test_deploy_all_and_run_through_a_process_work_pool(
    prefect_server: dict[str, str], tmp_path: Path
) -> None:
    env = prefect_server
    api = env["PREFECT_API_URL"]

    def prefect(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PREFECT, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
        )

    made = prefect("work-pool", "create", "infoshos", "--type", "process")
    assert made.returncode == 0, made.stdout + made.stderr
    deployed = prefect("--no-prompt", "deploy", "--all")
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    deployments = _post(api + "/deployments/filter", {})
    names = {d["name"] for d in deployments}
    assert {"daily-infoshos", "daily-sectsco", "weekly-full", "reprocess", "sample"} <= names
    daily = next(d for d in deployments if d["name"] == "daily-infoshos")
    assert daily["schedules"][0]["schedule"]["cron"] == "15 6 * * *"
    assert daily["schedules"][0]["schedule"]["timezone"] == "Europe/Moscow"

    sample = next(d for d in deployments if d["name"] == "sample")
    warehouse = tmp_path / "wh"
    run = _post(
        f"{api}/deployments/{sample['id']}/create_flow_run",
        {"parameters": {"warehouse": str(warehouse)}},
    )
    worker = subprocess.Popen(
        [PREFECT, "worker", "start", "--pool", "infoshos", "--run-once"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        state = None
        while time.monotonic() < deadline:
            state = _get(f"{api}/flow_runs/{run['id']}")["state"]
            if state and state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                break
            time.sleep(1)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, 9)
        out = worker.communicate()[0]
    assert state is not None and state["type"] == "COMPLETED", (state, out[-3000:])
    con = connect(Warehouse(warehouse))
    try:
        assert con.execute("select count(*) from articles").fetchone()[0] > 50  # type: ignore[index]
    finally:
        con.close()


@pytest.mark.slow
def test_infoshos_serve_registers_every_schedule(
    prefect_server: dict[str, str], tmp_path: Path
) -> None:
    env = prefect_server
    serve = subprocess.Popen(
        [sys.executable, "-m", "infoshos.flows.cli", "serve", "--warehouse", str(tmp_path / "w")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    expected = {s["name"] for s in deployment_specs(load_sources(), "w")}
    found: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and set(found) != expected:
            found = {
                d["name"]: d for d in _post(env["PREFECT_API_URL"] + "/deployments/filter", {})
            }
            assert serve.poll() is None, serve.communicate()[0][-2000:]
            time.sleep(1)
    finally:
        os.killpg(serve.pid, 9)
        serve.communicate()
    assert set(found) == expected
    weekly = found["weekly-full"]
    assert weekly["parameters"]["full"] is True
    assert weekly["parameters"]["warehouse"] == str((tmp_path / "w").absolute())
    assert weekly["schedules"][0]["schedule"]["timezone"] == "Europe/Moscow"
