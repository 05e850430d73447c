"""The local servers of the scale-out tests answer on loopback and are gone afterwards."""

from __future__ import annotations

import socket

import pytest
from services import PostgresServer, RedisServer, S3Server

pytestmark = pytest.mark.scale


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_redis_answers(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    assert client.ping()
    client.set("infoshos:test", "1")
    assert client.get("infoshos:test") == b"1"
    assert redis_url.startswith("redis://127.0.0.1:")


def test_postgres_answers() -> None:
    with PostgresServer() as server:
        assert isinstance(server, PostgresServer)
        out = server.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (41), (1); "
                          "SELECT sum(x) FROM t")  # fmt: skip
        assert out.strip().splitlines()[-1] == "42"
        port, folder = server.port, server.folder
    assert not _listening(port)
    assert not folder.exists()


def test_s3_answers(s3_endpoint: str) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="infoshos")
    s3.put_object(Bucket="infoshos", Key="lake/x.parquet", Body=b"PAR1")
    assert s3.get_object(Bucket="infoshos", Key="lake/x.parquet")["Body"].read() == b"PAR1"


def test_servers_stop() -> None:
    for cls in (RedisServer, S3Server):
        with cls() as server:
            port = server.port
            assert _listening(port)
        assert not _listening(port)
