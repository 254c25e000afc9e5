"""Starting Blender (the ``bpy`` module) for the runner: version check, add-on registration, safe
.blend loading."""

from __future__ import annotations

from pathlib import Path

import bpy

from addon.core.errors import UserError

SUPPORTED = (5, 0)
_registered = False


def start() -> None:
    if tuple(bpy.app.version[:2]) != SUPPORTED:
        raise UserError(f"the runner is built for bpy {SUPPORTED[0]}.{SUPPORTED[1]}, found {bpy.app.version_string}")
    # never run Python embedded in a .blend (drivers, registered text blocks)
    bpy.context.preferences.filepaths.use_scripts_auto_execute = False


def register() -> None:
    """Register the add-on's non-UI classes (in the bpy module ``bpy.app.background`` is true)."""
    global _registered
    if not _registered:
        import addon
        addon.register()
        _registered = True


def open_blend(path: Path) -> None:
    register()
    try:
        bpy.ops.wm.open_mainfile(filepath=str(Path(path).resolve()), load_ui=False, use_scripts=False)
    except RuntimeError as e:
        raise UserError(f"{path}: cannot open as a .blend ({str(e).strip().splitlines()[0]})") from None
