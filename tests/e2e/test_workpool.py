"""Several Prefect workers: a process work pool with two workers runs two sources' deployments
at once into one shared lake (PostgreSQL catalog, S3 data on moto, all on 127.0.0.1), each run
on a worker of its own; the README's commands for it run as written. And the paper for
containers (``compose.yaml``, the ``Dockerfile``, the Docker and Kubernetes pools of the
README), which cannot run here, is checked against the code."""

from __future__ import annotations

import inspect
import json
import re
import shlex
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import psutil
import pytest
import yaml
from paths import REPO
from prefect.workers.base import BaseJobConfiguration
from prefect_server import (
    FINAL,
    PREFECT,
    flow_run_logs,
    flow_run_state,
    get_json,
    post_json,
    stop_tree,
    wait_final,
)
from services import fresh_lake, patched_environ

from infoshos.spiders.sample_site import expected_articles
from infoshos.warehouse.faults import PAUSE_ENV
from infoshos.warehouse.schema import TABLES
from infoshos.warehouse.store import Warehouse

ROOT = REPO
BIN = Path(sys.executable).parent
SECTION = "### Running on several machines: Prefect workers"
README_DSN = "dbname=infoshos host=127.0.0.1 port=5432 user=infoshos"
README_BUCKET = "s3://infoshos-lake/"
PRODUCTION = yaml.safe_load((ROOT / "prefect.yaml").read_text())
POOL = PRODUCTION["definitions"]["work_pool"]["name"]
#: Two sources of the bundled sample site (each run serves its own copy of the site).
SOURCES = ("infoshos-sample", "sectsco-sample")
SERVICES = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]


