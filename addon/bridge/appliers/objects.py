"""Objects group, Blender half."""

from __future__ import annotations

import fnmatch
import json
import math

import bmesh
import bpy
import numpy as np
from mathutils import Euler, Matrix

from ...core import randomizers as R
from ...core.errors import UserError
from ...core.randomizers.objects import SHAPES, limited
from ...core.params.schema import path_str
from ...core.randomizers.surface import Surface
from . import motion
from .materials import drive_colour, set_driven, take_own
from .base import Applier, find_object, footprint

DISTRACTORS = "SK Distractors"      # collection of the primitive pool
RIGID_WORLD = "SK RigidBodyWorld"   # collection of the rigid body world (when the scene has none)


def measure_surface(r) -> Surface:
    """World-space triangles and normals of ``r.surface`` (modifiers applied), as a core Surface."""
    surf = find_object(r.surface, f"{r.where()}.surface")
    if surf.type != "MESH":
        raise UserError(f"{r.where()}.surface: {surf.name!r} is a {surf.type.lower()}, expected a mesh object")
    ev = surf.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = ev.to_mesh()      # a temporary mesh owned by the object: not a bpy.data block
    try:
        mesh.calc_loop_triangles()
        co = np.empty(len(mesh.vertices) * 3, np.float32)
        mesh.vertices.foreach_get("co", co)
        idx = np.empty(len(mesh.loop_triangles) * 3, np.int32)
        mesh.loop_triangles.foreach_get("vertices", idx)
    finally:
        ev.to_mesh_clear()
    m = np.array(ev.matrix_world, dtype=float)
    world = co.reshape(-1, 3).astype(float) @ m[:3, :3].T + m[:3, 3]
    tris = world[idx.reshape(-1, 3)]
    normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    if np.linalg.det(m[:3, :3]) < 0:      # a mirrored object winds its faces the other way round
        normals = -normals
    s = limited(r, Surface(tris, normals, r.max_slope))
    if s.area <= 0:
        raise UserError(f"{r.where()}.surface: {surf.name!r} has no faces within max_slope "
                        f"{r.max_slope} degrees of +Z to place objects on" + (" within the x and y ranges" if r.limit_xy else ""))
    return s


def placement_context(r, objs) -> R.Context:
    """What ``core.randomizers.objects.place`` needs: surface geometry and bounding-box corners."""
    ctx = R.Context(targets=[o.name for o in objs], footprints={o.name: footprint(o) for o in objs})
    ctx.data["corners"] = {o.name: [list(c) for c in o.bound_box] for o in objs}
    ctx.data["scales"] = {o.name: own_scale(o) for o in objs}
    if r.mode == "surface":
        ctx.data["surface"] = measure_surface(r)
    return ctx


OWN_SCALE = "sk_own_scale"     # an object's scale before a randomizer first set it: draws are factors of it


def own_scale(obj) -> tuple[float, float, float]:
    """The object's own scale (the artist's), kept on the object the first time a pose randomizer sees it,
    so a scale draw multiplies it rather than replacing it (delete the property to take a new one)."""
    if OWN_SCALE not in obj:
        obj[OWN_SCALE] = list(obj.scale)
    return tuple(float(v) for v in obj[OWN_SCALE])


def set_visible(obj, visible: bool) -> None:
    hide = not visible
    if obj.hide_render != hide:
        obj.hide_render = hide
    if obj.hide_viewport != hide:
        obj.hide_viewport = hide


def set_pose(obj, v) -> None:
    """Visibility, and for a visible object its sampled location, XYZ rotation and scale."""
    set_visible(obj, v["visible"])
    if v["visible"]:
        obj.rotation_mode = "XYZ"
        obj.rotation_euler = Euler(v["rotation"], "XYZ")
        obj.scale = v["scale"]
        obj.location = v["location"]


class ObjectPose(Applier):
    TYPE = "object_pose"

    def context(self, scene, r, objs):
        return placement_context(r, objs)

    def apply(self, scene, r, values):
        for name, v in values.items():
            set_pose(bpy.data.objects[name], v)


