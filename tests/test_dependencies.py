"""The declared dependencies are honest: every imported package is declared in pyproject.toml,
and every declared package is pinned, with hashes, in the locks, within its bounds."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Set as AbstractSet
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_DIRS = ("spiders", "flows", "warehouse")
DEV_DIRS = ("tests", "bench")
LOCKS = {
    "runtime": ROOT / "requirements" / "runtime.lock",
    "dev": ROOT / "requirements" / "dev.lock",
}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _project() -> dict[str, list[Requirement]]:
    """Runtime and dev requirements; an extra naming ``infoshos[EXTRA]`` (dev names the scale
    extra) stands for that extra's requirements, as `make lock` expands it."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    extras = data["optional-dependencies"]

    def expand(name: str) -> list[Requirement]:
        out: list[Requirement] = []
        for text in extras[name]:
            req = Requirement(text)
            out += sum((expand(e) for e in req.extras), []) if req.name == "infoshos" else [req]
        return out

    return {
        "runtime": [Requirement(r) for r in data["dependencies"]],
        "dev": expand("dev"),
        "scale": expand("scale"),
    }


def imported_modules(folders: tuple[str, ...]) -> dict[str, set[str]]:
    """Top-level third-party modules imported (anywhere, lazily too) -> the files importing."""
    # our own modules and packages, at any depth (a test imports a sibling test module)
    local = {p.stem for d in folders for p in (ROOT / d).rglob("*")} | {"infoshos"}
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in local:
                        found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def lock_pins(path: Path) -> dict[str, str]:
    """name -> version of a hashed lock; fails on a pin without a hash."""
    pins: dict[str, str] = {}
    text = path.read_text("utf-8")
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = _PIN.match(block)
        if m is None:
            continue
        assert "--hash=sha256:" in block, f"{path.name}: {m.group(1)} has no hash"
        pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def _undeclared(folders: tuple[str, ...], declared: AbstractSet[str]) -> list[str]:
    dists = packages_distributions()
    problems = []
    for module, files in sorted(imported_modules(folders).items()):
        names = {canonicalize_name(d) for d in dists.get(module, [])}
        if not names:
            problems.append(f"{module}: not installed (imported by {sorted(files)[0]})")
        elif not names & declared:
            problems.append(f"{module} ({'/'.join(sorted(names))}): used by {sorted(files)[0]}")
    return problems


def test_runtime_imports_are_declared() -> None:
    # the scale-out modules (spiders/frontier.py ...) run with the scale extra installed
    project = _project()
    declared = {canonicalize_name(r.name) for r in project["runtime"] + project["scale"]}
    assert _undeclared(RUNTIME_DIRS, declared) == []


def test_test_and_bench_imports_are_declared() -> None:
    project = _project()
    declared = {canonicalize_name(r.name) for reqs in project.values() for r in reqs}
    assert _undeclared(DEV_DIRS, declared) == []


def test_the_import_walk_sees_lazy_imports(tmp_path: Path) -> None:
    found = imported_modules(RUNTIME_DIRS)
    assert {"scrapy", "prefect", "pyarrow", "datasketch", "lingua"} <= set(found)
    assert "infoshos" not in found and "json" not in found


@pytest.mark.parametrize("kind", ["runtime", "dev"])
def test_every_declared_package_is_pinned_within_bounds(kind: str) -> None:
    pins = lock_pins(LOCKS[kind])
    if kind == "dev":  # the dev lock is constrained to the runtime pins and installed with them
        pins = {**lock_pins(LOCKS["runtime"]), **pins}
    for req in _project()[kind]:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is declared but not in {LOCKS[kind].name}"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{LOCKS[kind].name} pins {req.name}=={pins[name]}, outside {req.specifier}"
        )


def test_the_locks_agree_on_shared_packages() -> None:
    runtime, dev = lock_pins(LOCKS["runtime"]), lock_pins(LOCKS["dev"])
    assert {n: v for n, v in dev.items() if n in runtime and runtime[n] != v} == {}
    assert "pytest" in dev and "pytest" not in runtime  # the dev tools stay out of a deployment


def test_the_installed_versions_are_the_locked_ones() -> None:
    from importlib.metadata import PackageNotFoundError, version

    pins = {**lock_pins(LOCKS["runtime"]), **lock_pins(LOCKS["dev"])}
    wrong = {}
    for req in _project()["runtime"] + _project()["dev"]:
        name = canonicalize_name(req.name)
        try:
            have = version(req.name)
        except PackageNotFoundError:
            have = "missing"
        if have != pins[name]:
            wrong[name] = (have, pins[name])
    assert wrong == {}


# -- issue 16: a plain checkout imports ---------------------------------------------------------
#: Python run in a copy of the checkout, with the installed project hidden: the editable
#: install's finder and any path into the original tree are removed before the import.
_PLAIN_IMPORT = """
import sys
sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path = [p for p in sys.path if not p.startswith({root!r}) or "site-packages" in p]
import infoshos.flows.pipeline, infoshos.spiders.base, infoshos.warehouse.store
print(infoshos.flows.pipeline.__file__)
print(infoshos.warehouse.store.__file__)
"""


def test_a_plain_checkout_imports_under_the_installed_names(tmp_path: Path) -> None:
    """``infoshos/`` holds links to the three code folders, so ``import infoshos.flows...``
    works from the repository root with nothing installed (the wheel maps the same folders,
    see setup.py)."""
    import shutil
    import subprocess

    files = subprocess.run(
        ["git", "ls-files", "-z", "infoshos", "spiders", "flows", "warehouse"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    copy = tmp_path / "checkout"
    for name in filter(None, files):
        src, dst = ROOT / name.decode(), copy / name.decode()
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(src.readlink())
        else:
            shutil.copy2(src, dst)
    assert sorted(p.name for p in (copy / "infoshos").iterdir()) == [
        "flows",
        "spiders",
        "warehouse",
    ]
    proc = subprocess.run(
        [sys.executable, "-c", _PLAIN_IMPORT.format(root=str(ROOT))],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == [
        str(copy / "infoshos" / "flows" / "pipeline.py"),
        str(copy / "infoshos" / "warehouse" / "store.py"),
    ]