def readme_blocks(lang: str) -> list[str]:
    """The ``lang`` code blocks of the README's section on several machines."""
    text = (ROOT / "README.md").read_text().split(SECTION, 1)[1].split("\n### ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def readme_commands(block: int) -> list[list[str]]:
    """The commands of the section's ``block``-th shell block, split, the programs by name
    (``infoshos``, ``prefect``: the venv's)."""
    lines = [shlex.split(line) for line in readme_blocks("sh")[block].splitlines()]
    return [[Path(argv[0]).name, *argv[1:]] for argv in lines if argv]


def here(argv: list[str]) -> list[str]:
    """A command of the README run with this interpreter's programs."""
    return [str(BIN / argv[0]), *argv[1:]]


def readme_lake_on(command: list[str]) -> str:
    """Check that ``command`` is the README's ``infoshos lake`` but for the catalog's host (the
    database server of another setting); that host."""
    host = re.findall(r"host=(\S+)", " ".join(command))[0]
    readme = readme_commands(0)[0]
    assert command == [a.replace("host=127.0.0.1", f"host={host}") for a in readme]
    return host


def _deployments(warehouse: Path) -> dict[str, Any]:
    """``prefect.yaml`` with its deployments replaced by one on-demand deployment of the flow
    ``infoshos-run`` per sample source, into ``warehouse`` (same pool, same entrypoint)."""
    entry = next(d for d in PRODUCTION["deployments"] if d["name"] == "sample")["entrypoint"]
    pool = PRODUCTION["definitions"]["work_pool"]
    deployments = [
        {
            "name": f"workpool-{source}",
            "entrypoint": entry,
            "parameters": {"warehouse": str(warehouse), "sources": [source]},
            "work_pool": pool,
        }
        for source in SOURCES
    ]
    return {**PRODUCTION, "deployments": deployments}


class Processes:
    """The test's processes, each in a session of its own with its output in ``NAME.log``;
    :meth:`stop` kills them all, with every process they started."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.procs: dict[str, subprocess.Popen[Any]] = {}

    def start(self, name: str, argv: list[str], cwd: Path, **env: str) -> subprocess.Popen[Any]:
        with (self.folder / f"{name}.log").open("w") as out:
            self.procs[name] = subprocess.Popen(
                argv, env={**self.env, **env}, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        return self.procs[name]

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text()

    def finish(self, *names: str) -> None:
        """Wait for these processes; each must succeed."""
        for name in names:
            assert self.procs[name].wait(300) == 0, (name, self.log(name)[-3000:])

    def stop(self) -> None:
        for proc in self.procs.values():
            stop_tree(proc)


@pytest.mark.scale
def test_two_workers_run_two_sources_at_once_into_one_lake(
    prefect_server: dict[str, str], postgres_dsn: str, s3_endpoint: str, tmp_path: Path
) -> None:
    """The README's two commands on two "machines" (workers, each with its own environment),
    two deployments of different sources started at the same moment: each run is taken by
    another worker, both are held before their commits (both in flight), both complete, and
    the one lake holds every article of both sources once, in one snapshot per run."""
    lake = fresh_lake(postgres_dsn, s3_endpoint)
    env = {**prefect_server, **lake, "PREFECT_WORKER_QUERY_SECONDS": "1"}
    api = env["PREFECT_API_URL"]
    port = postgres_dsn.split("port=", 1)[1].split()[0]
    dsn = f"dbname={lake['LAKE_DB']} host=127.0.0.1 port={port} user=infoshos"
    bucket = "s3://" + lake["LAKE_DB"].replace("_", "-") + "/"
    lake_cmd, worker_cmd = [
        [a.replace(README_DSN, dsn).replace(README_BUCKET, bucket) for a in here(c)]
        for c in readme_commands(0)
    ]
    assert lake_cmd[1] == "lake" and worker_cmd[1:5] == ["worker", "start", "--pool", POOL]
    spec = tmp_path / "prefect.yaml"
    spec.write_text(yaml.safe_dump(_deployments(tmp_path / "data")))
    gates = [tmp_path / f"gate-{n}" for n in range(2)]
    pools = [here(c) for c in readme_commands(1)]  # the Docker and Kubernetes pools

    procs = Processes(tmp_path, env)
    try:
        # the machine's lake and the pool, then the deployments and two workers
        procs.start("lake", lake_cmd, tmp_path)
        procs.start("pool", [PREFECT, "work-pool", "create", POOL, "--type", "process"], ROOT)
        procs.finish("lake", "pool")
        procs.start("deploy", [PREFECT, "--no-prompt", "deploy", "--all", "--prefect-file",
                               str(spec)], ROOT)  # fmt: skip
        workers = [
            procs.start(f"worker-{n}", worker_cmd, tmp_path,
                        **{PAUSE_ENV: f"before-publish:{gates[n]}"})
            for n in range(2)
        ]  # fmt: skip
        procs.finish("deploy")

        # both runs at the same moment; meanwhile the README's container pools are created
        by_name = {d["name"]: d["id"] for d in post_json(f"{api}/deployments/filter", {})}
        runs = [
            post_json(f"{api}/deployments/{by_name[f'workpool-{s}']}/create_flow_run", {})["id"]
            for s in SOURCES
        ]
        for n, command in enumerate(pools):
            procs.start(f"pool-{n}", command, ROOT)

        # each run held before its commit, so both are in flight at once, each in a process
        # of another worker
        deadline = time.monotonic() + 300
        while not all(Path(f"{g}.reached").exists() for g in gates):
            for n, worker in enumerate(workers):
                assert worker.poll() is None, procs.log(f"worker-{n}")[-3000:]
            for run in runs:
                assert flow_run_state(api, run) not in FINAL, flow_run_logs(api, run)[-20:]
            assert time.monotonic() < deadline, [flow_run_logs(api, r)[-5:] for r in runs]
            time.sleep(0.5)
        assert sorted(_worker_of(api, run, workers) for run in runs) == [0, 1]
        procs.finish(*(f"pool-{n}" for n in range(len(pools))))
        _container_pools_take_the_readme_job_variables(api)

        for gate in gates:
            gate.touch()
        states = wait_final(api, runs, 300)
        assert all(s == "COMPLETED" for s in states.values()), (
            states,
            [flow_run_logs(api, r)[-20:] for r in runs],
        )
    finally:
        procs.stop()

    # the second run to commit found the lake moved and processed again
    texts = ["\n".join(flow_run_logs(api, run)) for run in runs]
    assert sorted("another run committed first" in t for t in texts) == [False, True]

    with patched_environ(lake):
        _lake_holds_both_runs_once(Warehouse(tmp_path / "data"))


def _worker_of(api: str, run: str, workers: list[subprocess.Popen[Any]]) -> int:
    """The index of the worker whose process tree runs the flow run (its process, as the worker
    recorded it: ``pid`` or ``host:pid``)."""
    pid = int(get_json(f"{api}/flow_runs/{run}")["infrastructure_pid"].rsplit(":", 1)[-1])
    owners = [
        n
        for n, worker in enumerate(workers)
        if pid in {p.pid for p in psutil.Process(worker.pid).children(recursive=True)}
    ]
    assert len(owners) == 1, (run, pid, owners)
    return owners[0]


def _lake_holds_both_runs_once(wh: Warehouse) -> None:
    """Every sample article of both sources once, each state table's keys once, and one
    snapshot per run after the lake's own two (its schema, its tables)."""
    con = wh.connect()
    try:
        stored = Counter(con.execute("SELECT source, url FROM articles").fetchall())
        keys = {
            name: con.execute(f"SELECT {', '.join(spec.key)} FROM {name}").fetchall()
            for name, spec in TABLES.items()
            if spec.mode == "state"
        }
        runs = dict(con.execute("SELECT run_id, sources FROM runs").fetchall())
    finally:
        con.close()
    expected = Counter((f"{a.portal}-sample", a.canonical_url) for a in expected_articles())
    assert {k[0] for k in expected} == set(SOURCES)
    assert stored == expected  # none lost, none doubled
    for name, rows in keys.items():
        assert len(rows) == len(set(rows)), name
    assert sorted(tuple(s) for s in runs.values()) == [(s,) for s in SOURCES]
    snapshots = [s["run_id"] for s in wh.snapshots()]
    assert snapshots[:2] == [None, "create"], snapshots  # the lake's creation
    assert sorted(snapshots[2:]) == sorted(runs), snapshots


def _container_pools_take_the_readme_job_variables(api: str) -> None:
    """The README's job variables for its Docker and Kubernetes pools are valid variables of
    those pools, as the README's commands created them (the workers cannot run here)."""
    commands = readme_commands(1)
    made = {c[c.index("create") + 1]: c[c.index("--type") + 1] for c in commands}
    assert sorted(made.values()) == ["docker", "kubernetes"]
    shown = [yaml.safe_load(b)["definitions"]["work_pool"] for b in readme_blocks("yaml")]
    assert sorted(p["name"] for p in shown) == sorted(made)
    for pool in shown:
        got = get_json(f"{api}/work_pools/{pool['name']}")
        assert got["type"] == made[pool["name"]]
        schema = got["base_job_template"]["variables"]
        jsonschema.validate(pool["job_variables"], schema)
        assert set(pool["job_variables"]) <= set(schema["properties"])
        assert pool["work_queue_name"] == PRODUCTION["definitions"]["work_pool"]["work_queue_name"]
        # each container points its warehouse folder at the lake, then runs Prefect's command
        lake, execute = _sh(pool["job_variables"]["command"])
        readme_lake_on(lake)
        assert " ".join(execute) == BaseJobConfiguration._base_flow_run_command()


def _sh(command: str | list[str]) -> list[list[str]]:
    """The commands of an ``sh -c`` script (``&&``-joined), split; ``exec`` dropped."""
    sh, flag, script = shlex.split(command) if isinstance(command, str) else command
    assert (sh, flag) == ("sh", "-c")
    return [[a for a in shlex.split(part) if a != "exec"] for part in script.split("&&")]


def _script(service: str) -> list[list[str]]:
    spec = SERVICES[service]
    return _sh(spec.get("entrypoint") or spec["command"])


def _dockerfile() -> dict[str, list[str]]:
    """The Dockerfile's instructions: keyword -> the argument lines, in order."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            word, _, rest = line.strip().partition(" ")
            out.setdefault(word, []).append(rest.strip())
    return out


def test_compose_runs_the_readme_workers_against_its_own_services() -> None:
    """compose.yaml's services are those the README names, its workers run the README's two
    commands (the services' addresses aside) on the pool of prefect.yaml, the deploy service
    creates that pool, and the lake it names is the database and bucket its services make."""
    from infoshos.flows.cli import build_parser
    from infoshos.warehouse.location import Location

    assert SERVICES["postgres"]["image"] == "postgres:15"
    assert SERVICES["redis"]["image"] == "redis:7"
    assert SERVICES["worker"]["deploy"]["replicas"] >= 2
    lake, worker = _script("worker")
    assert worker == readme_commands(0)[1]
    assert readme_lake_on(lake) == "postgres"

    workdir = _dockerfile()["WORKDIR"][-1]  # where the image's commands run
    args = build_parser().parse_args(lake[1:])
    loc = Location.make(Path(workdir) / args.warehouse, args.catalog, args.data_path)
    pg = SERVICES["postgres"]["environment"]
    dsn = dict(kv.split("=", 1) for kv in loc.dsn.split())
    assert (dsn["host"], dsn["port"]) == ("postgres", "5432")
    assert (dsn["user"], dsn["dbname"]) == (pg["POSTGRES_USER"], pg["POSTGRES_DB"])
    made = _script("bucket")[-1]
    assert made[:3] == ["mc", "mb", "--ignore-existing"]
    assert loc.remote_data and loc.data_path.split("/")[2] == made[-1].split("/", 1)[1]

    create, deploy = _script("deploy")
    assert create[:6] == ["prefect", "work-pool", "create", POOL, "--type", "process"]
    assert deploy == ["prefect", "--no-prompt", "deploy", "--all"]
    # flow runs start where `prefect deploy` ran (the image's folder) and write into `data`
    # there, the volume every worker shares
    assert {d["parameters"]["warehouse"] for d in PRODUCTION["deployments"]} == {args.warehouse}
    assert f"data:{workdir}/{args.warehouse}" in SERVICES["worker"]["volumes"]


def test_compose_environment_is_what_the_code_reads() -> None:
    """Every variable the workers get is one the code reads (the lake's location module, libpq,
    Prefect) and carries the credentials and addresses of compose.yaml's own services."""
    import prefect.settings

    from infoshos.warehouse import location

    env = SERVICES["worker"]["environment"]
    read = set(re.findall(r'os\.environ\.get\("([A-Z0-9_]+)"\)', inspect.getsource(location)))
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"} <= read
    for name in env:
        known = name in read or hasattr(prefect.settings, name) or name == "PGPASSWORD"
        assert known, name
    assert "PGPASSWORD" in str(location.__doc__)  # the catalog's password: libpq reads it
    assert env["PGPASSWORD"] == SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD"]
    minio = SERVICES["s3"]["environment"]
    assert env["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert env["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]
    assert SERVICES["bucket"]["environment"] == minio
    assert env["AWS_ENDPOINT_URL"] == "http://s3:9000"  # MinIO's port
    server = SERVICES["prefect"]["command"]
    assert server[:3] == ["prefect", "server", "start"]
    port = server[server.index("--port") + 1]
    assert env["PREFECT_API_URL"] == f"http://prefect:{port}/api"
    assert f"127.0.0.1:{port}:{port}" in SERVICES["prefect"]["ports"]


def test_dockerfile_installs_like_the_makefile() -> None:
    """The image installs the Makefile's locks (the dev one aside) and the project as it does,
    sets the environment the Makefile exports, keeps Prefect's state where compose.yaml keeps
    its volume, and starts the README's worker by default."""
    docker = _dockerfile()
    makefile = (ROOT / "Makefile").read_text()
    locks = set(re.findall(r"^LOCKS := (.*)$", makefile, re.M)[0].split())
    installed = set(re.findall(r"-r (\S+)", " ".join(docker["RUN"])))
    assert installed == locks - {"requirements/dev.lock"}
    assert "--no-deps -e ." in docker["RUN"][-1]
    env = dict(kv.split("=", 1) for kv in " ".join(docker["ENV"]).split())
    assert set(env) == set(re.findall(r"^export (\w+) :=", makefile, re.M))
    workdir = docker["WORKDIR"][-1]
    assert env["PREFECT_HOME"] == f"{workdir}/.prefect"
    assert f"prefect:{env['PREFECT_HOME']}" in SERVICES["prefect"]["volumes"]
    assert json.loads(docker["CMD"][-1]) == readme_commands(0)[1]
