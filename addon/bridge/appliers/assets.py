"""The asset pool, Blender half: slot objects made once; per frame each shown slot takes its asset's mesh
from the bounded cache (importing on a miss) and a hidden one an empty mesh."""

from __future__ import annotations

import hashlib
import json

import bpy
from mathutils import Matrix

from ...core import randomizers as R
from ...core.errors import UserError
from ...core.params.schema import path_str
from .. import assets as A
from .base import Applier
from .materials import own_material
from .objects import set_visible


def follow_material(obj, mesh) -> None:
    """A slot that a material randomizer owns (object-linked slot 0) shows its own copy of the shown asset's
    material, not the one of whatever asset it showed before; the material randomizers (later in the frame)
    then randomize that copy as they do a scene object's."""
    slots = obj.material_slots
    if not slots or slots[0].link != "OBJECT" or not mesh.materials or mesh.materials[0] is None:
        return
    mat = own_material(obj, mesh.materials[0])
    if slots[0].material != mat:
        slots[0].material = mat


class AssetPool(Applier):
    TYPE = "asset_pool"

    def __init__(self):
        self.caches: dict[str, A.AssetCache] = {}
        self.signatures: dict[str, str] = {}

    def setup(self, scene, r, objs, where=()):
        for k, w in r.weights.items():
            if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
                raise UserError(f"{path_str(where + ('weights', k))}: a weight must be a number >= 0, got {w!r}")
        recipe, prepared = A.CURRENT
        assets = prepared.get(r.key(), [])
        sig = hashlib.sha1(json.dumps([[a.id, a.path, a.category, a.size] for a in assets]
                                      + [repr(s) for s in recipe.assets]).encode()).hexdigest()
        old = self.caches.get(r.key())
        if old is None or self.signatures.get(r.key()) != sig:
            if old is not None:
                old.clear()
            self.caches[r.key()] = A.AssetCache(scene, recipe, assets, r.cache_assets, r.cache_mb)
            self.signatures[r.key()] = sig
        cache = self.caches[r.key()]
        cache.scene, cache.recipe, cache.max_count, cache.max_mb = scene, recipe, r.cache_assets, r.cache_mb
        cache.preload()

    def context(self, scene, r, objs):
        cache = self.caches[r.key()]
        ctx = R.Context(targets=r.slot_names())
        ctx.data["assets"] = [{"id": a.id, "file": a.file, "category": a.category, "attributes": dict(a.attributes)}
                              for a in cache.assets.values()]
        ctx.data["slots"] = r.slot_names()
        ctx.data["measure"] = cache.measure
        return ctx

    def apply(self, scene, r, values):
        cache = self.caches[r.key()]
        shown = {v["asset"] for v in values.values() if v.get("visible")}
        placeholder = bpy.data.meshes.get(A.PLACEHOLDER) or A._placeholder()
        for name, v in values.items():
            obj = bpy.data.objects[name]
            mesh = cache.mesh(v["asset"]) if v.get("visible") else None
            if obj.data != (mesh or placeholder):
                obj.data = mesh or placeholder
            if mesh is not None:
                follow_material(obj, mesh)
            # every frame starts from the same pose: a hidden slot's record never shows an earlier frame's
            obj.rotation_mode = "XYZ"
            obj.location, obj.rotation_euler, obj.scale = (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
            obj.matrix_world = Matrix.Identity(4)    # a slot a later randomizer hides is not re-evaluated: set it now
            set_visible(obj, mesh is not None)
        cache.trim(shown)
        broken, cache.frame_broken = cache.frame_broken, {}
        return {"skipped_assets": dict(sorted(broken.items()))} if broken else None

    def release(self, scene, r, objs):
        for name in r.slot_names():
            obj = bpy.data.objects.get(name)
            if obj is not None:
                set_visible(obj, False)
