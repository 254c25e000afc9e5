"""Scene setup from a recipe: append assets from a library, make sure a camera and lights exist,
resolve selectors and label rules, and give every target its instance id (``pass_index``).

Everything here is idempotent: running it again on a prepared scene changes nothing, so the preview
operator, a render job and a resumed job can all call it.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from ..core.errors import UserError
from ..core.randomizers import Selector
from ..core.recipe.model import Recipe, SceneSetup
from .files import user_path

_SUFFIX = re.compile(r"\.\d{3,}$")
# Object types that show up in a render: only these can be targets (label rules skip the rest).
RENDERABLE = frozenset({"MESH", "CURVE", "SURFACE", "META", "FONT", "CURVES", "POINTCLOUD", "VOLUME"})


@dataclass
class Target:
    name: str
    instance_id: int
    category: str
    attributes: dict = field(default_factory=dict)


def base_name(name: str) -> str:
    return _SUFFIX.sub("", name)


def _collection(scene, name: str):
    coll = bpy.data.collections.get(name)
    if coll is None:
        coll = bpy.data.collections.new(name)
    if coll.name not in scene.collection.children and coll not in scene.collection.children_recursive:
        scene.collection.children.link(coll)
    return coll


def ensure_scene(scene, recipe: Recipe, base_dir: str | Path = ".") -> None:
    """Append missing library objects, and create the camera and lights the recipe names if missing."""
    setup: SceneSetup = recipe.scene
    if setup.objects:
        _append_objects(scene, setup, base_dir)
    cam = scene.objects.get(setup.camera) if setup.camera else scene.camera
    if cam is None or cam.type != "CAMERA":
        if setup.camera and setup.camera in bpy.data.objects:
            raise UserError(f"scene.camera: object {setup.camera!r} exists but is not a camera")
        cam = bpy.data.objects.new(setup.camera or "Camera", bpy.data.cameras.new(setup.camera or "Camera"))
        scene.collection.objects.link(cam)
    scene.camera = cam
    for spec in setup.lights:
        obj = scene.objects.get(spec.name)
        if obj is None:
            light = bpy.data.lights.new(spec.name, spec.type)
            obj = bpy.data.objects.new(spec.name, light)
            scene.collection.objects.link(obj)
        elif obj.type != "LIGHT":
            raise UserError(f"scene.lights: object {spec.name!r} exists but is not a light")
        if obj.data.type != spec.type:
            obj.data.type = spec.type
        if spec.type == "AREA":
            obj.data.size = spec.size
        elif spec.type in ("POINT", "SPOT"):
            obj.data.shadow_soft_size = spec.size
    if scene.world is None:
        scene.world = bpy.data.worlds.get("World") or bpy.data.worlds.new("World")


def _append_objects(scene, setup: SceneSetup, base_dir) -> None:
    wanted: dict[str, int] = {}
    for ref in setup.objects:
        have = [o for o in _collection(scene, ref.collection).objects if base_name(o.name) == ref.asset]
        if len(have) < ref.count:
            wanted[ref.asset] = max(wanted.get(ref.asset, 0), 1)
    missing = [name for name in wanted if name not in bpy.data.objects]
    field = {ref.asset: f"scene.objects[{i}].asset" for i, ref in reversed(list(enumerate(setup.objects)))}
    if missing:
        if not setup.library:
            raise UserError(f"{field[missing[0]]}: asset {missing[0]!r} is not in the scene and scene.library is "
                            "empty: expected an object of the scene, or a scene.library to append it from")
        append_from_library(user_path(setup.library, base_dir), "objects", missing, lambda n: field[n],
                            f"scene.library: {setup.library!r}", "asset")
    for ref in setup.objects:
        coll = _collection(scene, ref.collection)
        have = [o for o in coll.objects if base_name(o.name) == ref.asset]
        src = bpy.data.objects[ref.asset]
        if not have and src.name not in scene.objects:
            coll.objects.link(src)
            have.append(src)
        while len(have) < ref.count:
            dup = src.copy()   # shares mesh data: cheap, and one material edit reaches all copies
            coll.objects.link(dup)
            have.append(dup)


def append_from_library(path: Path, kind: str, names: list[str], where_of, lib_field: str, noun: str) -> None:
    """Append the datablocks ``names`` of ``kind`` (``objects``, ``materials``) from a library .blend;
    ``where_of(name)`` is the field path that asked for a name, for messages."""
    if not path.is_file():
        raise UserError(f"{lib_field}: {path} does not exist: expected a .blend file")
    try:
        with bpy.data.libraries.load(str(path), link=False) as (src, dst):
            have = getattr(src, kind)
            absent = [n for n in names if n not in have]
            if absent:
                raise UserError(f"{where_of(absent[0])}: {noun} {absent[0]!r} not found in {path.name}: expected "
                                f"one of {', '.join(sorted(have)) or f'(the library has no {kind})'}")
            setattr(dst, kind, list(names))
    except (OSError, RuntimeError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else "unknown error"
        raise UserError(f"{lib_field}: cannot read {path} as a .blend ({reason}): expected a .blend file") from None


def select(scene, selector: Selector, pool, labels: dict[str, Target] | None = None) -> list:
    """The objects of ``pool`` that match every condition of ``selector``, sorted by name."""
    objs = list(pool)
    if selector.collection:
        coll = bpy.data.collections.get(selector.collection)
        if coll is None:
            raise UserError(f"select.collection: no collection named {selector.collection!r} "
                            f"(have: {', '.join(sorted(c.name for c in bpy.data.collections)) or 'none'})")
        members = set(o.name for o in coll.all_objects)
        objs = [o for o in objs if o.name in members]
    if selector.names:
        objs = [o for o in objs if any(fnmatch.fnmatchcase(o.name, p) for p in selector.names)]
    if selector.category:
        objs = [o for o in objs if labels and o.name in labels and labels[o.name].category == selector.category]
    return sorted(objs, key=lambda o: o.name)


def resolve_targets(scene, recipe: Recipe) -> list[Target]:
    """Apply the label rules in order (a later rule wins) and number the targets 1..n by name."""
    labelled: dict[str, tuple[str, dict]] = {}
    renderable = [o for o in scene.objects if o.type in RENDERABLE]
    for rule in recipe.labels:
        for obj in select(scene, rule.select, renderable):
            labelled[obj.name] = (rule.category, dict(rule.attributes))
    if len(labelled) > 65535:
        raise UserError(f"{len(labelled)} targets: instance masks are 16-bit, at most 65535 targets")
    return [Target(name, i + 1, cat, attrs) for i, (name, (cat, attrs)) in enumerate(sorted(labelled.items()))]


def label_rule(scene, selectors: list[Selector], obj) -> int:
    """Index of the label rule (the rules given by their selectors, in order) that makes ``obj`` a target as
    ``resolve_targets`` decides it (a later rule wins), or -1. Never raises, for drawing: a rule naming
    a missing collection matches nothing here, and ``resolve_targets`` reports it."""
    if obj.type not in RENDERABLE:
        return -1
    found = -1
    for i, selector in enumerate(selectors):
        try:
            if select(scene, selector, [obj]):
                found = i
        except UserError:
            continue
    return found


def assign_instance_ids(scene, targets: list[Target]) -> None:
    """Object Index pass = instance id: targets 1..n, everything else 0 (background)."""
    ids = {t.name: t.instance_id for t in targets}
    for obj in scene.objects:
        want = ids.get(obj.name, 0)
        if obj.pass_index != want:
            obj.pass_index = want
