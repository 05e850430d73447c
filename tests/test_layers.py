"""The one-way rule between the three code folders, checked by walking every import.

``warehouse/`` is the contract layer (keys, schemas, stage names, reason codes, storage): it
imports neither of the others. ``spiders/`` imports only ``warehouse/``. ``flows/`` imports
``warehouse/`` and, to launch and describe crawls, ``spiders/``. Imports inside functions count
(a lazy import is still an arrow).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from paths import README, REPO

ROOT = REPO
LAYERS = ("spiders", "flows", "warehouse")
#: layer -> the layers it may import
ALLOWED = {"warehouse": set(), "spiders": {"warehouse"}, "flows": {"warehouse", "spiders"}}


def _imported(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """(line, module) of every import in a module of ``package`` (relative ones resolved)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def backward_imports(root: Path) -> list[str]:
    """Every import in ``root``'s three code folders that breaks ``ALLOWED``."""
    bad = []
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            rel = path.relative_to(root)
            package = ".".join(("infoshos",) + rel.parent.parts)
            for line, module in _imported(ast.parse(path.read_text("utf-8")), package):
                parts = module.split(".")
                if len(parts) < 2 or parts[0] != "infoshos" or parts[1] not in LAYERS:
                    continue
                target = parts[1]
                if target != layer and target not in ALLOWED[layer]:
                    bad.append(f"{rel}:{line}: {layer} imports {module}")
    return bad


def test_no_import_goes_against_the_layers() -> None:
    assert backward_imports(ROOT) == []


@pytest.mark.parametrize(
    ("layer", "line"),
    [
        ("spiders", "from infoshos.flows.clean import words\n"),
        ("warehouse", "def f() -> None:\n    import infoshos.flows.pipeline\n"),
        ("warehouse", "from ...spiders import settings\n"),  # relative, from warehouse/sub/
        ("flows", "from infoshos.warehouse import schema\n"),  # allowed: not reported
    ],
)
def test_a_backward_import_is_found(tmp_path: Path, layer: str, line: str) -> None:
    for name in LAYERS:
        (tmp_path / name / "sub").mkdir(parents=True)
    (tmp_path / layer / "sub" / "bad.py").write_text(line)
    found = backward_imports(tmp_path)
    if layer == "flows":
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(f"{layer}/sub/bad.py:"), found


# -- the contributor's map in the README ----------------------------------------------------
MAP_HEADING = "### How the code is laid out"
_PATH = re.compile(r"`((?:spiders|flows|warehouse)/(?:[\w/]*(?:\.py|/))?)`")
_RULE = re.compile(r"`(spiders|flows|warehouse)/`\s+imports\s+([^;.]*)")


def map_section(readme: str) -> str:
    """The README's map: from its heading to the next heading."""
    start = readme.index(MAP_HEADING) + len(MAP_HEADING)
    end = re.search(r"^#{1,3} ", readme[start:], re.M)
    return readme[start : start + end.start()] if end else readme[start:]


def mapped(section: str) -> list[str]:
    """The code paths the map names at the start of its lines (a module, or a package's
    folder for its ``__init__.py``)."""
    return [
        m.group(1)
        for line in section.splitlines()
        if (m := re.match(r"\s*- " + _PATH.pattern, line))
    ]


def modules(root: Path) -> set[str]:
    """Every module of the three code folders, as the map names it."""
    found = set()
    for layer in LAYERS:
        for path in (root / layer).rglob("*.py"):
            rel = path.relative_to(root).as_posix()
            found.add(rel.removesuffix("__init__.py"))
    return found


def stated_rule(section: str) -> dict[str, set[str]]:
    """``layer -> the layers it may import``, as the map's sentences state it."""
    return {
        m.group(1): set(re.findall(r"`(spiders|flows|warehouse)/`", m.group(2)))
        for m in _RULE.finditer(section)
    }


def test_the_readme_map_names_every_module_once_and_nothing_else() -> None:
    names = mapped(map_section(README.read_text("utf-8")))
    assert len(names) == len(set(names)), "a module is named twice"
    present = modules(ROOT)
    assert sorted(present - set(names)) == [], "modules the README's map does not name"
    assert sorted(set(names) - present) == [], "the README's map names modules that do not exist"


def test_the_readme_map_states_the_rule_the_import_walk_enforces() -> None:
    assert stated_rule(map_section(README.read_text("utf-8"))) == ALLOWED


def test_the_map_checks_catch_a_missing_module_and_a_wrong_rule(tmp_path: Path) -> None:
    for name in LAYERS:
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "flows" / "sub" / "__init__.py").write_text("")
    (tmp_path / "flows" / "sub" / "new.py").write_text("")
    section = (
        "\n- `flows/` — x\n- `flows/sub/` — y\n- `spiders/` — z\n- `warehouse/` — w\n"
        "`warehouse/` imports nothing of ours; `spiders/` imports `warehouse/`; "
        "`flows/` imports `warehouse/` and `spiders/`.\n"
    )
    assert modules(tmp_path) - set(mapped(section)) == {"flows/sub/new.py"}
    assert stated_rule(section) == ALLOWED
    assert (
        stated_rule(
            section.replace("`spiders/` imports `warehouse/`", "`spiders/` imports `flows/`")
        )
        != ALLOWED
    )