class ObjectCount(Applier):
    TYPE = "object_count"

    def setup(self, scene, r, objs, where=()):
        bad = r.bad_weight()
        if bad:
            raise UserError(f"{path_str(where + ('weights', bad[0]))}: a weight must be a number >= 0, got {bad[1]!r}")

    def apply(self, scene, r, values):
        for name, v in values.items():
            set_visible(bpy.data.objects[name], v["visible"])


# -- distractors ----------------------------------------------------------------------------------

def _primitive(shape: str):
    """A 1 m primitive mesh (centred on its origin), made once and shared by the pool."""
    name = f"SK Distractor {shape}"
    mesh = bpy.data.meshes.get(name)
    if mesh is not None:
        return mesh
    mesh = bpy.data.meshes.new(name)
    if shape == "torus":      # bmesh has no torus: a 24 x 12 grid of quads
        nu, nv, big, small = 24, 12, 0.35, 0.15
        u, v = np.meshgrid(np.arange(nu) * 2 * math.pi / nu, np.arange(nv) * 2 * math.pi / nv, indexing="ij")
        ring = big + small * np.cos(v)
        verts = np.stack([ring * np.cos(u), ring * np.sin(u), small * np.sin(v)], axis=-1).reshape(-1, 3)
        faces = [(i * nv + j, ((i + 1) % nu) * nv + j, ((i + 1) % nu) * nv + (j + 1) % nv, i * nv + (j + 1) % nv)
                 for i in range(nu) for j in range(nv)]
        mesh.from_pydata(verts.tolist(), [], faces)
    else:
        bm = bmesh.new()
        if shape == "cube":
            bmesh.ops.create_cube(bm, size=1.0)
        elif shape == "sphere":
            bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=12, radius=0.5)
        else:
            bmesh.ops.create_cone(bm, cap_ends=True, segments=24, radius1=0.5,
                                  radius2=0.5 if shape == "cylinder" else 0.0, depth=1.0)
        bm.to_mesh(mesh)
        bm.free()
    mesh.materials.append(None)      # one slot; each pool object links its own material there
    if shape in ("sphere", "torus"):
        mesh.polygons.foreach_set("use_smooth", [True] * len(mesh.polygons))
    mesh.update()
    return mesh


def _own_material(name: str):
    mat = bpy.data.materials.get(name)
    if mat is None:
        mat = bpy.data.materials.new(name)
        from .. import compat
        compat.enable_nodes(mat)
    return mat


class Distractors(Applier):
    TYPE = "distractors"

    def setup(self, scene, r, objs, where=()):
        if not r.select.is_empty():
            for obj in objs:
                drive_colour(obj, take_own(obj))              # own material copies: colours don't leak
            return
        bad = [s for s in r.shapes if s not in SHAPES]
        if bad or not r.shapes:
            raise UserError(f"{path_str(where + ('shapes',))}: {bad[0] if bad else '(empty)'!r} is not a "
                            f"primitive: expected some of {', '.join(SHAPES)}")
        coll = bpy.data.collections.get(DISTRACTORS) or bpy.data.collections.new(DISTRACTORS)
        if coll.name not in scene.collection.children:
            scene.collection.children.link(coll)
        for i in range(max(r.pool_size, len(coll.objects))):
            name = f"SK Distractor {i:03d}"
            obj = bpy.data.objects.get(name)
            if i >= r.pool_size:                 # left over from a larger pool: keep it out of sight
                if obj is not None:
                    set_visible(obj, False)
                continue
            mesh = _primitive(r.shapes[i % len(r.shapes)])
            if obj is None:
                obj = bpy.data.objects.new(name, mesh)
            elif obj.data != mesh:
                obj.data = mesh
            if obj.name not in coll.objects:
                coll.objects.link(obj)
            mat = _own_material(name)
            obj.material_slots[0].link = "OBJECT"
            obj.material_slots[0].material = mat
            obj.pass_index = 0
            drive_colour(obj, mat)

    def pool(self, scene, r, objs):
        if not r.select.is_empty():
            return objs
        return [bpy.data.objects[f"SK Distractor {i:03d}"] for i in range(r.pool_size)]

    def context(self, scene, r, objs):
        return placement_context(r, self.pool(scene, r, objs))

    def apply(self, scene, r, values):
        for name, v in values.items():
            obj = bpy.data.objects[name]
            set_pose(obj, v)
            obj.pass_index = 0        # background in the masks, always
            if v["visible"]:
                set_driven(obj, {"base_color": v["color"], "roughness": v["roughness"]})


