"""Check Scene: what would spoil a dataset, found before rendering it. Reads only; the Check Scene
operator stores the list for the panel and reports it."""

from __future__ import annotations

from pathlib import Path

import bpy

from ..core.errors import UserError
from ..core.params.schema import field_specs
from . import appliers, assets
from . import scene as scene_setup
from .files import user_path
from .recipe import read_recipe

LIST_AT_MOST = 8


def _names(objs) -> str:
    names = sorted(o if isinstance(o, str) else o.name for o in objs)
    more = f" and {len(names) - LIST_AT_MOST} more" if len(names) > LIST_AT_MOST else ""
    return ", ".join(names[:LIST_AT_MOST]) + more


def _path_fields(obj, where: str):
    """(field path, value) of every non-empty file or folder field of a recipe dataclass, recursively."""
    for spec in field_specs(type(obj)):
        v = getattr(obj, spec.name)
        if spec.kind == "str" and spec.subtype in ("FILE_PATH", "DIR_PATH") and v:
            yield f"{where}.{spec.name}", v
        elif spec.kind == "struct":
            yield from _path_fields(v, f"{where}.{spec.name}")


def scene_problems(scene) -> list[str]:
    """One line per problem, in a fixed order; empty when the scene is ready to render."""
    state = scene.synthkiln
    if not state.initialized:
        return ["no recipe yet: make a new one or import a preset"]
    try:
        recipe = read_recipe(scene)
    except UserError as e:
        return [f"the recipe is not valid: {e}"]
    out: list[str] = []
    try:
        targets = scene_setup.resolve_targets(scene, recipe)
    except UserError as e:
        out.append(f"labels: {e}")
        targets = []
    if not targets:
        out.append("no targets: no label rule matches a renderable object (label objects in the Labels panel)")
    cam = scene.objects.get(recipe.scene.camera) if recipe.scene.camera else scene.camera
    if cam is None or cam.type != "CAMERA":
        out.append(f"no camera {recipe.scene.camera!r} in the scene: a default one at the origin would be made"
                   if recipe.scene.camera else "no camera: the scene has no active camera")

    missing = [img.name for img in bpy.data.images if img.source in {"FILE", "SEQUENCE", "TILED"}
               and img.packed_file is None and img.filepath and not _exists(bpy.path.abspath(img.filepath))]
    if missing:
        out.append(f"missing image files: {_names(missing)}")
    for where, value in _path_fields(recipe.scene, "scene"):
        if not _exists(value, user=True):
            out.append(f"{where}: {value!r} does not exist")
    for r in recipe.randomizers.all():
        for where, value in _path_fields(r, r.where()):
            if not _exists(value, user=True):
                out.append(f"{where}: {value!r} does not exist")

    labelled = {t.name for t in targets}
    unlabelled = [o for o in scene.objects if o.type == "MESH" and o.name not in labelled and not o.hide_render
                  and o.visible_get()]
    if unlabelled:
        out.append(f"visible mesh objects without a label (background?): {_names(unlabelled)}")

    labels = {t.name: t for t in targets}
    for r in recipe.randomizers.all():
        if not r.enabled or r.TARGETS == "none" or (r.TARGETS == "objects" and r.select.is_empty()):
            continue
        try:
            hits = scene_setup.select(scene, r.select, appliers.pool(scene, r), labels)
        except UserError as e:
            out.append(f"{r.where()}: {e}")
            continue
        if not hits and not r.select.is_empty():
            out.append(f"{r.where()} ({r.TYPE}): its selection matches no object")
    out += _asset_problems(recipe)
    return out


def _asset_problems(recipe) -> list[str]:
    """Asset sources that match no file or name unknown categories, and files that cannot be imported (checked
    without importing: missing, empty, not a model format). A corrupt file is only found when it is loaded."""
    if not recipe.assets:
        return []
    try:
        found = assets.resolve_sources(recipe)
    except UserError as e:
        return [str(e)]
    bad = [(a, why) for a in found if (why := assets.file_problem(Path(a.path)))]
    out = [f"asset {a.id} ({a.file}): {why}" for a, why in bad[:LIST_AT_MOST]]
    if len(bad) > LIST_AT_MOST:
        out.append(f"and {len(bad) - LIST_AT_MOST} more asset files that cannot be imported")
    return out


def _exists(value: str, user: bool = False) -> bool:
    try:
        return (user_path(value) if user else Path(value)).exists()
    except (OSError, ValueError, UserError):
        return False
