"""Starting Blender (the ``bpy`` module) for the runner: version check, add-on registration, safe
.blend loading, and the checks that need Blender (library assets, HDRI files) made before a job writes
anything."""

from __future__ import annotations

from pathlib import Path

import bpy

from addon.core.errors import PresetError, UserError
from addon.core.randomizers import GROUPS
from addon.core.recipe import Recipe
from addon.core.schema import path_str

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
        reason = str(e).strip().splitlines()[0] if str(e).strip() else "unknown error"
        reason = reason.removeprefix("Error:").strip()
        raise UserError(f"{path}: cannot open as a .blend: {reason}") from None


def output_dir(recipe: Recipe) -> Path:
    """Where the render operator will write (relative folders are relative to the .blend)."""
    from addon.ui.operators import output_dir as op_output_dir
    return op_output_dir(recipe)


def checked_recipe(overrides: str, origins: dict, file: str) -> Recipe:
    """The open scene's recipe (with the command line's overrides), after checking what only Blender can:
    every asset the scene still needs is in the library, every HDRI exists. Errors name the preset's file,
    line and field path (``origins`` maps field paths to (file, line); empty for a .blend's own recipe)."""
    from addon.ui.operators import scene_recipe
    recipe = scene_recipe(bpy.context.scene, overrides)
    _check_assets(recipe, origins, file)
    _check_hdris(recipe, origins, file)
    return recipe


def _error(message: str, path: tuple, origins: dict, file: str, value=None, expected: str = "") -> PresetError:
    where = path
    while where and where not in origins:
        where = where[:-1]
    f, line = origins.get(where, (file, None)) if where else (file, None)
    text = f"{message}: expected {expected}" if expected else message
    return PresetError(text, file=f, line=line, path=path_str(path), value=value, expected=expected)


def _library_objects(path: Path) -> set[str]:
    """Object names in a library .blend, read without appending anything."""
    with bpy.data.libraries.load(str(path), link=False) as (src, _dst):
        return set(src.objects)


def _check_assets(recipe: Recipe, origins: dict, file: str) -> None:
    from addon.core.preset import resolve_path
    from addon.ui.operators import base_dir
    setup = recipe.scene
    missing = [(i, ref.asset) for i, ref in enumerate(setup.objects)
               if ref.count > 0 and ref.asset not in bpy.data.objects]
    if not missing:
        return
    i, name = missing[0]
    if not setup.library:
        raise _error(f"asset {name!r} is not in the scene and scene.library is empty", ("scene", "objects", i, "asset"),
                     origins, file, name, "an object of the scene, or a scene.library to append it from")
    lib = resolve_path(setup.library, base_dir())
    if not lib.is_file():
        raise _error(f"{setup.library!r}: {lib} does not exist", ("scene", "library"), origins, file,
                     setup.library, "a .blend file")
    try:
        names = _library_objects(lib)
    except (OSError, RuntimeError) as e:
        raise _error(f"cannot read {lib} as a .blend ({str(e).strip().splitlines()[0]})", ("scene", "library"),
                     origins, file, setup.library, "a .blend file") from None
    for i, name in missing:
        if name not in names:
            raise _error(f"asset {name!r} not found in {lib.name}", ("scene", "objects", i, "asset"), origins, file,
                         name, f"one of {', '.join(sorted(names)) or '(the library has no objects)'}")


def _check_hdris(recipe: Recipe, origins: dict, file: str) -> None:
    from addon.bridge import compat
    from addon.bridge.apply import hdri_path
    for group in GROUPS:
        for j, r in enumerate(getattr(recipe.randomizers, group)):
            if not r.enabled or r.TYPE != "world_hdri":
                continue
            for k, name in enumerate(r.hdri.choices):
                try:
                    hdri_path(str(name))
                except UserError:
                    bundled = sorted(x.stem for x in compat.bundled_hdri_dir().glob("*.exr"))
                    raise _error(f"HDRI {name!r} not found", ("randomizers", group, j, "hdri", "choice", k),
                                 origins, file, name,
                                 f"a bundled HDRI ({', '.join(bundled)}) or the path of an .exr/.hdr file") from None