# -- physics drop ---------------------------------------------------------------------------------

def _rigid_world(scene):
    if scene.rigidbody_world is None:
        with bpy.context.temp_override(scene=scene):
            bpy.ops.rigidbody.world_add()
    rbw = scene.rigidbody_world
    if rbw.collection is None:
        rbw.collection = bpy.data.collections.get(RIGID_WORLD) or bpy.data.collections.new(RIGID_WORLD)
    return rbw


def _invalidate(rbw) -> None:
    """Mark the rigid body cache outdated: the next frame_set at the start frame rebuilds the world from
    the objects' own transforms (any RigidBodyWorld property update does this)."""
    rbw.time_scale = rbw.time_scale


COLLIDE = [True] + [False] * 19


class PhysicsDrop(Applier):
    TYPE = "physics_drop"

    def setup(self, scene, r, objs, where=()):
        rbw = _rigid_world(scene)
        rbw.substeps_per_frame = r.substeps
        rbw.solver_iterations = max(rbw.solver_iterations, 10)
        passive = [find_object(r.surface, f"{r.where()}.surface")] if r.mode == "surface" else []
        passive += [o for o in scene.objects if o.type == "MESH" and o not in passive and o not in objs
                    and any(fnmatch.fnmatchcase(o.name, p) for p in r.colliders)]
        for obj in list(objs) + passive:
            if obj.type != "MESH":
                raise UserError(f"{r.where()}: {obj.name!r} is a {obj.type.lower()}: only meshes can be rigid bodies")
            if obj.name not in rbw.collection.objects:
                rbw.collection.objects.link(obj)       # linking gives the object its rigid body settings
            rb = obj.rigid_body
            kind, shape = ("PASSIVE", r.collider_shape) if obj in passive else ("ACTIVE", r.shape)
            for attr, value in (("type", kind), ("collision_shape", shape), ("use_margin", True),
                                ("collision_margin", 0.0), ("friction", r.friction),
                                ("restitution", r.bounciness)):
                if getattr(rb, attr) != value:
                    setattr(rb, attr, value)

    def context(self, scene, r, objs):
        return placement_context(r, objs)

    def apply(self, scene, r, values):
        rbw = scene.rigidbody_world
        if not rbw.enabled:         # a drop through a clip turns it off so its keys drive the bodies
            rbw.enabled = True
        clip = next((v for v in values.values() if "frames" in v), None)
        if clip is not None:
            return self._through_clip(scene, r, values, clip)
        start = scene.frame_current
        track = simulate(scene, r, values, start, r.steps)
        final = track[-1]
        moved = max([(m.translation - track[-2][n].translation).length for n, m in final.items()] or [0.0])
        objs = {name: bpy.data.objects[name] for name in values}
        poses = {}
        for name, m in final.items():
            obj = objs[name]
            loc, rot, _ = m.decompose()
            obj.location = loc
            obj.rotation_euler = rot.to_euler("XYZ")
            poses[name] = {"location": [round(x, 6) for x in obj.location],
                           "rotation": [round(a, 6) for a in obj.rotation_euler]}
        _invalidate(rbw)      # the start frame now shows the settled poses
        return {"poses": poses, "settled": moved < 1e-3, "last_step_m": round(moved, 6)}

    def _through_clip(self, scene, r, values, clip):
        """The drop plays out through the clip: simulated from the clip's start state over the whole clip
        (scene frames ``FRAME0 .. FRAME0 + L``), then keyed at the clip frames t-1, t, t+1 as delta
        transforms like a motion type, with the rigid body world off so the keys (and the Vector pass)
        drive. The whole clip is simulated every time, so a frame alone equals a frame in order; the
        per-process cache only saves simulating it again for the clip's next frame."""
        frames, t, length = clip["frames"], clip["frame"], clip["length"]
        key = _simulation_key(scene, r, values)
        track = Simulations.get(key)
        if track is None:
            before = scene.frame_current
            track = simulate(scene, r, values, motion.scene_frame(0), length)
            Simulations.put(key, track)
            scene.frame_current = before
        else:
            for name, v in values.items():
                set_pose(bpy.data.objects[name], v)
        scene.rigidbody_world.enabled = False
        poses = {}
        for name in sorted(track[0]):
            obj = bpy.data.objects[name]
            p0, R0 = track[0][name].translation, track[0][name].to_3x3().normalized()
            at = [track[min(max(f, 0), length)][name] for f in frames]    # at rest before frame 0
            offsets = [motion.to_parent(obj, Matrix.Identity(3)) @ (m.translation - p0) for m in at]
            turns = [motion.turn_in_parent(obj, m.to_3x3().normalized() @ R0.transposed()) for m in at]
            motion.key_transform(obj, frames, offsets, turns)
            m = track[min(max(t, 0), length)][name]
            poses[name] = {"location": [round(x, 6) + 0.0 for x in m.translation],
                           "rotation": [round(a, 6) + 0.0 for a in m.to_euler("XYZ")]}
        moved = max([(m.translation - track[-2][n].translation).length for n, m in track[-1].items()] or [0.0])
        return {"poses": poses, "frame": t, "settled": moved < 1e-3}


