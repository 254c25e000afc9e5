"""SynthKiln's asset libraries in Blender's Asset Browser: the bundled one (``asset_library/``, CC0 models made
by scripts there) and the user's folder from the add-on's preferences, so artists drag assets in as they do
their own. Only libraries this module added are ever changed or removed."""

from __future__ import annotations

import json
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


@bpy.app.handlers.persistent
def _after_factory_preferences(*_args) -> None:
    """Load Factory Settings drops every asset library (and the add-on's preferences): the bundled one comes back."""
    _added.clear()
    _ensure(BUNDLED, PACKAGE_ROOT / "asset_library")


def register(user_folder: str = "") -> None:
    """Add (or point again) the bundled library and the user's; idempotent."""
    _ensure(BUNDLED, PACKAGE_ROOT / "asset_library")
    _ensure(USER, Path(bpy.path.abspath(user_folder)).expanduser() if user_folder else None)
    handlers = bpy.app.handlers.load_factory_preferences_post
    if _after_factory_preferences not in handlers:
        handlers.append(_after_factory_preferences)


def unregister() -> None:
    handlers = bpy.app.handlers.load_factory_preferences_post
    if _after_factory_preferences in handlers:
        handlers.remove(_after_factory_preferences)
    libs = _libraries()
    for lib in [lib for lib in libs if lib.name in _added]:
        libs.remove(lib)
    _added.clear()


# Building a library opens and saves another .blend, which would replace the artist's open file: the sidebar
# runs it in a background Blender instead (the same code as ``synthkiln assets import``).
_IMPORT_SCRIPT = """
import importlib.util, json, sys
from pathlib import Path
root, args = Path({root!r}), json.loads({args!r})
spec = importlib.util.spec_from_file_location("synthkiln", root / "__init__.py", submodule_search_locations=[str(root)])
module = importlib.util.module_from_spec(spec)
sys.modules["synthkiln"] = module
spec.loader.exec_module(module)
from synthkiln.addon.bridge.assets import build_library
from synthkiln.addon.core.params.schema import from_data
from synthkiln.addon.core.recipe.assets import AssetSource
try:
    report = build_library([Path(p) for p in args["paths"]], Path(args["library"]),
                           from_data(AssetSource, args["source"]))
except Exception as e:
    report = {{"imported": [], "failed": [str(e)], "warnings": []}}
Path(args["report"]).write_text(json.dumps(report))
"""


def import_command(paths: list[str], library: str, source: dict, report: str) -> list[str]:
    """The command that imports ``paths`` into the library .blend ``library`` in a background Blender (this
    Blender's executable; in the ``bpy`` module, this Python) and writes its report as JSON to ``report``."""
    import sys
    script = _IMPORT_SCRIPT.format(root=str(PACKAGE_ROOT), args=json.dumps(
        {"paths": paths, "library": library, "source": source, "report": report}))
    binary = bpy.app.binary_path
    if binary and Path(binary).name.lower().startswith("blender"):
        return [binary, "--background", "--factory-startup", "--python-expr", script]
    return [sys.executable, "-c", "import bpy\n" + script]
