"""Where an export goes: the target folder checked before anything is written, and the new
export moved into place at the end.

The export is written into a hidden folder next to the target and moved into place at the end,
so the target never holds a half-written export. A target that holds files is refused unless
``overwrite`` is given and an earlier export's ``manifest.json`` names them: then only the files
that earlier export wrote are replaced, and every other file stays as it is.

Rules: the target is never the warehouse exported, inside it, around it, or inside any other
warehouse (guard.py); a crafted manifest names nothing outside the folder; the manifest is moved
in last.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from infoshos.warehouse.export.describe import EXPORT_FORMAT
from infoshos.warehouse.export.selection import ExportError
from infoshos.warehouse.guard import enclosing_warehouse
from infoshos.warehouse.store import Warehouse


def check_target(wh: Warehouse, to: Path, overwrite: bool) -> list[str]:
    """Refuse a target that is not a folder, is in a warehouse, or holds files that no
    earlier export wrote; returns the files an earlier export wrote there (to replace)."""
    if to.exists() and not to.is_dir():
        raise ExportError(f"export target {to} exists and is not a folder")
    real_to, real_root = to.resolve(), wh.root.resolve()
    if real_root.is_relative_to(real_to):
        raise ExportError(f"export target {to} would contain the warehouse {wh.root}")
    if real_to.is_relative_to(real_root):
        raise ExportError(f"export target {to} is inside the warehouse {wh.root}")
    inside = enclosing_warehouse(to)
    if inside is not None:  # another warehouse than the one exported
        raise ExportError(f"export target {to} is inside the warehouse {inside}")
    if not to.is_dir() or not any(to.iterdir()):
        return []
    if not overwrite:
        raise ExportError(f"export target {to} is not empty; use overwrite=True (--overwrite)")
    return earlier_export_files(to)


def earlier_export_files(folder: Path) -> list[str]:
    """The files (relative paths) an earlier export wrote into ``folder``, as its
    ``manifest.json`` lists them (the manifest itself and ``SHA256SUMS`` included). Raises
    :class:`ExportError` when there is no readable export manifest: then nothing in the folder
    is known to be ours, and nothing is replaced."""
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != EXPORT_FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}")
        listed = [f["path"] for t in manifest["tables"].values() for f in t["files"]]
        listed += [d["path"] for d in manifest.get("documents", [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        why = (
            "no manifest.json" if not manifest_path.exists() else f"manifest.json unreadable: {exc}"
        )
        raise ExportError(
            f"export target {folder} is not empty and is not an earlier export ({why}); "
            "nothing replaced: choose an empty or new folder"
        ) from None
    real = folder.resolve()
    files: list[str] = []
    for rel in [*listed, "SHA256SUMS", "manifest.json"]:
        path = folder / str(rel)
        # only regular files inside the folder: a crafted manifest names nothing else
        if path.is_file() and not path.is_symlink() and path.resolve().is_relative_to(real):
            files.append(str(path.relative_to(folder)))
    return sorted(set(files))


def move_into_place(tmp: Path, to: Path, replaced: Sequence[str]) -> None:
    """Move the new export from ``tmp`` into ``to``: the files of the earlier export
    (``replaced``) are removed, every other file in ``to`` stays as it is."""
    if not to.exists():
        os.replace(tmp, to)
        return
    if not any(to.iterdir()):
        to.rmdir()
        os.replace(tmp, to)
        return
    new = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
    clash = [rel for rel in new if rel not in replaced and (to / rel).exists()]
    if clash:
        raise ExportError(
            f"export target {to} holds {clash[0]}, which no earlier export wrote; "
            "nothing replaced: move it or choose another folder"
        )
    for rel in replaced:
        (to / rel).unlink(missing_ok=True)
        _remove_empty_parents(to / rel, to)
    for rel in sorted(new, key=lambda r: r == "manifest.json"):  # the manifest last
        (to / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / rel, to / rel)
    shutil.rmtree(tmp, ignore_errors=True)


def _remove_empty_parents(path: Path, top: Path) -> None:
    for parent in path.parents:
        if parent == top or not parent.is_relative_to(top):
            return
        try:
            parent.rmdir()  # only when empty
        except OSError:
            return
