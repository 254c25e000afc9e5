"""Objects group, Blender half."""

from __future__ import annotations

import math

import bpy
from mathutils import Euler, Vector

from ...core import randomizers as R
from ...core.errors import UserError
from .base import Applier, aim, find_object, footprint, on_shell, principled, target_point

class ObjectPose(Applier):
    TYPE = "object_pose"

    def context(self, scene, r, objs):
        ctx = R.Context(targets=[o.name for o in objs], footprints={o.name: footprint(o) for o in objs})
        if r.mode == "surface":
            surf = find_object(r.surface, f"{r.key()}.surface")
            corners = [surf.matrix_world @ Vector(c) for c in surf.bound_box]
            ctx.bounds = (min(c.x for c in corners), max(c.x for c in corners),
                          min(c.y for c in corners), max(c.y for c in corners))
        return ctx

    def apply(self, scene, r, values):
        surface = find_object(r.surface, f"{r.key()}.surface") if r.mode == "surface" else None
        for name, v in values.items():
            obj = bpy.data.objects[name]
            obj.hide_render = obj.hide_viewport = not v["visible"]
            if not v["visible"]:
                continue
            obj.rotation_mode = "XYZ"
            obj.rotation_euler = Euler(v["rotation"], "XYZ")
            obj.scale = (v["scale"],) * 3
            x, y, z = v["location"]
            if v.get("on_surface"):
                z += _surface_height(surface, x, y)
            obj.location = (x, y, z)


def _surface_height(surface, x: float, y: float) -> float:
    """Top of ``surface`` under (x, y), by a ray cast straight down in the surface's own space."""
    top = max((surface.matrix_world @ Vector(c)).z for c in surface.bound_box) + 1.0
    inv = surface.matrix_world.inverted()
    origin = inv @ Vector((x, y, top))
    direction = (inv.to_3x3() @ Vector((0.0, 0.0, -1.0))).normalized()
    hit, loc, _n, _i = surface.ray_cast(origin, direction)
    if not hit:
        return max((surface.matrix_world @ Vector(c)).z for c in surface.bound_box)
    return (surface.matrix_world @ loc).z
