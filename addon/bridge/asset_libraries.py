"""SynthKiln's asset libraries in Blender's Asset Browser: the bundled one (``asset_library/``, CC0 models made
by scripts there) and the user's folder from the add-on's preferences, so artists drag assets in as they do
their own. Only libraries this module added are ever changed or removed."""

from __future__ import annotations

from pathlib import Path

import bpy

from ..core.recipe.preset import PACKAGE_ROOT

BUNDLED = "SynthKiln"
USER = "SynthKiln (your library)"
_added: set[str] = set()


def _libraries():
    return bpy.context.preferences.filepaths.asset_libraries


def _ensure(name: str, directory: Path | None) -> None:
    libs = _libraries()
    lib = next((lib for lib in libs if lib.name == name), None)
    if directory is None or not directory.is_dir():
        if lib is not None and name in _added:
            libs.remove(lib)
            _added.discard(name)
        return
    if lib is None:
        lib = libs.new(name=name, directory=str(directory))
        _added.add(name)
    elif name in _added and Path(lib.path) != directory:
        lib.path = str(directory)


def register(user_folder: str = "") -> None:
    """Add (or point again) the bundled library and the user's; idempotent."""
    _ensure(BUNDLED, PACKAGE_ROOT / "asset_library")
    _ensure(USER, Path(bpy.path.abspath(user_folder)).expanduser() if user_folder else None)


def unregister() -> None:
    libs = _libraries()
    for lib in [lib for lib in libs if lib.name in _added]:
        libs.remove(lib)
    _added.clear()
