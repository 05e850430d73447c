"""An operator error never starts Prefect: every option of `run`, `reprocess` and `serve` is
checked first, and a bad one prints one line on stderr and exits 2. Each case runs the real
command in a subprocess with a fresh PREFECT_HOME, which Prefect would create on import."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent


def _bench() -> ModuleType:
    """bench/cli_errors.py: the cases (and the timing of them, which is measured there)."""
    spec = importlib.util.spec_from_file_location("bench_cli_errors", REPO / "bench/cli_errors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_cli_errors"] = module
    spec.loader.exec_module(module)
    return module


BENCH = _bench()
BAD_YAML = BENCH.BAD_YAML


def _cases(tmp: Path) -> list[tuple[list[str], str]]:
    cases: list[tuple[list[str], str]] = BENCH.cases(tmp)
    return cases


@pytest.mark.slow
def test_operator_errors_print_one_line_and_never_start_prefect(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD_YAML)
    for argv, message in _cases(tmp_path):
        home = tmp_path / "prefect-home"
        proc = BENCH.run_case(argv, tmp_path)  # PREFECT_HOME is ``home``
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2, (argv, proc.stderr)
        assert len(lines) == 1 and lines[0].startswith("infoshos: error: "), (argv, proc.stderr)
        assert message in lines[0], (argv, lines[0])
        assert "Traceback" not in proc.stderr and not proc.stdout, argv
        # Prefect creates its home folder when imported: it never was
        assert not home.exists(), argv
        assert not (tmp_path / "wh" / ".prefect").exists(), argv


@pytest.mark.slow
def test_reprocess_checks_its_sources_file_before_prefect(tmp_path: Path) -> None:
    from helpers_warehouse import build_empty_warehouse

    build_empty_warehouse(tmp_path / "wh")
    (tmp_path / "bad.yaml").write_text(BAD_YAML)
    home = tmp_path / "prefect-home"
    proc = subprocess.run(
        [sys.executable, "-m", "infoshos.flows.cli", "reprocess", "--warehouse",
         str(tmp_path / "wh"), "--sources", str(tmp_path / "bad.yaml")],
        capture_output=True,
        text=True,
        env={**os.environ, "PREFECT_HOME": str(home)},
        timeout=120,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "not valid YAML" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not home.exists()
