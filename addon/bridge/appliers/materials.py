"""Materials group, Blender half."""

from __future__ import annotations

import math

import bpy
from mathutils import Euler, Vector

from ...core import randomizers as R
from ...core.errors import UserError
from .base import Applier, aim, find_object, footprint, on_shell, principled, target_point

class MaterialColor(Applier):
    TYPE = "material_color"

    def setup(self, scene, r, objs, where=()):
        """Give each object its own copy of its first material (once), so per-object colours don't leak."""
        for obj in objs:
            if not obj.material_slots or obj.material_slots[0].material is None:
                continue
            slot = obj.material_slots[0]
            mat = slot.material
            own = f"{mat.get('sk_source', mat.name)}.sk.{obj.name}"
            if mat.name != own:
                copy = bpy.data.materials.get(own) or mat.copy()
                copy.name = own
                copy["sk_source"] = mat.get("sk_source", mat.name)
                node = principled(copy)
                if node is not None and "sk_base_color" not in copy:
                    copy["sk_base_color"] = list(node.inputs["Base Color"].default_value)[:3]
                slot.link = "OBJECT"
                slot.material = copy

    def apply(self, scene, r, values):
        import colorsys
        for name, v in values.items():
            obj = bpy.data.objects[name]
            mat = obj.material_slots[0].material if obj.material_slots else None
            node = principled(mat)
            if node is None:
                continue
            if v["mode"] == "replace":
                rgb = v["color"]
            else:
                h, s, val = colorsys.rgb_to_hsv(*mat.get("sk_base_color", (0.8, 0.8, 0.8)))
                dh, fs, fv = v["hsv"]
                rgb = colorsys.hsv_to_rgb((h + dh) % 1.0, min(s * fs, 1.0), val * fv)
            node.inputs["Base Color"].default_value = (*rgb, 1.0)
            node.inputs["Roughness"].default_value = v["roughness"]
