"""How fast an operator error answers: every bad option the README's fault table lists.

    .venv/bin/python bench/cli_errors.py [--repeat K]

Each case runs ``infoshos`` as an operator would (a new process, a fresh ``PREFECT_HOME``) and
prints the wall time, the exit code and whether stderr was one line. The cases are the ones
``tests/e2e/test_cli_errors.py`` asserts (one line, exit 2, Prefect never started); timing is
measured here, never in a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BAD_YAML = "sources:\n  x: [unclosed\n"


def cases(tmp: Path) -> list[tuple[list[str], str]]:
    """(argv, a piece of the expected one-line message) per operator error."""
    wh = str(tmp / "wh")
    return [
        (["run", "--start-url", "notaurl", "--warehouse", wh], "'notaurl' is not an http(s) URL"),
        (["run", "--start-url", "http:///path", "--warehouse", wh], "with a host"),
        (["run", "--start-url", "ftp://example.org/", "--warehouse", wh], "not an http(s) URL"),
        (["run", "--start-url", "http://example.org:port/", "--warehouse", wh], "is not a URL"),
        (["run", "--source", "nope", "--warehouse", wh], "unknown source 'nope'"),
        (["run", "--sources", str(tmp / "missing.yaml"), "--warehouse", wh], "cannot read"),
        (["run", "--sources", str(tmp / "bad.yaml"), "--warehouse", wh], "not valid YAML"),
        (["run", "--warehouse", "/proc/infoshos"], "is not writable"),
        (["run", "--since", "2020-13-01", "--warehouse", wh], "is not a date"),
        (["run", "--since", "yesterday", "--warehouse", wh], "is not a date"),
        (["run", "--idn-from", "5", "--warehouse", wh], "go together"),
        (["run", "--idn-from", "9", "--idn-to", "2", "--warehouse", wh], "is above --idn-to"),
        (["run", "--idn-gap", "3", "--warehouse", wh], "--idn-gap needs"),
        (["run", "--idn-from", "x", "--idn-to", "2", "--warehouse", wh], "is not an integer"),
        (
            ["run", "--source", "sectsco-sample", "--idn-from", "1", "--idn-to", "2"],
            "infoshos-style sources",
        ),
        (
            ["run", "--start-url", "http://example.org/", "--timezone", "Mars/Olympus"],
            "'Mars/Olympus' is not an IANA time zone",
        ),
        (["run", "--timezone", "Asia/Almaty", "--warehouse", wh], "--timezone goes with"),
        (
            ["run", "--start-url", "http://example.org/", "--source", "infoshos-sample"],
            "--start-url and --source",
        ),
        (["run", "--dask", "nowhere", "--warehouse", wh], "expected local, local:N or a sched"),
        (["run", "--dask", "local:0", "--warehouse", wh], "needs at least 1 worker"),
        (["run", "--dask", "tcp://127.0.0.1:9", "--warehouse", wh], "no Dask scheduler answers"),
        (["reprocess", "--warehouse", str(tmp / "none")], "no warehouse at"),
        (["serve", "--sources", str(tmp / "bad.yaml"), "--warehouse", wh], "not valid YAML"),
        (["serve", "--warehouse", "/proc/infoshos"], "is not writable"),
        (["sources", "--check", str(tmp / "bad.yaml")], "not valid YAML"),
        (["run", "--no-such-option"], "unrecognized arguments"),
    ]


def run_case(argv: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    """One operator error as a user would meet it: a new process, no Prefect state."""
    return subprocess.run(
        [sys.executable, "-m", "infoshos.flows.cli", *argv],
        capture_output=True,
        text=True,
        cwd=tmp,
        env={
            **os.environ,
            "PREFECT_HOME": str(tmp / "prefect-home"),
            "INFOSHOS_WAREHOUSE": str(tmp),
        },
        timeout=120,
        check=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per case (best is kept)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="infoshos-errors-") as name:
        tmp = Path(name)
        (tmp / "bad.yaml").write_text(BAD_YAML)
        worst = 0.0
        print(f"{'seconds':>8} {'exit':>4} {'lines':>5}  command")
        for case, _ in cases(tmp):
            best = float("inf")
            proc = None
            for _ in range(max(1, args.repeat)):
                start = time.perf_counter()
                proc = run_case(case, tmp)
                best = min(best, time.perf_counter() - start)
            assert proc is not None
            lines = len(proc.stderr.strip().splitlines())
            worst = max(worst, best)
            shown = " ".join(a.replace(name, "$TMP") for a in case)
            print(f"{best:8.2f} {proc.returncode:>4} {lines:>5}  infoshos {shown}")
        print(f"slowest: {worst:.2f} s over {len(cases(tmp))} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
