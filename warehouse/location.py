"""Where a warehouse lives: its DuckLake catalog, its data path and its local folder.

``--warehouse DIR`` names a local folder. By default the folder is the whole warehouse: the
catalog ``DIR/lake.sqlite`` and the data files ``DIR/lake/``. A ``DIR/warehouse.yaml`` (written
by ``infoshos lake``) points the folder at a shared lake instead::

    catalog: postgres:dbname=infoshos host=db.example port=5432 user=infoshos
    data_path: s3://bucket/infoshos/

The folder then keeps only what must be local to a machine: a run's staging files, the derived
search index and the lock of the SQLite default. Credentials never go in the file (a catalog
string with a password is refused): PostgreSQL reads ``PGPASSWORD`` (or ``~/.pgpass``) itself,
and S3 is reached with ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` (``AWS_SESSION_TOKEN``),
``AWS_REGION`` and, for an S3-compatible server, ``AWS_ENDPOINT_URL``, made into a temporary
DuckDB secret of each connection (never stored, never logged).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import yaml

from infoshos.warehouse import extensions

#: The settings file of a warehouse folder whose lake is elsewhere.
CONFIG_FILE = "warehouse.yaml"
LAKE_CATALOG = "lake.sqlite"
LAKE_DATA = "lake"
CATALOG_KINDS = ("sqlite", "postgres")
#: A libpq keyword that carries a secret: refused in the catalog string.
SECRET_KEYWORD = re.compile(r"(^|\s)(password|sslpassword)\s*=", re.IGNORECASE)
S3_SECRET = "infoshos_s3"


class LocationError(ValueError):
    """A warehouse location that cannot be used, worded for the operator (one line)."""


def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@dataclass(frozen=True)
class Location:
    """The three parts of a warehouse: ``root`` (the local folder), ``catalog``
    (``sqlite:PATH`` or ``postgres:LIBPQ-STRING``) and ``data_path`` (a local folder or
    ``s3://bucket/prefix/``, ending in ``/``)."""

    root: Path
    catalog: str
    data_path: str

    @classmethod
    def of(cls, root: str | os.PathLike[str]) -> Location:
        """The location of the warehouse folder ``root`` (its ``warehouse.yaml``, if any)."""
        folder = Path(root).expanduser().absolute()
        config = folder / CONFIG_FILE
        if not config.exists():
            return cls.local(folder)
        try:
            raw = yaml.safe_load(config.read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise LocationError(f"{config}: not readable as YAML ({exc})") from None
        if not isinstance(raw, dict):
            raise LocationError(f"{config}: expected the keys catalog and data_path")
        unknown = sorted(set(raw) - {"catalog", "data_path"})
        if unknown:
            raise LocationError(f"{config}: unknown key {unknown[0]!r} (catalog, data_path)")
        return cls.make(folder, str(raw.get("catalog") or ""), str(raw.get("data_path") or ""))

    @classmethod
    def local(cls, root: Path) -> Location:
        """The default: the catalog and the data files in the folder itself."""
        return cls(root, f"sqlite:{root / LAKE_CATALOG}", str(root / LAKE_DATA) + os.sep)

    @classmethod
    def make(cls, root: Path, catalog: str, data_path: str) -> Location:
        """A checked location; empty parts default to the folder's own."""
        default = cls.local(root)
        catalog = catalog.strip() or default.catalog
        kind = catalog.split(":", 1)[0]
        if kind not in CATALOG_KINDS or ":" not in catalog:
            raise LocationError(
                f"catalog {catalog.split()[0]!r} is not sqlite:PATH or postgres:CONNECTION"
            )
        if kind == "postgres" and SECRET_KEYWORD.search(catalog.split(":", 1)[1]):
            raise LocationError(
                "the catalog string holds a password; give it in PGPASSWORD (or ~/.pgpass), "
                "never in the warehouse settings"
            )
        if kind == "sqlite":
            path = Path(catalog.split(":", 1)[1]).expanduser()
            catalog = f"sqlite:{path if path.is_absolute() else root / path}"
        data_path = data_path.strip() or default.data_path
        if "://" in data_path:
            if urlsplit(data_path).scheme != "s3" or not urlsplit(data_path).netloc:
                raise LocationError(f"data path {data_path!r}: only s3://BUCKET/PREFIX/ is known")
        else:
            path = Path(data_path).expanduser()
            data_path = str(path if path.is_absolute() else root / path)
        return cls(root, catalog, data_path.rstrip("/") + "/")

    # -- what kind of lake -------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.catalog.split(":", 1)[0]

    @property
    def shared(self) -> bool:
        """A catalog several machines write to (PostgreSQL): runs lock their sources, not the
        lake, and commit one at a time."""
        return self.kind == "postgres"

    @property
    def dsn(self) -> str:
        """The PostgreSQL connection string (libpq keywords) of a shared catalog."""
        return self.catalog.split(":", 1)[1] if self.shared else ""

    @property
    def catalog_file(self) -> Path | None:
        return Path(self.catalog.split(":", 1)[1]) if self.kind == "sqlite" else None

    @property
    def remote_data(self) -> bool:
        return self.data_path.startswith("s3://")

    @property
    def is_default(self) -> bool:
        return self == Location.local(self.root)

    def describe(self) -> dict[str, str]:
        """The location as shown to users and written to ``warehouse.yaml`` (no secret is ever
        part of it)."""
        return {"catalog": self.catalog, "data_path": self.data_path}

    def save(self) -> Path:
        """Write ``warehouse.yaml`` into the folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / CONFIG_FILE
        path.write_text(yaml.safe_dump(self.describe(), sort_keys=False), "utf-8")
        return path

    # -- DuckDB ------------------------------------------------------------------------------
    def extensions(self) -> tuple[str, ...]:
        names = ["ducklake", "sqlite_scanner" if self.kind == "sqlite" else "postgres_scanner"]
        if self.remote_data:
            names.append("httpfs")
        return tuple(names)

    def prepare(self, con: duckdb.DuckDBPyConnection, *more: str) -> duckdb.DuckDBPyConnection:
        """Load the extensions the lake needs (and ``more``) and create the S3 secret."""
        extensions.load(con, *self.extensions(), *more)
        if self.remote_data:
            try:
                con.execute(s3_secret_sql(self.data_path))
            except duckdb.Error:  # the statement holds the keys: never echo it
                raise LocationError("the S3 credentials were refused by DuckDB") from None
        return con

    def attach_sql(
        self, read_only: bool = False, as_of: str | int | None = None, name: str = "lake"
    ) -> str:
        """The ``ATTACH`` statement of the lake (no secret in it)."""
        options = [f"DATA_PATH {_q(self.data_path)}", "DATA_INLINING_ROW_LIMIT 0"]
        if not self.shared and not self.remote_data:
            options.append("OVERRIDE_DATA_PATH true")  # a local folder may move
        if read_only:
            options.append("READ_ONLY")
        if isinstance(as_of, int):
            options.append(f"SNAPSHOT_VERSION {as_of}")
        elif as_of is not None:
            options.append(f"SNAPSHOT_TIME {_q(as_of)}")
        return f"ATTACH {_q('ducklake:' + self.catalog)} AS {name} ({', '.join(options)})"

    def readable_directories(self) -> list[str]:
        """What a read-only connection may read: the folder (search index) and the data."""
        return sorted({str(self.root) + os.sep, self.data_path})

    # -- data files --------------------------------------------------------------------------
    def filesystem(self) -> Any:
        """A pyarrow file system for the data path and the path of a data file in it."""
        import pyarrow.fs as pafs

        if not self.remote_data:
            return pafs.LocalFileSystem()
        return pafs.S3FileSystem(**s3_options())

    def fs_path(self, path: str) -> str:
        """A data file's path as the :meth:`filesystem` names it."""
        return path.removeprefix("s3://")


def s3_options() -> dict[str, Any]:
    """pyarrow ``S3FileSystem`` options from the AWS environment variables."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    options: dict[str, Any] = {
        "access_key": os.environ.get("AWS_ACCESS_KEY_ID"),
        "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY"),
        "session_token": os.environ.get("AWS_SESSION_TOKEN"),
        "region": _region(),
    }
    if endpoint:
        url = urlsplit(endpoint if "://" in endpoint else "https://" + endpoint)
        options.update(endpoint_override=url.netloc, scheme=url.scheme or "https")
    return {k: v for k, v in options.items() if v is not None}


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def s3_secret_sql(data_path: str) -> str:
    """``CREATE SECRET`` for the bucket of ``data_path`` from the AWS environment variables
    (a temporary secret: it lives in the connection only)."""
    key = os.environ.get("AWS_ACCESS_KEY_ID")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        raise LocationError(
            f"data path {data_path} is on S3: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    bucket = urlsplit(data_path).netloc
    parts = [
        "TYPE s3",
        f"KEY_ID {_q(key)}",
        f"SECRET {_q(secret)}",
        f"REGION {_q(_region())}",
        f"SCOPE {_q('s3://' + bucket)}",
    ]
    token = os.environ.get("AWS_SESSION_TOKEN")
    if token:
        parts.append(f"SESSION_TOKEN {_q(token)}")
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:  # an S3-compatible server: its host:port, path-style URLs
        url = urlsplit(endpoint if "://" in endpoint else "https://" + endpoint)
        parts += [
            f"ENDPOINT {_q(url.netloc)}",
            "URL_STYLE 'path'",
            f"USE_SSL {'true' if url.scheme != 'http' else 'false'}",
        ]
    return f"CREATE OR REPLACE TEMPORARY SECRET {S3_SECRET} ({', '.join(parts)})"
