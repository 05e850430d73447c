"""Schedules and deployments: the specs `infoshos serve` runs match `prefect.yaml`, and a real
Prefect server on loopback deploys `prefect.yaml`, runs a deployment through a process work pool
and sees the flow run complete."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from paths import REPO
from prefect_server import PREFECT, post_json, stop_tree, wait_final

from infoshos.flows.schedule import WEEKLY_FULL_CRON, deployment_specs
from infoshos.flows.sources import load_sources
from infoshos.warehouse.catalog import connect
from infoshos.warehouse.store import Warehouse

ROOT = REPO


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
    deployments = post_json(api + "/deployments/filter", {})
    names = {d["name"] for d in deployments}
    assert {"daily-infoshos", "daily-sectsco", "weekly-full", "reprocess", "sample"} <= names
    daily = next(d for d in deployments if d["name"] == "daily-infoshos")
    assert daily["schedules"][0]["schedule"]["cron"] == "15 6 * * *"
    assert daily["schedules"][0]["schedule"]["timezone"] == "Europe/Moscow"

    sample = next(d for d in deployments if d["name"] == "sample")
    warehouse = tmp_path / "wh"
    run = post_json(
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
        state = wait_final(api, [run["id"]], 300)[run["id"]]
    finally:
        stop_tree(worker)
        out = worker.communicate()[0]
    assert state == "COMPLETED", (state, out[-3000:])
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
                d["name"]: d for d in post_json(env["PREFECT_API_URL"] + "/deployments/filter", {})
            }
            assert serve.poll() is None, serve.communicate()[0][-2000:]
            time.sleep(1)
    finally:
        stop_tree(serve)
        serve.communicate()
    assert set(found) == expected
    weekly = found["weekly-full"]
    assert weekly["parameters"]["full"] is True
    assert weekly["parameters"]["warehouse"] == str((tmp_path / "w").absolute())
    assert weekly["schedules"][0]["schedule"]["timezone"] == "Europe/Moscow"
