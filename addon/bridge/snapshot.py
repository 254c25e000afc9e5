"""The artist's scene before the first preview, and putting it back ("Reset to Scene").

Previewing applies a dataset frame to the open scene: objects move, hide and get other materials, lights and
the camera change, the world and the render settings are set, helper objects (fog, clutter, pool lights) and
materials are made. ``take`` records what the recipe may change; ``track`` notes the data a preview makes;
``restore`` undoes both. The record is JSON in ``Scene.synthkiln.snapshot`` (saved with the .blend), and the
materials, worlds, lights and cameras it may change are kept as copies (fake users), swapped back in whole,
so node edits are undone too.
"""

from __future__ import annotations

import contextlib
import json

import bpy
from mathutils import Matrix

from .appliers.materials import DRIVE_PREFIX

COPY_TAG = ".sk-snapshot"
# data blocks a preview may make; removed on restore (objects first, then what they used)
MADE = ("objects", "materials", "worlds", "lights", "cameras", "meshes", "node_groups", "collections", "images")
_RNA_KINDS = {"BOOLEAN", "INT", "FLOAT", "ENUM", "STRING"}


def _state(scene) -> dict:
    text = scene.synthkiln.snapshot
    return json.loads(text) if text else {}


def _save(scene, data: dict) -> None:
    scene.synthkiln.snapshot = json.dumps(data) if data else ""


def has(scene) -> bool:
    return bool(scene.synthkiln.snapshot)


def _settings(struct) -> dict:
    """The plain, writable settings of an RNA struct (render, cycles, view settings)."""
    out = {}
    for p in struct.bl_rna.properties:
        if p.is_readonly or p.type not in _RNA_KINDS or p.identifier == "rna_type":
            continue
        if p.type == "ENUM" and p.is_enum_flag:
            continue
        v = getattr(struct, p.identifier)
        out[p.identifier] = list(v) if getattr(p, "is_array", False) and p.type != "STRING" else v
    return out


def _put_settings(struct, values: dict) -> None:
    for name, v in values.items():
        with contextlib.suppress(AttributeError, TypeError, ValueError):
            if getattr(struct, name) != v and list(getattr(struct, name, ()) or ()) != v:
                setattr(struct, name, v)


def _setting_structs(scene) -> dict:
    out = {"render": scene.render, "view_settings": scene.view_settings}
    if hasattr(scene, "cycles"):
        out["cycles"] = scene.cycles
    return out


def _copy(idblock) -> str:
    """A kept copy of a data block, to swap back in on restore."""
    c = idblock.copy()
    c.name = idblock.name + COPY_TAG
    c.use_fake_user = True
    return c.name


def take(scene) -> None:
    """Record the scene as it is now (replacing an earlier record and its copies)."""
    discard(scene)
    objects, copies = {}, {}
    for obj in scene.objects:
        objects[obj.name] = {
            "matrix": [list(row) for row in obj.matrix_basis], "parent": obj.parent.name if obj.parent else "",
            "hide_render": obj.hide_render, "hide_viewport": obj.hide_viewport, "hide": obj.hide_get(),
            "color": list(obj.color), "pass_index": obj.pass_index, "data": obj.data.name if obj.data else "",
            "slots": [[s.link, s.material.name if s.material else ""] for s in obj.material_slots],
            "driven": [k for k in obj.keys() if k.startswith(DRIVE_PREFIX)]}
        used = [s.material for s in obj.material_slots if s.material]
        if obj.type in ("LIGHT", "CAMERA") and obj.data is not None:
            used.append(obj.data)
        for block in used:
            key = f"{type(block).__name__}:{block.name}"
            if key not in copies and not block.library:
                copies[key] = _copy(block)
    if scene.world is not None:
        copies[f"World:{scene.world.name}"] = _copy(scene.world)
    data = {"objects": objects, "copies": copies, "world": scene.world.name if scene.world else "",
            "camera": scene.camera.name if scene.camera else "",
            "settings": {k: _settings(s) for k, s in _setting_structs(scene).items()},
            "made": {k: [] for k in MADE}}
    _save(scene, data)


