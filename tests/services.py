"""Local servers for the scale-out tests (``pytest -m scale``): Redis, PostgreSQL 15 and an S3
server (moto), each started on 127.0.0.1 on a free port in a temporary folder and stopped
afterwards. One base (:class:`LocalServer`: start a process, wait until it answers, stop it).

A missing binary (``redis-server``, PostgreSQL's ``initdb``/``pg_ctl``) fails the test when
``CI=true`` (CI installs them: ``.ci/install-services``) and skips it with the reason elsewhere.
PostgreSQL refuses to run as root: as root, its data folder is given to the ``nobody`` user and
its commands run as that user.

Fixtures (module scope): ``redis_url`` (``redis://127.0.0.1:PORT/0``), ``postgres_dsn``
(``host=127.0.0.1 port=PORT user=infoshos dbname=infoshos``), ``s3_endpoint``
(``http://127.0.0.1:PORT``, credentials ``testing`` in the environment). ``fresh_lake`` makes
a database and a bucket for one shared lake on those servers.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from browser import in_ci

from infoshos.spiders.sample_site.loopback import StartStop

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need_binary(path: str | Path, package: str) -> str:
    """The binary's path; when it is missing, a failure under CI=true, else a visible skip."""
    found = shutil.which(str(path)) if not Path(path).is_absolute() else str(path)
    if found and os.access(found, os.X_OK):
        return found
    message = f"{path} is missing: install Debian's {package} (.ci/install-services)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def wait_for_port(
    port: int, proc: subprocess.Popen[bytes] | None, timeout: float, log: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s: {log}")


class LocalServer(StartStop):
    """A server process on 127.0.0.1:``port`` with its files in ``folder``; ``with`` starts it
    (and waits until the port answers) and stops it (terminate, then kill)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.folder = Path(tempfile.mkdtemp(prefix=f"infoshos-{name}-"))
        self.port = free_port()
        self.log = self.folder / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> Sequence[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Anything before the server starts (a data folder)."""

    def preexec(self) -> Callable[[], None] | None:
        return None

    def start(self) -> None:
        self.prepare()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                list(self.command()),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.folder,
                preexec_fn=self.preexec(),
            )
        wait_for_port(self.port, self.proc, 60, self.log)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)


class RedisServer(LocalServer):
    def __init__(self) -> None:
        super().__init__("redis")
        self.binary = need_binary("redis-server", "redis-server")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> Sequence[str]:
        port, folder = str(self.port), str(self.folder)
        return [self.binary, "--bind", "127.0.0.1", "--port", port, "--save", "",
                "--appendonly", "no", "--dir", folder]  # fmt: skip


def _as_nobody() -> tuple[int, int] | None:
    """(uid, gid) of ``nobody`` when running as root (PostgreSQL refuses root), else None."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


class PostgresServer(LocalServer):
    """PostgreSQL 15 in a temporary data folder (initdb, trust authentication on loopback),
    database ``infoshos`` owned by the user ``infoshos``."""

    def __init__(self) -> None:
        super().__init__("postgres")
        self.initdb = need_binary(POSTGRES_BIN / "initdb", "postgresql")
        self.postgres = need_binary(POSTGRES_BIN / "postgres", "postgresql")
        self.data = self.folder / "data"
        self.user = _as_nobody()

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=infoshos dbname=infoshos"

    def preexec(self) -> Callable[[], None] | None:
        if self.user is None:
            return None
        uid, gid = self.user

        def drop() -> None:
            os.setgid(gid)
            os.setuid(uid)

        return drop

    def prepare(self) -> None:
        if self.user is not None:
            os.chown(self.folder, *self.user)
        subprocess.run(
            [
                self.initdb,
                "-D",
                str(self.data),
                "-U",
                "infoshos",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],  # fmt: skip
            check=True,
            capture_output=True,
            preexec_fn=self.preexec(),
            cwd=self.folder,
        )

    def command(self) -> Sequence[str]:
        return [self.postgres, "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port),
                "-k", str(self.folder), "-c", "fsync=off"]  # fmt: skip

    def start(self) -> None:
        super().start()
        self.psql("CREATE DATABASE infoshos", dbname="postgres")

    def psql(self, sql: str, dbname: str = "infoshos") -> str:
        psql = need_binary(POSTGRES_BIN / "psql", "postgresql")
        deadline = time.monotonic() + 30
        while True:  # the port answers a moment before connections are accepted
            proc = subprocess.run(
                [
                    psql,
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "infoshos",
                    "-d",
                    dbname,
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-Atc",
                    sql,
                ],  # fmt: skip
                capture_output=True,
                text=True,
            )
            if proc.returncode == 0 or time.monotonic() > deadline:
                break
            if "starting up" not in proc.stderr:
                break
            time.sleep(0.1)
        if proc.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {proc.stderr.strip()}")
        return proc.stdout


class S3Server(LocalServer):
    """moto's S3 server (``moto.server.ThreadedMotoServer`` in this process's thread)."""

    def __init__(self) -> None:
        super().__init__("s3")
        self.server: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:  # the scale extra is part of the dev locks
            need_binary(f"moto ({exc})", "python package moto[server]")
            raise
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        wait_for_port(self.port, None, 30, self.log)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        super().stop()


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with RedisServer() as server:
        assert isinstance(server, RedisServer)
        yield server.url


@pytest.fixture(scope="module")
def postgres_dsn() -> Iterator[str]:
    with PostgresServer() as server:
        assert isinstance(server, PostgresServer)
        yield server.dsn


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    keys = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    with patched_environ(keys), S3Server() as server:
        assert isinstance(server, S3Server)
        yield server.endpoint


@contextlib.contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set, as it was again afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def psql(dsn: str, sql: str) -> str:
    """``sql`` run by ``psql`` on ``dsn`` (a failure fails the test)."""
    binary = need_binary(POSTGRES_BIN / "psql", "postgresql")
    proc = subprocess.run(
        [binary, dsn, "-v", "ON_ERROR_STOP=1", "-Atc", sql], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def fresh_lake(postgres_dsn: str, s3_endpoint: str, secret: str = "testing") -> dict[str, str]:
    """A new database (``LAKE_DB``) and a bucket of the same name (``_`` as ``-``) on the local
    servers; the environment of a process using them (the S3 endpoint and keys)."""
    import boto3

    name = "lake_" + uuid.uuid4().hex[:8]
    psql(postgres_dsn, f"CREATE DATABASE {name}")
    keys = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": secret}
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
    ).create_bucket(Bucket=name.replace("_", "-"))
    return {"AWS_ENDPOINT_URL": s3_endpoint, **keys, "LAKE_DB": name}
