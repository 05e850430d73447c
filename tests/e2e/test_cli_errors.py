"""An operator error never starts Prefect: every option of `run`, `reprocess` and `serve` is
checked first, and a bad one prints one line on stderr and exits 2. Each case runs the real
command in a subprocess with a fresh PREFECT_HOME, which Prefect would create on import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import bench_modules
import pytest

BENCH = bench_modules.load("cli_errors")  # the cases (their timing is measured there)
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


# -- issue 13, finding 9: every case of the adversarial pass ends in one line -----------------
def _main(argv: list[str]) -> int:
    from infoshos.flows.cli import main

    try:
        return main(argv)
    except SystemExit as exc:  # argparse's usage errors
        return int(exc.code or 0)


def test_each_hostile_case_ends_in_one_line_and_a_defined_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import gzip

    from helpers_warehouse import build_empty_warehouse

    from infoshos.warehouse.store import WarehouseError

    wh = build_empty_warehouse(tmp_path / "wh").root
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("mine")
    bomb = tmp_path / "bomb.html.gz"
    with gzip.open(bomb, "wb") as fh:
        for _ in range(12):
            fh.write(b" " * 1024 * 1024)
    fifo = tmp_path / "fifo.html"
    os.mkfifo(fifo)
    w = ["--warehouse", str(wh)]
    refused = [  # argv, exit code, what the one line says
        (["report", *w, "--out", str(wh / "CURRENT")], 2, "is inside the warehouse"),
        (["report", *w, "--out", "/proc/infoshos/report.html"], 2, "cannot write the report"),
        (["export", *w, "--to", str(wh / "handoff")], 2, "is inside the warehouse"),
        (["export", *w, "--to", str(mine), "--overwrite"], 2, "not an earlier export"),
        (["extract", "--page-timeout", "0", str(bomb)], 2, "must be > 0"),
    ]
    for argv, code, message in refused:
        assert _main(argv) == code, argv
        out, err = capsys.readouterr()
        assert err.count("\n") == 1 and err.startswith("infoshos: error: "), (argv, err)
        assert message in err and "Traceback" not in err, (argv, err)
    # the bad inputs of extract are rows on stdout (exit 1), never an error on stderr
    assert _main(["extract", "--format", "json", str(bomb), str(fifo), "/dev/null"]) == 1
    out, err = capsys.readouterr()
    assert err == "" and len(out.splitlines()) == 3
    # --debug shows the traceback (the exception is raised, not printed as one line)
    with pytest.raises(WarehouseError, match="inside the warehouse"):
        _main(["--debug", "report", *w, "--out", str(wh / "CURRENT")])


@pytest.mark.parametrize(
    "argv",
    [
        ["compact", "--keep-days", "inf"],
        ["compact", "--keep-days", "nan"],
        ["extract", "--page-timeout", "inf", "page.html"],
        ["extract", "--page-timeout", "NaN", "page.html"],
        ["crawl-worker", "--lease", "Infinity"],
    ],
)
def test_a_number_option_that_is_not_finite_is_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("infoshos: error: "), err
    assert f"{argv[2]!r} is not a finite number" in err, err