def ensure(scene) -> None:
    """Record the scene unless a record is already there (the first preview's scene is the artist's)."""
    if not has(scene):
        take(scene)


@contextlib.contextmanager
def track(scene):
    """Note the data blocks made inside the block (a preview), so restore removes them."""
    before = {k: set(getattr(bpy.data, k).keys()) for k in MADE}
    try:
        yield
    finally:
        data = _state(scene)
        if data:
            for k in MADE:
                made = set(data["made"].get(k, ())) | (set(getattr(bpy.data, k).keys()) - before[k])
                data["made"][k] = sorted(n for n in made if not n.endswith(COPY_TAG))
            _save(scene, data)


_COLLECTIONS = {"Material": "materials", "World": "worlds", "PointLight": "lights", "SunLight": "lights",
                "SpotLight": "lights", "AreaLight": "lights", "Light": "lights", "Camera": "cameras"}


def _swap_back(key: str, copy_name: str) -> None:
    """The kept copy takes the original's place everywhere and its name."""
    kind, _, name = key.partition(":")
    coll = getattr(bpy.data, _COLLECTIONS.get(kind, "materials"))
    copy = coll.get(copy_name)
    if copy is None:
        return
    original = coll.get(name)
    if original is not None:
        original.user_remap(copy)
        coll.remove(original)
    copy.use_fake_user = False
    copy.name = name


def restore(scene) -> int:
    """Put the recorded scene back and forget the record; returns how many objects it touched."""
    data = _state(scene)
    if not data:
        return 0
    made = data.get("made", {})
    for name in made.get("objects", ()):
        obj = bpy.data.objects.get(name)
        if obj is not None and name not in data["objects"]:
            bpy.data.objects.remove(obj, do_unlink=True)
    for key, copy_name in data.get("copies", {}).items():
        _swap_back(key, copy_name)
    touched = 0
    for name, rec in data["objects"].items():
        obj = scene.objects.get(name)
        if obj is None:
            continue
        touched += 1
        parent = bpy.data.objects.get(rec["parent"]) if rec["parent"] else None
        if obj.parent != parent:
            obj.parent = parent
        obj.matrix_basis = Matrix(rec["matrix"])     # rows (a plain list would be read as columns)
        obj.hide_render, obj.hide_viewport = rec["hide_render"], rec["hide_viewport"]
        with contextlib.suppress(RuntimeError):     # not in the view layer
            obj.hide_set(rec["hide"])
        obj.color, obj.pass_index = rec["color"], rec["pass_index"]
        if rec["data"] and obj.data is not None and obj.data.name != rec["data"]:
            block = getattr(bpy.data, _data_collection(obj)).get(rec["data"])
            if block is not None:
                obj.data = block
        for k in [k for k in obj.keys() if k.startswith(DRIVE_PREFIX) and k not in rec.get("driven", ())]:
            del obj[k]          # the properties a preview's driven sockets read
        for slot, (link, mat) in zip(obj.material_slots, rec["slots"]):
            slot.link = link
            slot.material = bpy.data.materials.get(mat) if mat else None
    world = bpy.data.worlds.get(data.get("world", "")) if data.get("world") else None
    scene.world = world
    cam = scene.objects.get(data.get("camera", ""))
    if cam is not None:
        scene.camera = cam
    for k, struct in _setting_structs(scene).items():
        _put_settings(struct, data.get("settings", {}).get(k, {}))
    for k in MADE[1:]:
        coll = getattr(bpy.data, k)
        for name in made.get(k, ()):
            block = coll.get(name)
            if block is not None and block.users == 0:
                coll.remove(block)
    _save(scene, {})
    return touched


def _data_collection(obj) -> str:
    return {"MESH": "meshes", "LIGHT": "lights", "CAMERA": "cameras", "CURVE": "curves"}.get(obj.type, "meshes")


def discard(scene) -> None:
    """Forget the record and drop its copies (the scene stays as it is)."""
    data = _state(scene)
    for key, copy_name in data.get("copies", {}).items():
        kind = key.partition(":")[0]
        coll = getattr(bpy.data, _COLLECTIONS.get(kind, "materials"))
        block = coll.get(copy_name)
        if block is not None:
            coll.remove(block)
    _save(scene, {})
