"""Randomizers, the Blender half: ``setup`` (once per job: create what frames reuse), ``context``
(static facts the pure sampler needs) and ``apply(values)`` (change the scene in place).

No datablock is created per frame: materials, node trees and images are made or loaded in ``setup``.
"""

from __future__ import annotations

import math
from pathlib import Path

import bpy
from mathutils import Euler, Matrix, Quaternion, Vector

from ..core import randomizers as R
from ..core.errors import UserError
from ..core.schema import path_str
from . import compat

APPLIERS: dict[str, "Applier"] = {}


class Applier:
    TYPE = ""

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        APPLIERS[cls.TYPE] = cls()

    def setup(self, scene, r, objs, where: tuple = ()) -> None:
        pass

    def context(self, scene, r, objs) -> R.Context:
        return R.Context(targets=[o.name for o in objs])

    def apply(self, scene, r, values) -> None:
        raise NotImplementedError


def _object(name: str, what: str):
    obj = bpy.data.objects.get(name)
    if obj is None:
        raise UserError(f"{what}: no object named {name!r}")
    return obj


def _footprint(obj) -> float:
    """Radius of the object's bounding box in its own x/y plane at unit scale."""
    return max(math.hypot(c[0], c[1]) for c in obj.bound_box)


def _aim(obj, target: Vector, roll: float = 0.0) -> None:
    q = (target - obj.location).to_track_quat("-Z", "Y")
    if roll:
        q = q @ Quaternion((0.0, 0.0, 1.0), roll)
    obj.rotation_mode = "XYZ"
    obj.rotation_euler = q.to_euler("XYZ")


def _on_shell(center: Vector, distance: float, elevation: float, azimuth: float) -> Vector:
    ce = math.cos(elevation)
    return center + distance * Vector((ce * math.cos(azimuth), ce * math.sin(azimuth), math.sin(elevation)))


def _target_point(name: str, offset=(0.0, 0.0, 0.0), what: str = "target") -> Vector:
    base = _object(name, what).matrix_world.translation.copy() if name else Vector((0.0, 0.0, 0.0))
    return base + Vector(offset)


class ObjectPose(Applier):
    TYPE = "object_pose"

    def context(self, scene, r, objs):
        ctx = R.Context(targets=[o.name for o in objs], footprints={o.name: _footprint(o) for o in objs})
        if r.mode == "surface":
            surf = _object(r.surface, f"{r.key()}.surface")
            corners = [surf.matrix_world @ Vector(c) for c in surf.bound_box]
            ctx.bounds = (min(c.x for c in corners), max(c.x for c in corners),
                          min(c.y for c in corners), max(c.y for c in corners))
        return ctx

    def apply(self, scene, r, values):
        surface = _object(r.surface, f"{r.key()}.surface") if r.mode == "surface" else None
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


def _principled(mat):
    if mat is None or mat.node_tree is None:
        return None
    return next((n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED"), None)


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
                node = _principled(copy)
                if node is not None and "sk_base_color" not in copy:
                    copy["sk_base_color"] = list(node.inputs["Base Color"].default_value)[:3]
                slot.link = "OBJECT"
                slot.material = copy

    def apply(self, scene, r, values):
        import colorsys
        for name, v in values.items():
            obj = bpy.data.objects[name]
            mat = obj.material_slots[0].material if obj.material_slots else None
            node = _principled(mat)
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


class CameraShell(Applier):
    TYPE = "camera_shell"

    def apply(self, scene, r, v):
        cam = _object(r.camera, f"{r.key()}.camera") if r.camera else scene.camera
        if cam is None or cam.type != "CAMERA":
            raise UserError(f"{r.key()}: the scene has no camera")
        center = _target_point(r.target, r.look_at, f"{r.key()}.target")
        cam.location = _on_shell(center, v["distance"], v["elevation"], v["azimuth"])
        _aim(cam, center, v["roll"])
        cam.data.lens = v["focal_length"]


class Light(Applier):
    TYPE = "light"

    def apply(self, scene, r, values):
        center = _target_point(r.target, what=f"{r.key()}.target")
        for name, v in values.items():
            obj = bpy.data.objects[name]
            obj.data.energy = v["energy"]
            obj.data.color = v["color"]
            obj.location = _on_shell(center, v["distance"], v["elevation"], v["azimuth"])
            _aim(obj, center)


def hdri_path(name: str) -> Path:
    if "/" in name or "\\" in name or name.lower().endswith((".exr", ".hdr")):
        p = Path(name).expanduser()
    else:
        p = compat.bundled_hdri_dir() / f"{name}.exr"
    if not p.is_file():
        bundled = sorted(x.stem for x in compat.bundled_hdri_dir().glob("*.exr"))
        raise UserError(f"HDRI {name!r} not found: expected a bundled HDRI ({', '.join(bundled)}) "
                        "or the path of an .exr/.hdr file")
    return p


class WorldHDRI(Applier):
    TYPE = "world_hdri"
    NODES = ("SK Coordinates", "SK Mapping", "SK Environment", "SK Background", "SK Output")

    def setup(self, scene, r, objs, where=()):
        world = scene.world
        compat.enable_nodes(world)
        nodes, links = world.node_tree.nodes, world.node_tree.links
        if not all(n in nodes for n in self.NODES):
            nodes.clear()
            coords = nodes.new("ShaderNodeTexCoord")
            mapping = nodes.new("ShaderNodeMapping")
            env = nodes.new("ShaderNodeTexEnvironment")
            bg = nodes.new("ShaderNodeBackground")
            out = nodes.new("ShaderNodeOutputWorld")
            for node, name in zip((coords, mapping, env, bg, out), self.NODES):
                node.name = name
            links.new(coords.outputs["Generated"], mapping.inputs["Vector"])
            links.new(mapping.outputs["Vector"], env.inputs["Vector"])
            links.new(env.outputs["Color"], bg.inputs["Color"])
            links.new(bg.outputs["Background"], out.inputs["Surface"])
        # A fixed, modest importance map: the automatic one is rebuilt at 1024² on every HDRI change
        # (about 2 s a frame on 2 cores); 256² samples these soft studio HDRIs just as well.
        world.cycles.sampling_method = "MANUAL"
        world.cycles.sample_map_resolution = 256
        for k, name in enumerate(r.hdri.choices):   # load every candidate once: frames never add images
            try:
                path = hdri_path(str(name))
            except UserError as e:
                raise UserError(f"{path_str(where + ('hdri', 'choice', k))}: {e}") from None
            bpy.data.images.load(str(path), check_existing=True)

    def apply(self, scene, r, v):
        nodes = scene.world.node_tree.nodes
        nodes["SK Environment"].image = bpy.data.images.load(str(hdri_path(v["hdri"])), check_existing=True)
        nodes["SK Mapping"].inputs["Rotation"].default_value = (0.0, 0.0, v["rotation"])
        nodes["SK Background"].inputs["Strength"].default_value = v["strength"]


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
