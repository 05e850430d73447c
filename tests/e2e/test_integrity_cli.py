"""Issue 13, finding 9 on the lake: a damaged warehouse, an unwritable data folder or catalog, a
full disk and a second run are refused in one line, exit 2, no traceback, before Prefect starts
(each case runs the real command in a subprocess whose PREFECT_HOME Prefect would create on
import); a run that finds no space mid-run ends in one line; and a real run's warehouse, its
catalog damaged, is recovered whole."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_warehouse import build_sample_warehouse

from infoshos.warehouse import integrity, listing
from infoshos.warehouse.store import Warehouse


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return build_sample_warehouse(tmp_path_factory.mktemp("integrity-cli") / "data")


@pytest.fixture()
def tmp(tmp_path: Path) -> Path:
    return tmp_path


def _infoshos(
    argv: list[str], tmp: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it (a new process, no Prefect state)."""
    return subprocess.run(
        [sys.executable, "-m", "infoshos.flows.cli", *argv],
        capture_output=True,
        text=True,
        cwd=tmp,
        env={**os.environ, "PREFECT_HOME": str(tmp / "prefect-home"), **(env or {})},
        timeout=300,
        check=False,
    )


def _refused(proc: subprocess.CompletedProcess[str], tmp: Path, message: str) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("infoshos: error: "), proc.stderr[-2000:]
    assert message in lines[0] and "Traceback" not in proc.stderr and not proc.stdout, lines
    assert not (tmp / "prefect-home").exists()  # Prefect was never imported
    return lines[0]


def _copy(sample: Warehouse, tmp: Path) -> Warehouse:
    shutil.copytree(sample.root, tmp / "wh")
    return Warehouse(tmp / "wh")


def test_a_damaged_warehouse_is_refused_before_prefect(sample: Warehouse, tmp: Path) -> None:
    wh = _copy(sample, tmp)
    w = ["--warehouse", str(wh.root)]
    bad = next(
        f for f in listing.catalog_files(wh.catalog_path, wh.data_path) if f.table == "pages"
    )
    bad.path.write_bytes(bad.path.read_bytes()[:100])  # a truncated Parquet data file
    for argv in (["run", *w], ["reprocess", *w]):
        line = _refused(_infoshos(argv, tmp), tmp, bad.rel)
        assert "was changed: 100 bytes" in line
    shutil.rmtree(wh.root)
    wh = _copy(sample, tmp)
    wh.catalog_path.write_text("<html><body>not a catalog</body></html>")  # a replaced catalog
    for argv in (["run", *w], ["reprocess", *w]):
        _refused(
            _infoshos(argv, tmp), tmp, f"rebuild it with `infoshos recover --warehouse {wh.root}`"
        )
    for p in wh.root.glob("lake.sqlite*"):  # a lost catalog
        p.unlink()
    _refused(_infoshos(["run", *w], tmp), tmp, "catalog lake.sqlite is missing; rebuild it")


@contextlib.contextmanager
def _unwritable(path: Path) -> Iterator[None]:
    """``path`` unwritable: by its mode, or for root (who writes through any mode) by the
    file system's immutable attribute."""
    root = os.geteuid() == 0
    mode = path.stat().st_mode
    if root:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        yield
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(mode)


def test_an_unwritable_data_folder_or_catalog_is_refused_before_prefect(
    sample: Warehouse, tmp: Path
) -> None:
    wh = _copy(sample, tmp)
    w = ["--warehouse", str(wh.root)]
    with _unwritable(wh.data_path):
        line = _refused(_infoshos(["run", *w], tmp), tmp, "is not writable")
    assert f"warehouse folder {wh.data_path} is not writable" in line
    with _unwritable(wh.catalog_path):
        line = _refused(_infoshos(["run", *w], tmp), tmp, "is not writable")
    assert f"warehouse catalog {wh.catalog_path} is not writable" in line


def test_too_little_free_space_is_refused_before_prefect(sample: Warehouse, tmp: Path) -> None:
    wh = _copy(sample, tmp)
    free_mb = shutil.disk_usage(wh.root).free // 2**20
    proc = _infoshos(
        ["run", "--warehouse", str(wh.root)], tmp, env={integrity.MIN_FREE_ENV: str(free_mb + 4096)}
    )
    _refused(proc, tmp, f"less than the {free_mb + 4096} MB a run needs (INFOSHOS_MIN_FREE_MB)")
    _refused(
        _infoshos(["run", "--warehouse", str(wh.root)], tmp, env={integrity.MIN_FREE_ENV: "x"}),
        tmp,
        "INFOSHOS_MIN_FREE_MB='x' is not a number",
    )


def _api_env() -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return {"PREFECT_API_URL": str(PREFECT_API_URL.value())}


NO_SPACE = """
import errno, sys
import infoshos.flows.pipeline as pipeline
from infoshos.flows.cli import main

def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "known.parquet")

pipeline.write_known = full  # the run's first write, after Prefect has started
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_full_disk_mid_run_ends_in_one_line(prefect_harness: None, tmp: Path) -> None:
    wh = tmp / "wh"
    proc = subprocess.run(
        [sys.executable, "-c", NO_SPACE, "run", "--warehouse", str(wh)],
        capture_output=True,
        text=True,
        env={**os.environ, **_api_env()},
        timeout=300,
        check=False,
    )
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert last.startswith("infoshos: error: the disk is full ("), last
    assert "No space left on device" in last and "free some space" in last
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert Warehouse(wh).snapshot_id() <= 1  # nothing but the new lake published


@pytest.mark.slow
def test_a_second_run_while_the_first_starts_is_refused_before_prefect(
    prefect_harness: None, tmp: Path
) -> None:
    """Run A takes the lock before Prefect starts and holds it to the end: run B, started as
    soon as A holds it (while A's Prefect is still starting), is refused in one line."""
    wh = tmp / "wh"
    first_home = tmp / "first-prefect-home"
    first = subprocess.Popen(
        [sys.executable, "-m", "infoshos.flows.cli", "run", "--warehouse", str(wh)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **_api_env(), "PREFECT_HOME": str(first_home)},
    )
    try:
        lock = wh / ".lock"
        while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
            assert first.poll() is None, first.communicate()[1][-2000:]
            time.sleep(0.05)
        second = _infoshos(["run", "--warehouse", str(wh)], tmp)
        assert first.poll() is None  # A was still running when B was refused
        _refused(second, tmp, "is locked by another run")
        out, err = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, err[-2000:]
    assert "snapshot" in out
    # the real run's warehouse: every file recorded, then its catalog damaged and recovered
    verify = _infoshos(["verify", "--warehouse", str(wh)], tmp)
    assert verify.returncode == 0 and verify.stdout.strip().endswith(": ok"), verify.stdout
    rows = Warehouse(wh).current().rows
    (wh / "lake.sqlite").write_bytes(b"\0" * 4096)
    _refused(_infoshos(["run", "--warehouse", str(wh)], tmp), tmp, "infoshos recover")
    recover = _infoshos(["recover", "--warehouse", str(wh)], tmp)
    assert recover.returncode == 0, recover.stderr
    assert recover.stdout.startswith(f"recovered snapshot {Warehouse(wh).snapshot_id()} ")
    assert Warehouse(wh).current().rows == rows
    assert _infoshos(["verify", "--warehouse", str(wh)], tmp).returncode == 0
