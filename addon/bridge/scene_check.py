"""Check Scene: what would spoil a dataset, found before rendering it. Reads only; the Check Scene
operator stores the list for the panel and reports it.

Each problem names things as the sidebar does ("Objects › scatter (Object Pose)", "Scene Setup › HDRI") and
carries what a click on it should select: the objects at fault, or the stack entry to open."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import bpy

from ..core.errors import UserError
from ..core.params.names import title
from ..core.params.schema import field_specs
from ..core.randomizers import GROUPS
from ..core.recipe.model import Recipe
from . import appliers, assets
from . import scene as scene_setup
from .files import user_path
from .recipe import read, read_recipe

LIST_AT_MOST = 8


def _names(objs) -> str:
    names = sorted(o if isinstance(o, str) else o.name for o in objs)
    more = f" and {len(names) - LIST_AT_MOST} more" if len(names) > LIST_AT_MOST else ""
    return ", ".join(names[:LIST_AT_MOST]) + more


@dataclass(frozen=True)
class Problem:
    """One finding: its text, and what it is about (objects to select, a stack entry to open)."""
    text: str
    objects: tuple[str, ...] = ()
    group: str = ""
    index: int = -1

    def __str__(self) -> str:
        return self.text


def _path_fields(obj, where: str):
    """(field name as the panels show it, value) of every non-empty file or folder field of a recipe
    dataclass, recursively."""
    for spec in field_specs(type(obj)):
        v = getattr(obj, spec.name)
        if spec.kind == "str" and spec.subtype in ("FILE_PATH", "DIR_PATH") and v:
            yield f"{where} › {title(spec.name)}", v
        elif spec.kind == "struct":
            yield from _path_fields(v, f"{where} › {title(spec.name)}")


def randomizer_name(group: str, r) -> str:
    """A stack entry as the sidebar shows it: "Objects › scatter (Object Pose)"."""
    return f"{title(group)} › {r.name or r.TYPE} ({title(r.TYPE)})"


def _entries(recipe):
    for g in GROUPS:
        for i, r in enumerate(getattr(recipe.randomizers, g)):
            yield g, i, r


def scene_problems(scene) -> list[Problem]:
    """One problem per finding, in a fixed order; empty when the scene is ready to render."""
    state = scene.synthkiln
    if not state.initialized:
        return [Problem("No recipe yet: make a new one or import a preset")]
    try:
        recipe = read_recipe(scene)
    except UserError as e:
        return [Problem(f"The recipe is not valid: {e}")]
    out: list[Problem] = []
    try:
        targets = scene_setup.resolve_targets(scene, recipe)
    except UserError as e:
        out.append(Problem(f"Label Rules: {e}"))
        targets = []
    if not targets:
        out.append(Problem("No targets: no label rule matches a renderable object. Label objects in the "
                           "Labels panel (select them, then Assign)"))
    cam = scene.objects.get(recipe.scene.camera) if recipe.scene.camera else scene.camera
    if cam is None or cam.type != "CAMERA":
        out.append(Problem(f"No camera {recipe.scene.camera!r} in the scene: a default one at the origin would "
                           "be made (Scene Setup › Camera)" if recipe.scene.camera
                           else "No camera: the scene has no active camera"))

    missing = [img.name for img in bpy.data.images if img.source in {"FILE", "SEQUENCE", "TILED"}
               and img.packed_file is None and img.filepath and not _exists(bpy.path.abspath(img.filepath))]
    if missing:
        out.append(Problem(f"Missing image files: {_names(missing)}"))
    for where, value in _path_fields(recipe.scene, "Scene Setup"):
        if not _exists(value, user=True):
            out.append(Problem(f"{where}: {value!r} does not exist"))
    for g, i, r in _entries(recipe):
        for where, value in _path_fields(r, randomizer_name(g, r)):
            if not _exists(value, user=True):
                out.append(Problem(f"{where}: {value!r} does not exist", group=g, index=i))

    labelled = {t.name for t in targets}
    unlabelled = [o for o in scene.objects if o.type == "MESH" and o.name not in labelled and not o.hide_render
                  and o.visible_get()]
    if unlabelled:
        out.append(Problem(f"Visible mesh objects without a label (background?): {_names(unlabelled)}",
                           objects=tuple(sorted(o.name for o in unlabelled))))

    labels = {t.name: t for t in targets}
    for g, i, r in _entries(recipe):
        if not r.enabled or r.TARGETS == "none" or (r.TARGETS == "objects" and r.select.is_empty()):
            continue
        try:
            hits = scene_setup.select(scene, r.select, appliers.pool(scene, r), labels)
        except UserError as e:
            out.append(Problem(f"{randomizer_name(g, r)}: {e}", group=g, index=i))
            continue
        if not hits and not r.select.is_empty():
            out.append(Problem(f"{randomizer_name(g, r)}: its selection matches no object", group=g, index=i))
    out += [Problem(p) for p in _asset_problems(recipe)]
    return out


def fingerprint(scene) -> str:
    """What Check Scene's findings depend on (the recipe, which objects are there and shown, the camera, the
    images' files), hashed: when it changes, the last findings may be out of date. Moves do not count."""
    state = scene.synthkiln
    parts = [state.initialized]
    if state.initialized:
        parts.append(read(state.recipe, Recipe))
    parts.append(sorted((o.name, o.type, o.hide_render, o.hide_get()) for o in scene.objects))
    parts.append(scene.camera.name if scene.camera else "")
    parts.append(sorted((i.name, i.filepath) for i in bpy.data.images))
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()


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
    out = [f"Assets › {a.id} ({a.file}): {why}" for a, why in bad[:LIST_AT_MOST]]
    if len(bad) > LIST_AT_MOST:
        out.append(f"and {len(bad) - LIST_AT_MOST} more asset files that cannot be imported")
    return out


def _exists(value: str, user: bool = False) -> bool:
    try:
        return (user_path(value) if user else Path(value)).exists()
    except (OSError, ValueError, UserError):
        return False
