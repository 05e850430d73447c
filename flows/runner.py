"""Where a run's chunk work runs: in the flow's process (the default), or on a Dask cluster.

The setting is ``infoshos run --dask SPEC`` or the environment variable ``INFOSHOS_DASK``
(the option wins), where ``SPEC`` is

- ``local`` or ``local:N``: a ``distributed.LocalCluster`` of N worker processes (default 2) on
  this machine, started for the run and stopped after it;
- an address, ``tcp://HOST:PORT`` or ``HOST:PORT``: the scheduler of any running Dask cluster
  (its workers need this package installed, the warehouse folder at the same path, and the
  Prefect API the flow reports to: a Prefect server, ``PREFECT_API_URL``).

With a setting, the pure per-chunk steps (cleaning and writing the chunk's page rows, then
enrichment) are Prefect tasks on ``prefect_dask.DaskTaskRunner``; the decisions against the
stored state stay in the flow (:mod:`infoshos.flows.chunks`). This module only reads and checks
the setting: it imports neither Prefect nor Dask, so the CLI checks it before any flow starts.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass

#: The environment variable holding the default setting (unset or empty: in-process).
DASK_ENV = "INFOSHOS_DASK"
#: Worker processes of ``local`` without a count.
LOCAL_WORKERS = 2
_LOCAL = re.compile(r"local(?::(\d+))?")
_ADDRESS = re.compile(r"(?:(tcp|tls)://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})")


class DaskSettingError(ValueError):
    """A Dask setting that is not ``local[:N]`` or a reachable scheduler (one line)."""


@dataclass(frozen=True)
class DaskSetting:
    """A Dask cluster to run chunks on: a scheduler ``address``, or a local cluster of
    ``workers`` processes (``address`` None)."""

    address: str | None = None
    workers: int = LOCAL_WORKERS

    def describe(self) -> str:
        return self.address or f"a local cluster of {self.workers} worker processes"


def parse_dask(spec: str | None) -> DaskSetting | None:
    """The setting ``spec`` names (None or empty: none; see the module docstring)."""
    if spec is None or not spec.strip():
        return None
    spec = spec.strip()
    local = _LOCAL.fullmatch(spec)
    if local:
        workers = int(local.group(1)) if local.group(1) else LOCAL_WORKERS
        if workers < 1:
            raise DaskSettingError(f"--dask {spec}: a local cluster needs at least 1 worker")
        return DaskSetting(workers=workers)
    address = _ADDRESS.fullmatch(spec)
    if address is None or not 0 < int(address.group(3)) < 65536:
        raise DaskSettingError(
            f"--dask {spec!r}: expected local, local:N or a scheduler address tcp://HOST:PORT"
        )
    return DaskSetting(address=spec if address.group(1) else f"tcp://{spec}")


def dask_setting(spec: str | None) -> DaskSetting | None:
    """The setting of a run: ``spec`` when given, else ``$INFOSHOS_DASK``."""
    return parse_dask(spec if spec is not None else os.environ.get(DASK_ENV))


def check_dask(setting: DaskSetting | None, timeout: float = 3.0) -> None:
    """A clear error when the scheduler of ``setting`` does not accept a connection."""
    if setting is None or setting.address is None:
        return
    match = _ADDRESS.fullmatch(setting.address)
    assert match is not None  # parse_dask made it
    host, port = match.group(2).strip("[]"), int(match.group(3))
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DaskSettingError(
            f"no Dask scheduler answers at {setting.address}: {reason}"
        ) from None