class Simulations:
    """The last clip simulated in this process ({key: track}), so a clip's frames rendered in order simulate
    it once. ``FrameJob.prepare`` empties it; a hit returns exactly what simulating again would."""
    _key: str | None = None
    _track: list | None = None

    @classmethod
    def get(cls, key):
        return cls._track if key == cls._key else None

    @classmethod
    def put(cls, key, track) -> None:
        cls._key, cls._track = key, track

    @classmethod
    def clear(cls) -> None:
        cls._key = cls._track = None


def _simulation_key(scene, r, values) -> str:
    """Everything a clip's simulation depends on: the randomizer's settings, the start poses (not the keyed
    frames) and every other rigid body's own transform and mesh size."""
    start = {n: {k: x for k, x in v.items() if k not in ("frames", "frame")} for n, v in values.items()}
    bodies = [(o.name, [list(row) for row in o.matrix_basis], len(getattr(o.data, "vertices", ())))
              for o in scene.rigidbody_world.collection.objects if o.name not in values]
    return json.dumps([scene.name, repr(r), start, sorted(bodies)], sort_keys=True, default=str)


def simulate(scene, r, values, start: int, steps: int) -> list[dict]:
    """World matrices of the visible dropped objects at scene frames ``start .. start + steps``, simulated
    from the poses in ``values``; the scene is left at ``start`` (the start poses)."""
    rbw = scene.rigidbody_world
    cache = rbw.point_cache
    if (cache.frame_start, cache.frame_end) != (start, start + steps):
        cache.frame_end = max(cache.frame_end, start + steps)
        cache.frame_start = start
        cache.frame_end = start + steps
    objs = {name: bpy.data.objects[name] for name in values}
    for name, v in values.items():
        set_pose(objs[name], v)
    for obj in rbw.collection.objects:      # hidden ones (also those left out of values) neither fall nor collide
        rb = obj.rigid_body
        if rb is None or rb.type != "ACTIVE":
            continue
        on = obj.name in values and values[obj.name]["visible"]
        if rb.enabled != on:
            rb.enabled = on
        if list(rb.collision_collections) != (COLLIDE if on else [False] * 20):
            rb.collision_collections = COLLIDE if on else [False] * 20
    _invalidate(rbw)
    moving = [o for n, o in objs.items() if values[n]["visible"]]
    track = []
    for f in range(start, start + steps + 1):
        scene.frame_set(f)
        track.append({o.name: o.matrix_world.copy() for o in moving})
    scene.frame_set(start)
    return track
