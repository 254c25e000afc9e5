"""The randomizer contract, Blender half: ``setup`` (once per job: create what frames reuse), ``context``
(static facts the pure sampler needs) and ``apply(values)`` (change the scene in place; may return
what happened, e.g. a chosen retry, which the frame record keeps under ``applied``).

No datablock is created per frame: materials, node trees, lights and images are made or loaded in
``setup`` and reused.
"""

from __future__ import annotations

import contextlib
import math

import bpy
from mathutils import Quaternion, Vector

from ...core import randomizers as R
from ...core.errors import UserError

APPLIERS: dict[str, "Applier"] = {}


class Applier:
    TYPE = ""

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.TYPE:
            APPLIERS[cls.TYPE] = cls()

    def setup(self, scene, r, objs, where: tuple = ()) -> None:
        pass

    def context(self, scene, r, objs) -> R.Context:
        return R.Context(targets=[o.name for o in objs])

    def apply(self, scene, r, values) -> dict | None:
        raise NotImplementedError

    def release(self, scene, r, objs) -> None:
        """The randomizer is muted: hide the helper objects it made (pool lights, clutter, fog, rain).
        Types that change shared state (world photo, coats, night) also put that back."""
        for obj in bpy.data.objects:
            if obj.get(OWNER) == r.key() and not obj.hide_render:
                obj.hide_render = obj.hide_viewport = True


OWNER = "sk_helper_of"  # ID property on the helper objects a randomizer's setup made: its key


@contextlib.contextmanager
def owning(r):
    """Tag every object made inside the block with ``r``'s key, so a muted or removed randomizer's helper
    objects can be found and hidden (they are never deleted: the artist may unmute it)."""
    before = set(bpy.data.objects.keys())
    yield
    for name in set(bpy.data.objects.keys()) - before:
        bpy.data.objects[name][OWNER] = r.key()


def hide_orphans(scene, keys: set[str]) -> None:
    """Hide helper objects whose randomizer is no longer in the recipe."""
    for obj in scene.objects:
        owner = obj.get(OWNER)
        if owner and owner not in keys and not obj.hide_render:
            obj.hide_render = obj.hide_viewport = True


def find_object(name: str, what: str):
    obj = bpy.data.objects.get(name)
    if obj is None:
        raise UserError(f"{what}: no object named {name!r}")
    return obj


def footprint(obj) -> float:
    """Radius of the object's bounding box in its own x/y plane at unit scale."""
    return max(math.hypot(c[0], c[1]) for c in obj.bound_box)


def aim(obj, target: Vector, roll: float = 0.0) -> None:
    q = (target - obj.location).to_track_quat("-Z", "Y")
    if roll:
        q = q @ Quaternion((0.0, 0.0, 1.0), roll)
    obj.rotation_mode = "XYZ"
    obj.rotation_euler = q.to_euler("XYZ")


def on_shell(center: Vector, distance: float, elevation: float, azimuth: float) -> Vector:
    ce = math.cos(elevation)
    return center + distance * Vector((ce * math.cos(azimuth), ce * math.sin(azimuth), math.sin(elevation)))


def target_point(name: str, offset=(0.0, 0.0, 0.0), what: str = "target") -> Vector:
    base = find_object(name, what).matrix_world.translation.copy() if name else Vector((0.0, 0.0, 0.0))
    return base + Vector(offset)


def principled(mat):
    if mat is None or mat.node_tree is None:
        return None
    return next((n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED"), None)


def pool(scene, r):
    """What a randomizer's selector chooses from."""
    if r.TARGETS == "lights":
        return [o for o in scene.objects if o.type == "LIGHT"]
    return [o for o in scene.objects]


def applier(r) -> Applier:
    try:
        return APPLIERS[r.TYPE]
    except KeyError:
        raise UserError(f"randomizer type {r.TYPE!r} has no Blender side") from None
