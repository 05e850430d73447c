"""The one-way rule between the three code folders, checked by walking every import.

``warehouse/`` is the contract layer (keys, schemas, stage names, reason codes, storage): it
imports neither of the others. ``spiders/`` imports only ``warehouse/``. ``flows/`` imports
``warehouse/`` and, to launch and describe crawls, ``spiders/``. Imports inside functions count
(a lazy import is still an arrow).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
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
